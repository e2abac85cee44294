package sesapi

import (
	"net/http"
	"strconv"
	"time"
)

// sesNS is the SES v1 XML namespace.
const sesNS = "http://ses.amazonaws.com/doc/2010-12-01/"

// v1Op is one SES v1 Query action. It returns a writer for the contents of
// <ActionResult>, or nil when the result is empty.
type v1Op func(c *call) (func(*xmlw), error)

// v1NoOutput reports whether an action's model has no output shape: its
// response has no Result element (reference §1). Every other action gets
// one, even when empty: aws-sdk-go-v2 fails with "Result node not found"
// without it. The list is the one aws-sdk-go-v2's ses deserializers encode.
func v1NoOutput(action string) bool {
	switch action {
	case "VerifyEmailAddress", "DeleteVerifiedEmailAddress", "UpdateAccountSendingEnabled",
		"UpdateConfigurationSetSendingEnabled", "UpdateConfigurationSetReputationMetricsEnabled",
		"CreateCustomVerificationEmailTemplate", "UpdateCustomVerificationEmailTemplate", "DeleteCustomVerificationEmailTemplate":
		return true
	}
	return false
}

func (s *Server) v1Ops() map[string]v1Op {
	ops := map[string]v1Op{
		"GetSendQuota":                s.v1GetSendQuota,
		"GetAccountSendingEnabled":    s.v1GetAccountSendingEnabled,
		"UpdateAccountSendingEnabled": s.v1UpdateAccountSendingEnabled,
	}
	s.v1IdentityOps(ops)
	ops["SendEmail"] = s.v1SendEmail
	ops["SendRawEmail"] = s.v1SendRawEmail
	ops["GetSendStatistics"] = s.v1GetSendStatistics
	s.v1TemplateOps(ops)
	s.v1ConfigSetOps(ops)
	s.v1ReceiptOps(ops)
	return ops
}

func (s *Server) serveV1(w http.ResponseWriter, c *call) (int, string) {
	if v := c.form.Get("Version"); v != "2010-12-01" {
		if v == "" {
			return s.fail(w, c, errMissingParam("Version"))
		}
		return s.fail(w, c, apiErr(http.StatusBadRequest, "InvalidParameterValue", "Version %q is not supported; use 2010-12-01.", v))
	}
	if c.op == "" {
		return s.fail(w, c, errMissingParam("Action"))
	}
	op, ok := s.v1[c.op]
	if !ok {
		action := c.op
		c.op = "unknown"
		return s.fail(w, c, apiErr(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", action))
	}
	result, err := op(c)
	if err != nil {
		return s.fail(w, c, err)
	}
	writeQueryResponse(w, sesNS, c.op, c.reqID, !v1NoOutput(c.op), result)
	return http.StatusOK, "OK"
}

// writeQueryResponse writes a Query protocol's success answer:
// <OpResponse><OpResult>…</OpResult><ResponseMetadata>… in namespace ns,
// the Result element only when withResult.
func writeQueryResponse(w http.ResponseWriter, ns, op, reqID string, withResult bool, result func(*xmlw)) {
	var x xmlw
	x.openNS(op+"Response", ns)
	if withResult {
		x.open(op + "Result")
		if result != nil {
			result(&x)
		}
		x.close(op + "Result")
	}
	x.open("ResponseMetadata")
	x.elem("RequestId", reqID)
	x.close("ResponseMetadata")
	x.close(op + "Response")
	writeXML(w, http.StatusOK, x.b.Bytes())
}

// v1Bool parses a v1 boolean parameter ("true"/"false").
func v1Bool(c *call, name string, required bool) (bool, error) {
	switch v := c.form.Get(name); v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "":
		if required {
			return false, errMissingParam(name)
		}
		return false, nil
	default:
		return false, errBadRequest("Invalid value %q for %s: want true or false.", v, name)
	}
}

func (s *Server) v1GetSendQuota(c *call) (func(*xmlw), error) {
	q, err := s.quota(c)
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) {
		x.float("Max24HourSend", q.Max24HourSend)
		x.float("MaxSendRate", q.MaxSendRate)
		x.float("SentLast24Hours", q.SentLast24Hours)
	}, nil
}

func (s *Server) v1GetAccountSendingEnabled(c *call) (func(*xmlw), error) {
	on, err := s.cfg.Accounts.SendingEnabled(c.ctx, c.p.AccountID, c.region)
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) { x.bool("Enabled", on) }, nil
}

func (s *Server) v1UpdateAccountSendingEnabled(c *call) (func(*xmlw), error) {
	on, err := v1Bool(c, "Enabled", false)
	if err != nil {
		return nil, err
	}
	return nil, s.cfg.Accounts.SetSendingEnabled(c.ctx, c.p.AccountID, c.region, on)
}

// sendQuota is an account's quota and use in a region.
type sendQuota struct {
	Max24HourSend   float64
	MaxSendRate     float64
	SentLast24Hours float64
}

// quota returns the caller's quota and the recipients sent to in the last
// 24 hours in the region.
func (s *Server) quota(c *call) (sendQuota, error) {
	a, err := s.cfg.Accounts.Get(c.ctx, c.p.AccountID)
	if err != nil {
		return sendQuota{}, err
	}
	sent, err := s.cfg.Queue.SentSince(c.ctx, c.p.AccountID, c.region, s.cfg.Clock.Now().Add(-24*time.Hour))
	if err != nil {
		return sendQuota{}, err
	}
	return sendQuota{Max24HourSend: a.Max24HourSend, MaxSendRate: a.MaxSendRate, SentLast24Hours: float64(sent)}, nil
}

// v1GetSendStatistics reports 15-minute data points over the last two
// weeks. DeliveryAttempts counts accepted recipients; bounces, complaints
// and rejects are 0 until feedback processing records them.
func (s *Server) v1GetSendStatistics(c *call) (func(*xmlw), error) {
	stats, err := s.sendStats(c)
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) {
		x.open("SendDataPoints")
		for _, b := range stats {
			x.open("member")
			x.time("Timestamp", b.Start)
			x.elem("DeliveryAttempts", strconv.Itoa(b.Attempts))
			x.elem("Bounces", strconv.Itoa(b.Bounces))
			x.elem("Complaints", strconv.Itoa(b.Complaints))
			x.elem("Rejects", strconv.Itoa(b.Rejects))
			x.close("member")
		}
		x.close("SendDataPoints")
	}, nil
}
