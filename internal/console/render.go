package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

// view is what every page template gets; Data is the page's own.
type view struct {
	Title string
	// Nav names the section the page belongs to ("identities").
	Nav   string
	Flash string
	Error string
	Data  any

	// Filled by render.
	Signed   bool
	Account  store.Account
	Admin    bool
	Region   string
	Regions  []string
	CSRF     string
	Dev      bool
	Section  string // the section's list page, where the region switcher goes
	Sections []section

	q *request
}

type section struct{ Nav, Path, Label string }

var sections = []section{
	{"home", "/", "Dashboard"},
	{"identities", "/identities", "Identities"},
	{"send", "/send", "Send test email"},
	{"messages", "/messages", "Messages"},
	{"queue", "/queue", "Queue"},
	{"suppression", "/suppression", "Suppression list"},
	{"configsets", "/configuration-sets", "Configuration sets"},
	{"received", "/received", "Received"},
	{"templates", "/templates", "Templates"},
}

// U returns path with the page's region (and kv pairs) as its query.
func (v *view) U(path string, kv ...string) string { return v.q.link(path, kv...) }

// parse reads every page under ui/pages, each with the layout.
func (s *Server) parse() error {
	funcs := template.FuncMap{
		"seg":    url.PathEscape,
		"when":   when,
		"badge":  badge,
		"join":   strings.Join,
		"lower":  strings.ToLower,
		"plural": plural,
		"since":  func(t time.Time) string { return since(s.now(), t) },
		"keyLength": func(l string) string {
			return map[string]string{"RSA_1024_BIT": "RSA 1024-bit", "RSA_2048_BIT": "RSA 2048-bit"}[l]
		},
	}
	layout, err := fs.ReadFile(uiFS, "ui/layout.html")
	if err != nil {
		return err
	}
	pages, err := fs.Glob(uiFS, "ui/pages/*.html")
	if err != nil {
		return err
	}
	for _, p := range pages {
		body, err := fs.ReadFile(uiFS, p)
		if err != nil {
			return err
		}
		t, err := template.New("layout").Funcs(funcs).Parse(string(layout))
		if err == nil {
			_, err = t.Parse(string(body))
		}
		if err != nil {
			return fmt.Errorf("console: page %s: %w", p, err)
		}
		s.pages[strings.TrimSuffix(path.Base(p), ".html")] = t
	}
	return nil
}

// render writes page name with v.
func (q *request) render(status int, name string, v *view) {
	s := q.s
	v.q, v.Region, v.Regions, v.Dev, v.Sections = q, q.region, s.cfg.Regions, s.cfg.Dev, sections
	if v.Region == "" {
		v.Region = s.cfg.Regions[0]
	}
	if q.sess != nil {
		v.Signed, v.Account, v.Admin, v.CSRF = true, q.acct, q.sess.Admin, q.sess.csrf()
	}
	for _, sec := range sections {
		if sec.Nav == v.Nav {
			v.Section = sec.Path
		}
	}
	if v.Section == "" {
		v.Section = "/"
	}
	if v.Flash == "" {
		v.Flash = flashes[q.r.URL.Query().Get("done")]
	}
	t := s.pages[name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.cfg.Logger.Error("console render failed", "page", name, "err", err)
		http.Error(q.w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	q.w.WriteHeader(status)
	q.w.Write(buf.Bytes())
}

// page renders a 200 page.
func (q *request) page(name string, v *view) error {
	q.render(http.StatusOK, name, v)
	return nil
}

// json writes v as JSON.
func (q *request) json(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding failed"}`)
	}
	q.w.Header().Set("Content-Type", "application/json")
	q.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	q.w.WriteHeader(status)
	q.w.Write(b)
}

// flashes are the notices a redirect may ask for (?done=…); a fixed set,
// so no text of the URL is ever shown.
var flashes = map[string]string{
	"created":       "Created.",
	"deleted":       "Deleted.",
	"saved":         "Saved.",
	"checked":       "DNS checked just now.",
	"resent":        "A new verification mail is on its way.",
	"added":         "Added to the suppression list.",
	"removed":       "Removed from the suppression list.",
	"retry":         "The message's pending recipients will be tried now.",
	"hold":          "The message's pending recipients are held.",
	"release":       "The message's held recipients are released.",
	"dest-added":    "Event destination added.",
	"dest-deleted":  "Event destination deleted.",
	"sent":          "Test email accepted.",
	"signed-out":    "Signed out.",
	"identity-gone": "Identity deleted.",
}

// when formats a time for a table cell, in UTC.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// since says how long ago t was, in words ("3 min ago").
func since(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in " + roughly(-d)
	case d < 5*time.Second:
		return "just now"
	}
	return roughly(d) + " ago"
}

func roughly(d time.Duration) string {
	switch {
	case d < time.Minute:
		return plural(int(d/time.Second), "second")
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// statusBadge is how a state is shown: a word and a colour class.
type statusBadge struct{ Class, Label string }

// badge names a verification status, recipient state, record status or
// webhook state for the status badge.
func badge(status string) statusBadge {
	switch strings.ToUpper(status) {
	case "SUCCESS", "VERIFIED":
		return statusBadge{"ok", "Verified"}
	case "PENDING":
		return statusBadge{"wait", "Pending"}
	case "FAILED":
		return statusBadge{"bad", "Failed"}
	case "TEMPORARY_FAILURE":
		return statusBadge{"warn", "Temporary failure"}
	case "NOT_STARTED", "":
		return statusBadge{"off", "Not started"}
	case "FOUND":
		return statusBadge{"ok", "Found"}
	case "MISSING":
		return statusBadge{"bad", "Missing"}
	case "WRONG":
		return statusBadge{"bad", "Wrong value"}
	case "UNKNOWN":
		return statusBadge{"warn", "DNS error"}
	case "PRESENT":
		return statusBadge{"ok", "Present"}
	case "DELIVERED":
		return statusBadge{"ok", "Delivered"}
	case "CAPTURED":
		return statusBadge{"ok", "Captured"}
	case "QUEUED":
		return statusBadge{"wait", "Queued"}
	case "DEFERRED":
		return statusBadge{"warn", "Deferred"}
	case "HELD":
		return statusBadge{"off", "Held"}
	case "BOUNCED":
		return statusBadge{"bad", "Bounced"}
	case "EXPIRED":
		return statusBadge{"bad", "Expired"}
	case "BOUNCE":
		return statusBadge{"bad", "Bounce"}
	case "COMPLAINT":
		return statusBadge{"bad", "Complaint"}
	case "PASS":
		return statusBadge{"ok", "pass"}
	case "FAIL":
		return statusBadge{"bad", "fail"}
	case "GRAY":
		return statusBadge{"off", "none"}
	case "PROCESSING_FAILED":
		return statusBadge{"warn", "error"}
	case "ENABLED":
		return statusBadge{"ok", "Enabled"}
	case "DISABLED":
		return statusBadge{"off", "Disabled"}
	}
	return statusBadge{"off", strings.ToLower(status)}
}
