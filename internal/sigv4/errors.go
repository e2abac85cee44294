package sigv4

import (
	"errors"
	"fmt"
)

// Kind classifies a verification failure. Each kind maps to one SES error
// code; the mapping itself belongs to the caller.
type Kind int

// The verification failure kinds, with the SES error code of each.
const (
	// KindMissing: the request carries no Authorization header and no
	// X-Amz-Algorithm query parameter (MissingAuthenticationToken).
	KindMissing Kind = iota + 1
	// KindIncomplete: the authentication data is malformed or incomplete: a
	// bad credential scope, a missing SignedHeaders, a missing or malformed
	// date, host not signed, a scope date that is not the request's day
	// (IncompleteSignature).
	KindIncomplete
	// KindUnknownKey: the access key id is not known (InvalidClientTokenId in
	// SES v1, UnrecognizedClientException in SES v2).
	KindUnknownKey
	// KindMismatch: the signature, or X-Amz-Content-Sha256, does not match
	// the request (SignatureDoesNotMatch in v1, InvalidSignatureException in
	// v2).
	KindMismatch
	// KindExpired: the request time is outside the allowed clock skew, or a
	// presigned URL has expired. SES reports it as SignatureDoesNotMatch with
	// a "Signature expired: …" message.
	KindExpired
)

// String returns the kind's name, for logs.
func (k Kind) String() string {
	switch k {
	case KindMissing:
		return "missing"
	case KindIncomplete:
		return "incomplete"
	case KindUnknownKey:
		return "unknown key"
	case KindMismatch:
		return "mismatch"
	case KindExpired:
		return "expired"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a verification failure, as returned by Verifier.Verify. Msg is
// the text to show the client, in AWS's wording; Err is an underlying cause,
// if any (for KindUnknownKey, the SecretLookup's error).
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

// Error describes e for logs.
func (e *Error) Error() string {
	if e.Err != nil {
		return "sigv4: " + e.Kind.String() + ": " + e.Msg + ": " + e.Err.Error()
	}
	return "sigv4: " + e.Kind.String() + ": " + e.Msg
}

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// ErrUnknownKey is what a SecretLookup returns, possibly wrapped, for an
// access key id that does not exist. Verify turns it into a KindUnknownKey
// Error.
var ErrUnknownKey = errors.New("sigv4: unknown access key")

// Client-facing messages in AWS's words.
const (
	msgMissing    = "Request is missing Authentication Token"
	msgUnknownKey = "The security token included in the request is invalid."
	msgMismatch   = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgContentSHA = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgHost       = "'Host' must be a 'SignedHeader' in the AWS Authorization."
)

func incomplete(format string, args ...any) *Error {
	return &Error{Kind: KindIncomplete, Msg: fmt.Sprintf(format, args...)}
}
