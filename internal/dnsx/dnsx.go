package dnsx

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver is what sesame's services need from DNS. Its method set matches
// what blitiri.com.ar/go/spf's WithResolver option and go-msgauth's
// LookupTXT hooks need, and mirrors *net.Resolver's.
type Resolver interface {
	// LookupTXT returns one string per TXT record, the record's
	// character-strings concatenated (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
	LookupTXT(ctx context.Context, name string) ([]string, error)
	// LookupMX returns the MX records sorted by preference (RFC 5321
	// §5.1); a null MX (RFC 7505 §3: a single MX "." of preference 0)
	// comes back as one MX whose Host is ".".
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	// LookupIPAddr returns the A and AAAA addresses of host (RFC 1035
	// §3.4.1, RFC 3596).
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	// LookupAddr returns the PTR names of an IP address (RFC 1035 §3.5).
	LookupAddr(ctx context.Context, addr string) ([]string, error)
	// LookupCNAME returns the canonical name at the end of host's CNAME
	// chain (RFC 1034 §3.6.2).
	LookupCNAME(ctx context.Context, host string) (string, error)
	// Query returns the raw answer for diagnostics.
	Query(ctx context.Context, name string, qtype uint16) (*Answer, error)
}

// Answer is a raw DNS answer with the facts diagnostics need.
type Answer struct {
	Name    string   // the name asked, absolute, lowercase
	Rcode   int      // dns.RcodeSuccess, dns.RcodeNameError (NXDOMAIN), … of the last response (RFC 6604 §3); -1 before any
	Chain   []string // CNAME targets followed, in order, absolute, lowercase
	Records []dns.RR // records of the asked type owned by the chain's last name
	Server  string   // "host:port" of the server that gave the last response
}

// Limits on what one query may do.
const (
	// MaxChain is the most CNAME hops followed (RFC 1034 §3.6.2 allows
	// chains; RFC 2181 §10.1 advises against them, so a long one is
	// suspect).
	MaxChain = 8
	// MaxRecords is the most records kept from one answer; the rest are
	// dropped and logged.
	MaxRecords = 256
)

// Defaults for Options.
const (
	// DefaultTimeout bounds one exchange with one server.
	DefaultTimeout = 5 * time.Second
	// DefaultAttempts is how many rounds over the servers a query makes.
	DefaultAttempts = 2
	// ednsBufSize is the UDP payload size advertised in EDNS0 (RFC 6891
	// §6.2.5).
	ednsBufSize = 4096
	resolvConf  = "/etc/resolv.conf"
	fallback    = "127.0.0.1:53"
)

// Options configures a Client.
type Options struct {
	// Servers are "host:port" of recursive resolvers (a bare IP address
	// means port 53, RFC 1035 §4.2). Empty means the nameservers of
	// /etc/resolv.conf, and 127.0.0.1:53 if it has none.
	Servers []string
	// Timeout bounds one exchange with one server; default 5s.
	Timeout time.Duration
	// Attempts is how many rounds over Servers a query makes before it
	// fails (so at most Attempts×len(Servers) exchanges); default 2.
	Attempts int
	// Logger receives debug lines, one per query; nil discards them.
	Logger *slog.Logger
}

// Client implements Resolver with miekg/dns against explicit servers. It
// is safe for concurrent use.
type Client struct {
	servers  []string
	timeout  time.Duration
	attempts int
	log      *slog.Logger
	udp, tcp *dns.Client
}

var _ Resolver = (*Client)(nil)

// New returns a Client for opts, filling in defaults.
func New(opts Options) (*Client, error) {
	c := &Client{timeout: opts.Timeout, attempts: opts.Attempts, log: opts.Logger}
	servers := opts.Servers
	if len(servers) == 0 {
		if cc, err := dns.ClientConfigFromFile(resolvConf); err == nil {
			for _, s := range cc.Servers {
				servers = append(servers, net.JoinHostPort(s, cc.Port))
			}
		}
	}
	if len(servers) == 0 {
		servers = []string{fallback}
	}
	for _, s := range servers {
		s = strings.TrimSpace(s)
		if ip := net.ParseIP(strings.Trim(s, "[]")); ip != nil {
			s = net.JoinHostPort(ip.String(), "53")
		}
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("dnsx: server %q: %w", s, err)
		}
		c.servers = append(c.servers, s)
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.attempts <= 0 {
		c.attempts = DefaultAttempts
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.udp = &dns.Client{Net: "udp", Timeout: c.timeout, UDPSize: ednsBufSize}
	c.tcp = &dns.Client{Net: "tcp", Timeout: c.timeout}
	return c, nil
}

// Servers returns the "host:port" of the servers the Client asks, in order.
func (c *Client) Servers() []string { return append([]string(nil), c.servers...) }

// Fqdn returns name absolute (with the trailing dot of RFC 1035 §3.1) and
// with ASCII letters lowercased (only they compare case-insensitively, RFC
// 4343 §3; other octets are left alone); surrounding spaces are dropped.
// It does no IDNA conversion.
func Fqdn(name string) string {
	b := []byte(strings.TrimSpace(name))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return dns.Fqdn(string(b))
}

// sameName reports whether two names are equal in DNS terms: ASCII case
// folded, trailing dot ignored (RFC 4343 §3).
func sameName(a, b string) bool { return Fqdn(a) == Fqdn(b) }
