package events

import (
	"bufio"
	"bytes"
	"mime"
	netmail "net/mail"
	"net/textproto"
	"strings"

	"github.com/sesame-email/sesame/internal/store"
)

// maxHeaders is where SES truncates the headers it copies into events.
const maxHeaders = 10 << 10

type header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type commonHeaders struct {
	From      []string `json:"from,omitempty"`
	ReplyTo   []string `json:"replyTo,omitempty"`
	To        []string `json:"to,omitempty"`
	Cc        []string `json:"cc,omitempty"`
	Date      string   `json:"date,omitempty"`
	MessageID string   `json:"messageId,omitempty"`
	Subject   string   `json:"subject,omitempty"`
}

// mail is the event's "mail" object (reference §8).
type mail struct {
	Timestamp        string              `json:"timestamp"`
	Source           string              `json:"source"`
	SourceArn        string              `json:"sourceArn"`
	SendingAccountID string              `json:"sendingAccountId"`
	MessageID        string              `json:"messageId"`
	Destination      []string            `json:"destination"`
	HeadersTruncated *bool               `json:"headersTruncated,omitempty"`
	Headers          []header            `json:"headers,omitempty"`
	CommonHeaders    *commonHeaders      `json:"commonHeaders,omitempty"`
	Tags             map[string][]string `json:"tags,omitempty"`
}

// mailOf describes msg; withHeaders copies its header section (up to
// maxHeaders) and the common headers.
func mailOf(msg store.Message, destination []string, withHeaders bool) mail {
	domain := msg.From[strings.LastIndexByte(msg.From, '@')+1:]
	m := mail{
		Timestamp: Stamp(msg.CreatedAt), Source: msg.From, MessageID: msg.ID, SendingAccountID: msg.AccountID,
		SourceArn:   "arn:aws:ses:" + msg.Region + ":" + msg.AccountID + ":identity/" + domain,
		Destination: destination,
	}
	if m.Destination == nil {
		m.Destination = []string{}
	}
	tags := map[string][]string{}
	for k, v := range msg.Tags {
		tags[k] = v
	}
	if _, ok := tags["ses:operation"]; !ok {
		tags["ses:operation"] = []string{"SendEmail"}
	}
	tags["ses:from-domain"] = []string{strings.ToLower(domain)}
	tags["ses:caller-identity"] = []string{msg.AccountID}
	if msg.ConfigurationSet != "" {
		tags["ses:configuration-set"] = []string{msg.ConfigurationSet}
	}
	m.Tags = tags
	if !withHeaders {
		return m
	}
	hs, truncated := headersOf(msg.Data)
	m.HeadersTruncated, m.Headers = &truncated, hs
	ch := &commonHeaders{}
	for _, h := range hs {
		switch strings.ToLower(h.Name) {
		case "from":
			ch.From = append(ch.From, splitList(h.Value)...)
		case "reply-to":
			ch.ReplyTo = append(ch.ReplyTo, splitList(h.Value)...)
		case "to":
			ch.To = append(ch.To, splitList(h.Value)...)
		case "cc":
			ch.Cc = append(ch.Cc, splitList(h.Value)...)
		case "date":
			ch.Date = h.Value
		case "message-id":
			ch.MessageID = h.Value
		case "subject":
			ch.Subject = decodeWord(h.Value)
		}
	}
	m.CommonHeaders = ch
	return m
}

// headersOf reads the header section of data in order, unfolded; DKIM
// signatures are left out as SES leaves out its own.
func headersOf(data []byte) ([]header, bool) {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(data)
	}
	truncated := end > maxHeaders
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(data[:min(end, maxHeaders):min(end, maxHeaders)], "\r\n\r\n"...))))
	var out []header
	for {
		line, err := r.ReadContinuedLine()
		if err != nil || line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if strings.EqualFold(k, "DKIM-Signature") {
			continue
		}
		out = append(out, header{Name: k, Value: strings.TrimSpace(v)})
	}
	return out, truncated
}

func splitList(v string) []string {
	l, err := netmail.ParseAddressList(v)
	if err != nil {
		return []string{v}
	}
	out := make([]string, len(l))
	for i, a := range l {
		out[i] = a.String()
	}
	return out
}

func decodeWord(v string) string {
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}
