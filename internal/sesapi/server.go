// Package sesapi is sesame's HTTP API front end. One handler serves, on one
// listener, everything the AWS CLI and SDKs send to SES (reference §1):
//
//   - POST / with a form body and Version=2010-12-01: the SES v1 Query API,
//     answered in XML;
//   - /v2/email/…: the SES v2 REST-JSON API;
//   - POST / with Action=DescribeRegions&Version=2016-11-15: EC2's
//     DescribeRegions, listing the configured regions;
//   - /sesame/v1/…: sesame's own admin API (accounts and keys), JSON.
//
// Every request is authenticated with AWS Signature Version 4 before it is
// routed; the key names the account, the credential scope names the region,
// and every resource a handler touches is scoped to that (account, region).
// Errors are rendered in each protocol's own shape, with x-amzn-RequestId on
// every response.
package sesapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sesame-email/sesame/internal/account"
	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/configsets"
	"github.com/sesame-email/sesame/internal/identity"
	"github.com/sesame-email/sesame/internal/ids"
	"github.com/sesame-email/sesame/internal/inbound"
	"github.com/sesame-email/sesame/internal/queue"
	"github.com/sesame-email/sesame/internal/sigv4"
	"github.com/sesame-email/sesame/internal/sns"
	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/submit"
	"github.com/sesame-email/sesame/internal/suppression"
	"github.com/sesame-email/sesame/internal/templates"
)

// Body limits. SES accepts 40 MB messages through v2 (base64 in JSON grows
// that by 4/3) and 10 MB through v1 (base64, then form-encoded).
const (
	maxV2Body    = 64 << 20
	maxQueryBody = 48 << 20
)

// Config is what the API needs from the rest of sesame.
type Config struct {
	// Regions are the regions served, in order.
	Regions []string
	// Accounts authenticates keys and holds account settings.
	Accounts *account.Service
	// Identities manages domains and addresses.
	Identities *identity.Service
	// ServiceDomain is sesame's own DNS domain (SigningHostedZone).
	ServiceDomain string
	// Submit accepts messages.
	Submit *submit.Service
	// Templates manages email templates.
	Templates *templates.Service
	// Suppression keeps the account-level suppression lists.
	Suppression *suppression.Service
	// ConfigSets manages configuration sets.
	ConfigSets *configsets.Service
	// Events lists recorded events and webhook notifications.
	Events store.Events
	// Inbound manages receipt rule sets and filters.
	Inbound *inbound.Service
	// Received lists and fetches received mail.
	Received *inbound.Receiver
	// SNS manages notification topics and subscriptions.
	SNS *sns.Service
	// Queue tells sending statistics.
	Queue *queue.Queue
	// Clock tells the time for signature skew checks.
	Clock clock.Clock
	// Logger receives one line per request.
	Logger *slog.Logger
	// Registerer receives the API's metrics; nil means none.
	Registerer prometheus.Registerer
}

// Server is the API handler.
type Server struct {
	cfg     Config
	v1      map[string]v1Op
	sns     map[string]v1Op
	v2      *http.ServeMux
	admin   *http.ServeMux
	metrics *metrics
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New returns the API handler.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, v2: http.NewServeMux(), admin: http.NewServeMux()}
	s.v1 = s.v1Ops()
	s.sns = s.snsOps()
	s.routeV2()
	s.routeAdmin()
	s.metrics = &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sesame_api_requests_total", Help: "API requests by protocol, operation and result code.",
		}, []string{"api", "operation", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sesame_api_request_duration_seconds", Help: "API request latency by protocol.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"api"}),
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(s.metrics.requests, s.metrics.latency)
	}
	return s
}

// call is one authenticated request on its way through a handler.
type call struct {
	ctx    context.Context
	r      *http.Request
	body   []byte
	form   url.Values // Query protocols only
	p      account.Principal
	region string
	reqID  string
	proto  proto
	op     string
}

// ServeHTTP routes, authenticates and answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := &call{ctx: r.Context(), r: r, reqID: ids.UUID()}
	w.Header().Set("x-amzn-RequestId", c.reqID)
	status, code := s.serveSafely(w, c)
	s.metrics.requests.WithLabelValues(c.proto.String(), c.op, code).Inc()
	s.metrics.latency.WithLabelValues(c.proto.String()).Observe(time.Since(start).Seconds())
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.cfg.Logger.Log(c.ctx, level, "api request", "api", c.proto.String(), "op", c.op, "status", status, "code", code,
		"account", c.p.AccountID, "key", c.p.KeyID, "region", c.region, "request_id", c.reqID,
		"remote", r.RemoteAddr, "dur_ms", time.Since(start).Milliseconds())
}

// serveSafely runs serve and turns a handler panic into an
// InternalFailure answer and an error log line: one bad request never
// takes a connection, or the server, down with it.
func (s *Server) serveSafely(w http.ResponseWriter, c *call) (status int, code string) {
	defer func() {
		if p := recover(); p != nil {
			s.cfg.Logger.Error("api handler panic", "op", c.op, "panic", fmt.Sprint(p), "stack", string(debug.Stack()), "request_id", c.reqID)
			status, code = s.fail(w, c, errInternal())
		}
	}()
	return s.serve(w, c)
}

// serve does the work of ServeHTTP and returns the status and result code
// ("OK" or the error code) for the log line and metrics.
func (s *Server) serve(w http.ResponseWriter, c *call) (int, string) {
	r := c.r
	limit := int64(maxQueryBody)
	switch {
	case strings.HasPrefix(r.URL.Path, "/v2/"):
		c.proto, limit = protoV2, maxV2Body
	case strings.HasPrefix(r.URL.Path, "/sesame/v1/"):
		c.proto = protoAdmin
	case r.URL.Path == "/" && r.Method == http.MethodPost:
		c.proto = protoV1 // refined once the form is parsed
	default:
		c.proto = protoV2
		return s.fail(w, c, apiErr(http.StatusNotFound, "UnknownOperationException", "No operation matches %s %s.", r.Method, r.URL.Path))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return s.fail(w, c, errTooLarge(limit))
		}
		return s.fail(w, c, errBadRequest("Could not read the request body."))
	}
	c.body = body
	service := "ses"
	if c.proto == protoV1 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return s.fail(w, c, apiErr(http.StatusBadRequest, "MalformedQueryString", "The request body is not a valid form."))
		}
		c.form = form
		c.op = form.Get("Action")
		switch form.Get("Version") {
		case "2016-11-15":
			c.proto, service = protoEC2, "ec2"
		case "2010-03-31":
			c.proto, service = protoSNS, "sns"
		}
	}
	if err := s.authenticate(c, service); err != nil {
		return s.fail(w, c, err)
	}
	switch c.proto {
	case protoV1:
		return s.serveV1(w, c)
	case protoEC2:
		return s.serveEC2(w, c)
	case protoSNS:
		return s.serveSNS(w, c)
	case protoAdmin:
		return s.serveJSON(w, c, s.admin)
	default:
		return s.serveJSON(w, c, s.v2)
	}
}

// authenticate verifies the signature and checks its scope.
func (s *Server) authenticate(c *call, service string) *Error {
	var p account.Principal
	v := sigv4.Verifier{
		Now: s.cfg.Clock.Now,
		Lookup: func(ctx context.Context, keyID string) (string, error) {
			pr, secret, err := s.cfg.Accounts.Lookup(ctx, keyID)
			if errors.Is(err, account.ErrUnknownKey) {
				return "", sigv4.ErrUnknownKey
			}
			p = pr
			return secret, err
		},
	}
	res, err := v.Verify(c.ctx, c.r, c.body)
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			return authError(se)
		}
		s.cfg.Logger.Error("authentication failed", "err", err, "request_id", c.reqID)
		return errInternal()
	}
	if res.Service != service {
		return scopeError("Credential should be scoped to correct service: '" + service + "'. ")
	}
	if !slices.Contains(s.cfg.Regions, res.Region) {
		return scopeError("Credential should be scoped to a valid region. ")
	}
	c.p, c.region = p, res.Region
	return nil
}

// fail writes err in c's protocol and returns what ServeHTTP logs.
func (s *Server) fail(w http.ResponseWriter, c *call, err error) (int, string) {
	var e *Error
	if !errors.As(err, &e) {
		s.cfg.Logger.Error("api handler failed", "op", c.op, "err", err, "request_id", c.reqID)
		e = errInternal()
	}
	code := e.codeFor(c.proto)
	switch c.proto {
	case protoV1, protoSNS:
		ns := sesNS
		if c.proto == protoSNS {
			ns = snsNS
		}
		var x xmlw
		x.openNS("ErrorResponse", ns)
		x.open("Error")
		x.elem("Type", e.errorType())
		x.elem("Code", code)
		x.elem("Message", e.Message)
		x.close("Error")
		x.elem("RequestId", c.reqID)
		x.close("ErrorResponse")
		writeXML(w, e.Status, x.b.Bytes())
	case protoEC2:
		var x xmlw
		x.open("Response")
		x.open("Errors")
		x.open("Error")
		x.elem("Code", code)
		x.elem("Message", e.Message)
		x.close("Error")
		x.close("Errors")
		x.elem("RequestID", c.reqID)
		x.close("Response")
		writeXML(w, e.Status, x.b.Bytes())
	default:
		status := e.Status
		if e.V2Status != 0 {
			status = e.V2Status
		}
		w.Header().Set("x-amzn-ErrorType", code)
		writeJSON(w, status, map[string]string{"message": e.Message})
		return status, code
	}
	return e.Status, code
}

func writeXML(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
