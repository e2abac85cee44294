// Package apiclient is the sesame CLI's client for the admin API
// (/sesame/v1/…): accounts and access keys. Requests are signed with
// SigV4 (service "ses") exactly as the AWS SDKs sign SES requests, so the
// server authenticates them the same way. SES operations themselves go
// through aws-sdk-go-v2 in the CLI.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/dnscheck"
	"github.com/sesame-email/sesame/internal/sesapi"
	"github.com/sesame-email/sesame/internal/sigv4"
)

// Client calls one sesame endpoint with one key.
type Client struct {
	Endpoint        string // "http://127.0.0.1:8080"
	AccessKeyID     string
	SecretAccessKey string
	Region          string
	HTTP            *http.Client // nil = http.DefaultClient
}

// Error is an error answer from the API.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s (HTTP %d)", e.Code, e.Message, e.Status) }

// Do sends method path with in as the JSON body (nil for none) and decodes
// the answer into out (nil to ignore it).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("apiclient: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.Endpoint, "/")+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("apiclient: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := sigv4.Sign(req, body, c.AccessKeyID, c.SecretAccessKey, c.Region, "ses", time.Now()); err != nil {
		return fmt.Errorf("apiclient: sign: %w", err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("apiclient: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("apiclient: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode, Code: resp.Header.Get("x-amzn-ErrorType")}
		var m struct{ Message string }
		json.Unmarshal(data, &m)
		e.Message = m.Message
		if e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("apiclient: decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

// WhoAmI describes the caller's key and account.
type WhoAmI struct {
	AccessKeyId string
	Admin       bool
	Region      string
	Account     sesapi.AdminAccount
}

// WhoAmI returns the caller's key and account.
func (c *Client) WhoAmI(ctx context.Context) (WhoAmI, error) {
	var out WhoAmI
	return out, c.Do(ctx, "GET", "/sesame/v1/whoami", nil, &out)
}

// CreateAccount makes an account in mode "sandbox" or "production".
func (c *Client) CreateAccount(ctx context.Context, name, mode string) (sesapi.AdminAccount, error) {
	var out sesapi.AdminAccount
	return out, c.Do(ctx, "POST", "/sesame/v1/accounts", map[string]string{"Name": name, "Mode": mode}, &out)
}

// ListAccounts lists the accounts the key may see.
func (c *Client) ListAccounts(ctx context.Context) ([]sesapi.AdminAccount, error) {
	var out struct{ Accounts []sesapi.AdminAccount }
	return out.Accounts, c.Do(ctx, "GET", "/sesame/v1/accounts", nil, &out)
}

// GetAccount returns an account by id or name.
func (c *Client) GetAccount(ctx context.Context, ref string) (sesapi.AdminAccount, error) {
	var out sesapi.AdminAccount
	return out, c.Do(ctx, "GET", "/sesame/v1/accounts/"+url.PathEscape(ref), nil, &out)
}

// AccountUpdate is a change to an account; nil fields stay as they are.
type AccountUpdate struct {
	Mode          *string  `json:",omitempty"`
	Max24HourSend *float64 `json:",omitempty"`
	MaxSendRate   *float64 `json:",omitempty"`
}

// UpdateAccount changes an account's mode or quotas.
func (c *Client) UpdateAccount(ctx context.Context, ref string, u AccountUpdate) (sesapi.AdminAccount, error) {
	var out sesapi.AdminAccount
	return out, c.Do(ctx, "PATCH", "/sesame/v1/accounts/"+url.PathEscape(ref), u, &out)
}

// CreateKey makes a key for an account and returns it with its secret.
func (c *Client) CreateKey(ctx context.Context, ref string, admin bool, description string) (sesapi.AdminKey, error) {
	var out sesapi.AdminKey
	in := map[string]any{"Admin": admin, "Description": description}
	return out, c.Do(ctx, "POST", "/sesame/v1/accounts/"+url.PathEscape(ref)+"/keys", in, &out)
}

// ListKeys lists an account's keys.
func (c *Client) ListKeys(ctx context.Context, ref string) ([]sesapi.AdminKey, error) {
	var out struct{ Keys []sesapi.AdminKey }
	return out.Keys, c.Do(ctx, "GET", "/sesame/v1/accounts/"+url.PathEscape(ref)+"/keys", nil, &out)
}

// DeleteKey removes a key.
func (c *Client) DeleteKey(ctx context.Context, keyID string) error {
	return c.Do(ctx, "DELETE", "/sesame/v1/keys/"+url.PathEscape(keyID), nil, nil)
}

// IdentityRecords returns the DNS records table of an identity in the
// client's region, each checked against DNS now.
func (c *Client) IdentityRecords(ctx context.Context, name string) ([]dnscheck.Record, error) {
	var out struct{ Records []dnscheck.Record }
	return out.Records, c.Do(ctx, "GET", "/sesame/v1/identities/"+url.PathEscape(name)+"/records", nil, &out)
}

// VerifyIdentity re-checks an identity's DNS now.
func (c *Client) VerifyIdentity(ctx context.Context, name string) (sesapi.IdentityCheck, error) {
	var out sesapi.IdentityCheck
	return out, c.Do(ctx, "POST", "/sesame/v1/identities/"+url.PathEscape(name)+"/verify", nil, &out)
}

// Messages lists the newest messages in the client's region.
func (c *Client) Messages(ctx context.Context, limit int) ([]sesapi.MessageView, error) {
	var out struct{ Messages []sesapi.MessageView }
	return out.Messages, c.Do(ctx, "GET", "/sesame/v1/messages?Limit="+strconv.Itoa(limit), nil, &out)
}

// Message returns one message with its bytes.
func (c *Client) Message(ctx context.Context, id string) (sesapi.MessageView, error) {
	var out sesapi.MessageView
	return out, c.Do(ctx, "GET", "/sesame/v1/messages/"+url.PathEscape(id), nil, &out)
}

// Queue summarizes the queue by destination.
func (c *Client) Queue(ctx context.Context) ([]sesapi.DestinationView, error) {
	var out struct{ Destinations []sesapi.DestinationView }
	return out.Destinations, c.Do(ctx, "GET", "/sesame/v1/queue", nil, &out)
}

// QueueAction retries, holds or releases a message; it returns how many
// recipients changed.
func (c *Client) QueueAction(ctx context.Context, id, action string) (int, error) {
	var out struct{ Recipients int }
	return out.Recipients, c.Do(ctx, "POST", "/sesame/v1/messages/"+url.PathEscape(id)+"/"+url.PathEscape(action), nil, &out)
}

// DeleteMessage removes a message from the queue.
func (c *Client) DeleteMessage(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", "/sesame/v1/messages/"+url.PathEscape(id), nil, nil)
}

// SetEd25519 turns Ed25519 dual signing on or off for a domain and
// returns the token whose CNAME must be published.
func (c *Client) SetEd25519(ctx context.Context, domain string, on bool) (string, error) {
	var out struct{ Ed25519Token string }
	return out.Ed25519Token, c.Do(ctx, "PUT", "/sesame/v1/identities/"+url.PathEscape(domain)+"/ed25519", map[string]bool{"Enabled": on}, &out)
}

// Events lists recorded events, newest first; message "" means all.
func (c *Client) Events(ctx context.Context, message string, limit int) ([]sesapi.EventView, error) {
	var out struct{ Events []sesapi.EventView }
	err := c.Do(ctx, "GET", "/sesame/v1/events?"+url.Values{"message": {message}, "limit": {strconv.Itoa(limit)}}.Encode(), nil, &out)
	return out.Events, err
}

// Notifications lists webhook deliveries and their attempts; topic "" means all.
func (c *Client) Notifications(ctx context.Context, topic string, limit int) ([]sesapi.NotificationView, error) {
	var out struct{ Notifications []sesapi.NotificationView }
	err := c.Do(ctx, "GET", "/sesame/v1/notifications?"+url.Values{"topic": {topic}, "limit": {strconv.Itoa(limit)}}.Encode(), nil, &out)
	return out.Notifications, err
}

// Inbound lists received mail, newest first.
func (c *Client) Inbound(ctx context.Context, limit int) ([]sesapi.InboundView, error) {
	var out struct{ Messages []sesapi.InboundView }
	err := c.Do(ctx, "GET", "/sesame/v1/inbound?limit="+strconv.Itoa(limit), nil, &out)
	return out.Messages, err
}

// InboundMessage returns one received message with its bytes.
func (c *Client) InboundMessage(ctx context.Context, id string) (sesapi.InboundView, error) {
	var out sesapi.InboundView
	err := c.Do(ctx, "GET", "/sesame/v1/inbound/"+url.PathEscape(id), nil, &out)
	return out, err
}
