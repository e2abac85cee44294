package audit

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/sesame-email/sesame/internal/dkim"
	"github.com/sesame-email/sesame/internal/dnsx"
)

// Resolver is the DNS the checks ask; *dnsx.Client implements it.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
	LookupCNAME(ctx context.Context, host string) (string, error)
}

func isNotFound(err error) bool { return dnsx.IsNotFound(err) }

func canon(s string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".") }

// Identity types, as SES names them.
const (
	TypeDomain = "DOMAIN"
	TypeEmail  = "EMAIL_ADDRESS"
)

// Identity is what the SES API says about an identity: the input of the
// checks.
type Identity struct {
	Region string
	Name   string
	Type   string // TypeDomain or TypeEmail
	// VerificationStatus is PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE or
	// NOT_STARTED; Verified is VerifiedForSendingStatus.
	VerificationStatus string
	Verified           bool
	// DKIM are the identity's DkimAttributes (for an address, those it
	// inherits).
	DKIM DKIMAttributes
	// SigningDomain is the domain identity whose DKIM key signs: the
	// identity itself for a domain; for an address the nearest domain
	// identity (its domain or a parent) in the region, "" when none.
	SigningDomain string
	// MailFrom is the custom MAIL FROM in effect: the identity's own, or
	// for an address the one of its signing domain.
	MailFrom MailFromAttributes
}

// DKIMAttributes mirror SES v2 DkimAttributes.
type DKIMAttributes struct {
	SigningEnabled bool
	Status         string
	Origin         string // AWS_SES, EXTERNAL, AWS_SES_AF_SOUTH_1, …
	Tokens         []string
	HostedZone     string
	KeyLength      string
}

// MailFromAttributes mirror SES v2 MailFromAttributes.
type MailFromAttributes struct {
	Domain   string
	Status   string
	Behavior string
}

// FromDomain is the domain of the From addresses the identity sends.
func (id Identity) FromDomain() string {
	if id.Type == TypeEmail {
		_, d, _ := strings.Cut(id.Name, "@")
		return canon(d)
	}
	return canon(id.Name)
}

// Auditor runs the checks on one resolver for one service. Methods are
// safe for concurrent use when the resolver is.
type Auditor struct {
	R       Resolver
	Service Service
}

// state carries results between the checks of one identity.
type state struct {
	id       Identity
	from     string
	mailFrom string // MAIL FROM domain used today
	custom   bool   // it is a verified custom MAIL FROM
	dkimOK   bool   // signatures would verify
	spfMail  *SPFResult
	spfOK    bool // MAIL FROM SPF would pass for the service's hosts
	dmarc    DMARCLookup
	dmarcBis DMARCLookup
}

// Audit runs every check on id. hosts is the service's sending-host check
// (nil when it could not be made).
func (a *Auditor) Audit(ctx context.Context, id Identity, hosts *Check) IdentityReport {
	st := &state{id: id, from: id.FromDomain()}
	st.mailFrom = a.Service.DefaultMailFrom(id.Region)
	if m := id.MailFrom; m.Domain != "" && m.Status == "SUCCESS" {
		st.mailFrom, st.custom = canon(m.Domain), true
	}
	out := IdentityReport{Region: id.Region, Identity: id.Name, Type: id.Type, FromDomain: st.from, DKIMDomain: canon(id.SigningDomain), MailFromDomain: st.mailFrom}
	checks := []Check{
		a.checkDKIM(ctx, st),
		a.checkSPFMailFrom(ctx, st),
		a.checkSPFFrom(ctx, st),
		a.checkMailFrom(ctx, st),
		a.checkDMARC(ctx, st),
	}
	checks = append(checks, a.checkAlignment(st), a.checkBulk(st, hosts))
	out.Checks = checks
	out.Verdict = Pass
	for _, c := range checks {
		out.Verdict = Worse(out.Verdict, c.Verdict)
	}
	return out
}

// checkDKIM: verified, signing enabled, the CNAMEs (or BYODKIM TXT)
// resolve to keys of at least 1024 bits (RFC 8301 §3.2), 2048 advised.
func (a *Auditor) checkDKIM(ctx context.Context, st *state) Check {
	c := newCheck(CheckDKIM, "DKIM signing and keys")
	id, d := st.id, st.id.DKIM
	sd := canon(id.SigningDomain)
	if !id.Verified {
		fix := fmt.Sprintf("publish the DKIM records of %s and wait for verification", id.Name)
		if id.Type == TypeEmail {
			fix = fmt.Sprintf("open the verification link mailed to %s, or verify its domain", id.Name)
		}
		c.problem(Fail, fix, "%s is not verified for sending (status %s)", id.Name, orNone(id.VerificationStatus))
	}
	if sd == "" {
		c.problem(Fail, fmt.Sprintf("create and verify the domain identity %s in %s: an address signs with its domain's DKIM key", st.from, id.Region),
			"no domain identity for %s in %s, so mail from %s is not DKIM-signed with the address's domain", st.from, id.Region, id.Name)
		return c.finish()
	}
	if id.Type == TypeEmail {
		c.evidence("inherits DKIM from domain identity %s", sd)
	}
	c.evidence("API: DKIM status %s, signing enabled %v, origin %s, key %s", d.Status, d.SigningEnabled, d.Origin, d.KeyLength)
	if d.Status != "SUCCESS" {
		c.problem(Fail, fmt.Sprintf("publish the DKIM records of %s (sesame identity records %s) and wait for SUCCESS", sd, sd),
			"DKIM status of %s is %s, not SUCCESS", sd, orNone(d.Status))
	}
	if !d.SigningEnabled {
		c.problem(Fail, fmt.Sprintf("aws sesv2 put-email-identity-dkim-attributes --email-identity %s --signing-enabled", id.Name),
			"DKIM signing is disabled for %s", id.Name)
	}
	if len(d.Tokens) == 0 {
		c.problem(Fail, fmt.Sprintf("set up Easy DKIM for %s", sd), "%s has no DKIM tokens", sd)
		return c.finish()
	}
	good, small := 0, []string(nil)
	for _, tok := range d.Tokens {
		name := tok + "._domainkey." + sd
		var txtName string
		if strings.EqualFold(d.Origin, "EXTERNAL") {
			txtName = name
		} else {
			want := a.Service.DKIMTarget(tok)
			got, err := a.R.LookupCNAME(ctx, name)
			switch {
			case err != nil && isNotFound(err):
				c.evidence("CNAME %s: none (%v)", name, err)
				doubled := name + "." + sd
				if t, err2 := a.R.LookupCNAME(ctx, doubled); err2 == nil {
					c.evidence("CNAME %s: %s", doubled, canon(t))
					c.problem(Fail, fmt.Sprintf("rename %s to %s: your DNS provider appends the domain, so enter the name as %s._domainkey only", doubled, name, tok),
						"the CNAME for %s was published at %s (domain appended twice)", tok, doubled)
				} else {
					c.problem(Fail, fmt.Sprintf("publish CNAME %s → %s", name, want), "the DKIM CNAME %s is missing", name)
				}
				continue
			case err != nil:
				c.evidence("CNAME %s: %v", name, err)
				c.problem(Unknown, "", "DNS could not answer for %s: %v", name, err)
				continue
			}
			c.evidence("CNAME %s: %s", name, canon(got))
			if !a.dkimTargetOK(tok, canon(got)) {
				c.problem(Fail, fmt.Sprintf("point CNAME %s to %s", name, want), "the DKIM CNAME %s points to %s, not %s", name, canon(got), want)
				continue
			}
			txtName = canon(got)
		}
		txts, err := a.R.LookupTXT(ctx, txtName)
		if err != nil {
			if isNotFound(err) {
				c.evidence("TXT %s: none", txtName)
				fix := fmt.Sprintf("publish the public key of selector %s at TXT %s", tok, txtName)
				if !strings.EqualFold(d.Origin, "EXTERNAL") {
					fix = fmt.Sprintf("the service no longer publishes key %s: re-create the DKIM keys of %s", tok, sd)
				}
				c.problem(Fail, fix, "no DKIM key at %s", txtName)
			} else {
				c.evidence("TXT %s: %v", txtName, err)
				c.problem(Unknown, "", "DNS could not answer for %s: %v", txtName, err)
			}
			continue
		}
		var keys []*dkim.Record
		for _, t := range txts {
			if rec, err := dkim.ParseTXT(t); err == nil {
				keys = append(keys, rec)
			}
		}
		if len(keys) != 1 || keys[0].PublicKey == nil {
			c.evidence("TXT %s: %q", txtName, txts)
			c.problem(Fail, fmt.Sprintf("publish exactly one DKIM key record at %s", txtName), "%s holds %d usable DKIM key records (RFC 6376 §3.6.2.2 wants one)", txtName, len(keys))
			continue
		}
		length := dkim.KeyLength(keys[0].PublicKey)
		c.evidence("TXT %s: %s key", txtName, length)
		bits := rsaBits(length)
		switch {
		case bits > 0 && bits < 1024:
			c.problem(Fail, fmt.Sprintf("replace the %d-bit key of %s with a 2048-bit one", bits, tok), "key %s is %d bits; receivers ignore keys under 1024 (RFC 8301 §3.2)", tok, bits)
		case bits > 0 && bits < 2048:
			small = append(small, fmt.Sprintf("%s (%d bits)", tok, bits))
			good++
		default:
			good++
		}
	}
	if len(small) > 0 {
		fix := fmt.Sprintf("rotate %s to 2048-bit keys: aws sesv2 put-email-identity-dkim-signing-attributes --email-identity %s --signing-attributes-origin AWS_SES --signing-attributes NextSigningKeyLength=RSA_2048_BIT", sd, sd)
		if strings.EqualFold(d.Origin, "EXTERNAL") {
			fix = fmt.Sprintf("publish a 2048-bit BYODKIM key for %s", sd)
		}
		c.problem(Warn, fix, "DKIM keys shorter than 2048 bits, which is advised: %s", strings.Join(small, ", "))
	}
	st.dkimOK = good == len(d.Tokens) && d.SigningEnabled && d.Status == "SUCCESS"
	c.ok = fmt.Sprintf("%s signs with %d keys that resolve", sd, good)
	return c.finish()
}

// dkimTargetOK accepts <token>.dkim.<service domain>; for SES also the
// regional zones (<token>.dkim.<region>.amazonses.com).
func (a *Auditor) dkimTargetOK(tok, got string) bool {
	if got == canon(a.Service.DKIMTarget(tok)) {
		return true
	}
	return a.Service.IsAWS() && strings.HasPrefix(got, tok+".dkim.") && strings.HasSuffix(got, "."+a.Service.Domain)
}

func rsaBits(length string) int {
	var n int
	if _, err := fmt.Sscanf(length, "RSA_%d_BIT", &n); err != nil {
		return 0
	}
	return n
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// spfEvidence adds a walk's findings to c; requireService makes a record
// that does not reach the service a failure. It returns whether a
// receiver would get a usable record.
func (a *Auditor) spfEvidence(c *Check, res *SPFResult, requireService bool, missingFix string) bool {
	c.Evidence = append(c.Evidence, res.Evidence...)
	switch {
	case len(res.TempErrors) > 0:
		c.problem(Unknown, "", "DNS could not answer: %s", strings.Join(res.TempErrors, "; "))
	case res.Records == 0:
		c.evidence("TXT %s: no SPF record", res.Domain)
		v := Warn
		if requireService {
			v = Fail
		}
		c.problem(v, missingFix, "no SPF record at %s", res.Domain)
		return false
	case res.Records > 1:
		c.problem(Fail, fmt.Sprintf("merge the %d SPF records at %s into one", res.Records, res.Domain), "%d SPF records at %s: receivers answer permerror (RFC 7208 §4.5)", res.Records, res.Domain)
		return false
	}
	c.evidence("%d DNS-querying terms, %d void lookups", res.Lookups, res.Voids)
	ok := true
	for _, pe := range res.PermErrors {
		fix := "fix the SPF record at " + res.Domain
		switch {
		case strings.Contains(pe, "DNS-querying terms"):
			fix = fmt.Sprintf("cut the SPF record at %s to at most %d include/a/mx/ptr/exists/redirect terms (use ip4:/ip6: or drop unused includes)", res.Domain, SPFMaxLookups)
		case strings.Contains(pe, "void lookups"):
			fix = fmt.Sprintf("remove the terms of %s's SPF tree that name domains without records", res.Domain)
		case strings.Contains(pe, "has no SPF record"):
			fix = "remove or correct the include: that names a domain without an SPF record"
		}
		c.problem(Fail, fix, "SPF permerror: %s", pe)
		ok = false
	}
	for _, d := range res.PlusAll {
		c.problem(Fail, fmt.Sprintf("replace +all with ~all or -all in the SPF record at %s", d), "the SPF record at %s ends in +all: it passes every host on the Internet", d)
		ok = false
	}
	for _, u := range res.Unevaluated {
		c.evidence("%s: has macros, not evaluated", u)
	}
	if requireService && !res.Includes(a.Service.Domain) {
		c.problem(Fail, fmt.Sprintf("add include:%s to the SPF record at %s", a.Service.Domain, res.Domain), "the SPF record at %s does not include %s", res.Domain, a.Service.Domain)
		ok = false
	}
	return ok
}

// checkSPFMailFrom evaluates SPF where receivers do: the MAIL FROM domain
// in use (RFC 7208 §2.4).
func (a *Auditor) checkSPFMailFrom(ctx context.Context, st *state) Check {
	c := newCheck(CheckSPFMailFrom, "SPF on the MAIL FROM domain")
	kind := "default"
	if st.custom {
		kind = "custom"
	}
	c.evidence("MAIL FROM domain in use: %s (%s)", st.mailFrom, kind)
	st.spfMail = WalkSPF(ctx, a.R, st.mailFrom)
	st.spfOK = a.spfEvidence(c, st.spfMail, true, fmt.Sprintf("publish TXT %s \"v=spf1 include:%s ~all\"", st.mailFrom, a.Service.Domain)) && c.Verdict == Pass
	c.ok = fmt.Sprintf("%s has one SPF record that includes %s (%d lookups)", st.mailFrom, a.Service.Domain, st.spfMail.Lookups)
	return c.finish()
}

// checkSPFFrom checks the From domain's own SPF record: not used for
// mail sent with another MAIL FROM, but evaluated for bounces and by
// receivers checking the HELO or the From domain, and a broken or +all
// record there is a liability.
func (a *Auditor) checkSPFFrom(ctx context.Context, st *state) Check {
	c := newCheck(CheckSPFFrom, "SPF on the From domain")
	if st.from == st.mailFrom {
		c.evidence("the From domain is the MAIL FROM domain: see %s", CheckSPFMailFrom)
		c.ok = "same as the MAIL FROM domain"
		return c.finish()
	}
	res := WalkSPF(ctx, a.R, st.from)
	a.spfEvidence(c, res, false, fmt.Sprintf("publish TXT %s \"v=spf1 include:%s ~all\" (or \"v=spf1 -all\" if nothing sends with this envelope domain)", st.from, a.Service.Domain))
	c.ok = fmt.Sprintf("%s has one valid SPF record (%d lookups)", st.from, res.Lookups)
	return c.finish()
}

// checkMailFrom checks the custom MAIL FROM domain: set, verified, one MX
// to the service's feedback host, SPF, aligned with From (relaxed).
func (a *Auditor) checkMailFrom(ctx context.Context, st *state) Check {
	c := newCheck(CheckMailFrom, "custom MAIL FROM domain")
	m := st.id.MailFrom
	want := a.Service.FeedbackHost(st.id.Region)
	if m.Domain == "" {
		c.evidence("no custom MAIL FROM; messages use %s", st.mailFrom)
		c.problem(Warn, fmt.Sprintf("set a custom MAIL FROM such as mail.%s with MX 10 %s and TXT \"v=spf1 include:%s ~all\"", st.from, want, a.Service.Domain),
			"no custom MAIL FROM: SPF passes for %s, which does not align with %s, so DMARC rests on DKIM alone", st.mailFrom, st.from)
		return c.finish()
	}
	md := canon(m.Domain)
	c.evidence("API: MAIL FROM %s, status %s, on MX failure %s", md, orNone(m.Status), m.Behavior)
	if m.Status != "SUCCESS" {
		then := fmt.Sprintf("mail goes out with %s meanwhile", a.Service.DefaultMailFrom(st.id.Region))
		if m.Behavior == "REJECT_MESSAGE" {
			then = "sends are rejected meanwhile (REJECT_MESSAGE)"
		}
		c.problem(Fail, fmt.Sprintf("publish MX 10 %s and the SPF record at %s, then wait for SUCCESS", want, md), "MAIL FROM %s status is %s, not SUCCESS: %s", md, orNone(m.Status), then)
	}
	mxs, err := a.R.LookupMX(ctx, md)
	switch {
	case err != nil && isNotFound(err):
		c.evidence("MX %s: none", md)
		c.problem(Fail, fmt.Sprintf("publish MX 10 %s at %s", want, md), "no MX at %s", md)
	case err != nil:
		c.evidence("MX %s: %v", md, err)
		c.problem(Unknown, "", "DNS could not answer for MX %s: %v", md, err)
	default:
		var hosts []string
		for _, mx := range mxs {
			hosts = append(hosts, fmt.Sprintf("%d %s", mx.Pref, canon(mx.Host)))
		}
		c.evidence("MX %s: %s", md, strings.Join(hosts, ", "))
		has := slices.ContainsFunc(mxs, func(mx *net.MX) bool { return canon(mx.Host) == want })
		switch {
		case !has:
			c.problem(Fail, fmt.Sprintf("set the MX of %s to 10 %s", md, want), "the MX of %s points to %s, not %s: bounces and complaints are lost", md, strings.Join(hosts, ", "), want)
		case len(mxs) > 1:
			c.problem(Fail, fmt.Sprintf("keep only MX 10 %s at %s", want, md), "%s has %d MX records; SES wants exactly one", md, len(mxs))
		}
	}
	if txts, err := a.R.LookupTXT(ctx, md); err == nil {
		n := 0
		for _, t := range txts {
			if IsSPF(t) {
				n++
			}
		}
		c.evidence("TXT %s: %d SPF records", md, n)
		if n == 0 {
			c.problem(Fail, fmt.Sprintf("publish TXT %s \"v=spf1 include:%s ~all\"", md, a.Service.Domain), "no SPF record at %s", md)
		}
	} else if isNotFound(err) {
		c.problem(Fail, fmt.Sprintf("publish TXT %s \"v=spf1 include:%s ~all\"", md, a.Service.Domain), "no SPF record at %s", md)
	}
	if !Aligned(md, st.from, "r") {
		c.problem(Fail, fmt.Sprintf("use a subdomain of %s as MAIL FROM", OrgDomain(st.from)), "MAIL FROM %s does not align with %s (organizational domains differ)", md, st.from)
	}
	c.ok = fmt.Sprintf("%s is verified, its MX is %s, and it aligns with %s", md, want, st.from)
	return c.finish()
}

// checkDMARC finds the policy by RFC 7489 and by the DMARCbis tree walk
// and checks it.
func (a *Auditor) checkDMARC(ctx context.Context, st *state) Check {
	c := newCheck(CheckDMARC, "DMARC policy")
	st.dmarc = DiscoverRFC7489(ctx, a.R, st.from)
	st.dmarcBis = DiscoverTreeWalk(ctx, a.R, st.from)
	for _, q := range st.dmarc.Queried {
		c.evidence("RFC 7489: %s", q)
	}
	for _, q := range st.dmarcBis.Queried {
		c.evidence("tree walk: %s", q)
	}
	org := OrgDomain(st.from)
	suggested := fmt.Sprintf("publish TXT _dmarc.%s \"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\"", org, org)
	l := st.dmarc
	switch {
	case l.Err != nil:
		c.problem(Unknown, "", "DNS could not answer: %v", l.Err)
		return c.finish()
	case l.Multiple != "":
		c.problem(Fail, fmt.Sprintf("keep one DMARC record at _dmarc.%s", l.Multiple), "more than one DMARC record at _dmarc.%s: receivers apply none (RFC 7489 §6.6.3)", l.Multiple)
		return c.finish()
	case l.Record == nil && st.dmarcBis.Record != nil:
		c.problem(Warn, fmt.Sprintf("publish the policy at _dmarc.%s too, for receivers that follow RFC 7489", org),
			"only the DMARCbis tree walk finds a policy (at _dmarc.%s); RFC 7489 receivers find none", st.dmarcBis.Domain)
		l = st.dmarcBis
	case l.Record == nil:
		c.problem(Fail, suggested, "no DMARC record for %s (asked _dmarc.%s and _dmarc.%s)", st.from, st.from, org)
		return c.finish()
	case st.dmarcBis.Domain != l.Domain:
		c.problem(Warn, fmt.Sprintf("publish the intended policy at _dmarc.%s so both methods agree", st.from),
			"RFC 7489 finds the policy at _dmarc.%s but the DMARCbis tree walk at _dmarc.%s: receivers will differ", l.Domain, orNone(st.dmarcBis.Domain))
	}
	rec := l.Record
	where := "_dmarc." + l.Domain
	if l.Domain != st.from {
		c.evidence("%s inherits the policy of %s (organizational domain)", st.from, l.Domain)
	}
	for _, p := range rec.Problems {
		c.problem(Warn, fmt.Sprintf("correct the record at %s", where), "syntax: %s", p)
	}
	pol := rec.Policy(st.from, l.Domain)
	switch {
	case pol == "" && len(rec.RUA) == 0:
		c.problem(Fail, fmt.Sprintf("add p=none (then quarantine, then reject) to %s", where), "the record at %s has no valid p=, so receivers ignore it (RFC 7489 §6.6.3)", where)
	case pol == "":
		c.problem(Warn, fmt.Sprintf("add a valid p= to %s", where), "the record at %s has no valid p=; receivers act as p=none", where)
		pol = "none"
	case pol == "none":
		c.problem(Warn, fmt.Sprintf("once the reports show all your mail aligned, move %s from p=none to p=quarantine, then p=reject", where),
			"policy for %s is p=none: receivers take no action on spoofed mail (the bulk-sender minimum)", st.from)
	}
	if rec.PCT < 100 {
		c.problem(Warn, fmt.Sprintf("remove pct=%d from %s", rec.PCT, where), "pct=%d: the policy applies to only part of the failing mail", rec.PCT)
	}
	c.evidence("policy %s, sp=%s, adkim=%s, aspf=%s, rua=%s", orNone(pol), orNone(rec.SP), rec.ADKIM, rec.ASPF, orNone(strings.Join(rec.RUA, ",")))
	if len(rec.RUA) == 0 {
		c.problem(Warn, fmt.Sprintf("add rua=mailto:dmarc-reports@%s to %s to receive aggregate reports", OrgDomain(l.Domain), where),
			"no rua=: you get no aggregate reports, so you cannot see who sends as %s", st.from)
	}
	for _, u := range rec.RUA {
		rd := ReportDomain(u)
		if rd == "" {
			c.problem(Warn, fmt.Sprintf("use rua=mailto:address in %s", where), "rua %q is not a mailto: address", u)
			continue
		}
		if OrgDomain(rd) == OrgDomain(l.Domain) {
			continue
		}
		// RFC 7489 §7.1: an external destination must authorize.
		auth := l.Domain + "._report._dmarc." + rd
		txts, err := a.R.LookupTXT(ctx, auth)
		switch {
		case err == nil && slices.ContainsFunc(txts, IsDMARC):
			c.evidence("TXT %s: %q (external rua authorized)", auth, txts)
		case err != nil && !isNotFound(err):
			c.evidence("TXT %s: %v", auth, err)
			c.problem(Unknown, "", "DNS could not answer for %s: %v", auth, err)
		default:
			c.evidence("TXT %s: none", auth)
			c.problem(Warn, fmt.Sprintf("have %s publish TXT %s \"v=DMARC1\"", rd, auth),
				"rua %s is outside %s and %s does not authorize it (RFC 7489 §7.1): receivers send it no reports", u, OrgDomain(l.Domain), rd)
		}
	}
	c.ok = fmt.Sprintf("p=%s at %s with reports to %s", pol, where, strings.Join(rec.RUA, ","))
	return c.finish()
}

// policyRecord is the DMARC record receivers would apply (RFC 7489 first).
func (st *state) policyRecord() *DMARCRecord {
	if st.dmarc.Record != nil {
		return st.dmarc.Record
	}
	return st.dmarcBis.Record
}

// checkAlignment: would a message from this identity pass DMARC by DKIM
// (d= aligned with From, RFC 7489 §3.1.1) and by SPF (MAIL FROM aligned,
// §3.1.2) today.
func (a *Auditor) checkAlignment(st *state) Check {
	c := newCheck(CheckAlignment, "DMARC alignment today")
	adkim, aspf := "r", "r"
	if rec := st.policyRecord(); rec != nil {
		adkim, aspf = rec.ADKIM, rec.ASPF
	}
	sd := canon(st.id.SigningDomain)
	dkimAligned := st.dkimOK && Aligned(sd, st.from, adkim)
	spfAligned := st.spfOK && Aligned(st.mailFrom, st.from, aspf)
	c.evidence("DKIM: d=%s, keys ok %v, adkim=%s → aligned %v", orNone(sd), st.dkimOK, adkim, dkimAligned)
	c.evidence("SPF: MAIL FROM %s, SPF ok %v, aspf=%s → aligned %v", st.mailFrom, st.spfOK, aspf, spfAligned)
	switch {
	case !dkimAligned && !spfAligned:
		c.problem(Fail, "fix the dkim check first (DKIM alignment survives forwarding), then set a custom MAIL FROM",
			"a message from %s would fail DMARC: neither DKIM nor SPF passes aligned", st.id.Name)
	case !spfAligned:
		c.problem(Warn, fmt.Sprintf("set a verified custom MAIL FROM under %s with a valid SPF record", OrgDomain(st.from)),
			"DMARC passes by DKIM only; SPF passes for %s, which is not aligned", st.mailFrom)
	case !dkimAligned:
		c.problem(Warn, "fix the dkim check: SPF alone breaks when mail is forwarded",
			"DMARC passes by SPF only")
	}
	c.ok = "DMARC passes by DKIM and by SPF"
	return c.finish()
}

// checkBulk applies the Gmail/Yahoo bulk-sender rules (February 2024):
// SPF and DKIM, a DMARC record of at least p=none, alignment, and
// forward-confirmed reverse DNS for the sending hosts.
func (a *Auditor) checkBulk(st *state, hosts *Check) Check {
	c := newCheck(CheckBulkSender, "bulk-sender readiness (Gmail, Yahoo, Outlook)")
	if !st.dkimOK {
		c.problem(Fail, "fix the dkim check", "DKIM is required of bulk senders and does not pass")
	}
	if !st.spfOK {
		c.problem(Fail, "fix the spf_mail_from check", "SPF is required of bulk senders and does not pass for %s", st.mailFrom)
	}
	if st.policyRecord() == nil || st.dmarc.Multiple != "" {
		c.problem(Fail, "fix the dmarc check", "a DMARC record (at least p=none) is required of bulk senders")
	}
	if !(st.dkimOK && Aligned(st.id.SigningDomain, st.from, "r")) && !(st.spfOK && Aligned(st.mailFrom, st.from, "r")) {
		c.problem(Fail, "fix the alignment check", "bulk senders' mail must pass DMARC alignment")
	}
	if hosts != nil {
		c.evidence("sending hosts: %s: %s", hosts.Verdict, hosts.Summary)
		if hosts.Verdict != Pass {
			c.problem(Warn, hosts.Fix, "sending hosts: %s", hosts.Summary)
		}
	} else {
		c.evidence("sending hosts: forward-confirmed reverse DNS of the service's IPs not checked (%s)", a.Service.Domain)
	}
	c.evidence("advice: marketing and subscribed mail needs List-Unsubscribe and List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058); keep spam complaints under 0.3%%")
	c.ok = "SPF, DKIM, DMARC and alignment meet the bulk-sender rules"
	return c.finish()
}

// CheckSendingHosts checks forward-confirmed reverse DNS of the service's
// sending addresses, read from the ip4:/ip6: terms of its SPF record
// (Gmail's bulk-sender rules ask for valid forward and reverse DNS).
func (a *Auditor) CheckSendingHosts(ctx context.Context) *Check {
	c := newCheck("sending_hosts", "forward-confirmed reverse DNS of the sending hosts")
	txts, err := a.R.LookupTXT(ctx, a.Service.Domain)
	if err != nil {
		c.evidence("TXT %s: %v", a.Service.Domain, err)
		c.problem(Unknown, "", "could not read the SPF record of %s: %v", a.Service.Domain, err)
		r := c.finish()
		return &r
	}
	var ips []string
	for _, t := range txts {
		if rec, err := ParseSPF(t); err == nil {
			c.evidence("TXT %s: %q", a.Service.Domain, t)
			for _, term := range rec.Terms {
				if term.Name == "ip4" || term.Name == "ip6" {
					ips = append(ips, term.Value)
				}
			}
		}
	}
	if len(ips) == 0 {
		c.problem(Unknown, "", "the SPF record of %s lists no addresses", a.Service.Domain)
	}
	for _, ip := range ips {
		names, err := a.R.LookupAddr(ctx, ip)
		if err != nil || len(names) == 0 {
			c.evidence("PTR %s: %v", ip, err)
			c.problem(Warn, fmt.Sprintf("publish a PTR record for %s naming a host whose A/AAAA is %s", ip, ip), "%s has no reverse DNS", ip)
			continue
		}
		confirmed := false
		for _, n := range names {
			addrs, err := a.R.LookupIPAddr(ctx, n)
			c.evidence("PTR %s: %s; A/AAAA %s: %v %v", ip, canon(n), canon(n), addrs, errString(err))
			for _, x := range addrs {
				if x.IP.String() == ip || x.IP.Equal(net.ParseIP(ip)) {
					confirmed = true
				}
			}
		}
		if !confirmed {
			c.problem(Warn, fmt.Sprintf("make the A/AAAA of %s's PTR name point back to %s", ip, ip), "the reverse DNS of %s is not forward-confirmed", ip)
		}
	}
	c.ok = fmt.Sprintf("%d sending addresses have forward-confirmed reverse DNS", len(ips))
	r := c.finish()
	return &r
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
