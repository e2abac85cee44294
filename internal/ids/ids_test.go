package ids

import (
	"regexp"
	"testing"
	"time"
)

func TestShapes(t *testing.T) {
	tests := []struct {
		name string
		gen  func() string
		re   string
	}{
		{"uuid", UUID, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`},
		{"key id", AccessKeyID, `^AKIA[A-Z2-7]{16}$`},
		{"secret", SecretAccessKey, `^[A-Za-z0-9+/]{40}$`},
		{"account", AccountID, `^[1-9][0-9]{11}$`},
		{"message id", func() string { return MessageID("us-east-1", time.UnixMilli(0x18d0c9e3f41)) }, `^0100018d0c9e3f41-[0-9a-f-]{36}-000000$`},
		{"message id elsewhere", func() string { return MessageID("ap-northeast-1", time.Now()) }, `^01[0-9a-f]{2}[0-9a-f]{12}-[0-9a-f-]{36}-000000$`},
	}
	for _, tc := range tests {
		re := regexp.MustCompile(tc.re)
		seen := map[string]bool{}
		for i := 0; i < 200; i++ {
			v := tc.gen()
			if !re.MatchString(v) {
				t.Fatalf("%s: %q does not match %s", tc.name, v, tc.re)
			}
			if seen[v] {
				t.Fatalf("%s: repeated value %q", tc.name, v)
			}
			seen[v] = true
		}
	}
}
