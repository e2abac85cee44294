package identity

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/sesame-email/sesame/internal/dkim"
	"github.com/sesame-email/sesame/internal/dnsx"
	"github.com/sesame-email/sesame/internal/store"
)

// Resolver is the DNS the checks need; *dnsx.Client implements it.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupCNAME(ctx context.Context, host string) (string, error)
}

func canon(name string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
}

// dnsProblem classifies a lookup error: SES's VerificationError, words for
// people, and whether the failure is the resolver's rather than the record's.
func dnsProblem(err error) (errType, words string, unknown bool) {
	var de *net.DNSError
	switch {
	case dnsx.IsNotFound(err):
		if errors.As(err, &de) && strings.Contains(strings.ToLower(de.Err), "no such host") {
			return "HOST_NOT_FOUND", "NXDOMAIN: the name does not exist", false
		}
		return "TYPE_NOT_FOUND", "the name exists but has no record of this type", false
	case errors.As(err, &de) && de.IsTimeout:
		return "DNS_SERVER_ERROR", "DNS timeout", true
	default:
		return "DNS_SERVER_ERROR", "DNS error: " + err.Error(), true
	}
}

// checker runs the record checks of one identity.
type checker struct {
	r       Resolver
	domain  string // service domain D
	region  string
	outcome outcome
}

func (c *checker) add(rc store.RecordCheck, errType string, unknown bool) {
	c.outcome.records = append(c.outcome.records, rc)
	if rc.OK {
		return
	}
	if unknown {
		c.outcome.unknown = true
	}
	if c.outcome.errorType == "" || c.outcome.errorType == "INVALID_VALUE" {
		c.outcome.errorType = errType
	}
}

func (c *checker) finish() outcome {
	c.outcome.ok = len(c.outcome.records) > 0
	for _, r := range c.outcome.records {
		c.outcome.ok = c.outcome.ok && r.OK
	}
	if c.outcome.ok {
		c.outcome.unknown = false
	}
	return c.outcome
}

// misplaced looks for the common mistake of entering the full name in a DNS
// console that appends the zone: token._domainkey.example.com.example.com.
func (c *checker) misplaced(ctx context.Context, name, zone string) string {
	doubled := name + "." + zone
	if _, err := c.r.LookupCNAME(ctx, doubled); err == nil {
		return fmt.Sprintf("published at %s: your DNS provider appended %s; enter the name without it", doubled, zone)
	}
	if txt, err := c.r.LookupTXT(ctx, doubled); err == nil && len(txt) > 0 {
		return fmt.Sprintf("published at %s: your DNS provider appended %s; enter the name without it", doubled, zone)
	}
	return ""
}

// checkCNAME checks name → target (following any chain).
func (c *checker) checkCNAME(ctx context.Context, name, target, zone string) {
	rc := store.RecordCheck{Type: "CNAME", Name: name, Expected: target}
	got, err := c.r.LookupCNAME(ctx, name)
	if err != nil {
		et, words, unknown := dnsProblem(err)
		rc.Problem = words
		if !unknown {
			if m := c.misplaced(ctx, name, zone); m != "" {
				rc.Problem = m
			}
		}
		c.add(rc, et, unknown)
		return
	}
	rc.Found = []string{canon(got)}
	rc.OK = canon(got) == canon(target)
	if !rc.OK {
		rc.Problem = fmt.Sprintf("points to %s instead of %s", canon(got), target)
	}
	c.add(rc, "INVALID_VALUE", false)
}

// checkTXT checks that one TXT record at name satisfies match.
func (c *checker) checkTXT(ctx context.Context, name, expected, zone string, match func(string) bool) {
	rc := store.RecordCheck{Type: "TXT", Name: name, Expected: expected}
	txts, err := c.r.LookupTXT(ctx, name)
	if err != nil {
		et, words, unknown := dnsProblem(err)
		rc.Problem = words
		if !unknown && zone != "" {
			if m := c.misplaced(ctx, name, zone); m != "" {
				rc.Problem = m
			}
		}
		c.add(rc, et, unknown)
		return
	}
	rc.Found = txts
	rc.OK = slices.ContainsFunc(txts, match)
	if !rc.OK {
		rc.Problem = "no TXT record here has the expected value"
	}
	c.add(rc, "INVALID_VALUE", false)
}

// EasyDKIMTarget is where a customer's DKIM CNAME for token points.
func EasyDKIMTarget(token, serviceDomain string) string { return token + ".dkim." + serviceDomain }

// FeedbackHost is the MX target of custom MAIL FROM domains in region.
func FeedbackHost(region, serviceDomain string) string {
	return "feedback-smtp." + region + "." + serviceDomain
}

// checkDKIM verifies a domain's DKIM records: the three Easy DKIM CNAMEs,
// or the BYODKIM selector's TXT carrying the public half of the stored key.
func checkDKIM(ctx context.Context, r Resolver, serviceDomain string, id store.Identity, pubs map[string]crypto.PublicKey) outcome {
	c := &checker{r: r, domain: serviceDomain}
	switch id.DKIM.Origin {
	case "AWS_SES":
		for _, t := range id.DKIM.Tokens {
			c.checkCNAME(ctx, t+"._domainkey."+id.Name, EasyDKIMTarget(t, serviceDomain), id.Name)
		}
	case "EXTERNAL":
		for _, sel := range id.DKIM.Tokens {
			want := pubs[sel]
			c.checkTXT(ctx, sel+"._domainkey."+id.Name, "p=<the public key of your BYODKIM private key>", id.Name, func(txt string) bool {
				rec, err := dkim.ParseTXT(txt)
				if err != nil || rec.PublicKey == nil || want == nil {
					return false
				}
				eq, ok := want.(interface{ Equal(crypto.PublicKey) bool })
				return ok && eq.Equal(rec.PublicKey)
			})
		}
	}
	return c.finish()
}

// checkLegacyTXT verifies the v1 VerifyDomainIdentity token at
// _amazonses.<domain> (or "amazonses:<token>" at the apex, reference §9).
func checkLegacyTXT(ctx context.Context, r Resolver, id store.Identity) outcome {
	c := &checker{r: r}
	match := func(txt string) bool { return strings.TrimSpace(txt) == id.Token }
	c.checkTXT(ctx, "_amazonses."+id.Name, id.Token, id.Name, match)
	if !c.outcome.records[0].OK {
		if txts, err := r.LookupTXT(ctx, id.Name); err == nil && slices.Contains(txts, "amazonses:"+id.Token) {
			c.outcome = outcome{}
			c.add(store.RecordCheck{Type: "TXT", Name: id.Name, Expected: "amazonses:" + id.Token, Found: txts, OK: true}, "", false)
		}
	}
	return c.finish()
}

// checkMailFrom verifies a custom MAIL FROM domain (reference §9): one MX
// pointing at feedback-smtp.R.D and an SPF record that includes D.
func checkMailFrom(ctx context.Context, r Resolver, serviceDomain, region, mailFrom string) outcome {
	c := &checker{r: r}
	want := FeedbackHost(region, serviceDomain)
	rc := store.RecordCheck{Type: "MX", Name: mailFrom, Expected: "10 " + want}
	mxs, err := r.LookupMX(ctx, mailFrom)
	if err != nil {
		et, words, unknown := dnsProblem(err)
		rc.Problem = words
		c.add(rc, et, unknown)
	} else {
		for _, mx := range mxs {
			rc.Found = append(rc.Found, fmt.Sprintf("%d %s", mx.Pref, canon(mx.Host)))
		}
		rc.OK = len(mxs) == 1 && canon(mxs[0].Host) == want
		switch {
		case rc.OK:
		case len(mxs) > 1 && slices.ContainsFunc(mxs, func(m *net.MX) bool { return canon(m.Host) == want }):
			rc.Problem = "more than one MX record; keep only " + want
		default:
			rc.Problem = "MX points elsewhere; it must point to " + want
		}
		c.add(rc, "INVALID_VALUE", false)
	}
	spf := "v=spf1 include:" + serviceDomain + " ~all"
	c.checkTXT(ctx, mailFrom, spf, "", func(txt string) bool {
		f := strings.Fields(strings.ToLower(txt))
		return len(f) > 0 && f[0] == "v=spf1" && slices.ContainsFunc(f[1:], func(term string) bool {
			return strings.TrimLeft(term, "+") == "include:"+serviceDomain
		})
	})
	return c.finish()
}
