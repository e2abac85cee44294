package submit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Attachment is one file of a Simple message.
type Attachment struct {
	FileName    string
	ContentType string // default: from the file name, else application/octet-stream
	Inline      bool   // Content-Disposition inline (with ContentID) instead of attachment
	ContentID   string
	Description string
	// Encoding is BASE64 (default), QUOTED_PRINTABLE or SEVEN_BIT.
	Encoding string
	Data     []byte
}

// Header is one extra header of a Simple message.
type Header struct{ Name, Value string }

// Simple is a message sesame composes (v2 Content.Simple, v1 SendEmail).
type Simple struct {
	From, Subject string
	To, Cc        []string
	ReplyTo       []string
	Text, HTML    string
	Headers       []Header
	Attachments   []Attachment
}

// headerNameRE is SES's rule for v2 custom header names (reference §7).
var headerNameRE = regexp.MustCompile(`^[!-9;-@A-~]{1,126}$`)

// owned reports whether a header is set by sesame, so that a Simple
// message may not set it (reference §5).
func owned(name string) bool {
	switch strings.ToLower(name) {
	case "from", "to", "cc", "bcc", "subject", "date", "message-id", "reply-to", "return-path", "mime-version",
		"content-type", "content-transfer-encoding", "content-disposition", "dkim-signature", "feedback-id":
		return true
	}
	return false
}

// checkHeaderValue refuses values that could inject headers (CR, LF, NUL).
func checkHeaderValue(name, v string) error {
	if strings.ContainsAny(v, "\r\n\x00") {
		return rejectf(CodeInvalid, "%s contains a line break or NUL", name)
	}
	return nil
}

func addrList(name string, addrs []string) ([]*mail.Address, error) {
	var out []*mail.Address
	for _, a := range addrs {
		if err := checkHeaderValue(name, a); err != nil {
			return nil, err
		}
		parsed, err := mail.ParseAddress(a)
		if err != nil {
			return nil, rejectf(CodeInvalid, "Illegal address: %s", a)
		}
		out = append(out, parsed)
	}
	return out, nil
}

// compose builds a MIME message from s (RFC 5322, RFC 2045–2049): a single
// text part, multipart/alternative for text and HTML, inside
// multipart/mixed when there are attachments. Non-ASCII header text becomes
// encoded words (RFC 2047); bodies are quoted-printable, which keeps lines
// within 998 octets.
func compose(s Simple) ([]byte, error) {
	var h mail.Header
	from, err := addrList("From", []string{s.From})
	if err != nil {
		return nil, err
	}
	h.SetAddressList("From", from)
	for _, f := range []struct {
		name string
		v    []string
	}{{"To", s.To}, {"Cc", s.Cc}, {"Reply-To", s.ReplyTo}} {
		if len(f.v) == 0 {
			continue
		}
		l, err := addrList(f.name, f.v)
		if err != nil {
			return nil, err
		}
		h.SetAddressList(f.name, l)
	}
	if err := checkHeaderValue("Subject", s.Subject); err != nil {
		return nil, err
	}
	h.SetSubject(s.Subject)
	if len(s.Headers) > 15 {
		return nil, rejectf(CodeInvalid, "At most 15 custom headers.")
	}
	for _, x := range s.Headers {
		if !headerNameRE.MatchString(x.Name) {
			return nil, rejectf(CodeInvalid, "Invalid header name %q.", x.Name)
		}
		if owned(x.Name) {
			return nil, rejectf(CodeInvalid, "Header %s is set by the service.", x.Name)
		}
		if len(x.Value) > 995 {
			return nil, rejectf(CodeInvalid, "Header %s is longer than 995 characters.", x.Name)
		}
		if err := checkHeaderValue(x.Name, x.Value); err != nil {
			return nil, err
		}
		for _, r := range x.Value {
			if r < 0x20 || r > 0x7e {
				return nil, rejectf(CodeInvalid, "Header %s must be printable ASCII.", x.Name)
			}
		}
		h.Add(x.Name, x.Value)
	}
	if s.Text == "" && s.HTML == "" {
		return nil, rejectf(CodeInvalid, "The message body must not be empty.")
	}
	var b bytes.Buffer
	textPart := func(ct string) mail.InlineHeader {
		var ih mail.InlineHeader
		ih.SetContentType(ct, map[string]string{"charset": "UTF-8"})
		return ih
	}
	writeBodies := func(iw *mail.InlineWriter) error {
		for _, p := range []struct{ ct, body string }{{"text/plain", s.Text}, {"text/html", s.HTML}} {
			if p.body == "" {
				continue
			}
			w, err := iw.CreatePart(textPart(p.ct))
			if err != nil {
				return err
			}
			io.WriteString(w, p.body)
			w.Close()
		}
		return iw.Close()
	}
	switch {
	case len(s.Attachments) == 0 && (s.Text == "" || s.HTML == ""):
		ct, body := "text/plain", s.Text
		if s.HTML != "" {
			ct, body = "text/html", s.HTML
		}
		h.SetContentType(ct, map[string]string{"charset": "UTF-8"})
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		w, err := mail.CreateSingleInlineWriter(&b, h)
		if err != nil {
			return nil, fmt.Errorf("submit: compose: %w", err)
		}
		io.WriteString(w, body)
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("submit: compose: %w", err)
		}
	case len(s.Attachments) == 0:
		iw, err := mail.CreateInlineWriter(&b, h)
		if err != nil {
			return nil, fmt.Errorf("submit: compose: %w", err)
		}
		if err := writeBodies(iw); err != nil {
			return nil, fmt.Errorf("submit: compose: %w", err)
		}
	default:
		mw, err := mail.CreateWriter(&b, h)
		if err != nil {
			return nil, fmt.Errorf("submit: compose: %w", err)
		}
		iw, err := mw.CreateInline()
		if err != nil {
			return nil, fmt.Errorf("submit: compose: %w", err)
		}
		if err := writeBodies(iw); err != nil {
			return nil, fmt.Errorf("submit: compose: %w", err)
		}
		for _, a := range s.Attachments {
			if err := writeAttachment(mw, a); err != nil {
				return nil, err
			}
		}
		if err := mw.Close(); err != nil {
			return nil, fmt.Errorf("submit: compose: %w", err)
		}
	}
	return b.Bytes(), nil
}

func writeAttachment(mw *mail.Writer, a Attachment) error {
	if a.FileName == "" || strings.ContainsAny(a.FileName, "\r\n\x00/\\") {
		return rejectf(CodeInvalid, "Attachment file name %q is not valid.", a.FileName)
	}
	for _, v := range []string{a.ContentType, a.ContentID, a.Description} {
		if err := checkHeaderValue("attachment header", v); err != nil {
			return err
		}
	}
	var ah mail.AttachmentHeader
	ct := a.ContentType
	if ct == "" {
		if ct = mime.TypeByExtension(strings.ToLower(extOf(a.FileName))); ct == "" {
			ct = "application/octet-stream"
		}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return rejectf(CodeInvalid, "Attachment content type %q is not valid.", ct)
	}
	ah.SetContentType(mt, params)
	ah.SetFilename(a.FileName)
	if a.Inline {
		ah.SetContentDisposition("inline", map[string]string{"filename": a.FileName})
	}
	if a.ContentID != "" {
		ah.Set("Content-ID", "<"+strings.Trim(a.ContentID, "<>")+">")
	}
	if a.Description != "" {
		ah.Set("Content-Description", a.Description)
	}
	switch a.Encoding {
	case "", "BASE64":
		ah.Set("Content-Transfer-Encoding", "base64")
	case "QUOTED_PRINTABLE":
		ah.Set("Content-Transfer-Encoding", "quoted-printable")
	case "SEVEN_BIT":
		for _, c := range a.Data {
			if c > 0x7e || c == 0 {
				return rejectf(CodeInvalid, "Attachment %s is not 7-bit data.", a.FileName)
			}
		}
		ah.Set("Content-Transfer-Encoding", "7bit")
	default:
		return rejectf(CodeInvalid, "Unknown ContentTransferEncoding %q.", a.Encoding)
	}
	w, err := mw.CreateAttachment(ah)
	if err != nil {
		return fmt.Errorf("submit: attachment: %w", err)
	}
	w.Write(a.Data)
	return w.Close()
}

func extOf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}

// normalizeCRLF turns bare LF and bare CR into CRLF (RFC 5322 §2.3), so
// what is signed is what is sent.
func normalizeCRLF(b []byte) []byte {
	if !bytes.ContainsAny(b, "\r\n") {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/50)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\r':
			out.WriteString("\r\n")
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
		case '\n':
			out.WriteString("\r\n")
		default:
			out.WriteByte(c)
		}
	}
	return out.Bytes()
}

// parsed is a raw message split into header and body.
type parsed struct {
	header textproto.Header
	body   []byte
}

// parseRaw checks a raw message (never trusted) and splits it: CRLF line
// endings, no NUL, lines of at most 998 octets (RFC 5322 §2.1.1), a
// well-formed header with a From field.
func parseRaw(raw []byte) (parsed, error) {
	raw = normalizeCRLF(raw)
	if bytes.IndexByte(raw, 0) >= 0 {
		return parsed{}, rejectf(CodeRejected, "The message contains a NUL byte.")
	}
	for line := range bytes.SplitSeq(raw, []byte("\r\n")) {
		if len(line) > 998 {
			return parsed{}, rejectf(CodeRejected, "The message has a line longer than 998 characters (RFC 5322 §2.1.1).")
		}
	}
	br := bufio.NewReader(bytes.NewReader(raw))
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return parsed{}, rejectf(CodeRejected, "The message header is malformed: %v", err)
	}
	body, _ := io.ReadAll(br)
	if !h.Has("From") {
		return parsed{}, rejectf(CodeRejected, "The message has no From header.")
	}
	// Single-instance fields (RFC 5322 §3.6) must not repeat.
	for _, k := range []string{"From", "Sender", "Subject", "Date", "Message-ID", "To", "Cc", "Bcc", "Reply-To"} {
		if n := len(h.Values(k)); n > 1 {
			return parsed{}, rejectf(CodeRejected, "Duplicate header '%s'.", k)
		}
	}
	return parsed{header: h, body: body}, nil
}

// addresses returns the addresses of an address-list header.
func addresses(h textproto.Header, key string) ([]string, error) {
	mh := mail.Header{Header: message.Header{Header: h}}
	list, err := mh.AddressList(key)
	if err != nil {
		return nil, rejectf(CodeRejected, "Illegal address in %s header.", key)
	}
	var out []string
	for _, a := range list {
		out = append(out, a.Address)
	}
	return out, nil
}

// finish sets sesame's headers on a parsed message and returns its bytes:
// X-SES-* control headers removed (reference §5), Message-ID and Date
// replaced as SES does, Feedback-ID and MIME-Version added.
func finish(p parsed, messageID, msgIDDomain, feedbackID string, now time.Time) []byte {
	h := p.header
	for f := h.Fields(); f.Next(); {
		if strings.HasPrefix(strings.ToLower(f.Key()), "x-ses-") {
			f.Del()
		}
	}
	h.Del("Message-ID")
	h.Del("Date")
	h.Del("Bcc") // never sent (RFC 5322 §3.6.3)
	h.Del("Feedback-ID")
	h.Del("Return-Path")
	h.Set("Message-ID", "<"+messageID+"@"+msgIDDomain+">")
	h.Set("Date", now.Format(time.RFC1123Z))
	h.Set("Feedback-ID", feedbackID)
	if !h.Has("MIME-Version") {
		h.Set("MIME-Version", "1.0")
	}
	var b bytes.Buffer
	b.Grow(len(p.body) + 2048)
	textproto.WriteHeader(&b, h)
	b.Write(p.body)
	return b.Bytes()
}

// RenderedMIME returns a rendered template as the MIME text that
// TestRenderTemplate answers with: the subject and the text and HTML
// parts, without address fields.
func RenderedMIME(subject, text, html string) ([]byte, error) {
	raw, err := compose(Simple{From: "render@invalid", Subject: subject, Text: text, HTML: html})
	if err != nil {
		return nil, err
	}
	p, err := parseRaw(raw)
	if err != nil {
		return nil, err
	}
	p.header.Del("From")
	var b bytes.Buffer
	textproto.WriteHeader(&b, p.header)
	b.Write(p.body)
	return b.Bytes(), nil
}
