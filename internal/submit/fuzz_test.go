package submit

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseRaw feeds arbitrary bytes to the raw-message checks: they never
// panic, and a message they accept comes out of finish still acceptable,
// with no line over 998 octets and no X-SES-* header.
func FuzzParseRaw(f *testing.F) {
	f.Add([]byte("From: a@example.com\r\nTo: b@example.org\r\nSubject: x\r\n\r\nbody\r\n"))
	f.Add([]byte("From: a@example.com\nX-SES-MESSAGE-TAGS: a=b\n\nbare LF\n"))
	f.Add([]byte("From: =?utf-8?q?=E3=81=82?= <a@example.com>\r\n\r\n"))
	f.Add([]byte("From:\r\n\tfolded@example.com\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := parseRaw(raw)
		if err != nil {
			return
		}
		out := finish(p, "0100018d0c9e3f41-7b1f2c3a-5d4e-4f60-8a9b-0c1d2e3f4a5b-000000", "us-east-1.sesame.localhost", "1.us-east-1.x:sesame", time.Unix(0, 0))
		again, err := parseRaw(out)
		if err != nil {
			t.Fatalf("finished message no longer parses: %v\n%q", err, out)
		}
		for f := again.header.Fields(); f.Next(); {
			if strings.HasPrefix(strings.ToLower(f.Key()), "x-ses-") {
				t.Fatalf("control header %s survived", f.Key())
			}
		}
		addresses(again.header, "From")
	})
}

// FuzzCompose builds messages from arbitrary subjects, bodies and header
// values: composition refuses or succeeds, and what it builds parses.
func FuzzCompose(f *testing.F) {
	f.Add("Hello", "text", "<p>html</p>", "X-Tag", "v", "file.txt")
	f.Add("line\r\nBcc: x@y", "", "", "X-A", "\x00", "../etc/passwd")
	f.Fuzz(func(t *testing.T, subject, text, html, hname, hvalue, fname string) {
		s := Simple{From: "a@example.com", To: []string{"b@example.org"}, Subject: subject, Text: text, HTML: html,
			Headers: []Header{{Name: hname, Value: hvalue}}}
		if fname != "" {
			s.Attachments = []Attachment{{FileName: fname, Data: []byte(text)}}
		}
		raw, err := compose(s)
		if err != nil {
			return
		}
		p, err := parseRaw(raw)
		if err != nil {
			t.Fatalf("composed message does not parse: %v\n%q", err, raw)
		}
		if got := p.header.Values("Bcc"); len(got) > 0 {
			t.Fatalf("header injection: Bcc %v", got)
		}
	})
}
