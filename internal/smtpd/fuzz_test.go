package smtpd

import (
	"strings"
	"testing"
)

func FuzzSESHeaders(f *testing.F) {
	f.Add([]byte("X-SES-CONFIGURATION-SET: cs\r\nX-SES-MESSAGE-TAGS: a=b, c=d\r\n\r\nbody"))
	f.Add([]byte("x-ses-message-tags:\r\n a=b,\r\n\tc=d\r\n\r\n"))
	f.Add([]byte("X-SES-MESSAGE-TAGS: =,=,\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cs, tags, err := sesHeaders(raw)
		if err != nil {
			return
		}
		if strings.ContainsAny(cs, "\r\n") {
			t.Fatalf("configuration set %q spans lines", cs)
		}
		for k, vs := range tags {
			if !tagRE.MatchString(k) {
				t.Fatalf("bad tag name %q accepted", k)
			}
			for _, v := range vs {
				if !tagRE.MatchString(v) {
					t.Fatalf("bad tag value %q accepted", v)
				}
			}
		}
	})
}
