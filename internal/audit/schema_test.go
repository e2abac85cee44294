package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// jsonPaths lists the field paths of a decoded JSON value: "a.b" for
// objects, "a[].b" for arrays.
func jsonPaths(prefix string, v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			jsonPaths(p, child, out)
		}
	case []any:
		for _, child := range x {
			jsonPaths(prefix+"[]", child, out)
		}
	}
}

// TestJSONSchema: the JSON field names are exactly those docs/AUDIT.md
// documents, so a rename or a removal cannot slip by.
func TestJSONSchema(t *testing.T) {
	c := newCheck(CheckDKIM, "t")
	c.evidence("e")
	c.problem(Warn, "fix", "msg")
	chk := c.finish()
	rep := &Report{
		Endpoint: "http://x", Service: Service{Domain: "d", Kind: KindSesame, Source: "s"}, SendingHosts: &chk,
		Regions: []RegionReport{{Region: "r", Error: "e", Identities: []IdentityReport{{
			Region: "r", Identity: "i", Type: TypeDomain, Verdict: Warn, FromDomain: "f", DKIMDomain: "k", MailFromDomain: "m", Checks: []Check{chk},
		}}}},
	}
	rep.finish()
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	jsonPaths("", v, paths)
	var got []string
	for p := range paths {
		// The counts' keys and sending_hosts' (a check) are documented in prose.
		if strings.HasPrefix(p, "identities.") || strings.HasPrefix(p, "checks.") || strings.HasPrefix(p, "sending_hosts.") {
			continue
		}
		got = append(got, p)
	}
	slices.Sort(got)

	doc, err := os.ReadFile("../../docs/AUDIT.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(doc), "<!-- fields: begin -->")
	table, _, _ = strings.Cut(table, "<!-- fields: end -->")
	var want []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_.\\[\\]]+)` \\|").FindAllStringSubmatch(table, -1) {
		want = append(want, m[1])
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("JSON fields differ from docs/AUDIT.md\n code: %q\n docs: %q", got, want)
	}
	for _, k := range []string{"PASS", "WARN", "FAIL", "UNKNOWN"} {
		if !paths["identities."+k] || !paths["checks."+k] {
			t.Errorf("count %s missing", k)
		}
	}
	for _, k := range []string{"id", "title", "verdict", "summary", "fix", "evidence", "problems"} {
		if !paths["sending_hosts."+k] {
			t.Errorf("sending_hosts.%s missing", k)
		}
	}
	if rep.Schema != "sesame.audit/v1" {
		t.Errorf("schema %q", rep.Schema)
	}
}
