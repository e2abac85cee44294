// Package ids makes the identifiers sesame hands out: request ids, access
// key ids and secrets, account ids. All randomness comes from crypto/rand.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// UUID returns a random RFC 9562 version-4 UUID in its 36-character form,
// used for request ids (x-amzn-RequestId, <RequestId>).
func UUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4 (RFC 9562 §5.4)
	b[8] = b[8]&0x3f | 0x80 // variant 10
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// AccessKeyID returns a 20-character key id in AWS's shape: "AKIA" and 16
// characters of [A-Z2-7].
func AccessKeyID() string {
	var b [10]byte
	rand.Read(b[:])
	return "AKIA" + base32.StdEncoding.EncodeToString(b[:])
}

// SecretAccessKey returns a 40-character secret of [A-Za-z0-9+/], the shape
// of an AWS secret access key (30 random bytes).
func SecretAccessKey() string {
	var b [30]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// AccountID returns a random 12-digit account id that does not start with 0.
func AccountID() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(9e11))
	return fmt.Sprintf("%012d", n.Int64()+1e11)
}

// MessageID returns an SES-shaped message id (60 characters): a 4-hex
// region prefix, the 12-hex millisecond epoch, a UUID and "-000000"
// (reference §5), e.g. 0100018d0c9e3f41-7b1f2c3a-…-000000.
func MessageID(region string, t time.Time) string {
	return fmt.Sprintf("%s%012x-%s-000000", regionPrefix(region), t.UnixMilli()&0xffffffffffff, UUID())
}

// regionPrefix is the id prefix SES uses for a region (observed: 0100
// us-east-1, 0101 us-west-2, 0102 eu-west-1, 0107 eu-central-1); other
// regions get a stable prefix derived from the name.
func regionPrefix(region string) string {
	switch region {
	case "us-east-1":
		return "0100"
	case "us-west-2":
		return "0101"
	case "eu-west-1":
		return "0102"
	case "eu-central-1":
		return "0107"
	}
	var h uint8
	for i := 0; i < len(region); i++ {
		h = h*31 + region[i]
	}
	return fmt.Sprintf("01%02x", 0x10|h)
}

// IsMessageID reports whether s has the shape MessageID makes: 16 hex
// digits, a UUID, "-000000", lowercase.
func IsMessageID(s string) bool {
	if len(s) != 60 || s[16] != '-' || !strings.HasSuffix(s, "-000000") {
		return false
	}
	for i, c := range s[:53] {
		switch i {
		case 16, 25, 30, 35, 40:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
