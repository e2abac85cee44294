package audit

import (
	"context"
	"net"
	"sync"
)

// cache remembers every answer for one audit run, so the many identities
// that share an organizational domain, a MAIL FROM SPF tree or the
// service's records ask DNS once. It lives as long as one Run.
type cache struct {
	r  Resolver
	mu sync.Mutex
	m  map[string]cached
}

type cached struct {
	v   any
	err error
}

func newCache(r Resolver) *cache { return &cache{r: r, m: map[string]cached{}} }

func remember[T any](ctx context.Context, c *cache, key string, f func(context.Context) (T, error)) (T, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		v, _ := e.v.(T)
		return v, e.err
	}
	v, err := f(ctx)
	c.mu.Lock()
	c.m[key] = cached{v, err}
	c.mu.Unlock()
	return v, err
}

// LookupTXT implements Resolver.
func (c *cache) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return remember(ctx, c, "TXT "+canon(name), func(ctx context.Context) ([]string, error) { return c.r.LookupTXT(ctx, name) })
}

// LookupMX implements Resolver.
func (c *cache) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	return remember(ctx, c, "MX "+canon(name), func(ctx context.Context) ([]*net.MX, error) { return c.r.LookupMX(ctx, name) })
}

// LookupIPAddr implements Resolver.
func (c *cache) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	return remember(ctx, c, "IP "+canon(host), func(ctx context.Context) ([]net.IPAddr, error) { return c.r.LookupIPAddr(ctx, host) })
}

// LookupAddr implements Resolver.
func (c *cache) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	return remember(ctx, c, "PTR "+addr, func(ctx context.Context) ([]string, error) { return c.r.LookupAddr(ctx, addr) })
}

// LookupCNAME implements Resolver.
func (c *cache) LookupCNAME(ctx context.Context, host string) (string, error) {
	return remember(ctx, c, "CNAME "+canon(host), func(ctx context.Context) (string, error) { return c.r.LookupCNAME(ctx, host) })
}
