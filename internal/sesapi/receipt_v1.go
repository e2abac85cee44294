package sesapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sesame-email/sesame/internal/inbound"
)

func (s *Server) v1ReceiptOps(ops map[string]v1Op) {
	ops["CreateReceiptRuleSet"] = s.v1CreateRuleSet
	ops["DeleteReceiptRuleSet"] = s.v1DeleteRuleSet
	ops["ListReceiptRuleSets"] = s.v1ListRuleSets
	ops["DescribeReceiptRuleSet"] = s.v1DescribeRuleSet
	ops["SetActiveReceiptRuleSet"] = s.v1SetActiveRuleSet
	ops["DescribeActiveReceiptRuleSet"] = s.v1DescribeActiveRuleSet
	ops["CloneReceiptRuleSet"] = s.v1CloneRuleSet
	ops["CreateReceiptRule"] = s.v1CreateRule
	ops["UpdateReceiptRule"] = s.v1UpdateRule
	ops["DeleteReceiptRule"] = s.v1DeleteRule
	ops["DescribeReceiptRule"] = s.v1DescribeRule
	ops["SetReceiptRulePosition"] = s.v1SetRulePosition
	ops["ReorderReceiptRuleSet"] = s.v1ReorderRuleSet
	ops["CreateReceiptFilter"] = s.v1CreateFilter
	ops["ListReceiptFilters"] = s.v1ListFilters
	ops["DeleteReceiptFilter"] = s.v1DeleteFilter
}

// receiptErr maps inbound errors to SES v1 codes (reference §3).
func receiptErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "inbound:") {
		msg = msg[i+2:]
		if j := strings.Index(msg, ": "); j >= 0 {
			msg = msg[j+2:]
		}
	}
	code := ""
	switch {
	case errors.Is(err, inbound.ErrRuleSetNotFound):
		code = "RuleSetDoesNotExist"
	case errors.Is(err, inbound.ErrRuleNotFound):
		code = "RuleDoesNotExist"
	case errors.Is(err, inbound.ErrExists):
		code = "AlreadyExists"
	case errors.Is(err, inbound.ErrLimit):
		code = "LimitExceeded"
	case errors.Is(err, inbound.ErrCannotDelete):
		code = "CannotDelete"
	case errors.Is(err, inbound.ErrInvalid):
		code = "InvalidParameterValue"
	default:
		return err
	}
	return apiErr(http.StatusBadRequest, code, "%s", msg)
}

func (s *Server) v1CreateRuleSet(c *call) (func(*xmlw), error) {
	return nil, receiptErr(s.cfg.Inbound.CreateRuleSet(c.ctx, c.p.AccountID, c.region, c.form.Get("RuleSetName")))
}

func (s *Server) v1DeleteRuleSet(c *call) (func(*xmlw), error) {
	return nil, receiptErr(s.cfg.Inbound.DeleteRuleSet(c.ctx, c.p.AccountID, c.region, c.form.Get("RuleSetName")))
}

func (s *Server) v1CloneRuleSet(c *call) (func(*xmlw), error) {
	return nil, receiptErr(s.cfg.Inbound.CloneRuleSet(c.ctx, c.p.AccountID, c.region, c.form.Get("RuleSetName"), c.form.Get("OriginalRuleSetName")))
}

func (s *Server) v1ListRuleSets(c *call) (func(*xmlw), error) {
	sets, next, err := s.cfg.Inbound.ListRuleSets(c.ctx, c.p.AccountID, c.region, c.form.Get("NextToken"))
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) {
		x.open("RuleSets")
		for _, rs := range sets {
			x.open("member")
			x.elem("Name", rs.Name)
			x.time("CreatedTimestamp", rs.CreatedAt)
			x.close("member")
		}
		x.close("RuleSets")
		if next != "" {
			x.elem("NextToken", next)
		}
	}, nil
}

func writeRuleSet(x *xmlw, rs inbound.RuleSet) {
	x.open("Metadata")
	x.elem("Name", rs.Name)
	x.time("CreatedTimestamp", rs.CreatedAt)
	x.close("Metadata")
	x.open("Rules")
	for _, r := range rs.Rules {
		x.open("member")
		writeRule(x, r)
		x.close("member")
	}
	x.close("Rules")
}

func writeRule(x *xmlw, r inbound.Rule) {
	x.elem("Name", r.Name)
	x.bool("Enabled", r.Enabled)
	x.elem("TlsPolicy", orDefault(r.TlsPolicy, "Optional"))
	x.members("Recipients", r.Recipients)
	x.open("Actions")
	for _, a := range r.Actions {
		x.open("member")
		switch {
		case a.S3Action != nil:
			x.open("S3Action")
			x.elem("BucketName", a.S3Action.BucketName)
			optElem(x, "ObjectKeyPrefix", a.S3Action.ObjectKeyPrefix)
			optElem(x, "TopicArn", a.S3Action.TopicArn)
			optElem(x, "KmsKeyArn", a.S3Action.KmsKeyArn)
			x.close("S3Action")
		case a.SNSAction != nil:
			x.open("SNSAction")
			x.elem("TopicArn", a.SNSAction.TopicArn)
			x.elem("Encoding", orDefault(a.SNSAction.Encoding, "UTF-8"))
			x.close("SNSAction")
		case a.BounceAction != nil:
			x.open("BounceAction")
			x.elem("SmtpReplyCode", a.BounceAction.SmtpReplyCode)
			optElem(x, "StatusCode", a.BounceAction.StatusCode)
			x.elem("Message", a.BounceAction.Message)
			x.elem("Sender", a.BounceAction.Sender)
			optElem(x, "TopicArn", a.BounceAction.TopicArn)
			x.close("BounceAction")
		case a.AddHeaderAction != nil:
			x.open("AddHeaderAction")
			x.elem("HeaderName", a.AddHeaderAction.HeaderName)
			x.elem("HeaderValue", a.AddHeaderAction.HeaderValue)
			x.close("AddHeaderAction")
		case a.StopAction != nil:
			x.open("StopAction")
			x.elem("Scope", orDefault(a.StopAction.Scope, "RuleSet"))
			optElem(x, "TopicArn", a.StopAction.TopicArn)
			x.close("StopAction")
		}
		x.close("member")
	}
	x.close("Actions")
	x.bool("ScanEnabled", r.ScanEnabled)
}

func optElem(x *xmlw, name, v string) {
	if v != "" {
		x.elem(name, v)
	}
}

func (s *Server) v1DescribeRuleSet(c *call) (func(*xmlw), error) {
	rs, err := s.cfg.Inbound.DescribeRuleSet(c.ctx, c.p.AccountID, c.region, c.form.Get("RuleSetName"))
	if err != nil {
		return nil, receiptErr(err)
	}
	return func(x *xmlw) { writeRuleSet(x, rs) }, nil
}

func (s *Server) v1SetActiveRuleSet(c *call) (func(*xmlw), error) {
	return nil, receiptErr(s.cfg.Inbound.SetActive(c.ctx, c.p.AccountID, c.region, c.form.Get("RuleSetName")))
}

func (s *Server) v1DescribeActiveRuleSet(c *call) (func(*xmlw), error) {
	rs, ok, err := s.cfg.Inbound.Active(c.ctx, c.p.AccountID, c.region)
	if err != nil || !ok {
		return nil, err
	}
	return func(x *xmlw) { writeRuleSet(x, rs) }, nil
}

// v1Rule reads Rule.* parameters.
func v1Rule(c *call) inbound.Rule {
	f := c.form
	r := inbound.Rule{Name: f.Get("Rule.Name"), Enabled: f.Get("Rule.Enabled") == "true", TlsPolicy: f.Get("Rule.TlsPolicy"),
		ScanEnabled: f.Get("Rule.ScanEnabled") == "true", Recipients: v1Members(c, "Rule.Recipients")}
	for i := 1; i <= 100; i++ {
		p := "Rule.Actions.member." + strconv.Itoa(i) + "."
		has := func(prefix string) bool {
			for k := range f {
				if strings.HasPrefix(k, p+prefix+".") {
					return true
				}
			}
			return false
		}
		var a inbound.Action
		switch {
		case has("S3Action"):
			a.S3Action = &inbound.S3Action{BucketName: f.Get(p + "S3Action.BucketName"), ObjectKeyPrefix: f.Get(p + "S3Action.ObjectKeyPrefix"),
				TopicArn: f.Get(p + "S3Action.TopicArn"), KmsKeyArn: f.Get(p + "S3Action.KmsKeyArn"), IamRoleArn: f.Get(p + "S3Action.IamRoleArn")}
		case has("SNSAction"):
			a.SNSAction = &inbound.SNSAction{TopicArn: f.Get(p + "SNSAction.TopicArn"), Encoding: f.Get(p + "SNSAction.Encoding")}
		case has("BounceAction"):
			a.BounceAction = &inbound.BounceAction{SmtpReplyCode: f.Get(p + "BounceAction.SmtpReplyCode"), StatusCode: f.Get(p + "BounceAction.StatusCode"),
				Message: f.Get(p + "BounceAction.Message"), Sender: f.Get(p + "BounceAction.Sender"), TopicArn: f.Get(p + "BounceAction.TopicArn")}
		case has("AddHeaderAction"):
			a.AddHeaderAction = &inbound.AddHeaderAction{HeaderName: f.Get(p + "AddHeaderAction.HeaderName"), HeaderValue: f.Get(p + "AddHeaderAction.HeaderValue")}
		case has("StopAction"):
			a.StopAction = &inbound.StopAction{Scope: f.Get(p + "StopAction.Scope"), TopicArn: f.Get(p + "StopAction.TopicArn")}
		case has("WorkmailAction"):
			a.Unsupported = "WorkMail"
		case has("LambdaAction"):
			a.Unsupported = "Lambda"
		case has("ConnectAction"):
			a.Unsupported = "Amazon Connect"
		default:
			return r
		}
		r.Actions = append(r.Actions, a)
	}
	return r
}

// checkTopics refuses actions naming a topic the account does not have.
func (s *Server) checkTopics(c *call, r inbound.Rule) error {
	for _, a := range r.Actions {
		var topics []string
		switch {
		case a.SNSAction != nil:
			topics = []string{a.SNSAction.TopicArn}
		case a.S3Action != nil:
			topics = []string{a.S3Action.TopicArn}
		case a.BounceAction != nil:
			topics = []string{a.BounceAction.TopicArn}
		case a.StopAction != nil:
			topics = []string{a.StopAction.TopicArn}
		}
		for _, t := range topics {
			if t == "" {
				continue
			}
			region := c.region
			if p := strings.Split(t, ":"); len(p) == 6 {
				region = p[3]
			}
			if _, err := s.cfg.SNS.GetTopic(c.ctx, c.p.AccountID, region, t); err != nil {
				return apiErr(http.StatusBadRequest, "InvalidSnsTopic", "Could not publish to SNS topic <%s>.", t)
			}
		}
	}
	return nil
}

func (s *Server) v1CreateRule(c *call) (func(*xmlw), error) {
	r := v1Rule(c)
	if err := s.checkTopics(c, r); err != nil {
		return nil, err
	}
	return nil, receiptErr(s.cfg.Inbound.CreateRule(c.ctx, c.p.AccountID, c.region, c.form.Get("RuleSetName"), c.form.Get("After"), r))
}

func (s *Server) v1UpdateRule(c *call) (func(*xmlw), error) {
	r := v1Rule(c)
	if err := s.checkTopics(c, r); err != nil {
		return nil, err
	}
	return nil, receiptErr(s.cfg.Inbound.UpdateRule(c.ctx, c.p.AccountID, c.region, c.form.Get("RuleSetName"), r))
}

func (s *Server) v1DeleteRule(c *call) (func(*xmlw), error) {
	return nil, receiptErr(s.cfg.Inbound.DeleteRule(c.ctx, c.p.AccountID, c.region, c.form.Get("RuleSetName"), c.form.Get("RuleName")))
}

func (s *Server) v1DescribeRule(c *call) (func(*xmlw), error) {
	r, err := s.cfg.Inbound.DescribeRule(c.ctx, c.p.AccountID, c.region, c.form.Get("RuleSetName"), c.form.Get("RuleName"))
	if err != nil {
		return nil, receiptErr(err)
	}
	return func(x *xmlw) {
		x.open("Rule")
		writeRule(x, r)
		x.close("Rule")
	}, nil
}

func (s *Server) v1SetRulePosition(c *call) (func(*xmlw), error) {
	return nil, receiptErr(s.cfg.Inbound.SetRulePosition(c.ctx, c.p.AccountID, c.region, c.form.Get("RuleSetName"), c.form.Get("RuleName"), c.form.Get("After")))
}

func (s *Server) v1ReorderRuleSet(c *call) (func(*xmlw), error) {
	return nil, receiptErr(s.cfg.Inbound.Reorder(c.ctx, c.p.AccountID, c.region, c.form.Get("RuleSetName"), v1Members(c, "RuleNames")))
}

func (s *Server) v1CreateFilter(c *call) (func(*xmlw), error) {
	f := inbound.Filter{Name: c.form.Get("Filter.Name"), Policy: c.form.Get("Filter.IpFilter.Policy"), Cidr: c.form.Get("Filter.IpFilter.Cidr")}
	return nil, receiptErr(s.cfg.Inbound.CreateFilter(c.ctx, c.p.AccountID, c.region, f))
}

func (s *Server) v1ListFilters(c *call) (func(*xmlw), error) {
	fs, err := s.cfg.Inbound.ListFilters(c.ctx, c.p.AccountID, c.region)
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) {
		x.open("Filters")
		for _, f := range fs {
			x.open("member")
			x.elem("Name", f.Name)
			x.open("IpFilter")
			x.elem("Policy", f.Policy)
			x.elem("Cidr", f.Cidr)
			x.close("IpFilter")
			x.close("member")
		}
		x.close("Filters")
	}, nil
}

func (s *Server) v1DeleteFilter(c *call) (func(*xmlw), error) {
	return nil, receiptErr(s.cfg.Inbound.DeleteFilter(c.ctx, c.p.AccountID, c.region, c.form.Get("FilterName")))
}
