package inbound

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/mail"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/ids"
	"github.com/sesame-email/sesame/internal/store"
)

// Routing errors; the MX front end turns them into SMTP replies.
var (
	// ErrNoRule: no account takes mail for the recipient (550 5.7.1).
	ErrNoRule = errors.New("inbound: no receipt rule for this recipient")
	// ErrBlocked: a receipt filter blocks the connecting IP (554 5.7.1).
	ErrBlocked = errors.New("inbound: the connecting address is blocked by a receipt filter")
	// ErrTLSRequired: a matching rule requires TLS (530 5.7.0).
	ErrTLSRequired = errors.New("inbound: a matching receipt rule requires TLS")
	// ErrMessageNotFound: no received message with that id.
	ErrMessageNotFound = errors.New("inbound: no such received message")
)

// ReceiverConfig wires a Receiver.
type ReceiverConfig struct {
	Rules *Service
	// AccountIDs lists every account.
	AccountIDs func(ctx context.Context) ([]string, error)
	Regions    []string
	// Identity returns an identity (found=false when there is none).
	Identity func(ctx context.Context, accountID, region, name string) (store.Identity, bool, error)
	Resolver Resolver
	// Fanout and Notify publish SNS actions (sns.Service.Fanout, then
	// store.Events.AddEvents and a wake-up).
	Fanout func(ctx context.Context, accountID, region, topicARN, subject, message string) ([]store.Notification, string, error)
	Notify func(ctx context.Context, notes []store.Notification) error
	// Enqueue queues a bounce (BounceAction) durably.
	Enqueue func(ctx context.Context, msg store.Message, rcpts []store.Recipient) error
	// DataDir holds S3 action folders (s3/<bucket>/) and received mail
	// (inbound/<account>/<region>/).
	DataDir  string
	Hostname string
	Clock    clock.Clock
	Logger   *slog.Logger
}

// Receiver routes and receives inbound mail.
type Receiver struct{ cfg ReceiverConfig }

// NewReceiver returns a Receiver.
func NewReceiver(cfg ReceiverConfig) *Receiver { return &Receiver{cfg: cfg} }

// Route is where one recipient's mail goes.
type Route struct {
	AccountID, Region string
	Set               RuleSet
}

func parents(domain string) []string {
	var out []string
	for d := domain; strings.Contains(d, "."); d = d[strings.IndexByte(d, '.')+1:] {
		out = append(out, d)
	}
	return out
}

// Route finds the account and active rule set that take rcpt: the
// recipient's domain (or a parent domain) must be a verified domain identity
// of the account in the region, and an enabled rule of the region's active
// rule set must match it. Accounts are tried in order; the first that
// takes the recipient wins.
func (r *Receiver) Route(ctx context.Context, ip netip.Addr, tls bool, rcpt string) (Route, error) {
	rcpt = strings.ToLower(rcpt)
	domain := rcpt[strings.LastIndexByte(rcpt, '@')+1:]
	accts, err := r.cfg.AccountIDs(ctx)
	if err != nil {
		return Route{}, err
	}
	for _, a := range accts {
		for _, region := range r.cfg.Regions {
			verified := false
			for _, d := range parents(domain) {
				id, found, err := r.cfg.Identity(ctx, a, region, d)
				if err != nil {
					return Route{}, err
				}
				if found && id.Type == store.IdentityDomain && id.Verification.Status == store.StatusSuccess {
					verified = true
					break
				}
			}
			if !verified {
				continue
			}
			set, ok, err := r.cfg.Rules.Active(ctx, a, region)
			if err != nil {
				return Route{}, err
			}
			if !ok {
				continue
			}
			var matched []Rule
			for _, rule := range set.Rules {
				if rule.Enabled && rule.Matches(rcpt) {
					matched = append(matched, rule)
				}
			}
			if len(matched) == 0 {
				continue
			}
			if blocked, err := r.cfg.Rules.Blocked(ctx, a, region, ip); err != nil {
				return Route{}, err
			} else if blocked {
				return Route{}, ErrBlocked
			}
			for _, rule := range matched {
				if rule.TlsPolicy == "Require" && !tls {
					return Route{}, ErrTLSRequired
				}
			}
			return Route{AccountID: a, Region: region, Set: set}, nil
		}
	}
	return Route{}, ErrNoRule
}

// Message is one message as the MX listener received it.
type Message struct {
	RemoteIP   netip.Addr
	Helo       string
	MailFrom   string
	TLS        bool
	Recipients []string
	Data       []byte
}

// Receipt is SES's receipt object, kept with every received message.
type Receipt struct {
	Timestamp            string   `json:"timestamp"`
	ProcessingTimeMillis int64    `json:"processingTimeMillis"`
	Recipients           []string `json:"recipients"`
	SpamVerdict          Verdict  `json:"spamVerdict"`
	VirusVerdict         Verdict  `json:"virusVerdict"`
	SPFVerdict           Verdict  `json:"spfVerdict"`
	DKIMVerdict          Verdict  `json:"dkimVerdict"`
	DMARCVerdict         Verdict  `json:"dmarcVerdict"`
	DMARCPolicy          string   `json:"dmarcPolicy,omitempty"`
	Action               any      `json:"action,omitempty"`
}

// Stored is a received message's record (inbound list/show).
type Stored struct {
	MessageID string    `json:"messageId"`
	AccountID string    `json:"accountId"`
	Region    string    `json:"region"`
	Source    string    `json:"source"`
	From      string    `json:"from"`
	Subject   string    `json:"subject"`
	Time      time.Time `json:"time"`
	Size      int       `json:"size"`
	Rules     []string  `json:"rules"`
	Receipt   Receipt   `json:"receipt"`
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Receive runs the matching rules' actions for each account the message's
// recipients route to, and keeps the message for `sesame inbound`. It
// returns once everything it wrote is on disk (fsync) or in the store.
func (r *Receiver) Receive(ctx context.Context, m Message) error {
	start := r.cfg.Clock.Now().UTC()
	groups := map[[2]string][]string{}
	sets := map[[2]string]RuleSet{}
	for _, rc := range m.Recipients {
		rt, err := r.Route(ctx, m.RemoteIP, m.TLS, rc)
		if err != nil {
			return fmt.Errorf("inbound: %s: %w", rc, err)
		}
		k := [2]string{rt.AccountID, rt.Region}
		groups[k] = append(groups[k], strings.ToLower(rc))
		sets[k] = rt.Set
	}
	v := Evaluate(ctx, r.cfg.Resolver, r.cfg.Hostname, m.RemoteIP, m.Helo, m.MailFrom, m.Data)
	data := append([]byte("Authentication-Results: "+v.Results+"\r\n"), m.Data...)
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	for _, k := range keys {
		if err := r.deliver(ctx, k[0], k[1], sets[k], groups[k], m, v, data, start); err != nil {
			return err
		}
	}
	return nil
}

func (r *Receiver) deliver(ctx context.Context, accountID, region string, set RuleSet, rcpts []string, m Message, v Verdicts, data []byte, start time.Time) error {
	id := ids.MessageID(region, start)
	rec := Stored{MessageID: id, AccountID: accountID, Region: region, Source: m.MailFrom, Time: start, Size: len(data)}
	if msg, err := mail.ReadMessage(strings.NewReader(string(headerOf(m.Data)))); err == nil {
		rec.From, rec.Subject = msg.Header.Get("From"), msg.Header.Get("Subject")
		if d, err := new(mime.WordDecoder).DecodeHeader(rec.Subject); err == nil {
			rec.Subject = d
		}
	}
	receipt := func(action any) Receipt {
		return Receipt{Timestamp: stamp(start), ProcessingTimeMillis: r.cfg.Clock.Now().Sub(start).Milliseconds(), Recipients: rcpts,
			SpamVerdict: Verdict{"DISABLED"}, VirusVerdict: Verdict{"DISABLED"}, SPFVerdict: v.SPF, DKIMVerdict: v.DKIM, DMARCVerdict: v.DMARC,
			DMARCPolicy: v.DMARCPolicy, Action: action}
	}
	rec.Receipt = receipt(nil)
rules:
	for _, rule := range set.Rules {
		if !rule.Enabled || !matchesAny(rule, rcpts) {
			continue
		}
		rec.Rules = append(rec.Rules, rule.Name)
		for _, a := range rule.Actions {
			switch {
			case a.AddHeaderAction != nil:
				data = append([]byte(a.AddHeaderAction.HeaderName+": "+a.AddHeaderAction.HeaderValue+"\r\n"), data...)
			case a.S3Action != nil:
				key := a.S3Action.ObjectKeyPrefix + id
				if err := writeDurable(filepath.Join(r.cfg.DataDir, "s3", a.S3Action.BucketName, filepath.FromSlash(key)), data); err != nil {
					return fmt.Errorf("inbound: S3 action: %w", err)
				}
				if a.S3Action.TopicArn != "" {
					r.publish(ctx, accountID, a.S3Action.TopicArn, m, rcpts, id, receipt(map[string]string{"type": "S3", "topicArn": a.S3Action.TopicArn,
						"bucketName": a.S3Action.BucketName, "objectKeyPrefix": a.S3Action.ObjectKeyPrefix, "objectKey": key}), nil)
				}
			case a.SNSAction != nil:
				enc := a.SNSAction.Encoding
				if enc == "" {
					enc = "UTF-8"
				}
				content := string(data)
				if enc == "Base64" {
					content = base64.StdEncoding.EncodeToString(data)
				}
				var c *string
				if len(content) <= MaxSNSContentSize {
					c = &content
				}
				r.publish(ctx, accountID, a.SNSAction.TopicArn, m, rcpts, id, receipt(map[string]string{"type": "SNS", "topicArn": a.SNSAction.TopicArn, "encoding": enc}), c)
			case a.BounceAction != nil:
				if err := r.bounce(ctx, accountID, region, *a.BounceAction, m, rcpts); err != nil {
					return err
				}
			case a.StopAction != nil:
				if a.StopAction.TopicArn != "" {
					r.publish(ctx, accountID, a.StopAction.TopicArn, m, rcpts, id, receipt(map[string]string{"type": "Stop", "topicArn": a.StopAction.TopicArn}), nil)
				}
				break rules
			}
		}
	}
	dir := filepath.Join(r.cfg.DataDir, "inbound", accountID, region)
	if err := writeDurable(filepath.Join(dir, id+".eml"), data); err != nil {
		return fmt.Errorf("inbound: keep: %w", err)
	}
	js, _ := json.Marshal(rec)
	if err := writeDurable(filepath.Join(dir, id+".json"), js); err != nil {
		return fmt.Errorf("inbound: keep: %w", err)
	}
	r.cfg.Logger.Info("inbound message", "message", id, "account", accountID, "region", region, "rcpts", rcpts, "rules", rec.Rules,
		"spf", v.SPF.Status, "dkim", v.DKIM.Status, "dmarc", v.DMARC.Status)
	return nil
}

func matchesAny(rule Rule, rcpts []string) bool {
	for _, rc := range rcpts {
		if rule.Matches(rc) {
			return true
		}
	}
	return false
}

// publish sends SES's "Received" notification to an SNS topic.
func (r *Receiver) publish(ctx context.Context, accountID, topic string, m Message, rcpts []string, id string, rc Receipt, content *string) {
	region := ""
	if p := strings.Split(topic, ":"); len(p) == 6 {
		region = p[3]
	}
	mailObj := map[string]any{"timestamp": rc.Timestamp, "source": m.MailFrom, "messageId": id, "destination": rcpts, "headersTruncated": false}
	if msg, err := mail.ReadMessage(strings.NewReader(string(headerOf(m.Data)))); err == nil {
		var hs []map[string]string
		for k, vs := range msg.Header {
			for _, v := range vs {
				hs = append(hs, map[string]string{"name": k, "value": v})
			}
		}
		mailObj["headers"] = hs
		mailObj["commonHeaders"] = map[string]any{"from": []string{msg.Header.Get("From")}, "to": []string{msg.Header.Get("To")},
			"subject": msg.Header.Get("Subject"), "messageId": msg.Header.Get("Message-Id"), "date": msg.Header.Get("Date")}
	}
	body := map[string]any{"notificationType": "Received", "mail": mailObj, "receipt": rc}
	if content != nil {
		body["content"] = *content
	}
	js, _ := json.Marshal(body)
	notes, _, err := r.cfg.Fanout(ctx, accountID, region, topic, "Amazon SES Email Receipt Notification", string(js))
	if err == nil {
		err = r.cfg.Notify(ctx, notes)
	}
	if err != nil {
		r.cfg.Logger.Warn("inbound: notification not queued", "topic", topic, "message", id, "err", err)
	}
}

// bounce mails a DSN (RFC 3464) from the action's Sender to the message's
// envelope sender, from the null sender, through the queue.
func (r *Receiver) bounce(ctx context.Context, accountID, region string, b BounceAction, m Message, rcpts []string) error {
	if m.MailFrom == "" || r.cfg.Enqueue == nil {
		return nil // never bounce a bounce (RFC 5321 §6.1)
	}
	now := r.cfg.Clock.Now().UTC()
	id := ids.MessageID(region, now)
	status := b.StatusCode
	if status == "" {
		status = "5.0.0"
	}
	const bd = "sesame-inbound-bounce"
	var s strings.Builder
	fmt.Fprintf(&s, "From: %s\r\nTo: %s\r\nSubject: Delivery Status Notification (Failure)\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\nAuto-Submitted: auto-replied\r\n",
		b.Sender, m.MailFrom, now.Format(time.RFC1123Z), id, r.cfg.Hostname)
	fmt.Fprintf(&s, "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=%q\r\n\r\n", bd)
	fmt.Fprintf(&s, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", bd, b.Message)
	fmt.Fprintf(&s, "--%s\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; %s\r\n", bd, r.cfg.Hostname)
	for _, rc := range rcpts {
		fmt.Fprintf(&s, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\nDiagnostic-Code: smtp; %s %s\r\n", rc, status, b.SmtpReplyCode, strings.Join(strings.Fields(b.Message), " "))
	}
	fmt.Fprintf(&s, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n%s\r\n--%s--\r\n", bd, headerOf(m.Data), bd)
	to := strings.ToLower(m.MailFrom)
	msg := store.Message{ID: id, AccountID: accountID, Region: region, MailFrom: "", From: b.Sender, Subject: "Delivery Status Notification (Failure)", CreatedAt: now, Data: []byte(s.String())}
	rcpt := store.Recipient{MessageID: id, Address: m.MailFrom, Domain: to[strings.LastIndexByte(to, '@')+1:], State: store.RcptQueued, NextAttempt: now, UpdatedAt: now}
	if err := r.cfg.Enqueue(ctx, msg, []store.Recipient{rcpt}); err != nil {
		return fmt.Errorf("inbound: bounce: %w", err)
	}
	return nil
}

// writeDurable writes b to path (0600, directories 0700) and fsyncs it.
func writeDurable(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// List returns an account's received messages in a region, newest first.
func (r *Receiver) List(accountID, region string, limit int) ([]Stored, error) {
	dir := filepath.Join(r.cfg.DataDir, "inbound", accountID, region)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Stored
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		var s Stored
		if json.Unmarshal(b, &s) == nil {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Get returns one received message with its bytes.
func (r *Receiver) Get(accountID, region, id string) (Stored, []byte, error) {
	if !ids.IsMessageID(id) {
		return Stored{}, nil, fmt.Errorf("%w: %s", ErrMessageNotFound, id)
	}
	dir := filepath.Join(r.cfg.DataDir, "inbound", accountID, region)
	b, err := os.ReadFile(filepath.Join(dir, id+".json"))
	if err != nil {
		return Stored{}, nil, fmt.Errorf("%w: %s", ErrMessageNotFound, id)
	}
	var s Stored
	if err := json.Unmarshal(b, &s); err != nil {
		return Stored{}, nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, id+".eml"))
	return s, raw, err
}

// Prune removes received messages kept before t (retention) and returns how
// many it removed.
func (r *Receiver) Prune(before time.Time) (int, error) {
	n := 0
	root := filepath.Join(r.cfg.DataDir, "inbound")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().Before(before) {
			return err
		}
		os.Remove(strings.TrimSuffix(path, ".json") + ".eml")
		n++
		return os.Remove(path)
	})
	return n, err
}
