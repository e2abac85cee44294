package ids

import (
	"regexp"
	"strings"
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

func TestIsMessageID(t *testing.T) {
	id := MessageID("us-east-1", time.Now())
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{id, true},
		{MessageID("ap-northeast-1", time.Now()), true},
		{strings.ToUpper(id), false},
		{id[:59], false},
		{id[:59] + "1", false},
		{"0100018d0c9e3f41-7b1f2c3a-5d4e-4f60-8a9b-0c1d2e3f4a5b-000000", true},
		{"0100018d0c9e3f41x7b1f2c3a-5d4e-4f60-8a9b-0c1d2e3f4a5b-000000", false},
		{"0100018d0c9e3f41-7b1f2c3a-5d4e-4f60-8a9b-0c1d2e3f4a5g-000000", false},
	} {
		if got := IsMessageID(tc.s); got != tc.want {
			t.Errorf("IsMessageID(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
