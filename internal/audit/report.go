package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Verdict is the outcome of a check.
type Verdict string

// Verdicts, from best to worst.
const (
	Pass    Verdict = "PASS"
	Warn    Verdict = "WARN"
	Unknown Verdict = "UNKNOWN" // DNS or the API could not answer
	Fail    Verdict = "FAIL"
)

func (v Verdict) rank() int {
	switch v {
	case Pass:
		return 0
	case Warn:
		return 1
	case Unknown:
		return 2
	case Fail:
		return 3
	}
	return 0
}

// Worse returns the worse of two verdicts.
func Worse(a, b Verdict) Verdict {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Check ids, stable in the JSON output (docs/AUDIT.md).
const (
	CheckDKIM         = "dkim"
	CheckSPFMailFrom  = "spf_mail_from"
	CheckSPFFrom      = "spf_from"
	CheckMailFrom     = "mail_from"
	CheckDMARC        = "dmarc"
	CheckAlignment    = "alignment"
	CheckBulkSender   = "bulk_sender"
	CheckRegionAccess = "region_access"
)

// Problem is one thing a check found wrong, with its one-line fix.
type Problem struct {
	Verdict Verdict `json:"verdict"`
	Message string  `json:"message"`
	Fix     string  `json:"fix,omitempty"`
}

// Check is one check of one identity.
type Check struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Verdict Verdict `json:"verdict"`
	// Summary is one line: what is wrong (the worst problems), or what
	// is right when the check passes.
	Summary string `json:"summary"`
	// Fix is the one-line fix of the worst problems; "" on PASS.
	Fix string `json:"fix,omitempty"`
	// Evidence is what DNS (or the API) answered.
	Evidence []string  `json:"evidence"`
	Problems []Problem `json:"problems"`

	ok string // summary on PASS
}

func newCheck(id, title string) *Check {
	return &Check{ID: id, Title: title, Verdict: Pass, Evidence: []string{}, Problems: []Problem{}}
}

func (c *Check) evidence(format string, args ...any) {
	c.Evidence = append(c.Evidence, fmt.Sprintf(format, args...))
}

func (c *Check) problem(v Verdict, fix, format string, args ...any) {
	c.Problems = append(c.Problems, Problem{Verdict: v, Message: fmt.Sprintf(format, args...), Fix: fix})
	c.Verdict = Worse(c.Verdict, v)
}

// finish sets Summary and Fix from the worst problems.
func (c *Check) finish() Check {
	if c.Verdict == Pass {
		c.Summary = c.ok
		return *c
	}
	var msgs, fixes []string
	for _, p := range c.Problems {
		if p.Verdict != c.Verdict {
			continue
		}
		if !slices.Contains(msgs, p.Message) {
			msgs = append(msgs, p.Message)
		}
		if p.Fix != "" && !slices.Contains(fixes, p.Fix) {
			fixes = append(fixes, p.Fix)
		}
	}
	c.Summary, c.Fix = strings.Join(msgs, "; "), strings.Join(fixes, "; ")
	return *c
}

// IdentityReport is the audit of one identity in one region.
type IdentityReport struct {
	Region   string  `json:"region"`
	Identity string  `json:"identity"`
	Type     string  `json:"type"` // DOMAIN or EMAIL_ADDRESS
	Verdict  Verdict `json:"verdict"`
	// FromDomain is the domain of the From addresses this identity sends.
	FromDomain string `json:"from_domain"`
	// DKIMDomain is the d= its messages are signed with ("" if none).
	DKIMDomain string `json:"dkim_domain"`
	// MailFromDomain is the envelope sender's domain used today.
	MailFromDomain string  `json:"mail_from_domain"`
	Checks         []Check `json:"checks"`
}

// RegionReport is the audit of one region.
type RegionReport struct {
	Region string `json:"region"`
	// Error is why the region could not be listed ("" when it was).
	Error      string           `json:"error,omitempty"`
	Identities []IdentityReport `json:"identities"`
}

// Service describes the sending service the audit assumes.
type Service struct {
	// Domain is the service domain: amazonses.com for Amazon SES,
	// sesame's --domain otherwise.
	Domain string `json:"domain"`
	// Kind is "aws" or "sesame".
	Kind string `json:"kind"`
	// Source says how Domain was decided.
	Source string `json:"source"`
}

// IsAWS reports whether the service is Amazon SES.
func (s Service) IsAWS() bool { return s.Kind == KindAWS }

// Service kinds.
const (
	KindAWS    = "aws"
	KindSesame = "sesame"
)

// DefaultMailFrom is the MAIL FROM domain the service uses in region when
// no custom one is verified: amazonses.com in us-east-1 and
// <region>.amazonses.com elsewhere for SES (reference/ses.md §5), R.D for
// sesame (PRODUCT.md, names under the service domain).
func (s Service) DefaultMailFrom(region string) string {
	if s.IsAWS() && region == "us-east-1" {
		return s.Domain
	}
	return region + "." + s.Domain
}

// FeedbackHost is the MX target a custom MAIL FROM domain must have in
// region: feedback-smtp.<region>.<service domain>.
func (s Service) FeedbackHost(region string) string {
	return "feedback-smtp." + region + "." + s.Domain
}

// DKIMTarget is where an Easy DKIM CNAME for token points.
func (s Service) DKIMTarget(token string) string { return token + ".dkim." + s.Domain }

// Counts tallies verdicts.
type Counts struct {
	Pass    int `json:"PASS"`
	Warn    int `json:"WARN"`
	Fail    int `json:"FAIL"`
	Unknown int `json:"UNKNOWN"`
}

func (c *Counts) add(v Verdict) {
	switch v {
	case Pass:
		c.Pass++
	case Warn:
		c.Warn++
	case Fail:
		c.Fail++
	case Unknown:
		c.Unknown++
	}
}

// Report is the result of an audit: the JSON document of `sesame audit
// --format json` (schema in docs/AUDIT.md).
type Report struct {
	Schema   string  `json:"schema"`
	Endpoint string  `json:"endpoint"`
	Service  Service `json:"service"`
	// SendingHosts is the reverse-DNS check of the service's sending
	// addresses (bulk-sender rules), when it can be made.
	SendingHosts *Check         `json:"sending_hosts,omitempty"`
	Regions      []RegionReport `json:"regions"`
	// Identities counts identities by verdict; Checks counts checks.
	Identities Counts  `json:"identities"`
	Checks     Counts  `json:"checks"`
	Verdict    Verdict `json:"verdict"`
	ExitCode   int     `json:"exit_code"`
}

// SchemaVersion names the JSON layout; it changes only when a field is
// renamed or removed.
const SchemaVersion = "sesame.audit/v1"

// Exit codes of `sesame audit`.
const (
	ExitPass      = 0
	ExitWarn      = 1
	ExitFail      = 2
	ExitCannotRun = 3
)

// finish computes the tallies, the overall verdict and the exit code: 0
// when every check passes, 1 for warnings or unknowns, 2 for failures, 3
// when no region could be listed.
func (r *Report) finish() {
	r.Schema = SchemaVersion
	r.Verdict = Pass
	r.Identities, r.Checks = Counts{}, Counts{}
	listed := 0
	for _, reg := range r.Regions {
		if reg.Error == "" {
			listed++
		} else {
			r.Verdict = Worse(r.Verdict, Unknown)
		}
		for _, id := range reg.Identities {
			r.Identities.add(id.Verdict)
			r.Verdict = Worse(r.Verdict, id.Verdict)
			for _, c := range id.Checks {
				r.Checks.add(c.Verdict)
			}
		}
	}
	switch {
	case listed == 0:
		r.ExitCode = ExitCannotRun
	case r.Verdict == Fail:
		r.ExitCode = ExitFail
	case r.Verdict == Pass:
		r.ExitCode = ExitPass
	default:
		r.ExitCode = ExitWarn
	}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes a summary table (one row per identity and check) and,
// under it, the problems with their fixes.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "service: %s (%s, %s)\n\n", r.Service.Domain, r.Service.Kind, r.Service.Source)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tIDENTITY\tCHECK\tVERDICT\tSUMMARY")
	for _, reg := range r.Regions {
		if reg.Error != "" {
			fmt.Fprintf(tw, "%s\t-\t%s\t%s\t%s\n", reg.Region, CheckRegionAccess, Unknown, oneLine(reg.Error))
		}
		for _, id := range reg.Identities {
			for _, c := range id.Checks {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", reg.Region, id.Identity, c.ID, c.Verdict, oneLine(c.Summary))
			}
		}
	}
	if h := r.SendingHosts; h != nil {
		fmt.Fprintf(tw, "-\t%s\t%s\t%s\t%s\n", r.Service.Domain, h.ID, h.Verdict, oneLine(h.Summary))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fixes := false
	for _, reg := range r.Regions {
		for _, id := range reg.Identities {
			for _, c := range id.Checks {
				if c.Fix == "" {
					continue
				}
				if !fixes {
					fmt.Fprintln(w, "\nfixes:")
					fixes = true
				}
				fmt.Fprintf(w, "  %s %s %s [%s]: %s\n", reg.Region, id.Identity, c.ID, c.Verdict, oneLine(c.Fix))
			}
		}
	}
	fmt.Fprintf(w, "\n%d identities: %d pass, %d warn, %d fail, %d unknown; verdict %s\n",
		r.Identities.Pass+r.Identities.Warn+r.Identities.Fail+r.Identities.Unknown,
		r.Identities.Pass, r.Identities.Warn, r.Identities.Fail, r.Identities.Unknown, r.Verdict)
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
