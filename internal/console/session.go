package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/sesame-email/sesame/internal/account"
	"github.com/sesame-email/sesame/internal/store"
)

// SessionKind is the store.Resource kind of console sessions. A session is
// stored under its account (region "") and named by the SHA-256 of its
// token, so the database never holds a token a thief could replay.
const SessionKind = "console-session"

// Cookie names.
const (
	sessionCookie = "sesame_session"
	signinCookie  = "sesame_signin" // the sign-in form's CSRF token (double submit)
)

// session is a signed-in browser.
type session struct {
	AccountID string
	KeyID     string
	Admin     bool
	Created   time.Time
	Expires   time.Time

	token []byte // from the cookie; never stored
}

// csrf is the session's CSRF token: an HMAC of the session token, so it
// needs no storage and is worthless without the cookie it belongs to.
func (se *session) csrf() string {
	m := hmac.New(sha256.New, se.token)
	m.Write([]byte("sesame console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (se *session) checkCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(se.csrf())) == 1
}

func tokenName(tok []byte) string {
	h := sha256.Sum256(tok)
	return hex.EncodeToString(h[:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func (s *Server) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || s.cfg.SecureCookies}
}

// currentSession returns the request's live session, or nil. A cookie that
// names no live session (expired, signed out, its key deleted) is cleared.
func (s *Server) currentSession(q *request) (*session, error) {
	c, err := q.r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil
	}
	// none forgets a cookie that names no live session (and the session
	// it named, when stored).
	none := func(stored bool, acct string, tok []byte) (*session, error) {
		if stored {
			s.cfg.Sessions.DeleteResource(q.ctx, acct, "", SessionKind, tokenName(tok))
		}
		http.SetCookie(q.w, s.cookie(q.r, sessionCookie, "", -1))
		return nil, nil
	}
	acct, tok64, ok := strings.Cut(c.Value, ".")
	tok, err := base64.RawURLEncoding.DecodeString(tok64)
	if !ok || err != nil || len(tok) != 32 || acct == "" || len(acct) > 64 {
		return none(false, acct, tok)
	}
	res, err := s.cfg.Sessions.GetResource(q.ctx, acct, "", SessionKind, tokenName(tok))
	if errors.Is(err, store.ErrNotFound) {
		return none(false, acct, tok)
	}
	if err != nil {
		return nil, err
	}
	var se session
	if err := json.Unmarshal(res.Doc, &se); err != nil {
		return nil, err
	}
	se.token = tok
	if !s.now().Before(se.Expires) {
		return none(true, acct, tok)
	}
	// The key must still exist and belong to the account: deleting a key
	// ends the sessions it opened.
	p, _, err := s.cfg.Accounts.Lookup(q.ctx, se.KeyID)
	if errors.Is(err, account.ErrUnknownKey) || (err == nil && p.AccountID != se.AccountID) {
		return none(true, acct, tok)
	}
	if err != nil {
		return nil, err
	}
	se.Admin = p.Admin
	return &se, nil
}

type signinView struct {
	Next  string
	Token string
	KeyID string
}

// signinPage shows the sign-in form with a fresh form token.
func (s *Server) signinPage(q *request) error {
	next := safeNext(q.r.URL.Query().Get("next"))
	if q.sess != nil {
		http.Redirect(q.w, q.r, next, http.StatusSeeOther)
		return nil
	}
	return s.renderSignin(q, http.StatusOK, "", next, "")
}

func (s *Server) renderSignin(q *request, status int, msg, next, keyID string) error {
	tok := base64.RawURLEncoding.EncodeToString(randomBytes(24))
	http.SetCookie(q.w, s.cookie(q.r, signinCookie, tok, 3600))
	q.render(status, "signin", &view{Title: "Sign in", Error: msg, Data: signinView{Next: next, Token: tok, KeyID: keyID}})
	return nil
}

// safeNext keeps a post-sign-in redirect on this site: a path, never
// "//host" or "/\host", which browsers read as another origin. Browsers
// also drop tabs and line breaks from a URL and read "\" as "/", so a path
// with a control character or a backslash anywhere is refused too.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	return next
}

// allowSignin limits sign-in attempts per client address: 10 at once,
// then one every two seconds.
func (s *Server) allowSignin(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.signins) > 10000 {
		clear(s.signins)
	}
	l, ok := s.signins[host]
	if !ok {
		l = rate.NewLimiter(rate.Every(2*time.Second), 10)
		s.signins[host] = l
	}
	return l.Allow()
}

// signin checks an access key and its secret and opens a session.
func (s *Server) signin(q *request) error {
	f := q.r.PostForm
	next := safeNext(f.Get("next"))
	keyID := strings.TrimSpace(f.Get("access_key_id"))
	c, err := q.r.Cookie(signinCookie)
	if err != nil || f.Get("form_token") == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(f.Get("form_token"))) != 1 {
		return s.renderSignin(q, http.StatusForbidden, "The sign-in form expired. Please try again.", next, keyID)
	}
	if !s.allowSignin(q.r) {
		return s.renderSignin(q, http.StatusTooManyRequests, "Too many attempts; wait a few seconds.", next, keyID)
	}
	secret := strings.TrimSpace(f.Get("secret_access_key"))
	p, want, err := s.cfg.Accounts.Lookup(q.ctx, keyID)
	if errors.Is(err, account.ErrUnknownKey) || (err == nil && subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1) || keyID == "" {
		s.cfg.Logger.Warn("console sign-in refused", "key", keyID, "remote", q.r.RemoteAddr)
		return s.renderSignin(q, http.StatusUnauthorized, "The access key id or the secret access key is wrong.", next, keyID)
	}
	if err != nil {
		return err
	}
	if q.sess != nil {
		// A new sign-in replaces the browser's session, never adds to it.
		s.cfg.Sessions.DeleteResource(q.ctx, q.sess.AccountID, "", SessionKind, tokenName(q.sess.token))
	}
	s.pruneSessions(q, p.AccountID)
	now := s.now().UTC()
	tok := randomBytes(32)
	se := session{AccountID: p.AccountID, KeyID: p.KeyID, Created: now, Expires: now.Add(s.cfg.SessionTTL)}
	doc, err := json.Marshal(se)
	if err != nil {
		return err
	}
	if err := s.cfg.Sessions.CreateResource(q.ctx, store.Resource{AccountID: p.AccountID, Kind: SessionKind, Name: tokenName(tok), Doc: doc, CreatedAt: now}); err != nil {
		return err
	}
	http.SetCookie(q.w, s.cookie(q.r, signinCookie, "", -1))
	http.SetCookie(q.w, s.cookie(q.r, sessionCookie, p.AccountID+"."+base64.RawURLEncoding.EncodeToString(tok), int(s.cfg.SessionTTL.Seconds())))
	s.cfg.Logger.Info("console sign-in", "account", p.AccountID, "key", p.KeyID, "remote", q.r.RemoteAddr)
	http.Redirect(q.w, q.r, next, http.StatusSeeOther)
	return nil
}

// pruneSessions removes an account's expired sessions (a few hundred at a
// sign-in at most, so a sign-in stays quick).
func (s *Server) pruneSessions(q *request, accountID string) {
	list, err := s.cfg.Sessions.ListResources(q.ctx, accountID, "", SessionKind, "", 500)
	if err != nil {
		return
	}
	now := s.now()
	for _, r := range list {
		var se session
		if json.Unmarshal(r.Doc, &se) != nil || !now.Before(se.Expires) {
			s.cfg.Sessions.DeleteResource(q.ctx, accountID, "", SessionKind, r.Name)
		}
	}
}

// signout ends the session.
func (s *Server) signout(q *request) error {
	if err := s.cfg.Sessions.DeleteResource(q.ctx, q.sess.AccountID, "", SessionKind, tokenName(q.sess.token)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	http.SetCookie(q.w, s.cookie(q.r, sessionCookie, "", -1))
	http.Redirect(q.w, q.r, "/signin", http.StatusSeeOther)
	return nil
}
