package feedback

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// Limits on what a report may contain; beyond them the rest is ignored.
const (
	maxParts      = 20
	maxRecipients = 100
	maxPartBytes  = 1 << 20
)

// Kinds of report.
const (
	KindBounce    = "bounce"    // a DSN or a non-standard bounce
	KindComplaint = "complaint" // an ARF feedback report
	KindDelay     = "delay"     // a DSN whose recipients are only delayed
)

// Recipient is one recipient block of a DSN (RFC 3464 §2.3).
type Recipient struct {
	Address    string // Final-Recipient (or Original-Recipient), bare
	Action     string // failed, delayed, delivered, relayed, expanded
	Status     string // enhanced status code
	Diagnostic string // Diagnostic-Code, "smtp; 550 …"
	RemoteMTA  string
}

// Report is what a DSN or ARF report says.
type Report struct {
	Kind string
	// ReportingMTA is the DSN's Reporting-MTA ("dns; host").
	ReportingMTA string
	Recipients   []Recipient
	// OriginalMessageID is the Message-ID of the returned message, when the
	// report includes its headers.
	OriginalMessageID string
	// ARF fields (RFC 5965 §3.1).
	FeedbackType string
	UserAgent    string
	ArrivalDate  string
	// OriginalRcptTo are ARF's Original-Rcpt-To addresses, or the
	// returned message's To when the report redacts them.
	OriginalRcptTo []string
	// BestEffort is set when the report was not a standard multipart/report
	// and was read heuristically.
	BestEffort bool
}

// ErrNotReport means the message is not a recognisable report.
var ErrNotReport = errors.New("feedback: not a bounce or complaint report")

// Parse reads a DSN (RFC 3464), an ARF report (RFC 5965) or, by best
// effort, a non-standard bounce. Malformed input yields an error, never a
// panic.
func Parse(raw []byte) (Report, error) {
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return Report{}, fmt.Errorf("feedback: %w", err)
	}
	mt, params, _ := e.Header.ContentType()
	if mt == "multipart/report" {
		switch strings.ToLower(params["report-type"]) {
		case "delivery-status":
			return parseDSN(e)
		case "feedback-report":
			return parseARF(e)
		}
	}
	return bestEffort(e, raw)
}

// parts returns the leaf parts of a multipart entity, one level deep.
func parts(e *message.Entity, fn func(mt string, p *message.Entity) error) error {
	mr := e.MultipartReader()
	if mr == nil {
		return ErrNotReport
	}
	for i := 0; i < maxParts; i++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return fmt.Errorf("feedback: %w", err)
		}
		if p == nil {
			return nil
		}
		mt, _, _ := p.Header.ContentType()
		if err := fn(strings.ToLower(mt), p); err != nil {
			return err
		}
	}
	return nil
}

// fieldBlocks reads consecutive header-style blocks (RFC 3464 §2.1).
func fieldBlocks(r io.Reader) ([]textproto.Header, error) {
	br := bufio.NewReader(io.LimitReader(r, maxPartBytes))
	var out []textproto.Header
	for len(out) <= maxRecipients {
		// Skip blank lines between blocks.
		for {
			b, err := br.Peek(1)
			if err != nil {
				return out, nil
			}
			if b[0] != '\r' && b[0] != '\n' {
				break
			}
			br.ReadByte()
		}
		h, err := textproto.ReadHeader(br)
		if err != nil {
			if len(out) > 0 {
				return out, nil // a truncated last block
			}
			return nil, fmt.Errorf("feedback: %w", err)
		}
		out = append(out, h)
	}
	return out, nil
}

// typed strips an RFC 3464 "type;" prefix: "rfc822; a@b" → "a@b".
func typed(v string) string {
	if _, after, ok := strings.Cut(v, ";"); ok {
		v = after
	}
	return strings.Trim(strings.TrimSpace(v), "<>")
}

func parseDSN(e *message.Entity) (Report, error) {
	rep := Report{Kind: KindBounce}
	err := parts(e, func(mt string, p *message.Entity) error {
		switch mt {
		case "message/delivery-status", "message/global-delivery-status":
			blocks, err := fieldBlocks(p.Body)
			if err != nil {
				return err
			}
			if len(blocks) == 0 {
				return nil
			}
			rep.ReportingMTA = blocks[0].Get("Reporting-Mta")
			for _, b := range blocks[1:] {
				addr := typed(b.Get("Final-Recipient"))
				if addr == "" {
					addr = typed(b.Get("Original-Recipient"))
				}
				if addr == "" || len(rep.Recipients) >= maxRecipients {
					continue
				}
				rep.Recipients = append(rep.Recipients, Recipient{Address: addr, Action: strings.ToLower(strings.TrimSpace(b.Get("Action"))),
					Status: Status(b.Get("Status")), Diagnostic: strings.TrimSpace(b.Get("Diagnostic-Code")), RemoteMTA: b.Get("Remote-Mta")})
			}
		case "message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global", "message/global-headers":
			rep.OriginalMessageID, _ = originalHeaders(p.Body)
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	if len(rep.Recipients) == 0 {
		return Report{}, fmt.Errorf("%w: a delivery-status report without recipients", ErrNotReport)
	}
	delayed := true
	for _, r := range rep.Recipients {
		if r.Action != "delayed" {
			delayed = false
		}
	}
	if delayed {
		rep.Kind = KindDelay
	}
	return rep, nil
}

// originalHeaders reads the returned message's Message-ID and To.
func originalHeaders(r io.Reader) (string, []string) {
	h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(r, maxPartBytes)))
	if err != nil && h.Len() == 0 {
		return "", nil
	}
	var to []string
	for _, a := range addrRE.FindAllString(h.Get("To"), maxRecipients) {
		to = append(to, a)
	}
	return strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>"), to
}

func parseARF(e *message.Entity) (Report, error) {
	rep := Report{Kind: KindComplaint}
	var seen bool
	var to []string
	err := parts(e, func(mt string, p *message.Entity) error {
		switch mt {
		case "message/feedback-report":
			blocks, err := fieldBlocks(p.Body)
			if err != nil {
				return err
			}
			if len(blocks) == 0 {
				return nil
			}
			seen = true
			b := blocks[0]
			rep.FeedbackType = strings.ToLower(strings.TrimSpace(b.Get("Feedback-Type")))
			rep.UserAgent = strings.TrimSpace(b.Get("User-Agent"))
			rep.ArrivalDate = strings.TrimSpace(b.Get("Arrival-Date"))
			for _, v := range b.Values("Original-Rcpt-To") {
				if a := typed(v); a != "" && len(rep.OriginalRcptTo) < maxRecipients {
					rep.OriginalRcptTo = append(rep.OriginalRcptTo, a)
				}
			}
		case "message/rfc822", "text/rfc822-headers", "message/rfc822-headers":
			rep.OriginalMessageID, to = originalHeaders(p.Body)
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	if !seen {
		return Report{}, fmt.Errorf("%w: a feedback report without its machine-readable part", ErrNotReport)
	}
	if len(rep.OriginalRcptTo) == 0 {
		rep.OriginalRcptTo = to
	}
	return rep, nil
}

var addrRE = regexp.MustCompile(`[A-Za-z0-9._%+'=-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

// bestEffort reads a bounce that is not a DSN (old qmail, some Exchange
// and ISP formats): any enhanced status code and the addresses in its
// text. The caller keeps only addresses that were recipients of the
// message, so a stray address in the text is harmless.
func bestEffort(e *message.Entity, raw []byte) (Report, error) {
	subject := e.Header.Get("Subject")
	if d, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = d
	}
	text := raw
	if len(text) > maxPartBytes {
		text = text[:maxPartBytes]
	}
	if i := bytes.Index(text, []byte("\r\n\r\n")); i >= 0 {
		text = text[i:]
	}
	looksLikeBounce := regexp.MustCompile(`(?i)(undeliver|delivery (status|failure|has failed)|failure notice|returned mail|mail delivery (failed|subsystem)|could not be delivered)`).MatchString(subject)
	status := Status(string(text))
	if !looksLikeBounce && status == "" {
		return Report{}, ErrNotReport
	}
	rep := Report{Kind: KindBounce, BestEffort: true}
	diag := ""
	if loc := statusRE.FindIndex(text); loc != nil {
		start := max(0, bytes.LastIndexByte(text[:loc[0]], '\n')+1)
		end := bytes.IndexByte(text[loc[0]:], '\n')
		if end < 0 {
			end = len(text) - loc[0]
		}
		diag = strings.TrimSpace(string(text[start : loc[0]+end]))
	}
	seen := map[string]bool{}
	for _, a := range addrRE.FindAllString(string(text), 10*maxRecipients) {
		a = strings.ToLower(a)
		if seen[a] || len(rep.Recipients) >= maxRecipients {
			continue
		}
		seen[a] = true
		rep.Recipients = append(rep.Recipients, Recipient{Address: a, Action: "failed", Status: status, Diagnostic: diag})
	}
	if mid := regexp.MustCompile(`(?i)message-id:\s*<([^>\s]+)>`).FindSubmatch(text); mid != nil {
		rep.OriginalMessageID = string(mid[1])
	}
	return rep, nil
}
