package inbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"

	"github.com/sesame-email/sesame/internal/dkim"
)

// Resolver is what verdicts need from DNS (dnsx.Client). Its errors must
// be *net.DNSError, unwrapped: blitiri spf and go-msgauth classify them.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Verdict is one SES verdict ({"status": "PASS"}).
type Verdict struct {
	Status string `json:"status"` // PASS, FAIL, GRAY, PROCESSING_FAILED, DISABLED
}

// Verdicts are a message's authentication results.
type Verdicts struct {
	SPF, DKIM, DMARC Verdict
	// DMARCPolicy is the From domain's policy (none, quarantine, reject),
	// "" when it has none.
	DMARCPolicy string
	// Results is the Authentication-Results header value (RFC 8601 §2.2).
	Results string
}

// orgDomain is the organizational domain (RFC 7489 §3.2).
func orgDomain(d string) string {
	if o, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return o
	}
	return d
}

func aligned(a, b string, strict bool) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if strict {
		return a == b
	}
	return orgDomain(a) == orgDomain(b)
}

// Evaluate computes SPF (RFC 7208, against the connecting IP, HELO and
// MAIL FROM), DKIM (RFC 6376, every signature) and DMARC (RFC 7489, with
// the organizational-domain fallback of §6.6.3) for one received message.
func Evaluate(ctx context.Context, r Resolver, host string, ip netip.Addr, helo, mailFrom string, raw []byte) Verdicts {
	var v Verdicts
	var res []string
	// SPF.
	sender := mailFrom
	if sender == "" {
		sender = "postmaster@" + helo
	}
	spfRes, _ := spf.CheckHostWithSender(net.IP(ip.Unmap().AsSlice()), helo, sender, spf.WithResolver(r), spf.WithContext(ctx))
	switch spfRes {
	case spf.Pass:
		v.SPF.Status = "PASS"
	case spf.Fail, spf.SoftFail:
		v.SPF.Status = "FAIL"
	case spf.TempError, spf.PermError:
		v.SPF.Status = "PROCESSING_FAILED"
	default: // none, neutral
		v.SPF.Status = "GRAY"
	}
	spfDomain := sender[strings.LastIndexByte(sender, '@')+1:]
	res = append(res, fmt.Sprintf("spf=%s smtp.mailfrom=%s", strings.ToLower(string(spfRes)), sender))
	// DKIM.
	var passed []string
	vs, err := dkim.Verify(ctx, raw, r.LookupTXT)
	switch {
	case err != nil:
		v.DKIM.Status = "PROCESSING_FAILED"
		res = append(res, "dkim=permerror")
	case len(vs) == 0:
		v.DKIM.Status = "GRAY"
		res = append(res, "dkim=none")
	default:
		v.DKIM.Status = "FAIL"
		for _, x := range vs {
			r := "fail"
			switch {
			case x.Err == nil:
				r = "pass"
				v.DKIM.Status = "PASS"
				passed = append(passed, x.Domain)
			case x.Temporary:
				r = "temperror"
			}
			res = append(res, fmt.Sprintf("dkim=%s header.d=%s header.s=%s", r, x.Domain, x.Selector))
		}
	}
	// DMARC on the From domain.
	fromDomain := ""
	if m, err := mail.ReadMessage(strings.NewReader(string(headerOf(raw)))); err == nil {
		if l, err := mail.ParseAddressList(m.Header.Get("From")); err == nil && len(l) == 1 {
			fromDomain = strings.ToLower(l[0].Address[strings.LastIndexByte(l[0].Address, '@')+1:])
		}
	}
	lookup := func(name string) ([]string, error) { return r.LookupTXT(ctx, name) }
	rec, err := dmarc.LookupWithOptions(fromDomain, &dmarc.LookupOptions{LookupTXT: lookup})
	sub := false
	if errors.Is(err, dmarc.ErrNoPolicy) && fromDomain != "" && orgDomain(fromDomain) != fromDomain {
		rec, err = dmarc.LookupWithOptions(orgDomain(fromDomain), &dmarc.LookupOptions{LookupTXT: lookup})
		sub = true
	}
	switch {
	case fromDomain == "":
		v.DMARC.Status = "FAIL"
		res = append(res, "dmarc=permerror (no single From address)")
	case errors.Is(err, dmarc.ErrNoPolicy):
		v.DMARC.Status = "GRAY"
		res = append(res, "dmarc=none header.from="+fromDomain)
	case err != nil:
		v.DMARC.Status = "PROCESSING_FAILED"
		res = append(res, "dmarc=temperror header.from="+fromDomain)
	default:
		v.DMARCPolicy = string(rec.Policy)
		if sub && rec.SubdomainPolicy != "" {
			v.DMARCPolicy = string(rec.SubdomainPolicy)
		}
		ok := v.SPF.Status == "PASS" && aligned(spfDomain, fromDomain, rec.SPFAlignment == dmarc.AlignmentStrict)
		for _, d := range passed {
			ok = ok || aligned(d, fromDomain, rec.DKIMAlignment == dmarc.AlignmentStrict)
		}
		if ok {
			v.DMARC.Status = "PASS"
			res = append(res, "dmarc=pass header.from="+fromDomain)
		} else {
			v.DMARC.Status = "FAIL"
			res = append(res, fmt.Sprintf("dmarc=fail (p=%s) header.from=%s", v.DMARCPolicy, fromDomain))
		}
	}
	v.Results = host + ";\r\n\t" + strings.Join(res, ";\r\n\t")
	return v
}

// headerOf returns the header section of raw (with the blank line).
func headerOf(raw []byte) []byte {
	s := string(raw)
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		return []byte(s[:i+4])
	}
	if i := strings.Index(s, "\n\n"); i >= 0 {
		return []byte(s[:i+2])
	}
	return append(raw, "\r\n\r\n"...)
}
