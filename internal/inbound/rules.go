// Package inbound receives mail for verified domains, as SES's receipt
// rules do: rule sets per (account, region), one of them active, whose
// enabled rules match recipients (addresses, domains, subdomains) and run
// their actions in order — store the message (S3, here a folder under the
// data dir), notify an SNS topic, add a header, bounce, stop. Receipt
// filters block or allow connecting IP ranges. Every message received gets
// SPF, DKIM and DMARC verdicts, recorded as SES's receipt object and as an
// Authentication-Results header (RFC 8601).
//
// Rule sets, the active set's name and filters are store.Resource
// documents, so concurrent edits of one set are atomic in every store.
package inbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/store"
)

// Resource kinds.
const (
	kindRuleSet = "receipt-rule-set"
	kindActive  = "receipt-active"
	kindFilter  = "receipt-filter"
)

// Limits (reference §7).
const (
	MaxRuleSets       = 40
	MaxRules          = 200
	MaxActions        = 10
	MaxRecipients     = 100
	MaxFilters        = 100
	MaxSNSContentSize = 150 << 10
)

// Errors; callers test with errors.Is.
var (
	ErrRuleSetNotFound = errors.New("inbound: rule set does not exist")
	ErrRuleNotFound    = errors.New("inbound: rule does not exist")
	ErrExists          = errors.New("inbound: already exists")
	ErrInvalid         = errors.New("inbound: invalid parameter")
	ErrLimit           = errors.New("inbound: limit exceeded")
	ErrCannotDelete    = errors.New("inbound: cannot delete")
)

// S3Action stores the message under BucketName/ObjectKeyPrefix.
type S3Action struct {
	BucketName      string
	ObjectKeyPrefix string `json:",omitempty"`
	TopicArn        string `json:",omitempty"`
	KmsKeyArn       string `json:",omitempty"`
	IamRoleArn      string `json:",omitempty"`
}

// SNSAction publishes the message to a topic.
type SNSAction struct {
	TopicArn string
	Encoding string `json:",omitempty"` // UTF-8 (default) or Base64
}

// BounceAction rejects the message with a DSN to the sender.
type BounceAction struct {
	SmtpReplyCode string
	StatusCode    string `json:",omitempty"`
	Message       string
	Sender        string
	TopicArn      string `json:",omitempty"`
}

// AddHeaderAction adds a header to the message for the later actions.
type AddHeaderAction struct{ HeaderName, HeaderValue string }

// StopAction ends the evaluation of the rule set.
type StopAction struct {
	Scope    string // RuleSet
	TopicArn string `json:",omitempty"`
}

// Action is exactly one action.
type Action struct {
	S3Action        *S3Action        `json:",omitempty"`
	SNSAction       *SNSAction       `json:",omitempty"`
	BounceAction    *BounceAction    `json:",omitempty"`
	AddHeaderAction *AddHeaderAction `json:",omitempty"`
	StopAction      *StopAction      `json:",omitempty"`
	// Unsupported names an action sesame cannot run (WorkMail, Lambda,
	// Connect); such a rule is refused at creation.
	Unsupported string `json:"-"`
}

// Rule is a receipt rule.
type Rule struct {
	Name        string
	Enabled     bool
	TlsPolicy   string // Require or Optional
	Recipients  []string
	Actions     []Action
	ScanEnabled bool
}

// RuleSet is a named, ordered list of rules.
type RuleSet struct {
	Name      string
	CreatedAt time.Time
	Rules     []Rule
}

// Filter allows or blocks an IP range for an account's inbound mail.
type Filter struct {
	Name   string
	Policy string // Block or Allow
	Cidr   string
}

// Service manages receipt rules.
type Service struct {
	st    store.Resources
	clock clock.Clock
}

// New returns a Service.
func New(st store.Resources, clk clock.Clock) *Service { return &Service{st: st, clock: clk} }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func checkName(what, n string) error {
	if !nameRE.MatchString(n) {
		return fmt.Errorf("%w: %s must start with a letter or digit and have at most 64 letters, digits, '.', '_' and '-'", ErrInvalid, what)
	}
	return nil
}

func (s *Service) get(ctx context.Context, accountID, region, name string) (RuleSet, error) {
	r, err := s.st.GetResource(ctx, accountID, region, kindRuleSet, name)
	if errors.Is(err, store.ErrNotFound) {
		return RuleSet{}, fmt.Errorf("%w: Rule set does not exist: %s", ErrRuleSetNotFound, name)
	}
	if err != nil {
		return RuleSet{}, err
	}
	var rs RuleSet
	if err := json.Unmarshal(r.Doc, &rs); err != nil {
		return RuleSet{}, fmt.Errorf("inbound: rule set %s: %w", name, err)
	}
	return rs, nil
}

// CreateRuleSet makes an empty rule set.
func (s *Service) CreateRuleSet(ctx context.Context, accountID, region, name string) error {
	return s.create(ctx, accountID, region, RuleSet{Name: name})
}

func (s *Service) create(ctx context.Context, accountID, region string, rs RuleSet) error {
	if err := checkName("RuleSetName", rs.Name); err != nil {
		return err
	}
	if n, err := s.st.CountResources(ctx, accountID, region, kindRuleSet); err != nil {
		return err
	} else if n >= MaxRuleSets {
		return fmt.Errorf("%w: at most %d rule sets", ErrLimit, MaxRuleSets)
	}
	rs.CreatedAt = s.clock.Now().UTC().Truncate(time.Millisecond)
	doc, _ := json.Marshal(rs)
	err := s.st.CreateResource(ctx, store.Resource{AccountID: accountID, Region: region, Kind: kindRuleSet, Name: rs.Name, Doc: doc, CreatedAt: rs.CreatedAt})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: Rule set already exists: %s", ErrExists, rs.Name)
	}
	return err
}

// CloneRuleSet copies a rule set under a new name.
func (s *Service) CloneRuleSet(ctx context.Context, accountID, region, name, original string) error {
	rs, err := s.get(ctx, accountID, region, original)
	if err != nil {
		return err
	}
	rs.Name = name
	return s.create(ctx, accountID, region, rs)
}

// DescribeRuleSet returns a rule set.
func (s *Service) DescribeRuleSet(ctx context.Context, accountID, region, name string) (RuleSet, error) {
	return s.get(ctx, accountID, region, name)
}

// ListRuleSets returns up to 100 rule sets after token, and the next token.
func (s *Service) ListRuleSets(ctx context.Context, accountID, region, token string) ([]RuleSet, string, error) {
	rs, err := s.st.ListResources(ctx, accountID, region, kindRuleSet, token, 101)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rs) > 100 {
		rs, next = rs[:100], rs[99].Name
	}
	out := make([]RuleSet, 0, len(rs))
	for _, r := range rs {
		var x RuleSet
		if json.Unmarshal(r.Doc, &x) == nil {
			out = append(out, x)
		}
	}
	return out, next, nil
}

// DeleteRuleSet removes a rule set; the active one cannot be deleted.
func (s *Service) DeleteRuleSet(ctx context.Context, accountID, region, name string) error {
	if active, _ := s.activeName(ctx, accountID, region); active == name {
		return fmt.Errorf("%w: Cannot delete active rule set: %s", ErrCannotDelete, name)
	}
	err := s.st.DeleteResource(ctx, accountID, region, kindRuleSet, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil // SES: deleting a rule set that does not exist succeeds
	}
	return err
}

func (s *Service) activeName(ctx context.Context, accountID, region string) (string, error) {
	r, err := s.st.GetResource(ctx, accountID, region, kindActive, "active")
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(r.Doc), nil
}

// SetActive makes a rule set the active one ("" deactivates).
func (s *Service) SetActive(ctx context.Context, accountID, region, name string) error {
	if name != "" {
		if _, err := s.get(ctx, accountID, region, name); err != nil {
			return err
		}
	}
	err := s.st.UpdateResource(ctx, accountID, region, kindActive, "active", func([]byte) ([]byte, error) { return []byte(name), nil })
	if errors.Is(err, store.ErrNotFound) {
		err = s.st.CreateResource(ctx, store.Resource{AccountID: accountID, Region: region, Kind: kindActive, Name: "active", Doc: []byte(name), CreatedAt: s.clock.Now()})
		if errors.Is(err, store.ErrConflict) {
			return s.SetActive(ctx, accountID, region, name)
		}
	}
	return err
}

// Active returns the active rule set; ok is false when none is active.
func (s *Service) Active(ctx context.Context, accountID, region string) (RuleSet, bool, error) {
	name, err := s.activeName(ctx, accountID, region)
	if err != nil || name == "" {
		return RuleSet{}, false, err
	}
	rs, err := s.get(ctx, accountID, region, name)
	if errors.Is(err, ErrRuleSetNotFound) {
		return RuleSet{}, false, nil
	}
	return rs, err == nil, err
}

func (s *Service) update(ctx context.Context, accountID, region, set string, fn func(*RuleSet) error) error {
	err := s.st.UpdateResource(ctx, accountID, region, kindRuleSet, set, func(doc []byte) ([]byte, error) {
		var rs RuleSet
		if err := json.Unmarshal(doc, &rs); err != nil {
			return nil, err
		}
		if err := fn(&rs); err != nil {
			return nil, err
		}
		return json.Marshal(rs)
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: Rule set does not exist: %s", ErrRuleSetNotFound, set)
	}
	return err
}

// checkRule validates a rule.
func checkRule(r Rule) error {
	if err := checkName("Rule.Name", r.Name); err != nil {
		return err
	}
	if r.TlsPolicy != "" && r.TlsPolicy != "Require" && r.TlsPolicy != "Optional" {
		return fmt.Errorf("%w: TlsPolicy must be Require or Optional", ErrInvalid)
	}
	if len(r.Recipients) > MaxRecipients {
		return fmt.Errorf("%w: at most %d recipients per rule", ErrLimit, MaxRecipients)
	}
	if len(r.Actions) > MaxActions {
		return fmt.Errorf("%w: at most %d actions per rule", ErrLimit, MaxActions)
	}
	for _, a := range r.Actions {
		n := 0
		for _, set := range []bool{a.S3Action != nil, a.SNSAction != nil, a.BounceAction != nil, a.AddHeaderAction != nil, a.StopAction != nil} {
			if set {
				n++
			}
		}
		switch {
		case a.Unsupported != "":
			return fmt.Errorf("%w: %s actions are not available in sesame (no %s here); use an SNS or S3 action", ErrInvalid, a.Unsupported, a.Unsupported)
		case n != 1:
			return fmt.Errorf("%w: each action must have exactly one type", ErrInvalid)
		case a.S3Action != nil && !regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`).MatchString(a.S3Action.BucketName):
			return fmt.Errorf("%w: S3Action.BucketName %q is not a bucket name", ErrInvalid, a.S3Action.BucketName)
		case a.S3Action != nil && strings.Contains(a.S3Action.ObjectKeyPrefix, ".."):
			return fmt.Errorf("%w: S3Action.ObjectKeyPrefix must not contain ..", ErrInvalid)
		case a.SNSAction != nil && a.SNSAction.Encoding != "" && a.SNSAction.Encoding != "UTF-8" && a.SNSAction.Encoding != "Base64":
			return fmt.Errorf("%w: SNSAction.Encoding must be UTF-8 or Base64", ErrInvalid)
		case a.AddHeaderAction != nil && !regexp.MustCompile(`^[A-Za-z0-9-]{1,50}$`).MatchString(a.AddHeaderAction.HeaderName):
			return fmt.Errorf("%w: AddHeaderAction.HeaderName must be letters, digits and dashes", ErrInvalid)
		case a.AddHeaderAction != nil && strings.ContainsAny(a.AddHeaderAction.HeaderValue, "\r\n"):
			return fmt.Errorf("%w: AddHeaderAction.HeaderValue must be one line", ErrInvalid)
		case a.BounceAction != nil && (a.BounceAction.Sender == "" || a.BounceAction.SmtpReplyCode == "" || a.BounceAction.Message == ""):
			return fmt.Errorf("%w: BounceAction needs Sender, SmtpReplyCode and Message", ErrInvalid)
		}
	}
	return nil
}

// CreateRule adds a rule after the rule named after ("" = first).
func (s *Service) CreateRule(ctx context.Context, accountID, region, set, after string, r Rule) error {
	if err := checkRule(r); err != nil {
		return err
	}
	return s.update(ctx, accountID, region, set, func(rs *RuleSet) error {
		if slices.ContainsFunc(rs.Rules, func(x Rule) bool { return x.Name == r.Name }) {
			return fmt.Errorf("%w: Rule already exists: %s", ErrExists, r.Name)
		}
		if len(rs.Rules) >= MaxRules {
			return fmt.Errorf("%w: at most %d rules per rule set", ErrLimit, MaxRules)
		}
		at := 0
		if after != "" {
			i := slices.IndexFunc(rs.Rules, func(x Rule) bool { return x.Name == after })
			if i < 0 {
				return fmt.Errorf("%w: Rule does not exist: %s", ErrRuleNotFound, after)
			}
			at = i + 1
		}
		rs.Rules = slices.Insert(rs.Rules, at, r)
		return nil
	})
}

// UpdateRule replaces a rule.
func (s *Service) UpdateRule(ctx context.Context, accountID, region, set string, r Rule) error {
	if err := checkRule(r); err != nil {
		return err
	}
	return s.update(ctx, accountID, region, set, func(rs *RuleSet) error {
		i := slices.IndexFunc(rs.Rules, func(x Rule) bool { return x.Name == r.Name })
		if i < 0 {
			return fmt.Errorf("%w: Rule does not exist: %s", ErrRuleNotFound, r.Name)
		}
		rs.Rules[i] = r
		return nil
	})
}

// DeleteRule removes a rule (absent is fine, as in SES).
func (s *Service) DeleteRule(ctx context.Context, accountID, region, set, name string) error {
	return s.update(ctx, accountID, region, set, func(rs *RuleSet) error {
		rs.Rules = slices.DeleteFunc(rs.Rules, func(x Rule) bool { return x.Name == name })
		return nil
	})
}

// DescribeRule returns one rule.
func (s *Service) DescribeRule(ctx context.Context, accountID, region, set, name string) (Rule, error) {
	rs, err := s.get(ctx, accountID, region, set)
	if err != nil {
		return Rule{}, err
	}
	for _, r := range rs.Rules {
		if r.Name == name {
			return r, nil
		}
	}
	return Rule{}, fmt.Errorf("%w: Rule does not exist: %s", ErrRuleNotFound, name)
}

// SetRulePosition moves a rule after another ("" = first).
func (s *Service) SetRulePosition(ctx context.Context, accountID, region, set, name, after string) error {
	return s.update(ctx, accountID, region, set, func(rs *RuleSet) error {
		i := slices.IndexFunc(rs.Rules, func(x Rule) bool { return x.Name == name })
		if i < 0 {
			return fmt.Errorf("%w: Rule does not exist: %s", ErrRuleNotFound, name)
		}
		r := rs.Rules[i]
		rs.Rules = slices.Delete(rs.Rules, i, i+1)
		at := 0
		if after != "" {
			j := slices.IndexFunc(rs.Rules, func(x Rule) bool { return x.Name == after })
			if j < 0 {
				return fmt.Errorf("%w: Rule does not exist: %s", ErrRuleNotFound, after)
			}
			at = j + 1
		}
		rs.Rules = slices.Insert(rs.Rules, at, r)
		return nil
	})
}

// Reorder puts the rules in the given order, which must name each once.
func (s *Service) Reorder(ctx context.Context, accountID, region, set string, names []string) error {
	return s.update(ctx, accountID, region, set, func(rs *RuleSet) error {
		if len(names) != len(rs.Rules) {
			return fmt.Errorf("%w: RuleNames must list every rule of the set exactly once", ErrInvalid)
		}
		out := make([]Rule, 0, len(names))
		for _, n := range names {
			i := slices.IndexFunc(rs.Rules, func(x Rule) bool { return x.Name == n })
			if i < 0 || slices.ContainsFunc(out, func(x Rule) bool { return x.Name == n }) {
				return fmt.Errorf("%w: RuleNames must list every rule of the set exactly once", ErrInvalid)
			}
			out = append(out, rs.Rules[i])
		}
		rs.Rules = out
		return nil
	})
}

// CreateFilter adds an IP filter.
func (s *Service) CreateFilter(ctx context.Context, accountID, region string, f Filter) error {
	if err := checkName("Filter.Name", f.Name); err != nil {
		return err
	}
	if f.Policy != "Block" && f.Policy != "Allow" {
		return fmt.Errorf("%w: IpFilter.Policy must be Block or Allow", ErrInvalid)
	}
	if _, err := parseCIDR(f.Cidr); err != nil {
		return fmt.Errorf("%w: IpFilter.Cidr %q: %v", ErrInvalid, f.Cidr, err)
	}
	if n, err := s.st.CountResources(ctx, accountID, region, kindFilter); err != nil {
		return err
	} else if n >= MaxFilters {
		return fmt.Errorf("%w: at most %d filters", ErrLimit, MaxFilters)
	}
	doc, _ := json.Marshal(f)
	err := s.st.CreateResource(ctx, store.Resource{AccountID: accountID, Region: region, Kind: kindFilter, Name: f.Name, Doc: doc, CreatedAt: s.clock.Now()})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: Filter already exists: %s", ErrExists, f.Name)
	}
	return err
}

func parseCIDR(c string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(c); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(c)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ListFilters returns every filter.
func (s *Service) ListFilters(ctx context.Context, accountID, region string) ([]Filter, error) {
	rs, err := s.st.ListResources(ctx, accountID, region, kindFilter, "", MaxFilters+1)
	if err != nil {
		return nil, err
	}
	out := make([]Filter, 0, len(rs))
	for _, r := range rs {
		var f Filter
		if json.Unmarshal(r.Doc, &f) == nil {
			out = append(out, f)
		}
	}
	return out, nil
}

// DeleteFilter removes a filter.
func (s *Service) DeleteFilter(ctx context.Context, accountID, region, name string) error {
	err := s.st.DeleteResource(ctx, accountID, region, kindFilter, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// Blocked reports whether ip is refused by an account's filters: an Allow
// filter that matches wins over every Block filter (SES's rule).
func (s *Service) Blocked(ctx context.Context, accountID, region string, ip netip.Addr) (bool, error) {
	fs, err := s.ListFilters(ctx, accountID, region)
	if err != nil {
		return false, err
	}
	blocked := false
	for _, f := range fs {
		p, err := parseCIDR(f.Cidr)
		if err != nil || !p.Contains(ip.Unmap()) {
			continue
		}
		if f.Policy == "Allow" {
			return false, nil
		}
		blocked = true
	}
	return blocked, nil
}

// Matches reports whether a rule's recipients cover addr, as SES matches:
// an address matches itself, a domain the addresses at that domain only,
// ".domain" the addresses at its subdomains; a rule without recipients
// matches every address of the account's verified domains.
func (r Rule) Matches(addr string) bool {
	if len(r.Recipients) == 0 {
		return true
	}
	addr = strings.ToLower(addr)
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	for _, m := range r.Recipients {
		m = strings.ToLower(strings.TrimSpace(m))
		switch {
		case strings.Contains(m, "@"):
			if m == addr {
				return true
			}
		case strings.HasPrefix(m, "."):
			if strings.HasSuffix(domain, m) {
				return true
			}
		default:
			if domain == m {
				return true
			}
		}
	}
	return false
}
