package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// DMARCRecord is a parsed DMARC policy record (RFC 7489 §6.3; the np, psd
// and t tags of DMARCbis, RFC 9989).
type DMARCRecord struct {
	// Raw is the record as published.
	Raw string
	// P, SP and NP are the policies (none, quarantine, reject), lowercase;
	// "" when absent or invalid.
	P, SP, NP string
	// ADKIM and ASPF are the alignment modes, "r" (the default) or "s".
	ADKIM, ASPF string
	// PCT is the pct tag, 100 when absent (RFC 7489 §6.3).
	PCT int
	// RUA and RUF are the reporting URIs as written (size suffix
	// included).
	RUA, RUF []string
	// PSD is the DMARCbis psd tag ("y", "n", "u"), "" when absent.
	PSD string
	// Problems are syntax problems receivers tolerate or that change the
	// record's meaning (an invalid p=, a duplicate tag, …).
	Problems []string
}

// IsDMARC reports whether a TXT record is a DMARC record: it starts with
// the tag "v=DMARC1" (RFC 7489 §6.6.3 step 3).
func IsDMARC(txt string) bool {
	first, _, _ := strings.Cut(txt, ";")
	k, v, ok := strings.Cut(first, "=")
	return ok && strings.TrimSpace(k) == "v" && strings.TrimSpace(v) == "DMARC1"
}

// ParseDMARC parses a DMARC record: a tag list whose first tag is
// v=DMARC1 (RFC 7489 §6.4). It fails only for a record that is not DMARC
// at all; problems receivers work around go into Problems.
func ParseDMARC(txt string) (*DMARCRecord, error) {
	if !IsDMARC(txt) {
		return nil, errors.New("not a DMARC record: it must start with \"v=DMARC1\"")
	}
	rec := &DMARCRecord{Raw: txt, ADKIM: "r", ASPF: "r", PCT: 100}
	seen := map[string]bool{}
	parts := strings.Split(txt, ";")
	for i, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			if i != len(parts)-1 {
				rec.Problems = append(rec.Problems, "empty tag (\";;\")")
			}
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || k == "" {
			rec.Problems = append(rec.Problems, fmt.Sprintf("%q is not tag=value", part))
			continue
		}
		if seen[k] {
			rec.Problems = append(rec.Problems, "tag "+k+" appears twice")
			continue
		}
		seen[k] = true
		lv := strings.ToLower(v)
		switch k {
		case "v":
		case "p", "sp", "np":
			if lv != "none" && lv != "quarantine" && lv != "reject" {
				rec.Problems = append(rec.Problems, fmt.Sprintf("%s=%s is not none, quarantine or reject", k, v))
				continue
			}
			switch k {
			case "p":
				rec.P = lv
			case "sp":
				rec.SP = lv
			default:
				rec.NP = lv
			}
		case "adkim", "aspf":
			if lv != "r" && lv != "s" {
				rec.Problems = append(rec.Problems, fmt.Sprintf("%s=%s is not r or s", k, v))
				continue
			}
			if k == "adkim" {
				rec.ADKIM = lv
			} else {
				rec.ASPF = lv
			}
		case "pct":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				rec.Problems = append(rec.Problems, fmt.Sprintf("pct=%s is not 0-100", v))
				continue
			}
			rec.PCT = n
		case "rua", "ruf":
			var uris []string
			for _, u := range strings.Split(v, ",") {
				if u = strings.TrimSpace(u); u != "" {
					uris = append(uris, u)
				}
			}
			if k == "rua" {
				rec.RUA = uris
			} else {
				rec.RUF = uris
			}
		case "psd":
			if lv != "y" && lv != "n" && lv != "u" {
				rec.Problems = append(rec.Problems, fmt.Sprintf("psd=%s is not y, n or u", v))
				continue
			}
			rec.PSD = lv
		case "fo", "rf", "ri", "t":
		default:
			// RFC 7489 §6.3: unknown tags are ignored.
			rec.Problems = append(rec.Problems, "unknown tag "+k+" (ignored by receivers)")
		}
	}
	if rec.P == "" && !seen["p"] {
		rec.Problems = append(rec.Problems, "no p= tag")
	}
	return rec, nil
}

// ReportDomain returns the host of a mailto: reporting URI (RFC 7489
// §6.2), lowercase; "" when the URI is not a mailto: with a domain.
func ReportDomain(uri string) string {
	u := strings.TrimSpace(uri)
	if len(u) < 7 || !strings.EqualFold(u[:7], "mailto:") {
		return ""
	}
	u = u[7:]
	// A size limit follows "!" (RFC 7489 §6.2); "?" starts hfields.
	if i := strings.IndexAny(u, "!?"); i >= 0 {
		u = u[:i]
	}
	at := strings.LastIndexByte(u, '@')
	if at <= 0 || at == len(u)-1 {
		return ""
	}
	return canon(u[at+1:])
}

// OrgDomain returns the organizational domain of d (RFC 7489 §3.2): the
// public suffix plus one label, by the Public Suffix List.
func OrgDomain(d string) string {
	d = canon(d)
	org, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return org
}

// DMARCLookup is the outcome of one policy discovery.
type DMARCLookup struct {
	// Domain is where the record was found (without "_dmarc."); "" when
	// none was.
	Domain string
	// Record is the one DMARC record there.
	Record *DMARCRecord
	// Queried lists the names asked, in order, with what each answered.
	Queried []string
	// Multiple names a name that held more than one DMARC record, which
	// ends discovery with no policy (RFC 7489 §6.6.3 step 5).
	Multiple string
	// Err is a DNS failure that stopped discovery (receivers defer or
	// skip DMARC, RFC 7489 §6.9).
	Err error
}

// dmarcAt asks for the DMARC records at _dmarc.<d>.
func dmarcAt(ctx context.Context, r Resolver, d string, out *DMARCLookup) (found bool) {
	name := "_dmarc." + d
	txts, err := r.LookupTXT(ctx, name)
	if err != nil {
		if isNotFound(err) {
			out.Queried = append(out.Queried, "TXT "+name+": none")
			return false
		}
		out.Queried = append(out.Queried, fmt.Sprintf("TXT %s: %v", name, err))
		out.Err = err
		return true
	}
	var recs []string
	for _, t := range txts {
		if IsDMARC(t) {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		out.Queried = append(out.Queried, "TXT "+name+": no DMARC record")
		return false
	case 1:
		out.Queried = append(out.Queried, fmt.Sprintf("TXT %s: %q", name, recs[0]))
		rec, _ := ParseDMARC(recs[0])
		out.Domain, out.Record = d, rec
		return true
	default:
		out.Queried = append(out.Queried, fmt.Sprintf("TXT %s: %d DMARC records %q", name, len(recs), recs))
		out.Multiple = d
		return true
	}
}

// DiscoverRFC7489 finds the policy for a From domain by RFC 7489 §6.6.3:
// _dmarc.<domain>, then _dmarc.<organizational domain> (§3.2, by the
// Public Suffix List) if that differs.
func DiscoverRFC7489(ctx context.Context, r Resolver, domain string) DMARCLookup {
	var out DMARCLookup
	d := canon(domain)
	if dmarcAt(ctx, r, d, &out) {
		return out
	}
	if org := OrgDomain(d); org != d {
		dmarcAt(ctx, r, org, &out)
	}
	return out
}

// treeWalkMaxLabels is where DMARCbis's DNS tree walk starts after the
// exact name for long names: at most 7 labels, so at most 8 queries.
const treeWalkMaxLabels = 7

// DiscoverTreeWalk finds the policy for a From domain by the DMARCbis DNS
// tree walk (RFC 9989): _dmarc.<domain>; then, for a name of eight labels
// or more, the name cut to its last seven labels; then one label fewer at
// a time up to the top-level domain. The first name holding a record
// wins.
func DiscoverTreeWalk(ctx context.Context, r Resolver, domain string) DMARCLookup {
	var out DMARCLookup
	d := canon(domain)
	if dmarcAt(ctx, r, d, &out) {
		return out
	}
	labels := strings.Split(d, ".")
	start := 1
	if len(labels) > treeWalkMaxLabels {
		start = len(labels) - treeWalkMaxLabels
	}
	for i := start; i < len(labels); i++ {
		if dmarcAt(ctx, r, strings.Join(labels[i:], "."), &out) {
			return out
		}
	}
	return out
}

// Policy returns the policy that applies to mail from fromDomain under a
// record found at lookup domain found: p= at the domain itself, sp= (or
// p=) for a subdomain (RFC 7489 §6.3).
func (rec *DMARCRecord) Policy(fromDomain, found string) string {
	if canon(fromDomain) != canon(found) && rec.SP != "" {
		return rec.SP
	}
	return rec.P
}

// Aligned reports whether an authenticated domain aligns with the From
// domain: exactly in strict mode, by organizational domain in relaxed
// mode (RFC 7489 §3.1.1, §3.1.2).
func Aligned(authDomain, fromDomain, mode string) bool {
	a, f := canon(authDomain), canon(fromDomain)
	if a == "" || f == "" {
		return false
	}
	if mode == "s" {
		return a == f
	}
	return OrgDomain(a) == OrgDomain(f)
}
