package identity

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sesame-email/sesame/internal/dkim"
	"github.com/sesame-email/sesame/internal/dnscheck"
	"github.com/sesame-email/sesame/internal/store"
)

// publicKeys returns the public keys of an identity's keys by selector.
func (s *Service) publicKeys(keys []store.DKIMKey) map[string]crypto.PublicKey {
	out := map[string]crypto.PublicKey{}
	for _, k := range keys {
		if rec, err := dkim.ParseTXT(k.PublicTXT); err == nil {
			out[k.Selector] = rec.PublicKey
		}
	}
	return out
}

// check runs every DNS check of id and returns it updated (not stored).
func (s *Service) check(ctx context.Context, id store.Identity) (store.Identity, error) {
	now := s.now()
	if id.Type == store.IdentityDomain {
		dk := outcome{}
		var retained outcome // the previous keys during a rotation
		if id.DKIM.Origin != "" {
			keys, err := s.cfg.Store.DKIMKeys(ctx, id.AccountID, id.Region, id.Name)
			if err != nil {
				return id, err
			}
			dk = checkDKIM(ctx, s.cfg.Resolver, s.cfg.ServiceDomain, id, s.publicKeys(keys))
			id.DKIM.Verification = advance(id.DKIM.Verification, dk, now)
			var old []string
			for _, k := range keys {
				if !k.Active && k.Easy {
					old = append(old, k.Selector)
				}
			}
			if tok := id.DKIM.Ed25519Token; tok != "" {
				// The Ed25519 key's CNAME is checked on its own: it decides
				// whether mail carries the second signature, never the
				// domain's status.
				ed := &checker{r: s.cfg.Resolver}
				ed.checkCNAME(ctx, tok+"._domainkey."+id.Name, EasyDKIMTarget(tok, s.cfg.ServiceDomain), id.Name)
				id.DKIM.Ed25519Verified = ed.finish().ok
			}
			if !dk.ok && len(old) > 0 {
				prev := id
				prev.DKIM.Origin, prev.DKIM.Tokens = "AWS_SES", old
				retained = checkDKIM(ctx, s.cfg.Resolver, s.cfg.ServiceDomain, prev, nil)
			}
		}
		// The domain is verified by its DKIM records, by the previous keys'
		// records while a rotation is pending ("an Easy key-length change
		// puts DKIM back to PENDING, but sending stays verified", reference
		// §9), or by the legacy TXT token.
		own := dk
		if retained.ok {
			own = retained
		}
		if !own.ok {
			legacy := checkLegacyTXT(ctx, s.cfg.Resolver, id)
			if legacy.ok || id.DKIM.Origin == "" {
				own = legacy
			}
			own.records = append(append([]store.RecordCheck{}, dk.records...), legacy.records...)
			// A DNS error on one path does not hide a pass on the other.
			own.unknown = !own.ok && (dk.unknown || legacy.unknown)
		}
		id.Verification = advance(id.Verification, own, now)
	}
	if id.MailFrom.Domain != "" {
		mf := checkMailFrom(ctx, s.cfg.Resolver, s.cfg.ServiceDomain, id.Region, id.MailFrom.Domain)
		id.MailFrom.Verification = advance(id.MailFrom.Verification, mf, now)
	}
	next := nextCheck(id.Verification, now)
	for _, v := range []store.Verification{id.DKIM.Verification, id.MailFrom.Verification} {
		if v.Status != "" && v.Status != store.StatusNotStarted && (id.DKIM.Origin != "" || id.MailFrom.Domain != "") {
			if n := nextCheck(v, now); n.Before(next) {
				next = n
			}
		}
	}
	if id.Type == store.IdentityEmail {
		next = now.Add(24 * time.Hour)
		if id.Verification.Status == store.StatusPending && !id.TokenExpires.IsZero() && now.After(id.TokenExpires) {
			id.Verification = store.Verification{Status: store.StatusFailed, Since: now, LastChecked: now, ErrorType: "INVALID_VALUE"}
		}
	}
	id.NextCheck = next
	return id, nil
}

// CheckNow checks an identity's DNS at once and stores the result.
//
// The DNS lookups run on a snapshot, outside any lock; the result is then
// merged into the identity as it is stored by then (store.ModifyIdentity),
// so a change made meanwhile through the API — a MAIL FROM domain, tags,
// notification topics — is never overwritten by the check. When something
// the check depends on changed meanwhile (the records to look for, or the
// statuses it advanced from: another check), it runs again.
func (s *Service) CheckNow(ctx context.Context, accountID, region, name string) (store.Identity, error) {
	for attempt := 1; ; attempt++ {
		id, err := s.Get(ctx, accountID, region, name)
		if err != nil {
			return store.Identity{}, err
		}
		checked, err := s.check(ctx, id)
		if err != nil {
			return store.Identity{}, err
		}
		var before store.Identity
		stored, err := s.modify(ctx, id, func(cur *store.Identity) error {
			if checkInputs(*cur) != checkInputs(id) {
				return errCheckStale
			}
			before = *cur
			cur.Verification, cur.DKIM.Verification, cur.DKIM.Ed25519Verified = checked.Verification, checked.DKIM.Verification, checked.DKIM.Ed25519Verified
			cur.MailFrom.Verification, cur.NextCheck = checked.MailFrom.Verification, checked.NextCheck
			return nil
		})
		if errors.Is(err, errCheckStale) {
			if attempt < 3 {
				continue
			}
			// Changing faster than DNS answers: the stored identity stands,
			// and the engine checks it again when its claim lapses.
			return s.Get(ctx, accountID, region, name)
		}
		if err != nil {
			return store.Identity{}, err
		}
		s.logTransitions(before, stored)
		if err := s.retireInactive(ctx, stored); err != nil {
			return store.Identity{}, err
		}
		return stored, nil
	}
}

// errCheckStale aborts the merge of a check whose identity changed under it.
var errCheckStale = errors.New("identity: changed during the check")

// checkInputs is what a check's result depends on: the records it looks
// for and the statuses it advances from.
func checkInputs(id store.Identity) string {
	b, _ := json.Marshal(struct {
		Type                             store.IdentityType
		Origin, Ed25519, MailFrom, Token string
		Tokens                           []string
		TokenExpires                     time.Time
		States                           [3]store.Verification
	}{id.Type, id.DKIM.Origin, id.DKIM.Ed25519Token, id.MailFrom.Domain, id.Token, id.DKIM.Tokens, id.TokenExpires,
		[3]store.Verification{id.Verification, id.DKIM.Verification, id.MailFrom.Verification}})
	return string(b)
}

// modify applies fn to the stored identity atomically.
func (s *Service) modify(ctx context.Context, id store.Identity, fn func(*store.Identity) error) (store.Identity, error) {
	out, err := s.cfg.Store.ModifyIdentity(ctx, id.AccountID, id.Region, id.Name, fn)
	if errors.Is(err, store.ErrNotFound) {
		return store.Identity{}, fmt.Errorf("%w: %s", ErrNotFound, id.Name)
	}
	return out, err
}

func (s *Service) logTransitions(before, after store.Identity) {
	for _, t := range []struct {
		what   string
		b, a   store.Status
		errTyp string
	}{
		{"verification", before.Verification.Status, after.Verification.Status, after.Verification.ErrorType},
		{"dkim", before.DKIM.Verification.Status, after.DKIM.Verification.Status, after.DKIM.Verification.ErrorType},
		{"mail_from", before.MailFrom.Verification.Status, after.MailFrom.Verification.Status, after.MailFrom.Verification.ErrorType},
	} {
		if t.b != t.a {
			s.log.Info("identity status changed", "account", after.AccountID, "region", after.Region, "identity", after.Name,
				"what", t.what, "from", t.b, "to", t.a, "error", t.errTyp)
		}
	}
}

// CheckLease is how long the engine holds the identities it claims: no
// other node checks them meanwhile, and a node that dies mid-check leaves
// them due again after it.
const CheckLease = time.Minute

// RunDue claims every identity whose next check is due (with CheckLease,
// so several nodes sharing a store check each identity once), checks it
// and returns how many it checked. One identity's failure does not stop
// the others.
func (s *Service) RunDue(ctx context.Context, limit int) (int, error) {
	due, err := s.cfg.Store.ClaimDueIdentities(ctx, s.now(), CheckLease, limit)
	if err != nil {
		return 0, err
	}
	// Checks wait on DNS, not on CPU: run several at once, so thousands of
	// pending identities are checked in one pass even when answers are slow.
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, CheckConcurrency)
	)
	for _, id := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := s.CheckNow(ctx, id.AccountID, id.Region, id.Name); err != nil && !errors.Is(err, ErrNotFound) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return len(due), errors.Join(errs...)
}

// CheckConcurrency is how many identities one pass checks at once.
const CheckConcurrency = 16

// Run is the verification engine: it checks due identities every interval
// until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.RunDue(ctx, 200); err != nil {
			s.log.Warn("verification checks failed", "checked", n, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DKIMRecord returns the TXT value published at <token>.dkim.D; it makes
// the Service a dnsserver.Keys.
func (s *Service) DKIMRecord(ctx context.Context, token string) (string, bool, error) {
	k, err := s.cfg.Store.EasyDKIMKey(ctx, strings.ToLower(token))
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return k.PublicTXT, true, nil
}

// Effective is what an identity can do once its domain is taken into
// account: an address under a verified domain is verified, and signs with
// that domain's DKIM unless it has its own (reference §9, "Inheritance").
type Effective struct {
	Verified bool
	// DKIMDomain is the identity whose DKIM applies ("" = none).
	DKIMDomain   string
	DKIMEnabled  bool
	DKIMStatus   store.Status
	DKIMTokens   []string
	DKIMOrigin   string
	DKIMIdentity *store.Identity
}

// Effective returns id's effective verification and DKIM.
func (s *Service) Effective(ctx context.Context, id store.Identity) (Effective, error) {
	e := Effective{Verified: id.Verification.Status == store.StatusSuccess}
	if id.Type == store.IdentityDomain && id.DKIM.Origin != "" {
		e.DKIMDomain, e.DKIMEnabled, e.DKIMStatus, e.DKIMTokens, e.DKIMOrigin, e.DKIMIdentity = id.Name, id.DKIM.SigningEnabled, id.DKIM.Verification.Status, id.DKIM.Tokens, id.DKIM.Origin, &id
		return e, nil
	}
	domain := id.Name
	if i := strings.LastIndexByte(domain, '@'); i >= 0 {
		domain = domain[i+1:]
	}
	for _, d := range ParentDomains(domain) {
		if d == id.Name {
			continue
		}
		p, err := s.cfg.Store.GetIdentity(ctx, id.AccountID, id.Region, d)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return e, err
		}
		if p.Verification.Status == store.StatusSuccess {
			e.Verified = true
		}
		if p.DKIM.Origin != "" && e.DKIMDomain == "" {
			e.DKIMDomain, e.DKIMEnabled, e.DKIMStatus, e.DKIMTokens, e.DKIMOrigin, e.DKIMIdentity = p.Name, p.DKIM.SigningEnabled, p.DKIM.Verification.Status, p.DKIM.Tokens, p.DKIM.Origin, &p
		}
		if e.Verified && e.DKIMDomain != "" {
			break
		}
	}
	if e.DKIMDomain == "" {
		e.DKIMStatus = store.StatusNotStarted
	}
	return e, nil
}

// SetDKIMEnabled turns DKIM signing on or off (PutEmailIdentityDkimAttributes,
// SetIdentityDkimEnabled). For an address it needs a domain with DKIM.
func (s *Service) SetDKIMEnabled(ctx context.Context, accountID, region, name string, enabled bool) error {
	id, err := s.Get(ctx, accountID, region, name)
	if err != nil {
		return err
	}
	if id.Type == store.IdentityEmail {
		e, err := s.Effective(ctx, id)
		if err != nil {
			return err
		}
		if e.DKIMDomain == "" {
			return fmt.Errorf("%w: Domain %s is not verified for DKIM signing.", ErrInvalid, id.Name[strings.LastIndexByte(id.Name, '@')+1:])
		}
	} else if id.DKIM.Origin == "" {
		return fmt.Errorf("%w: Domain %s is not verified for DKIM signing.", ErrInvalid, id.Name)
	}
	_, err = s.modify(ctx, id, func(cur *store.Identity) error {
		cur.DKIM.SigningEnabled = enabled
		return nil
	})
	return err
}

// SigningOptions is a change of DKIM signing set-up
// (PutEmailIdentityDkimSigningAttributes, v1 VerifyDomainDkim).
type SigningOptions struct {
	// Origin is AWS_SES (Easy DKIM) or EXTERNAL (BYODKIM).
	Origin     string
	Selector   string
	PrivateKey string
	KeyLength  string
}

// SetDKIMSigning switches an identity between Easy DKIM and BYODKIM, or
// changes the Easy key length. New keys become active at once and the DKIM
// status goes back to PENDING; the old keys stay published (inactive) until
// the new records verify, so mail signed a moment ago still verifies.
func (s *Service) SetDKIMSigning(ctx context.Context, accountID, region, name string, o SigningOptions) (store.Identity, error) {
	id, err := s.Get(ctx, accountID, region, name)
	if err != nil {
		return store.Identity{}, err
	}
	if id.Type != store.IdentityDomain {
		return store.Identity{}, fmt.Errorf("%w: DKIM signing attributes apply to domain identities", ErrInvalid)
	}
	now := s.now()
	var opts DomainOptions
	switch o.Origin {
	case "AWS_SES":
		if id.DKIM.Origin == "AWS_SES" && (o.KeyLength == "" || o.KeyLength == id.DKIM.CurrentKeyLength) {
			return id, nil // nothing to change
		}
		opts.KeyLength = o.KeyLength
	case "EXTERNAL":
		opts.Selector, opts.PrivateKey = o.Selector, o.PrivateKey
	default:
		return store.Identity{}, fmt.Errorf("%w: SigningAttributesOrigin %q: want AWS_SES or EXTERNAL", ErrInvalid, o.Origin)
	}
	d, fresh, err := s.dkimFor(accountID, region, id.Name, opts, now)
	if err != nil {
		return store.Identity{}, err
	}
	old, err := s.cfg.Store.DKIMKeys(ctx, accountID, region, id.Name)
	if err != nil {
		return store.Identity{}, err
	}
	keys := fresh
	for _, k := range old {
		switch {
		case k.Selector == id.DKIM.Ed25519Token:
			keys = append(keys, k) // the Ed25519 key is not rotated with RSA
		case k.Easy && id.DKIM.Verification.Status == store.StatusSuccess:
			k.Active = false
			keys = append(keys, k)
		}
	}
	d.Ed25519Token, d.Ed25519Verified = id.DKIM.Ed25519Token, id.DKIM.Ed25519Verified
	d.SigningEnabled = id.DKIM.SigningEnabled || id.DKIM.Origin == ""
	id.DKIM = d
	id.NextCheck = now // checked by the engine at once
	if err := s.cfg.Store.UpdateIdentity(ctx, id, &keys); err != nil {
		return store.Identity{}, err
	}
	return id, nil
}

// retireInactive drops keys kept published during a rotation once the
// identity's new DKIM records have verified.
func (s *Service) retireInactive(ctx context.Context, id store.Identity) error {
	if id.DKIM.Verification.Status != store.StatusSuccess {
		return nil
	}
	keys, err := s.cfg.Store.DKIMKeys(ctx, id.AccountID, id.Region, id.Name)
	if err != nil {
		return err
	}
	var keep []store.DKIMKey
	for _, k := range keys {
		if k.Active {
			keep = append(keep, k)
		}
	}
	if len(keep) == len(keys) {
		return nil
	}
	return s.cfg.Store.UpdateIdentity(ctx, id, &keep)
}

// SetMailFrom sets or clears (domain "") the custom MAIL FROM domain.
func (s *Service) SetMailFrom(ctx context.Context, accountID, region, name, domain, behavior string) (store.Identity, error) {
	id, err := s.Get(ctx, accountID, region, name)
	if err != nil {
		return store.Identity{}, err
	}
	switch behavior {
	case "":
		behavior = "USE_DEFAULT_VALUE"
	case "USE_DEFAULT_VALUE", "REJECT_MESSAGE":
	default:
		return store.Identity{}, fmt.Errorf("%w: BehaviorOnMxFailure %q", ErrInvalid, behavior)
	}
	now := s.now()
	if domain == "" {
		return s.modify(ctx, id, func(cur *store.Identity) error {
			cur.MailFrom.Behavior, cur.MailFrom.Domain, cur.MailFrom.Verification = behavior, "", store.Verification{}
			return nil
		})
	}
	mf, err := NormalizeDomain(domain)
	if err != nil {
		return store.Identity{}, err
	}
	base := id.Name[strings.LastIndexByte(id.Name, '@')+1:]
	// Reference §9: a subdomain of the identity, never the identity itself.
	if !strings.HasSuffix(mf, "."+base) {
		return store.Identity{}, fmt.Errorf("%w: MAIL FROM domain %s must be a subdomain of %s", ErrInvalid, mf, base)
	}
	return s.modify(ctx, id, func(cur *store.Identity) error {
		cur.MailFrom.Behavior = behavior
		if mf != cur.MailFrom.Domain {
			cur.MailFrom.Domain, cur.MailFrom.Verification = mf, pending(now)
		}
		cur.NextCheck = now // checked by the engine at once
		return nil
	})
}

// SigningKey returns the RSA DKIM signer for mail from an address: the
// key of the identity whose DKIM applies (reference §9, inheritance), or
// nil when nothing applies or signing is off.
func (s *Service) SigningKey(ctx context.Context, accountID, region, addr string) (*dkim.Signer, error) {
	snd, err := s.Sender(ctx, accountID, region, addr)
	if err != nil || len(snd.Signers) == 0 {
		return nil, err
	}
	return snd.Signers[0], nil
}

// signersOf returns the signers of a domain identity with DKIM: its active
// RSA key, then its Ed25519 key when that is on and its CNAME verified.
func (s *Service) signersOf(ctx context.Context, id store.Identity) ([]*dkim.Signer, error) {
	keys, err := s.cfg.Store.DKIMKeys(ctx, id.AccountID, id.Region, id.Name)
	if err != nil {
		return nil, err
	}
	d := id.DKIM
	var rsaKey, edKey *store.DKIMKey
	for i, k := range keys {
		switch {
		case k.Selector == d.Ed25519Token && d.Ed25519Token != "":
			if d.Ed25519Verified {
				edKey = &keys[i]
			}
		case k.Active && rsaKey == nil:
			rsaKey = &keys[i]
		}
	}
	var out []*dkim.Signer
	for _, k := range []*store.DKIMKey{rsaKey, edKey} {
		if k == nil {
			continue
		}
		sg, err := s.signer(id.Name, *k)
		if err != nil {
			return nil, err
		}
		out = append(out, sg)
	}
	return out, nil
}

// SetEd25519 turns Ed25519 signing (RFC 8463) on or off for a domain with
// DKIM: on adds an Ed25519 key under a fourth Easy DKIM token, served by
// sesame's DNS; mail is signed with it, beside RSA, once the customer's
// CNAME for that token resolves.
func (s *Service) SetEd25519(ctx context.Context, accountID, region, name string, on bool) (store.Identity, error) {
	id, err := s.Get(ctx, accountID, region, name)
	if err != nil {
		return store.Identity{}, err
	}
	if id.Type != store.IdentityDomain || id.DKIM.Origin == "" {
		return store.Identity{}, fmt.Errorf("%w: Ed25519 signing needs a domain identity with DKIM", ErrInvalid)
	}
	if on == (id.DKIM.Ed25519Token != "") {
		return id, nil
	}
	keys, err := s.cfg.Store.DKIMKeys(ctx, accountID, region, id.Name)
	if err != nil {
		return store.Identity{}, err
	}
	if on {
		tok, err := dkim.NewToken()
		if err != nil {
			return store.Identity{}, err
		}
		priv, err := dkim.GenerateEd25519Key()
		if err != nil {
			return store.Identity{}, err
		}
		k, err := s.sealKey(priv, tok, accountID, region, id.Name, true, s.now())
		if err != nil {
			return store.Identity{}, err
		}
		keys = append(keys, k)
		id.DKIM.Ed25519Token, id.DKIM.Ed25519Verified = tok, false
		id.NextCheck = s.now()
	} else {
		var keep []store.DKIMKey
		for _, k := range keys {
			if k.Selector != id.DKIM.Ed25519Token {
				keep = append(keep, k)
			}
		}
		keys = keep
		id.DKIM.Ed25519Token, id.DKIM.Ed25519Verified = "", false
	}
	if err := s.cfg.Store.UpdateIdentity(ctx, id, &keys); err != nil {
		return store.Identity{}, err
	}
	return id, nil
}

// maxCachedSigners bounds the parsed-key cache.
const maxCachedSigners = 10000

// signer returns the Signer for a key, unsealing and parsing it once: a
// selector's key material never changes (a new key gets a new selector),
// so a cached Signer stays right until the key is dropped.
func (s *Service) signer(domain string, k store.DKIMKey) (*dkim.Signer, error) {
	cacheKey := domain + "\x00" + k.Selector + "\x00" + k.CreatedAt.String()
	s.mu.Lock()
	sg, ok := s.signers[cacheKey]
	s.mu.Unlock()
	if ok {
		return sg, nil
	}
	der, err := s.cfg.Sealer.Open(k.SealedKey, []byte(k.Selector))
	if err != nil {
		return nil, fmt.Errorf("identity: key %s: %w", k.Selector, err)
	}
	priv, err := dkim.ParsePrivateKey(der)
	if err != nil {
		return nil, err
	}
	sg, err = dkim.NewSigner(dkim.SignerOptions{Domain: domain, Selector: k.Selector, Key: priv})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.signers) >= maxCachedSigners {
		clear(s.signers)
	}
	s.signers[cacheKey] = sg
	s.mu.Unlock()
	return sg, nil
}

// Records returns the DNS records table of an identity, each checked
// against DNS now (PRODUCT.md: "The records table").
func (s *Service) Records(ctx context.Context, accountID, region, name string) ([]dnscheck.Record, error) {
	id, err := s.Get(ctx, accountID, region, name)
	if err != nil {
		return nil, err
	}
	in := dnscheck.Identity{Name: id.Name, Domain: id.Type == store.IdentityDomain, DKIMOrigin: id.DKIM.Origin,
		Tokens: id.DKIM.Tokens, Ed25519Token: id.DKIM.Ed25519Token, MailFrom: id.MailFrom.Domain, Region: id.Region}
	if id.DKIM.Origin == "" {
		in.LegacyToken = id.Token
	}
	if id.DKIM.Origin == "EXTERNAL" {
		keys, err := s.cfg.Store.DKIMKeys(ctx, accountID, region, id.Name)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if !k.Easy {
				in.BYODKIMPublic = k.PublicTXT
			}
		}
	}
	return dnscheck.Check(ctx, s.cfg.Resolver, s.cfg.ServiceDomain, dnscheck.Expected(in, s.cfg.ServiceDomain)), nil
}
