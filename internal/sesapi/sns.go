package sesapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sesame-email/sesame/internal/ids"

	"github.com/sesame-email/sesame/internal/sns"
)

// snsNS is the SNS XML namespace.
const snsNS = "http://sns.amazonaws.com/doc/2010-03-31/"

// snsOps are the SNS Query actions sesame serves: enough of SNS for SES
// event destinations and identity notifications to be wired as on AWS.
func (s *Server) snsOps() map[string]v1Op {
	return map[string]v1Op{
		"CreateTopic":              s.snsCreateTopic,
		"DeleteTopic":              s.snsDeleteTopic,
		"ListTopics":               s.snsListTopics,
		"GetTopicAttributes":       s.snsGetTopicAttributes,
		"Subscribe":                s.snsSubscribe,
		"ConfirmSubscription":      s.snsConfirm,
		"ListSubscriptionsByTopic": s.snsListSubscriptions,
		"Unsubscribe":              s.snsUnsubscribe,
		"Publish":                  s.snsPublish,
	}
}

// snsErr maps sns errors to SNS's codes.
func snsErr(err error) error {
	if err == nil {
		return nil
	}
	msg := func(prefix string) string { return strings.TrimPrefix(err.Error(), prefix) }
	switch {
	case errors.Is(err, sns.ErrNotFound):
		return apiErr(http.StatusNotFound, "NotFound", "%s", msg("sns: not found: "))
	case errors.Is(err, sns.ErrInvalid):
		return apiErr(http.StatusBadRequest, "InvalidParameter", "%s", msg("sns: invalid parameter: "))
	case errors.Is(err, sns.ErrLimit):
		return apiErr(http.StatusForbidden, "TopicLimitExceeded", "%s", msg("sns: limit exceeded: "))
	}
	return err
}

func (s *Server) serveSNS(w http.ResponseWriter, c *call) (int, string) {
	if c.op == "" {
		return s.fail(w, c, errMissingParam("Action"))
	}
	op, ok := s.sns[c.op]
	if !ok {
		action := c.op
		c.op = "unknown"
		return s.fail(w, c, apiErr(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", action))
	}
	result, err := op(c)
	if err != nil {
		return s.fail(w, c, snsErr(err))
	}
	writeQueryResponse(w, snsNS, c.op, c.reqID, c.op != "DeleteTopic" && c.op != "Unsubscribe", result)
	return http.StatusOK, "OK"
}

// queryMap reads a Query-protocol map (Attributes.entry.N.key/value).
func queryMap(c *call, name string) map[string]string {
	out := map[string]string{}
	for i := 1; i <= 100; i++ {
		p := name + ".entry." + strconv.Itoa(i)
		k := c.form.Get(p + ".key")
		if k == "" {
			break
		}
		out[k] = c.form.Get(p + ".value")
	}
	return out
}

func (s *Server) snsCreateTopic(c *call) (func(*xmlw), error) {
	name := c.form.Get("Name")
	if name == "" {
		return nil, errMissingParam("Name")
	}
	arn, err := s.cfg.SNS.CreateTopic(c.ctx, c.p.AccountID, c.region, name, queryMap(c, "Attributes"))
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) { x.elem("TopicArn", arn) }, nil
}

func (s *Server) snsDeleteTopic(c *call) (func(*xmlw), error) {
	return nil, s.cfg.SNS.DeleteTopic(c.ctx, c.p.AccountID, c.region, c.form.Get("TopicArn"))
}

func (s *Server) snsListTopics(c *call) (func(*xmlw), error) {
	arns, next, err := s.cfg.SNS.ListTopics(c.ctx, c.p.AccountID, c.region, c.form.Get("NextToken"))
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) {
		x.open("Topics")
		for _, a := range arns {
			x.open("member")
			x.elem("TopicArn", a)
			x.close("member")
		}
		x.close("Topics")
		if next != "" {
			x.elem("NextToken", next)
		}
	}, nil
}

func (s *Server) snsGetTopicAttributes(c *call) (func(*xmlw), error) {
	t, err := s.cfg.SNS.GetTopic(c.ctx, c.p.AccountID, c.region, c.form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	confirmed := 0
	for _, sub := range t.Subscriptions {
		if sub.Confirmed {
			confirmed++
		}
	}
	attrs := [][2]string{{"TopicArn", t.ARN}, {"Owner", c.p.AccountID}, {"DisplayName", t.DisplayName},
		{"SubscriptionsConfirmed", strconv.Itoa(confirmed)}, {"SubscriptionsPending", strconv.Itoa(len(t.Subscriptions) - confirmed)}, {"SubscriptionsDeleted", "0"}}
	return func(x *xmlw) {
		x.open("Attributes")
		for _, kv := range attrs {
			x.open("entry")
			x.elem("key", kv[0])
			x.elem("value", kv[1])
			x.close("entry")
		}
		x.close("Attributes")
	}, nil
}

func (s *Server) snsSubscribe(c *call) (func(*xmlw), error) {
	sub, err := s.cfg.SNS.Subscribe(c.ctx, c.p.AccountID, c.region, c.form.Get("TopicArn"), c.form.Get("Protocol"), c.form.Get("Endpoint"), queryMap(c, "Attributes"))
	if err != nil {
		return nil, err
	}
	arn := sub.ARN
	if !sub.Confirmed && c.form.Get("ReturnSubscriptionArn") != "true" {
		arn = "pending confirmation"
	}
	return func(x *xmlw) { x.elem("SubscriptionArn", arn) }, nil
}

func (s *Server) snsConfirm(c *call) (func(*xmlw), error) {
	arn, err := s.cfg.SNS.ConfirmSubscription(c.ctx, c.form.Get("TopicArn"), c.form.Get("Token"))
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) { x.elem("SubscriptionArn", arn) }, nil
}

func (s *Server) snsListSubscriptions(c *call) (func(*xmlw), error) {
	t, err := s.cfg.SNS.GetTopic(c.ctx, c.p.AccountID, c.region, c.form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) {
		x.open("Subscriptions")
		for _, sub := range t.Subscriptions {
			x.open("member")
			x.elem("TopicArn", t.ARN)
			x.elem("Protocol", sub.Protocol)
			arn := sub.ARN
			if !sub.Confirmed {
				arn = "PendingConfirmation"
			}
			x.elem("SubscriptionArn", arn)
			x.elem("Owner", c.p.AccountID)
			x.elem("Endpoint", sub.Endpoint)
			x.close("member")
		}
		x.close("Subscriptions")
	}, nil
}

func (s *Server) snsUnsubscribe(c *call) (func(*xmlw), error) {
	return nil, s.cfg.SNS.Unsubscribe(c.ctx, c.p.AccountID, c.region, c.form.Get("SubscriptionArn"), "")
}

func (s *Server) snsPublish(c *call) (func(*xmlw), error) {
	topic := c.form.Get("TopicArn")
	if topic == "" {
		topic = c.form.Get("TargetArn")
	}
	msg := c.form.Get("Message")
	if msg == "" {
		return nil, errMissingParam("Message")
	}
	id, err := s.cfg.SNS.Publish(c.ctx, c.p.AccountID, c.region, topic, c.form.Get("Subject"), msg)
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) { x.elem("MessageId", id) }, nil
}

// SNSPublic serves what subscribers reach without credentials: the signing
// certificate (SigningCertURL) and the SubscribeURL and UnsubscribeURL
// links, whose token is their authorisation.
func (s *Server) SNSPublic(certPEM []byte) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+sns.CertPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(certPEM)
	})
	answer := func(w http.ResponseWriter, r *http.Request, op string, result func(*xmlw), err error) {
		c := &call{ctx: r.Context(), r: r, reqID: r.Header.Get("x-amzn-RequestId"), proto: protoSNS, op: op}
		if err != nil {
			s.fail(w, c, snsErr(err))
			return
		}
		writeQueryResponse(w, snsNS, op, c.reqID, result != nil, result)
	}
	mux.HandleFunc("GET "+sns.ConfirmPath, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		arn, err := s.cfg.SNS.ConfirmSubscription(r.Context(), q.Get("TopicArn"), q.Get("Token"))
		answer(w, r, "ConfirmSubscription", func(x *xmlw) { x.elem("SubscriptionArn", arn) }, err)
	})
	mux.HandleFunc("GET "+sns.UnsubscribePath, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("Token") == "" {
			answer(w, r, "Unsubscribe", nil, errMissingParam("Token"))
			return
		}
		answer(w, r, "Unsubscribe", nil, s.cfg.SNS.Unsubscribe(r.Context(), "", "", q.Get("SubscriptionArn"), q.Get("Token")))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RequestId", ids.UUID())
		r.Header.Set("x-amzn-RequestId", w.Header().Get("x-amzn-RequestId"))
		mux.ServeHTTP(w, r)
	})
}
