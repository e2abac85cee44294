package sesapi

import (
	"fmt"
	"net/http"

	"github.com/sesame-email/sesame/internal/sigv4"
)

// proto is the wire protocol a request arrived in; errors are rendered in it.
type proto int

const (
	protoV1    proto = iota + 1 // SES v1 Query, XML responses
	protoV2                     // SES v2 REST-JSON
	protoEC2                    // EC2 Query (DescribeRegions)
	protoAdmin                  // sesame's admin API, JSON like v2
	protoSNS                    // SNS Query, XML responses like v1
)

func (p proto) String() string {
	switch p {
	case protoV1:
		return "sesv1"
	case protoV2:
		return "sesv2"
	case protoEC2:
		return "ec2"
	case protoAdmin:
		return "admin"
	case protoSNS:
		return "sns"
	}
	return "unknown"
}

// Error is an API error. Code is the v1/EC2 code; V2Code, when set, is the
// code the REST-JSON protocols use instead (for example
// InvalidClientTokenId in v1 is UnrecognizedClientException in v2).
type Error struct {
	Status  int
	Code    string
	V2Code  string
	EC2Code string
	Message string
	// V2Status, when set, is the HTTP status in the REST-JSON protocols
	// (v1 answers ConfigurationSetDoesNotExist with 400, v2 with 404).
	V2Status int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func (e *Error) codeFor(p proto) string {
	switch {
	case (p == protoV2 || p == protoAdmin) && e.V2Code != "":
		return e.V2Code
	case p == protoEC2 && e.EC2Code != "":
		return e.EC2Code
	}
	return e.Code
}

// errorType is the v1 <Type>: Receiver for server faults, else Sender.
func (e *Error) errorType() string {
	if e.Status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

func apiErr(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common errors, by protocol-neutral meaning.
func errBadRequest(format string, args ...any) *Error {
	e := apiErr(http.StatusBadRequest, "InvalidParameterValue", format, args...)
	e.V2Code = "BadRequestException"
	return e
}

func errMissingParam(name string) *Error {
	e := apiErr(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter %s.", name)
	e.V2Code = "BadRequestException"
	return e
}

func errNotFound(format string, args ...any) *Error {
	e := apiErr(http.StatusNotFound, "NotFound", format, args...)
	e.V2Code = "NotFoundException"
	return e
}

func errAlreadyExists(format string, args ...any) *Error {
	e := apiErr(http.StatusBadRequest, "AlreadyExists", format, args...)
	e.V2Code = "AlreadyExistsException"
	return e
}

func errAccessDenied(format string, args ...any) *Error {
	e := apiErr(http.StatusForbidden, "AccessDenied", format, args...)
	e.V2Code = "AccessDeniedException"
	return e
}

func errInternal() *Error {
	e := apiErr(http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
	e.V2Code = "InternalServiceErrorException"
	return e
}

func errTooLarge(limit int64) *Error {
	e := apiErr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request body is larger than %d bytes.", limit)
	return e
}

// authError maps a SigV4 failure to each protocol's code (reference §1).
func authError(err error) *Error {
	se, ok := err.(*sigv4.Error)
	if !ok {
		return errInternal()
	}
	switch se.Kind {
	case sigv4.KindMissing:
		return &Error{Status: http.StatusForbidden, Code: "MissingAuthenticationToken", V2Code: "MissingAuthenticationTokenException", EC2Code: "MissingAuthenticationToken", Message: se.Msg}
	case sigv4.KindIncomplete:
		return &Error{Status: http.StatusBadRequest, Code: "IncompleteSignature", V2Code: "IncompleteSignatureException", EC2Code: "IncompleteSignature", Message: se.Msg}
	case sigv4.KindUnknownKey:
		return &Error{Status: http.StatusForbidden, Code: "InvalidClientTokenId", V2Code: "UnrecognizedClientException", EC2Code: "AuthFailure", Message: se.Msg}
	case sigv4.KindExpired:
		return &Error{Status: http.StatusForbidden, Code: "SignatureDoesNotMatch", V2Code: "InvalidSignatureException", EC2Code: "RequestExpired", Message: se.Msg}
	default:
		return &Error{Status: http.StatusForbidden, Code: "SignatureDoesNotMatch", V2Code: "InvalidSignatureException", EC2Code: "AuthFailure", Message: se.Msg}
	}
}

// scopeError is returned when a valid signature is scoped to a region or
// service this endpoint does not serve; AWS answers these as signature errors.
func scopeError(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "SignatureDoesNotMatch", V2Code: "InvalidSignatureException", EC2Code: "AuthFailure", Message: msg}
}
