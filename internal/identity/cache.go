package identity

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

// Sending reads the identities that cover a sender on every message (the
// address, its domain, parent domains) and again for every delivery's
// events. The cache keeps those reads for a second: writes through this
// Service forget their entry at once; a write by another node (PostgreSQL)
// is seen within cacheTTL.
const (
	cacheTTL     = time.Second
	cacheMaxSize = 20000
)

type cacheEntry struct {
	id    store.Identity
	found bool
	at    time.Time
}

// identityCache is a small TTL cache of GetIdentity answers, not-found
// included (most lookups are for parent domains that are no identity).
type identityCache struct {
	mu sync.Mutex
	m  map[string]cacheEntry
}

func cacheKey(accountID, region, name string) string {
	return accountID + "\x00" + region + "\x00" + name
}

func (c *identityCache) forget(accountID, region, name string) {
	c.mu.Lock()
	delete(c.m, cacheKey(accountID, region, name))
	c.mu.Unlock()
}

// lookup returns the identity (found=false for none), from the cache when
// fresh.
func (s *Service) lookup(ctx context.Context, accountID, region, name string) (store.Identity, bool, error) {
	k := cacheKey(accountID, region, name)
	now := time.Now()
	s.cache.mu.Lock()
	e, ok := s.cache.m[k]
	s.cache.mu.Unlock()
	if ok && now.Sub(e.at) < cacheTTL {
		return e.id, e.found, nil
	}
	id, err := s.cfg.Store.GetIdentity(ctx, accountID, region, name)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Identity{}, false, err
	}
	s.cache.mu.Lock()
	if s.cache.m == nil || len(s.cache.m) >= cacheMaxSize {
		s.cache.m = map[string]cacheEntry{}
	}
	s.cache.m[k] = cacheEntry{id: id, found: found, at: now}
	s.cache.mu.Unlock()
	return id, found, nil
}

// forgetting wraps the store so that every identity written through the
// Service leaves the cache.
type forgetting struct {
	store.Identities
	c *identityCache
}

func (f forgetting) CreateIdentity(ctx context.Context, id store.Identity, keys []store.DKIMKey) error {
	defer f.c.forget(id.AccountID, id.Region, id.Name)
	return f.Identities.CreateIdentity(ctx, id, keys)
}

func (f forgetting) UpdateIdentity(ctx context.Context, id store.Identity, keys *[]store.DKIMKey) error {
	defer f.c.forget(id.AccountID, id.Region, id.Name)
	return f.Identities.UpdateIdentity(ctx, id, keys)
}

func (f forgetting) ModifyIdentity(ctx context.Context, accountID, region, name string, fn func(*store.Identity) error) (store.Identity, error) {
	defer f.c.forget(accountID, region, name)
	return f.Identities.ModifyIdentity(ctx, accountID, region, name, fn)
}

func (f forgetting) DeleteIdentity(ctx context.Context, accountID, region, name string) error {
	defer f.c.forget(accountID, region, name)
	return f.Identities.DeleteIdentity(ctx, accountID, region, name)
}
