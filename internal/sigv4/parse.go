package sigv4

import (
	"strings"
)

// Algorithm is the only signing algorithm sesame accepts and makes.
const Algorithm = "AWS4-HMAC-SHA256"

// terminator ends every credential scope.
const terminator = "aws4_request"

// Authorization is a parsed SigV4 Authorization header:
//
//	AWS4-HMAC-SHA256 Credential=AKID/20240115/us-east-1/ses/aws4_request, SignedHeaders=host;x-amz-date, Signature=<hex>
//
// ParseAuthorization checks only its syntax; Verify checks its contents.
type Authorization struct {
	Credential    string   // AKID/yyyymmdd/region/service/aws4_request, unchecked
	SignedHeaders []string // as listed, split at ';'
	Signature     string   // as given, nominally 64 lowercase hex digits
}

// String renders a in the form aws-sdk-go-v2 and botocore send, which
// ParseAuthorization reads back to an equal value.
func (a Authorization) String() string {
	return Algorithm + " Credential=" + a.Credential + ", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") + ", Signature=" + a.Signature
}

// ParseAuthorization parses the value of a SigV4 Authorization header: the
// algorithm, a space, then comma-separated key=value components, of which
// Credential, SignedHeaders and Signature are required. Spaces around
// components, keys and values are ignored, as are unknown keys. Failures are
// KindIncomplete Errors worded like AWS's IncompleteSignature messages.
func ParseAuthorization(v string) (Authorization, error) {
	v = strings.TrimSpace(v)
	alg, rest, _ := strings.Cut(v, " ")
	if alg != Algorithm {
		return Authorization{}, incomplete("Unsupported AWS 'algorithm': '%s'. Only %s is supported.", alg, Algorithm)
	}
	var a Authorization
	var seen [3]bool
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return Authorization{}, incomplete("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", part, v)
		}
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		var i int
		switch k {
		case "Credential":
			i, a.Credential = 0, val
		case "SignedHeaders":
			i = 1
			if val != "" {
				a.SignedHeaders = strings.Split(val, ";")
			}
		case "Signature":
			i, a.Signature = 2, val
		default:
			continue
		}
		if seen[i] {
			return Authorization{}, incomplete("Authorization header has more than one '%s' parameter: '%s'.", k, v)
		}
		seen[i] = true
	}
	var missing strings.Builder
	if a.Credential == "" {
		missing.WriteString("Authorization header requires 'Credential' parameter. ")
	}
	if a.Signature == "" {
		missing.WriteString("Authorization header requires 'Signature' parameter. ")
	}
	if len(a.SignedHeaders) == 0 {
		missing.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
	}
	if missing.Len() > 0 {
		return Authorization{}, incomplete("%sAuthorization=%s", missing.String(), v)
	}
	return a, nil
}

// scope is a parsed credential: AKID/yyyymmdd/region/service/aws4_request.
type scope struct {
	keyID, date, region, service string
}

// String is the credential scope without the key id, as it appears in the
// string to sign.
func (s scope) String() string {
	return s.date + "/" + s.region + "/" + s.service + "/" + terminator
}

// parseCredential checks a credential's shape. The region and service are
// not judged beyond being present: that is the caller's business.
func parseCredential(c string) (scope, error) {
	parts := strings.Split(c, "/")
	if len(parts) != 5 {
		return scope{}, incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", c)
	}
	s := scope{keyID: parts[0], date: parts[1], region: parts[2], service: parts[3]}
	switch {
	case s.keyID == "":
		return scope{}, incomplete("Credential should have an access key id, got '%s'.", c)
	case !isDate(s.date):
		return scope{}, incomplete("Credential should be scoped to a valid date in YYYYMMDD form, not '%s'.", s.date)
	case s.region == "":
		return scope{}, incomplete("Credential should be scoped to a valid region, not '%s'.", s.region)
	case s.service == "":
		return scope{}, incomplete("Credential should be scoped to a valid service, not '%s'.", s.service)
	case parts[4] != terminator:
		return scope{}, incomplete("Credential should be scoped with a valid terminator: '%s', not '%s'.", terminator, parts[4])
	}
	return s, nil
}

// isDate reports whether s is eight ASCII digits.
func isDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkSignedHeaders checks that a SignedHeaders list is lowercase, sorted,
// free of duplicates and empty names, and includes host (IAM User Guide,
// "Elements of an AWS API request signature").
func checkSignedHeaders(h []string) error {
	host := false
	for i, name := range h {
		if name == "" || strings.ToLower(name) != name {
			return incomplete("SignedHeaders must be lowercase header names separated by ';', got '%s'.", strings.Join(h, ";"))
		}
		if i > 0 && name <= h[i-1] {
			return incomplete("SignedHeaders must be sorted and without duplicates, got '%s'.", strings.Join(h, ";"))
		}
		host = host || name == "host"
	}
	if !host {
		return &Error{Kind: KindIncomplete, Msg: msgHost}
	}
	return nil
}
