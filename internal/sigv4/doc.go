// Package sigv4 verifies and makes AWS Signature Version 4 (SigV4)
// signatures, and derives Amazon SES's SMTP passwords from secret access
// keys.
//
// Verification follows the procedure AWS documents in the IAM User Guide,
// "Create a signed AWS API request" and "Elements of an AWS API request
// signature" (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
// a canonical request is hashed into a string to sign under the credential
// scope date/region/service/aws4_request and signed with an HMAC-SHA256 key
// chain derived from the secret. The details that decide interoperability
// with real clients (sesame's SES wire reference, §1) are:
//
//   - The canonical URI of every service but S3 is the path exactly as the
//     client sent it, URI-encoded once more ("double encoding"): a client
//     that sends /v2/email/identities/user%2Btag%40example.com signs
//     /v2/email/identities/user%252Btag%2540example.com.
//   - The canonical query decodes every key and value, re-encodes them with
//     AWS's encoding (only A-Z a-z 0-9 - _ . ~ left bare, space as %20) and
//     sorts by key, then by value, so repeated keys are fine.
//   - Exactly the headers named in SignedHeaders are signed, host among
//     them. Go's server takes Host out of Request.Header (it is
//     Request.Host) and Transfer-Encoding too (Request.TransferEncoding); it
//     leaves Content-Length in Request.Header for HTTP/1.1, and when that
//     header is absent Request.ContentLength is used.
//   - The payload hash is the hex SHA-256 of the body: SES clients send no
//     X-Amz-Content-Sha256, and when one is sent it must match the body or
//     be UNSIGNED-PAYLOAD.
//   - The date comes from X-Amz-Date (or, failing that, Date) in ISO 8601
//     basic format, and the credential scope's date must be its day
//     ("Handling dates in Signature Version 4",
//     https://docs.aws.amazon.com/general/latest/gr/sigv4-date-handling.html).
//
// The query-string ("presigned URL") form of SigV4, with X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders, X-Amz-Signature and
// X-Amz-Expires ("Authenticating Requests: Using Query Parameters", Amazon
// S3 API Reference), is verified too.
//
// SMTPPassword and LegacySMTPPassword implement the derivations of "Obtaining
// Amazon SES SMTP credentials"
// (https://docs.aws.amazon.com/ses/latest/dg/smtp-credentials.html).
package sigv4
