package console

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/dnscheck"
	"github.com/sesame-email/sesame/internal/identity"
	"github.com/sesame-email/sesame/internal/store"
)

// identityErr turns the identity service's sentinels into what the user
// reads.
func identityErr(err error, name string) error {
	msg := detail(err, identity.ErrInvalid, identity.ErrInvalidName, identity.ErrLimit)
	switch {
	case errors.Is(err, identity.ErrNotFound):
		return notFound("Identity " + name)
	case errors.Is(err, identity.ErrExists):
		return failf(http.StatusConflict, "%s already exists in this region.", name)
	case errors.Is(err, identity.ErrInvalid), errors.Is(err, identity.ErrInvalidName), errors.Is(err, identity.ErrLimit):
		return failf(http.StatusBadRequest, "%s", msg)
	}
	return err
}

// identityRow is one line of the identities list.
type identityRow struct {
	Name       string
	Domain     bool
	Status     string
	DKIMStatus string
	Created    time.Time
}

type identitiesView struct {
	Rows []identityRow
	// Form is what the create form showed, kept when it failed.
	Form struct{ Name, KeyLength string }
}

func (s *Server) identityRows(q *request) ([]identityRow, error) {
	ids, err := s.cfg.Identities.List(q.ctx, q.acct.ID, q.region, store.IdentityPage{Limit: 1000})
	if err != nil {
		return nil, err
	}
	rows := make([]identityRow, 0, len(ids))
	for _, id := range ids {
		e, err := s.cfg.Identities.Effective(q.ctx, id)
		if err != nil {
			return nil, err
		}
		st := id.Verification.Status
		if e.Verified {
			st = store.StatusSuccess
		}
		rows = append(rows, identityRow{Name: id.Name, Domain: id.Type == store.IdentityDomain, Status: string(st), DKIMStatus: string(e.DKIMStatus), Created: id.CreatedAt})
	}
	return rows, nil
}

// identities lists the region's identities with the create form.
func (s *Server) identities(q *request) error {
	rows, err := s.identityRows(q)
	if err != nil {
		return err
	}
	return q.page("identities", &view{Title: "Identities", Nav: "identities", Data: identitiesView{Rows: rows}})
}

// createIdentity creates a domain (Easy DKIM) or address identity.
func (s *Server) createIdentity(q *request) error {
	name := strings.TrimSpace(q.r.PostForm.Get("identity"))
	length := q.r.PostForm.Get("key_length")
	var id store.Identity
	var err error
	switch {
	case name == "":
		err = failf(http.StatusBadRequest, "Enter a domain or an email address.")
	case strings.Contains(name, "@"):
		id, err = s.cfg.Identities.CreateEmail(q.ctx, q.acct.ID, q.region, name, nil, "")
	default:
		if length != identity.RSA1024 {
			length = identity.RSA2048
		}
		id, err = s.cfg.Identities.CreateDomain(q.ctx, q.acct.ID, q.region, name, identity.DomainOptions{KeyLength: length})
	}
	if err != nil {
		err = identityErr(err, name)
		var he *httpError
		if !errors.As(err, &he) {
			return err
		}
		rows, lerr := s.identityRows(q)
		if lerr != nil {
			return lerr
		}
		v := identitiesView{Rows: rows}
		v.Form.Name, v.Form.KeyLength = name, length
		q.render(he.status, "identities", &view{Title: "Identities", Nav: "identities", Error: he.msg, Data: v})
		return nil
	}
	s.cfg.Logger.Info("console created identity", "account", q.acct.ID, "region", q.region, "identity", id.Name)
	return q.redirect("/identities/"+url.PathEscape(id.Name), "done", "created")
}

type identityView struct {
	ID            store.Identity
	Domain        bool
	Status        string
	DKIMStatus    string
	DKIMDomain    string // the domain whose DKIM applies (an address inherits it)
	DKIMEnabled   bool
	Records       []dnscheck.Record
	RecordsError  string
	MailFrom      store.MailFromSettings
	ServiceDomain string
	// Settled: no status can change without a DNS change, so the page
	// stops asking for fresh statuses.
	Settled bool
}

// identityOf loads the path's identity in the request's account and region;
// another account's identity is as missing as one that never existed.
func (s *Server) identityOf(q *request) (store.Identity, error) {
	name := q.r.PathValue("name")
	id, err := s.cfg.Identities.Get(q.ctx, q.acct.ID, q.region, name)
	if err != nil {
		return store.Identity{}, identityErr(err, name)
	}
	return id, nil
}

func (s *Server) identityView(q *request, id store.Identity) (identityView, error) {
	e, err := s.cfg.Identities.Effective(q.ctx, id)
	if err != nil {
		return identityView{}, err
	}
	v := identityView{ID: id, Domain: id.Type == store.IdentityDomain, Status: string(id.Verification.Status), DKIMStatus: string(e.DKIMStatus),
		DKIMDomain: e.DKIMDomain, DKIMEnabled: e.DKIMEnabled, MailFrom: id.MailFrom, ServiceDomain: s.cfg.ServiceDomain}
	if e.Verified {
		v.Status = string(store.StatusSuccess)
	}
	v.Settled = settled(v.Status) && (!v.Domain || settled(v.DKIMStatus)) && (id.MailFrom.Domain == "" || settled(string(id.MailFrom.Verification.Status)))
	return v, nil
}

// records checks the identity's records against DNS now, within a bound a
// person waiting for the page accepts.
func (s *Server) records(q *request, id store.Identity) ([]dnscheck.Record, error) {
	ctx, cancel := context.WithTimeout(q.ctx, 8*time.Second)
	defer cancel()
	return s.cfg.Identities.Records(ctx, q.acct.ID, q.region, id.Name)
}

// viewOf loads the path's identity and what its page shows of it.
func (s *Server) viewOf(q *request) (store.Identity, identityView, error) {
	id, err := s.identityOf(q)
	if err != nil {
		return id, identityView{}, err
	}
	v, err := s.identityView(q, id)
	return id, v, err
}

// identityPage shows an identity: status, records table, DKIM, MAIL FROM.
func (s *Server) identityPage(q *request) error {
	id, v, err := s.viewOf(q)
	if err != nil {
		return err
	}
	if v.Records, err = s.records(q, id); err != nil {
		v.RecordsError = "DNS could not be checked: " + err.Error()
	}
	return q.page("identity", &view{Title: id.Name, Nav: "identities", Data: v})
}

// IdentityStatus is the identity page's refresh (GET …/status).
type IdentityStatus struct {
	Identity           string
	VerificationStatus string
	DkimStatus         string
	MailFromStatus     string
	LastChecked        string
	LastCheckedAgo     string
	// Badges are the statuses as the page shows them, by field.
	Badges map[string]statusBadge
	// Settled: nothing changes until DNS does; the page stops asking.
	Settled bool
}

func (s *Server) identityStatus(q *request) error {
	id, v, err := s.viewOf(q)
	if err != nil {
		return err
	}
	out := IdentityStatus{Identity: id.Name, VerificationStatus: v.Status, DkimStatus: v.DKIMStatus,
		LastChecked: when(id.Verification.LastChecked), LastCheckedAgo: since(s.now(), id.Verification.LastChecked), Settled: v.Settled}
	if id.MailFrom.Domain != "" {
		out.MailFromStatus = string(id.MailFrom.Verification.Status)
	}
	out.Badges = map[string]statusBadge{"VerificationStatus": badge(out.VerificationStatus), "DkimStatus": badge(out.DkimStatus), "MailFromStatus": badge(out.MailFromStatus)}
	q.json(http.StatusOK, out)
	return nil
}

// identityRecords downloads the records table: ?format=csv (default),
// bind or json.
func (s *Server) identityRecords(q *request) error {
	id, err := s.identityOf(q)
	if err != nil {
		return err
	}
	format := q.r.URL.Query().Get("format")
	ext, ctype := "csv", "text/csv; charset=utf-8"
	switch format {
	case "", "csv":
		format = "csv"
	case "bind":
		ext, ctype = "zone", "text/plain; charset=utf-8"
	case "json":
		ext, ctype = "json", "application/json"
	default:
		return failf(http.StatusBadRequest, "format must be csv, bind or json.")
	}
	recs, err := s.records(q, id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := dnscheck.Render(&buf, recs, format); err != nil {
		return err
	}
	q.w.Header().Set("Content-Type", ctype)
	q.w.Header().Set("Content-Disposition", `attachment; filename="`+fileName(id.Name)+`-records.`+ext+`"`)
	q.w.Write(buf.Bytes())
	return nil
}

// fileName keeps letters, digits, dots and dashes of an identity name.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// identityChange runs one change of the path's identity and goes back to
// its page with the notice done.
func (s *Server) identityChange(q *request, done string, change func(ctx context.Context, id store.Identity) error) error {
	id, err := s.identityOf(q)
	if err != nil {
		return err
	}
	if err := change(q.ctx, id); err != nil {
		var he *httpError
		if errors.As(err, &he) {
			return err
		}
		return identityErr(err, id.Name)
	}
	return q.redirect("/identities/"+url.PathEscape(id.Name), "done", done)
}

// checkIdentity runs the verification check now.
func (s *Server) checkIdentity(q *request) error {
	return s.identityChange(q, "checked", func(ctx context.Context, id store.Identity) error {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		_, err := s.cfg.Identities.CheckNow(ctx, q.acct.ID, q.region, id.Name)
		return err
	})
}

// setDKIM turns DKIM signing, or the additional Ed25519 key, on or off.
func (s *Server) setDKIM(q *request) error {
	on := q.r.PostForm.Get("enabled") == "true"
	return s.identityChange(q, "saved", func(ctx context.Context, id store.Identity) error {
		switch q.r.PostForm.Get("setting") {
		case "signing":
			return s.cfg.Identities.SetDKIMEnabled(ctx, q.acct.ID, q.region, id.Name, on)
		case "ed25519":
			_, err := s.cfg.Identities.SetEd25519(ctx, q.acct.ID, q.region, id.Name, on)
			return err
		}
		return failf(http.StatusBadRequest, "Unknown DKIM setting.")
	})
}

// setMailFrom sets or removes the custom MAIL FROM domain.
func (s *Server) setMailFrom(q *request) error {
	domain := strings.TrimSpace(q.r.PostForm.Get("domain"))
	if q.r.PostForm.Get("remove") != "" {
		domain = ""
	}
	return s.identityChange(q, "saved", func(ctx context.Context, id store.Identity) error {
		_, err := s.cfg.Identities.SetMailFrom(ctx, q.acct.ID, q.region, id.Name, domain, q.r.PostForm.Get("behavior"))
		return err
	})
}

// resendVerification mails a new verification link to a pending address.
func (s *Server) resendVerification(q *request) error {
	return s.identityChange(q, "resent", func(ctx context.Context, id store.Identity) error {
		return s.cfg.Identities.Resend(ctx, q.acct.ID, q.region, id.Name)
	})
}

// deleteIdentity deletes an identity (the form asks for confirmation).
func (s *Server) deleteIdentity(q *request) error {
	id, err := s.identityOf(q)
	if err != nil {
		return err
	}
	if q.r.PostForm.Get("confirm") != id.Name {
		return failf(http.StatusBadRequest, "Type the identity's name to confirm deleting it.")
	}
	if err := s.cfg.Identities.Delete(q.ctx, q.acct.ID, q.region, id.Name); err != nil {
		return identityErr(err, id.Name)
	}
	return q.redirect("/identities", "done", "identity-gone")
}

// settled reports whether a status stays as it is until DNS changes.
func settled(st string) bool {
	switch store.Status(st) {
	case store.StatusSuccess, store.StatusFailed, store.StatusNotStarted:
		return true
	}
	return false
}
