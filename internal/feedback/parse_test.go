package feedback

import (
	"os"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		status, diag string
		typ, sub     string
		suppress     bool
	}{
		{"5.1.1", "smtp; 550 5.1.1 user unknown", "Permanent", "General", true},
		{"", "550 5.1.10 Recipient address has null MX", "Permanent", "General", true},
		{"5.7.26", "smtp; 550 5.7.26 This mail is unauthenticated", "Transient", "ContentRejected", false},
		{"5.7.1", "smtp; 554 5.7.1 Service unavailable; client host blocked", "Transient", "ContentRejected", false},
		{"5.7.1", "smtp; 552 5.7.1 attachment type refused", "Transient", "AttachmentRejected", false},
		{"5.2.2", "smtp; 552 5.2.2 mailbox full", "Transient", "MailboxFull", false},
		{"5.3.4", "smtp; 552 5.3.4 message too big", "Transient", "MessageTooLarge", false},
		{"4.4.7", "expired", "Transient", "General", false},
		{"5.0.0", "smtp; 550 no such user here", "Permanent", "General", true},
		{"5.0.0", "smtp; 550 relay access denied by policy", "Permanent", "General", false},
		{"", "something odd", "Undetermined", "Undetermined", false},
		{"", "550 Requested action not taken", "Permanent", "General", false},
	}
	for _, tc := range tests {
		c := Classify(tc.status, tc.diag)
		if c.Type != tc.typ || c.SubType != tc.sub || c.Suppress != tc.suppress {
			t.Errorf("Classify(%q, %q) = %+v, want %s/%s suppress=%v", tc.status, tc.diag, c, tc.typ, tc.sub, tc.suppress)
		}
	}
}

func read(t *testing.T, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseDSN(t *testing.T) {
	rep, err := Parse(read(t, "dsn-postfix.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != KindBounce || rep.BestEffort || rep.ReportingMTA != "dns; mx.example.org" || len(rep.Recipients) != 1 {
		t.Fatalf("report = %+v", rep)
	}
	r := rep.Recipients[0]
	if r.Address != "gone@example.org" || r.Action != "failed" || r.Status != "5.1.1" || r.RemoteMTA != "dns; mx.example.org" ||
		!strings.HasPrefix(r.Diagnostic, "smtp; 550 5.1.1 <gone@example.org>: Recipient address") || !strings.Contains(r.Diagnostic, "User unknown") {
		t.Errorf("recipient = %+v", r)
	}
	if rep.OriginalMessageID != "0100018d0c9e3f41-7b1f2c3a-5d4e-4f60-8a9b-0c1d2e3f4a5b-000000@us-east-1.sesame.localhost" {
		t.Errorf("original id %q", rep.OriginalMessageID)
	}
	if got := sesameID(rep.OriginalMessageID); got != "0100018d0c9e3f41-7b1f2c3a-5d4e-4f60-8a9b-0c1d2e3f4a5b-000000" {
		t.Errorf("sesameID = %q", got)
	}
}

func TestParseARF(t *testing.T) {
	rep, err := Parse(read(t, "arf.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != KindComplaint || rep.FeedbackType != "abuse" || rep.UserAgent != "SomeGenerator/1.0" ||
		len(rep.OriginalRcptTo) != 1 || rep.OriginalRcptTo[0] != "angry@example.org" || rep.ArrivalDate != "Thu, 8 Mar 2005 14:00:00 -0500" {
		t.Fatalf("report = %+v", rep)
	}
	if arrival(rep.ArrivalDate) != "2005-03-08T19:00:00.000Z" {
		t.Errorf("arrival = %q", arrival(rep.ArrivalDate))
	}
	if !strings.HasPrefix(rep.OriginalMessageID, "0100018d0c9e3f41-") {
		t.Errorf("original id %q", rep.OriginalMessageID)
	}
}

func TestParseBestEffort(t *testing.T) {
	rep, err := Parse(read(t, "qmail.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.BestEffort || rep.Kind != KindBounce {
		t.Fatalf("report = %+v", rep)
	}
	found := false
	for _, r := range rep.Recipients {
		if r.Address == "nobody@old.example.net" && r.Status == "5.1.1" {
			found = true
		}
	}
	if !found {
		t.Errorf("recipients = %+v", rep.Recipients)
	}
}

func TestParseRefuses(t *testing.T) {
	for name, raw := range map[string]string{
		"not a report":        "From: a@b.example\r\nSubject: hello\r\n\r\nJust a note.\r\n",
		"report without part": "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n",
		"arf without part":    "Content-Type: multipart/report; report-type=feedback-report; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n",
		"garbage":             "\x00\x01\x02",
		"truncated":           "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\n\r\nFinal-Recipient: rfc822; q@",
	} {
		if rep, err := Parse([]byte(raw)); err == nil && len(rep.Recipients) > 0 && name != "truncated" {
			t.Errorf("%s: parsed as %+v", name, rep)
		}
	}
}

// FuzzParse feeds hostile reports to the parser: it must return, never
// panic, and never report more recipients than its limit.
func FuzzParse(f *testing.F) {
	for _, n := range []string{"dsn-postfix.eml", "arf.eml", "qmail.eml"} {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\n\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rep, err := Parse(raw)
		if err == nil && len(rep.Recipients) > maxRecipients {
			t.Errorf("%d recipients", len(rep.Recipients))
		}
		Classify("", string(raw))
	})
}
