package dnscheck

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/dnstest"
	"github.com/sesame-email/sesame/internal/dnsx"
)

const d = "sesame.localhost"

var easy = Identity{Name: "mail.example.co.uk", Domain: true, DKIMOrigin: "AWS_SES",
	Tokens:   []string{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccccccccc"},
	MailFrom: "bounce.mail.example.co.uk", Region: "eu-west-1"}

func TestExpected(t *testing.T) {
	recs := Expected(easy, d)
	var lines []string
	for _, r := range recs {
		lines = append(lines, r.Type+" "+r.Name+" "+r.Value)
	}
	want := []string{
		"CNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa._domainkey.mail.example.co.uk aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.dkim.sesame.localhost",
		"CNAME bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb._domainkey.mail.example.co.uk bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.dkim.sesame.localhost",
		"CNAME cccccccccccccccccccccccccccccccc._domainkey.mail.example.co.uk cccccccccccccccccccccccccccccccc.dkim.sesame.localhost",
		"MX bounce.mail.example.co.uk 10 feedback-smtp.eu-west-1.sesame.localhost",
		"TXT bounce.mail.example.co.uk v=spf1 include:sesame.localhost ~all",
		"TXT mail.example.co.uk v=spf1 include:sesame.localhost ~all",
		// DMARC goes on the organizational domain (public suffix list).
		"TXT _dmarc.example.co.uk v=DMARC1; p=none; rua=mailto:dmarc-reports@example.co.uk",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	byo := Expected(Identity{Name: "own.example", Domain: true, DKIMOrigin: "EXTERNAL", Tokens: []string{"s1"}, BYODKIMPublic: "p=KEY"}, d)
	if byo[0].Type != "TXT" || byo[0].Name != "s1._domainkey.own.example" || byo[0].Value != "p=KEY" {
		t.Errorf("BYODKIM: %+v", byo[0])
	}
	legacy := Expected(Identity{Name: "old.example", Domain: true, LegacyToken: "tok="}, d)
	if legacy[0].Name != "_amazonses.old.example" || legacy[0].Value != "tok=" {
		t.Errorf("legacy: %+v", legacy[0])
	}
	if got := Expected(Identity{Name: "a@b.example"}, d); got != nil {
		t.Errorf("address: %+v", got)
	}
}

func TestCheck(t *testing.T) {
	z := dnstest.Start(t)
	r, _ := dnsx.New(dnsx.Options{Servers: []string{z.Addr()}, Timeout: time.Second})
	z.Add(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa._domainkey.mail.example.co.uk. 300 IN CNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.dkim.sesame.localhost.",
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb._domainkey.mail.example.co.uk. 300 IN CNAME elsewhere.example.",
		"bounce.mail.example.co.uk. 300 IN MX 10 feedback-smtp.eu-west-1.sesame.localhost.",
		"bounce.mail.example.co.uk. 300 IN MX 20 backup.example.",
		`mail.example.co.uk. 300 IN TXT "v=spf1 include:_spf.google.com ~all"`,
		`_dmarc.example.co.uk. 300 IN TXT "v=DMARC1; p=quarantine"`,
	)
	got := Check(context.Background(), r, d, Expected(easy, d))
	status := map[string]string{}
	for _, rec := range got {
		status[rec.Type+" "+rec.Name] = rec.Status
	}
	want := map[string]string{
		"CNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa._domainkey.mail.example.co.uk": Found,
		"CNAME bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb._domainkey.mail.example.co.uk": Wrong,
		"CNAME cccccccccccccccccccccccccccccccc._domainkey.mail.example.co.uk": Missing,
		"MX bounce.mail.example.co.uk":                                         Wrong,
		"TXT bounce.mail.example.co.uk":                                        Missing,
		"TXT mail.example.co.uk":                                               Present,
		"TXT _dmarc.example.co.uk":                                             Present,
	}
	for k, v := range want {
		if status[k] != v {
			t.Errorf("%s: %s, want %s", k, status[k], v)
		}
	}
	if got[1].Problem != "points to elsewhere.example" || !strings.Contains(got[3].Problem, "more than one MX") {
		t.Errorf("problems: %q / %q", got[1].Problem, got[3].Problem)
	}
}

func TestRenderFormats(t *testing.T) {
	recs := Expected(easy, d)
	recs = append(recs, Record{Type: "TXT", Name: "s1._domainkey.own.example", Value: "p=" + strings.Repeat("K", 400), Purpose: "DKIM"})
	var b bytes.Buffer
	if err := Render(&b, recs, "bind"); err != nil {
		t.Fatal(err)
	}
	// The BIND lines load into a real zone file parser.
	zp := dns.NewZoneParser(strings.NewReader("$ORIGIN example.\n"+b.String()), "", "")
	n := 0
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		n++
		if txt, isTXT := rr.(*dns.TXT); isTXT && strings.HasPrefix(txt.Hdr.Name, "s1.") && strings.Join(txt.Txt, "") != recs[len(recs)-1].Value {
			t.Errorf("long TXT did not round-trip")
		}
	}
	if err := zp.Err(); err != nil || n != len(recs) {
		t.Fatalf("zone parse: %d records, %v\n%s", n, err, b.String())
	}
	b.Reset()
	Render(&b, recs, "csv")
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != len(recs)+1 || rows[0][0] != "Type" {
		t.Errorf("csv: %d rows, %v", len(rows), err)
	}
	b.Reset()
	Render(&b, recs, "json")
	var back []Record
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back) != len(recs) {
		t.Errorf("json: %v", err)
	}
	b.Reset()
	Render(&b, recs, "table")
	if !strings.Contains(b.String(), "TYPE") || strings.Count(b.String(), "\n") != len(recs)+1 {
		t.Errorf("table:\n%s", b.String())
	}
	if err := Render(&b, recs, "yaml"); err == nil {
		t.Error("unknown format accepted")
	}
}
