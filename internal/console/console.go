// Package console is sesame's web console: server-rendered HTML pages on
// the HTTP listener, beside the API, for what SES users do in the AWS
// console — identities and the DNS records their DNS admin must publish,
// "Send a test email", captured and queued mail, the suppression list,
// configuration sets with their webhook deliveries, templates and sending
// statistics.
//
// It is a front end like sesapi: it calls the same services, scoped to the
// signed-in account and the region the page names (?region=, default the
// first). Sign-in takes an access key id and secret, the API's own
// credentials; the session lives in the store (so every node of a
// PostgreSQL deployment knows it) behind an HttpOnly, SameSite=Strict
// cookie, and ends with sign-out, after SessionTTL, or when its key is
// deleted. Every POST carries a per-session CSRF token. Pages are
// html/template (contextual escaping of everything an account or a
// stranger wrote), styled and enhanced by a stylesheet and a script
// embedded in the binary; the Content-Security-Policy admits nothing from
// another origin and no inline script.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sesame-email/sesame/internal/account"
	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/configsets"
	"github.com/sesame-email/sesame/internal/identity"
	"github.com/sesame-email/sesame/internal/inbound"
	"github.com/sesame-email/sesame/internal/queue"
	"github.com/sesame-email/sesame/internal/sns"
	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/submit"
	"github.com/sesame-email/sesame/internal/suppression"
	"github.com/sesame-email/sesame/internal/templates"
)

//go:embed ui
var uiFS embed.FS

// DefaultSessionTTL is how long a console session lasts after sign-in.
const DefaultSessionTTL = 12 * time.Hour

// maxForm bounds a console form's body (a test email's text included).
const maxForm = 1 << 20

// Config is what the console needs from the rest of sesame.
type Config struct {
	// Regions are the regions served, in order; the first is the default.
	Regions []string
	// Accounts authenticates sign-ins and tells account settings.
	Accounts *account.Service
	// Identities manages domains and addresses.
	Identities *identity.Service
	// Submit accepts test emails.
	Submit *submit.Service
	// Queue lists messages, the queue by destination and statistics.
	Queue *queue.Queue
	// Suppression is the account-level suppression list.
	Suppression *suppression.Service
	// ConfigSets manages configuration sets and event destinations.
	ConfigSets *configsets.Service
	// Topics lists SNS topics for event destinations.
	Topics *sns.Service
	// Events lists events, webhook deliveries and event counts.
	Events store.Events
	// Templates lists email templates.
	Templates *templates.Service
	// Received lists mail taken by receipt rules; nil hides the page.
	Received *inbound.Receiver
	// Sessions keeps console sessions (kind "console-session").
	Sessions store.Resources
	// ServiceDomain is sesame's own domain (the simulator's addresses).
	ServiceDomain string
	// Dev is --dev: outgoing mail is captured; the console says so.
	Dev bool
	// CheckDKIM verifies a message's DKIM signatures as a receiver would
	// and describes the result ("dkim=pass header.d=example.com"); nil
	// means the message page shows none.
	CheckDKIM func(ctx context.Context, msg []byte) string
	// SecureCookies marks cookies Secure even on plain-HTTP requests (set
	// when sesame is reached through a TLS proxy: --public-url https://…).
	// Requests that arrive over TLS always get Secure cookies.
	SecureCookies bool
	// SessionTTL is a session's lifetime; 0 = DefaultSessionTTL.
	SessionTTL time.Duration
	// Clock tells the time (sessions, statistics windows).
	Clock clock.Clock
	// Logger receives errors and sign-ins.
	Logger *slog.Logger
}

// Server is the console's HTTP handler.
type Server struct {
	cfg    Config
	pages  map[string]*template.Template
	static http.Handler
	mux    *http.ServeMux
	routes []Route

	mu      sync.Mutex
	signins map[string]*rate.Limiter // per client address
}

// Route is one of the console's routes, for the router and for tests that
// check every route refuses a request without a session.
type Route struct {
	// Pattern is an http.ServeMux pattern ("GET /identities/{name}").
	Pattern string
	// Public routes need no session (sign-in, assets).
	Public bool
	// JSON routes answer JSON (401 without a session) instead of a page
	// (a redirect to the sign-in page).
	JSON bool
	fn   func(*request) error
}

// New parses the embedded pages and returns the console.
func New(cfg Config) (*Server, error) {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Regions) == 0 {
		return nil, errors.New("console: no regions")
	}
	s := &Server{cfg: cfg, pages: map[string]*template.Template{}, mux: http.NewServeMux(), signins: map[string]*rate.Limiter{}}
	if err := s.parse(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(uiFS, "ui/static")
	if err != nil {
		return nil, err
	}
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	s.static = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fileServer.ServeHTTP(w, r)
	})
	s.routes = []Route{
		{Pattern: "GET /{$}", fn: s.dashboard},
		{Pattern: "GET /signin", Public: true, fn: s.signinPage},
		{Pattern: "POST /signin", Public: true, fn: s.signin},
		{Pattern: "POST /signout", fn: s.signout},
		{Pattern: "GET /statistics", JSON: true, fn: s.statisticsJSON},
		{Pattern: "GET /identities", fn: s.identities},
		{Pattern: "POST /identities", fn: s.createIdentity},
		{Pattern: "GET /identities/{name}", fn: s.identityPage},
		{Pattern: "GET /identities/{name}/status", JSON: true, fn: s.identityStatus},
		{Pattern: "GET /identities/{name}/records", fn: s.identityRecords},
		{Pattern: "POST /identities/{name}/check", fn: s.checkIdentity},
		{Pattern: "POST /identities/{name}/dkim", fn: s.setDKIM},
		{Pattern: "POST /identities/{name}/mail-from", fn: s.setMailFrom},
		{Pattern: "POST /identities/{name}/resend", fn: s.resendVerification},
		{Pattern: "POST /identities/{name}/delete", fn: s.deleteIdentity},
		{Pattern: "GET /send", fn: s.sendPage},
		{Pattern: "POST /send", fn: s.send},
		{Pattern: "GET /messages", fn: s.messages},
		{Pattern: "GET /messages/{id}", fn: s.messagePage},
		{Pattern: "GET /messages/{id}/status", JSON: true, fn: s.messageStatus},
		{Pattern: "POST /messages/{id}/{action}", fn: s.messageAction},
		{Pattern: "GET /queue", fn: s.queuePage},
		{Pattern: "GET /suppression", fn: s.suppressionPage},
		{Pattern: "POST /suppression", fn: s.addSuppression},
		{Pattern: "POST /suppression/remove", fn: s.removeSuppression},
		{Pattern: "GET /configuration-sets", fn: s.configSets},
		{Pattern: "POST /configuration-sets", fn: s.createConfigSet},
		{Pattern: "GET /configuration-sets/{name}", fn: s.configSetPage},
		{Pattern: "POST /configuration-sets/{name}/destinations", fn: s.addDestination},
		{Pattern: "POST /configuration-sets/{name}/destinations/{dest}/delete", fn: s.deleteDestination},
		{Pattern: "POST /configuration-sets/{name}/delete", fn: s.deleteConfigSet},
		{Pattern: "GET /received", fn: s.receivedPage},
		{Pattern: "GET /received/{id}", fn: s.receivedMessage},
		{Pattern: "GET /templates", fn: s.templatesPage},
		{Pattern: "GET /templates/{name}", fn: s.templatePage},
	}
	s.mux.Handle("GET /static/", s.static)
	for _, rt := range s.routes {
		s.mux.Handle(rt.Pattern, s.handler(rt))
	}
	return s, nil
}

// Routes returns the console's routes (static assets not included).
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

// Register adds the console's routes to mux, where the API keeps "/" and
// its own prefixes: the console's patterns are more specific, so the API
// still answers POST / and everything under /v2/ and /sesame/v1/.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET /static/", s.static)
	for _, rt := range s.routes {
		mux.Handle(rt.Pattern, s.mux)
	}
}

// ServeHTTP serves the console alone (tests, or a listener of its own).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// request is one console request on its way through a handler.
type request struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	route  Route
	sess   *session // nil on public routes without a session
	acct   store.Account
	region string
}

// httpError is an error with the status and words the user sees.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func failf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

func notFound(what string) error { return failf(http.StatusNotFound, "%s not found.", what) }

// detail is what a service's error says beyond the sentinel it wraps
// (services write fmt.Errorf("%w: detail", ErrX)): the words for the user.
// An error that wraps none of sentinels is said whole.
func detail(err error, sentinels ...error) string {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return strings.TrimPrefix(err.Error(), s.Error()+": ")
		}
	}
	return err.Error()
}

// handler wraps a route: security headers, session, region, CSRF, errors.
func (s *Server) handler(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		q := &request{s: s, w: w, r: r, ctx: r.Context(), route: rt}
		defer func() {
			if p := recover(); p != nil {
				s.cfg.Logger.Error("console handler panic", "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				q.fail(errors.New("panic"))
			}
		}()
		if err := s.prepare(q); err != nil {
			q.fail(err)
			return
		}
		if err := rt.fn(q); err != nil {
			q.fail(err)
		}
	})
}

// prepare authenticates the request and checks what every request must.
func (s *Server) prepare(q *request) error {
	r := q.r
	if r.Method == http.MethodPost {
		// A browser names the origin of every POST it sends; one from
		// another site is refused before anything else (CSRF tokens are
		// checked below as well).
		if o := r.Header.Get("Origin"); (o != "" && o != "null" && !sameOrigin(o, r)) || r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			return failf(http.StatusForbidden, "This form was sent from another site.")
		}
		r.Body = http.MaxBytesReader(q.w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return failf(http.StatusRequestEntityTooLarge, "The form is larger than %d bytes.", maxForm)
			}
			return failf(http.StatusBadRequest, "The form could not be read.")
		}
	}
	sess, err := s.currentSession(q)
	if err != nil {
		return err
	}
	q.sess = sess
	if sess == nil && !q.route.Public {
		return errSignIn
	}
	region := r.URL.Query().Get("region")
	if r.Method == http.MethodPost {
		region = r.PostForm.Get("region")
	}
	if region == "" {
		region = s.cfg.Regions[0]
	}
	if !slices.Contains(s.cfg.Regions, region) {
		return failf(http.StatusBadRequest, "Region %q is not served here.", region)
	}
	q.region = region
	if sess != nil {
		acct, err := s.cfg.Accounts.Get(q.ctx, sess.AccountID)
		if err != nil {
			return err
		}
		q.acct = acct
		if r.Method == http.MethodPost && !q.route.Public && !sess.checkCSRF(r.PostForm.Get("csrf")) {
			return failf(http.StatusForbidden, "The form has expired or did not come from this console. Reload the page and try again.")
		}
	}
	return nil
}

// sameOrigin reports whether an Origin header names the request's own
// scheme and host.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) && (u.Scheme == "http" || u.Scheme == "https")
}

// errSignIn is returned when a route needs a session and has none.
var errSignIn = errors.New("console: not signed in")

// fail answers an error: a page, JSON for JSON routes, a redirect to the
// sign-in page for a page that needs a session.
func (q *request) fail(err error) {
	if errors.Is(err, errSignIn) {
		if q.route.JSON {
			q.json(http.StatusUnauthorized, map[string]string{"error": "Sign in first."})
			return
		}
		next := "/"
		if q.r.Method == http.MethodGet {
			next = q.r.URL.RequestURI()
		}
		http.Redirect(q.w, q.r, "/signin?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	var he *httpError
	if !errors.As(err, &he) {
		q.s.cfg.Logger.Error("console request failed", "path", q.r.URL.Path, "err", err)
		he = &httpError{status: http.StatusInternalServerError, msg: "Something went wrong on sesame's side; the log says what."}
	}
	if q.route.JSON {
		q.json(he.status, map[string]string{"error": he.msg})
		return
	}
	q.render(he.status, "error", &view{Title: errorTitle(he.status), Error: he.msg})
}

func errorTitle(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Not found"
	case http.StatusForbidden:
		return "Refused"
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return "Check the form"
	}
	return "Error"
}

// link returns path with the request's region and kv pairs as its query.
func (q *request) link(path string, kv ...string) string {
	v := url.Values{"region": {q.region}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

// redirect answers a POST with 303 See Other to path (Post/Redirect/Get).
func (q *request) redirect(path string, kv ...string) error {
	http.Redirect(q.w, q.r, q.link(path, kv...), http.StatusSeeOther)
	return nil
}

// now is the console's clock.
func (s *Server) now() time.Time { return s.cfg.Clock.Now() }
