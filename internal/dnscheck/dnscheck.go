// Package dnscheck builds the table of DNS records a customer's DNS admin
// must publish for an identity (seed 002's table: Type, Name, Value,
// Purpose), checks each against what DNS holds now, and renders the table
// as text, CSV, JSON or BIND zone lines.
package dnscheck

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/net/publicsuffix"
)

// Resolver is the DNS the checks need.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupCNAME(ctx context.Context, host string) (string, error)
}

// Identity is what the table is built from.
type Identity struct {
	Name   string // domain, or address
	Domain bool
	// DKIMOrigin is AWS_SES, EXTERNAL or "".
	DKIMOrigin string
	// Tokens are the Easy DKIM tokens or the BYODKIM selector.
	Tokens []string
	// Ed25519Token is the token of an additional Ed25519 key, or "".
	Ed25519Token string
	// BYODKIMPublic is the TXT value of the BYODKIM public key.
	BYODKIMPublic string
	// LegacyToken is the _amazonses TXT token, shown when DKIM is off.
	LegacyToken string
	MailFrom    string
	Region      string
}

// Status of one record.
const (
	Found   = "found"
	Missing = "missing"
	Wrong   = "wrong"
	Unknown = "unknown" // DNS could not answer
	Present = "present" // an optional record exists in some form
)

// Record is one row of the table.
type Record struct {
	Type     string
	Name     string
	Value    string
	Purpose  string
	Required bool
	Status   string   `json:",omitempty"`
	Found    []string `json:",omitempty"`
	Problem  string   `json:",omitempty"`
}

// Expected returns the records for id under service domain d (PRODUCT.md,
// "Identities and verification").
func Expected(id Identity, d string) []Record {
	if !id.Domain {
		return nil
	}
	var out []Record
	switch id.DKIMOrigin {
	case "AWS_SES":
		for _, t := range id.Tokens {
			out = append(out, Record{Type: "CNAME", Name: t + "._domainkey." + id.Name, Value: t + ".dkim." + d, Purpose: "DKIM (Easy DKIM key " + t[:6] + "…)", Required: true})
		}
	case "EXTERNAL":
		for _, sel := range id.Tokens {
			out = append(out, Record{Type: "TXT", Name: sel + "._domainkey." + id.Name, Value: id.BYODKIMPublic, Purpose: "DKIM (your own key, selector " + sel + ")", Required: true})
		}
	default:
		if id.LegacyToken != "" {
			out = append(out, Record{Type: "TXT", Name: "_amazonses." + id.Name, Value: id.LegacyToken, Purpose: "domain verification (legacy TXT)", Required: true})
		}
	}
	if t := id.Ed25519Token; t != "" {
		out = append(out, Record{Type: "CNAME", Name: t + "._domainkey." + id.Name, Value: t + ".dkim." + d, Purpose: "DKIM Ed25519 key (RFC 8463): mail gets a second, Ed25519 signature once this resolves"})
	}
	if id.MailFrom != "" {
		out = append(out,
			Record{Type: "MX", Name: id.MailFrom, Value: "10 feedback-smtp." + id.Region + "." + d, Purpose: "custom MAIL FROM: bounces and complaints come back to sesame", Required: true},
			Record{Type: "TXT", Name: id.MailFrom, Value: "v=spf1 include:" + d + " ~all", Purpose: "SPF for the MAIL FROM domain (SPF alignment for DMARC)", Required: true})
	}
	out = append(out, Record{Type: "TXT", Name: id.Name, Value: "v=spf1 include:" + d + " ~all", Purpose: "SPF for the From domain (if it has no SPF record yet)"})
	org, err := publicsuffix.EffectiveTLDPlusOne(id.Name)
	if err != nil {
		org = id.Name
	}
	out = append(out, Record{Type: "TXT", Name: "_dmarc." + org, Value: "v=DMARC1; p=none; rua=mailto:dmarc-reports@" + org, Purpose: "DMARC policy (start with p=none and read the reports)"})
	return out
}

func canon(s string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".") }

func spfIncludes(txt, d string) bool {
	f := strings.Fields(strings.ToLower(txt))
	return len(f) > 0 && f[0] == "v=spf1" && slices.ContainsFunc(f[1:], func(t string) bool { return strings.TrimLeft(t, "+") == "include:"+d })
}

// lookupProblem turns a lookup error into a status and words.
func lookupProblem(err error) (string, string) {
	var de *net.DNSError
	if ok := asDNSError(err, &de); ok && de.IsNotFound {
		return Missing, "not published (" + de.Err + ")"
	}
	return Unknown, "DNS error: " + err.Error()
}

func asDNSError(err error, target **net.DNSError) bool {
	de, ok := err.(*net.DNSError)
	if ok {
		*target = de
	}
	return ok
}

// Check fills in each record's Status, Found and Problem from DNS.
func Check(ctx context.Context, r Resolver, d string, recs []Record) []Record {
	out := slices.Clone(recs)
	for i := range out {
		rec := &out[i]
		switch rec.Type {
		case "CNAME":
			got, err := r.LookupCNAME(ctx, rec.Name)
			if err != nil {
				rec.Status, rec.Problem = lookupProblem(err)
				continue
			}
			rec.Found = []string{canon(got)}
			if canon(got) == canon(rec.Value) {
				rec.Status = Found
			} else {
				rec.Status, rec.Problem = Wrong, "points to "+canon(got)
			}
		case "MX":
			mxs, err := r.LookupMX(ctx, rec.Name)
			if err != nil {
				rec.Status, rec.Problem = lookupProblem(err)
				continue
			}
			want := canon(strings.Fields(rec.Value)[1])
			for _, mx := range mxs {
				rec.Found = append(rec.Found, fmt.Sprintf("%d %s", mx.Pref, canon(mx.Host)))
			}
			switch {
			case len(mxs) == 1 && canon(mxs[0].Host) == want:
				rec.Status = Found
			case len(mxs) > 1:
				rec.Status, rec.Problem = Wrong, "more than one MX record; keep only "+want
			default:
				rec.Status, rec.Problem = Wrong, "MX points elsewhere"
			}
		case "TXT":
			txts, err := r.LookupTXT(ctx, rec.Name)
			if err != nil {
				rec.Status, rec.Problem = lookupProblem(err)
				continue
			}
			rec.Found = txts
			rec.Status, rec.Problem = checkTXT(rec, txts, d)
		}
	}
	return out
}

func checkTXT(rec *Record, txts []string, d string) (string, string) {
	switch {
	case strings.HasPrefix(rec.Value, "v=spf1"):
		var spfs []string
		for _, t := range txts {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), "v=spf1") {
				spfs = append(spfs, t)
			}
		}
		switch {
		case len(spfs) == 0:
			return Missing, "no SPF record"
		case len(spfs) > 1:
			return Wrong, "more than one SPF record: receivers treat that as an error (RFC 7208 §4.5)"
		case spfIncludes(spfs[0], d):
			return Found, ""
		case rec.Required:
			return Wrong, "the SPF record does not include " + d
		default:
			return Present, "an SPF record exists; add include:" + d + " if sesame sends for this domain"
		}
	case strings.HasPrefix(rec.Value, "v=DMARC1"):
		for _, t := range txts {
			if strings.HasPrefix(strings.TrimSpace(t), "v=DMARC1") {
				return Present, ""
			}
		}
		return Missing, "no DMARC record"
	case strings.Contains(rec.Value, "p="):
		// A DKIM key: compare the p= values, ignoring other tags and spaces.
		want := pValue(rec.Value)
		for _, t := range txts {
			if pValue(t) == want && want != "" {
				return Found, ""
			}
		}
		return Wrong, "the TXT record does not carry this key"
	default:
		if slices.ContainsFunc(txts, func(t string) bool { return strings.TrimSpace(t) == rec.Value }) {
			return Found, ""
		}
		return Wrong, "no TXT record here has this value"
	}
}

func pValue(txt string) string {
	for _, part := range strings.Split(txt, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.TrimSpace(k) == "p" {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return ""
}

// Render writes recs in format: table, csv, json or bind.
func Render(w io.Writer, recs []Record, format string) error {
	switch format {
	case "", "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TYPE\tNAME\tVALUE\tSTATUS\tPURPOSE")
		for _, r := range recs {
			status := r.Status
			if r.Problem != "" {
				status += ": " + r.Problem
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Type, r.Name, r.Value, status, r.Purpose)
		}
		return tw.Flush()
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"Type", "Name", "Value", "Purpose", "Required", "Status", "Problem"})
		for _, r := range recs {
			cw.Write([]string{r.Type, r.Name, r.Value, r.Purpose, fmt.Sprint(r.Required), r.Status, r.Problem})
		}
		cw.Flush()
		return cw.Error()
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if recs == nil {
			recs = []Record{}
		}
		return enc.Encode(recs)
	case "bind":
		for _, r := range recs {
			fmt.Fprintf(w, "; %s\n%s\n", r.Purpose, BindLine(r))
		}
		return nil
	}
	return fmt.Errorf("dnscheck: unknown format %q: want table, csv, json or bind", format)
}

// BindLine renders a record as one zone-file line (RFC 1035 §5.1), with
// absolute names and TXT values split into quoted ≤255-octet strings.
func BindLine(r Record) string {
	name := canon(r.Name) + "."
	switch r.Type {
	case "CNAME":
		return fmt.Sprintf("%s 300 IN CNAME %s.", name, canon(r.Value))
	case "MX":
		f := strings.Fields(r.Value)
		return fmt.Sprintf("%s 300 IN MX %s %s.", name, f[0], canon(f[1]))
	default:
		v := r.Value
		var parts []string
		for len(v) > 255 {
			parts, v = append(parts, v[:255]), v[255:]
		}
		parts = append(parts, v)
		for i, p := range parts {
			parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p) + `"`
		}
		return fmt.Sprintf("%s 300 IN TXT %s", name, strings.Join(parts, " "))
	}
}
