package sigv4

import "encoding/base64"

// SMTPPassword derives SES's version-4 SMTP password for secret in region
// ("Obtaining Amazon SES SMTP credentials", SES Developer Guide; reference
// §4): k = HMAC-SHA256("AWS4"+secret, "11111111"), then chained over region,
// "ses", "aws4_request" and "SendRawEmail"; the password is
// StdBase64(0x04 || k), 44 characters. A password is bound to its region.
func SMTPPassword(secret, region string) string {
	k := hmacSHA256([]byte("AWS4"+secret), "11111111")
	for _, s := range [...]string{region, "ses", terminator, "SendRawEmail"} {
		k = hmacSHA256(k, s)
	}
	return base64.StdEncoding.EncodeToString(append([]byte{0x04}, k...))
}

// LegacySMTPPassword derives the old version-2 SMTP password, valid in every
// region: StdBase64(0x02 || HMAC-SHA256(secret, "SendRawEmail")).
func LegacySMTPPassword(secret string) string {
	return base64.StdEncoding.EncodeToString(append([]byte{0x02}, hmacSHA256([]byte(secret), "SendRawEmail")...))
}
