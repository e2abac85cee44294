// Package config turns flags, SESAME_* environment variables and an optional
// sesame.toml into one validated Config. Precedence is flag > environment >
// file > default. Every option has one name used in all three places: the
// flag --http-addr, the variable SESAME_HTTP_ADDR and the TOML key http-addr.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/pflag"
)

// Config is sesame's whole configuration.
type Config struct {
	DataDir         string        // data dir: SQLite database, spool, keys, TLS cert
	Store           string        // "" for SQLite in the data dir, or a postgres:// URL
	HTTPAddr        string        // SES API, console, /healthz, /metrics
	SMTPAddr        string        // SMTP submission with STARTTLS
	SMTPSAddr       string        // SMTP submission with implicit TLS
	MXAddr          string        // MX: bounces, complaints, inbound mail
	DNSAddr         string        // authoritative DNS for Domain (UDP and TCP)
	Domain          string        // service domain
	Regions         []string      // regions served
	Resolver        string        // "host:port" of the resolver for customers' DNS; "" = system's
	TLSCert         string        // PEM certificate; "" = self-signed in the data dir
	TLSKey          string        // PEM key for TLSCert
	PublicIPs       []string      // addresses published in A/AAAA and SPF records
	Relay           string        // smart host "host:port"; "" = deliver directly
	RelayUser       string        // AUTH user for Relay
	RelayPassword   string        // AUTH password for Relay
	Transports      []string      // "domain=host:port" pins; "*" for every domain
	Dev             bool          // capture outgoing mail instead of delivering it
	MaxQueueAge     time.Duration // bounce a message still undelivered after this
	Retention       time.Duration // keep finished messages this long
	DeliveryLease   time.Duration // how long a node holds claimed recipients before others may retry them
	Hostname        string        // name used in SMTP greetings and EHLO
	DestinationRate float64       // messages per second to one destination domain (0 = default 50, negative = no cap)
	PublicURL       string        // base URL subscribers reach sesame at (SubscribeURL, SigningCertURL); "" = http://<http-addr>
	LogLevel        string        // debug, info, warn, error
}

// Default returns the configuration `sesame serve` runs with when nothing is
// set (PRODUCT.md, "Defaults").
func Default() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	return Config{
		DataDir:     "./sesame-data",
		HTTPAddr:    "127.0.0.1:8080",
		SMTPAddr:    "127.0.0.1:2587",
		SMTPSAddr:   "127.0.0.1:2465",
		MXAddr:      "127.0.0.1:2525",
		DNSAddr:     "127.0.0.1:5353",
		Domain:      "sesame.localhost",
		Regions:     []string{"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"},
		MaxQueueAge: 14 * time.Hour,
		Retention:   14 * 24 * time.Hour,
		// DeliveryLease matches mta.Lease.
		DeliveryLease: 15 * time.Minute,
		Hostname:      host,
		LogLevel:      "info",
	}
}

type kind int

const (
	kString kind = iota
	kList        // comma-separated in one value
	kRepeat      // repeatable flag; comma-separated in env; array in TOML
	kBool
	kDuration
	kFloat
)

type option struct {
	name string
	kind kind
	help string
	str  func(*Config) *string
	list func(*Config) *[]string
	b    func(*Config) *bool
	d    func(*Config) *time.Duration
	f    func(*Config) *float64
}

// options is the table of every option; it is never modified.
func options() []option {
	s := func(name, help string, f func(*Config) *string) option {
		return option{name: name, kind: kString, help: help, str: f}
	}
	return []option{
		s("data-dir", "data directory (SQLite database, spool, keys, TLS certificate)", func(c *Config) *string { return &c.DataDir }),
		s("store", "store: empty for SQLite in the data dir, or postgres://…", func(c *Config) *string { return &c.Store }),
		s("http-addr", "HTTP listener: SES API, console, /healthz, /metrics", func(c *Config) *string { return &c.HTTPAddr }),
		s("smtp-addr", "SMTP submission listener (STARTTLS)", func(c *Config) *string { return &c.SMTPAddr }),
		s("smtps-addr", "SMTP submission listener (implicit TLS)", func(c *Config) *string { return &c.SMTPSAddr }),
		s("mx-addr", "MX listener: bounces, complaints, inbound mail", func(c *Config) *string { return &c.MXAddr }),
		s("dns-addr", "authoritative DNS listener for the service domain (UDP and TCP)", func(c *Config) *string { return &c.DNSAddr }),
		s("domain", "service domain", func(c *Config) *string { return &c.Domain }),
		{name: "regions", kind: kList, help: "comma-separated regions served", list: func(c *Config) *[]string { return &c.Regions }},
		s("resolver", "resolver host:port for customers' DNS and MX lookups (default: the system's)", func(c *Config) *string { return &c.Resolver }),
		s("tls-cert", "TLS certificate PEM file (default: self-signed, made on first start)", func(c *Config) *string { return &c.TLSCert }),
		s("tls-key", "TLS key PEM file", func(c *Config) *string { return &c.TLSKey }),
		{name: "public-ip", kind: kRepeat, help: "public address for A/AAAA and SPF records (repeatable; default: the listen addresses)", list: func(c *Config) *[]string { return &c.PublicIPs }},
		s("relay", "smart host host:port that receives all outgoing mail", func(c *Config) *string { return &c.Relay }),
		s("relay-user", "AUTH user name for --relay", func(c *Config) *string { return &c.RelayUser }),
		s("relay-password", "AUTH password for --relay", func(c *Config) *string { return &c.RelayPassword }),
		{name: "transport", kind: kRepeat, help: "domain=host:port to pin a destination (repeatable; * for every domain)", list: func(c *Config) *[]string { return &c.Transports }},
		{name: "dev", kind: kBool, help: "capture outgoing mail instead of delivering it", b: func(c *Config) *bool { return &c.Dev }},
		{name: "retention", kind: kDuration, help: "how long finished messages (all recipients delivered, bounced or expired) are kept; bounces can be matched to them for as long", d: func(c *Config) *time.Duration { return &c.Retention }},
		{name: "max-queue-age", kind: kDuration, help: "bounce messages still undelivered after this long", d: func(c *Config) *time.Duration { return &c.MaxQueueAge }},
		{name: "destination-rate", kind: kFloat, help: "messages per second to one destination domain's MX hosts (0 = 50; negative = no cap; --relay and --transport pins are never capped)", f: func(c *Config) *float64 { return &c.DestinationRate }},
		{name: "delivery-lease", kind: kDuration, help: "how long a node holds the recipients it claims for delivery; if it dies, another node retries them after this", d: func(c *Config) *time.Duration { return &c.DeliveryLease }},
		s("hostname", "host name in SMTP greetings and EHLO", func(c *Config) *string { return &c.Hostname }),
		s("public-url", "base URL webhook subscribers reach sesame at (default: http://<http-addr>)", func(c *Config) *string { return &c.PublicURL }),
		s("log-level", "log level: debug, info, warn, error", func(c *Config) *string { return &c.LogLevel }),
	}
}

// EnvName returns the environment variable for an option name.
func EnvName(option string) string {
	return "SESAME_" + strings.ToUpper(strings.ReplaceAll(option, "-", "_"))
}

// Register adds every option as a flag on fs, plus --config.
func Register(fs *pflag.FlagSet) {
	def := Default()
	fs.String("config", "", "optional sesame.toml (env SESAME_CONFIG)")
	for _, o := range options() {
		help := o.help + " (env " + EnvName(o.name) + ")"
		switch o.kind {
		case kString:
			fs.String(o.name, *o.str(&def), help)
		case kList:
			fs.String(o.name, strings.Join(*o.list(&def), ","), help)
		case kRepeat:
			fs.StringArray(o.name, *o.list(&def), help)
		case kBool:
			fs.Bool(o.name, *o.b(&def), help)
		case kDuration:
			fs.Duration(o.name, *o.d(&def), help)
		case kFloat:
			fs.Float64(o.name, *o.f(&def), help)
		}
	}
}

// Load builds the Config from fs (registered with Register and parsed),
// getenv (os.LookupEnv in production) and the TOML file named by --config or
// SESAME_CONFIG, then validates it.
func Load(fs *pflag.FlagSet, getenv func(string) (string, bool)) (Config, error) {
	c := Default()
	path, _ := fs.GetString("config")
	if f := fs.Lookup("config"); f == nil || !f.Changed {
		if v, ok := getenv("SESAME_CONFIG"); ok {
			path = v
		}
	}
	if path != "" {
		if err := applyFile(&c, path); err != nil {
			return Config{}, err
		}
	}
	for _, o := range options() {
		if v, ok := getenv(EnvName(o.name)); ok {
			if err := o.set(&c, splitEnv(o, v)); err != nil {
				return Config{}, fmt.Errorf("config: %s: %w", EnvName(o.name), err)
			}
		}
		f := fs.Lookup(o.name)
		if f == nil || !f.Changed {
			continue
		}
		var vals []string
		if o.kind == kRepeat {
			vals, _ = fs.GetStringArray(o.name)
		} else {
			vals = []string{f.Value.String()}
		}
		if err := o.set(&c, vals); err != nil {
			return Config{}, fmt.Errorf("config: --%s: %w", o.name, err)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func splitEnv(o option, v string) []string {
	if o.kind == kRepeat {
		return splitList(v)
	}
	return []string{v}
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (o option) set(c *Config, vals []string) error {
	one := ""
	if len(vals) > 0 {
		one = vals[len(vals)-1]
	}
	switch o.kind {
	case kString:
		*o.str(c) = one
	case kList:
		*o.list(c) = splitList(one)
	case kRepeat:
		*o.list(c) = slices.Clone(vals)
	case kBool:
		b, err := strconv.ParseBool(one)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", one)
		}
		*o.b(c) = b
	case kDuration:
		d, err := time.ParseDuration(one)
		if err != nil {
			return fmt.Errorf("not a duration: %q", one)
		}
		*o.d(c) = d
	case kFloat:
		f, err := strconv.ParseFloat(one, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", one)
		}
		*o.f(c) = f
	}
	return nil
}

func applyFile(c *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	known := map[string]option{}
	for _, o := range options() {
		known[o.name] = o
	}
	for k, v := range m {
		o, ok := known[k]
		if !ok {
			return fmt.Errorf("config: %s: unknown key %q", path, k)
		}
		var vals []string
		switch x := v.(type) {
		case string:
			vals = []string{x}
			if o.kind == kRepeat {
				vals = splitList(x)
			}
		case bool:
			vals = []string{strconv.FormatBool(x)}
		case int64:
			vals = []string{strconv.FormatInt(x, 10)}
		case float64:
			vals = []string{strconv.FormatFloat(x, 'f', -1, 64)}
		case []any:
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("config: %s: key %q: list items must be strings", path, k)
				}
				vals = append(vals, s)
			}
			if o.kind == kList {
				vals = []string{strings.Join(vals, ",")}
			}
		default:
			return fmt.Errorf("config: %s: key %q: unsupported value %v", path, k, v)
		}
		if err := o.set(c, vals); err != nil {
			return fmt.Errorf("config: %s: key %q: %w", path, k, err)
		}
	}
	return nil
}

var (
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	labelRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Validate checks c and reports every problem it finds.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("config: "+format, args...)) }
	if c.DataDir == "" {
		bad("data-dir is empty")
	}
	if c.Store != "" && c.Store != "sqlite" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		bad("store %q: want empty, sqlite or a postgres:// URL", c.Store)
	}
	for name, addr := range map[string]string{"http-addr": c.HTTPAddr, "smtp-addr": c.SMTPAddr, "smtps-addr": c.SMTPSAddr, "mx-addr": c.MXAddr, "dns-addr": c.DNSAddr} {
		if addr == "" || addr == "off" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("%s %q: %v", name, addr, err)
		}
	}
	if c.Resolver != "" {
		if _, _, err := net.SplitHostPort(c.Resolver); err != nil {
			bad("resolver %q: want host:port", c.Resolver)
		}
	}
	d := strings.TrimSuffix(strings.ToLower(c.Domain), ".")
	labels := strings.Split(d, ".")
	if len(d) == 0 || len(d) > 253 || len(labels) < 2 {
		bad("domain %q: want a domain name with at least two labels", c.Domain)
	} else {
		for _, l := range labels {
			if !labelRE.MatchString(l) {
				bad("domain %q: bad label %q", c.Domain, l)
				break
			}
		}
	}
	if len(c.Regions) == 0 {
		bad("regions: none")
	}
	seen := map[string]bool{}
	for _, r := range c.Regions {
		if !regionRE.MatchString(r) {
			bad("region %q: want a name like us-east-1", r)
		}
		if seen[r] {
			bad("region %q listed twice", r)
		}
		seen[r] = true
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls-cert and tls-key go together")
	}
	for _, ip := range c.PublicIPs {
		if net.ParseIP(ip) == nil {
			bad("public-ip %q: not an IP address", ip)
		}
	}
	if c.Relay != "" {
		if _, _, err := net.SplitHostPort(c.Relay); err != nil {
			bad("relay %q: want host:port", c.Relay)
		}
	}
	if c.RelayUser != "" && c.Relay == "" {
		bad("relay-user without relay")
	}
	for _, t := range c.Transports {
		dom, hp, ok := strings.Cut(t, "=")
		if !ok || dom == "" {
			bad("transport %q: want domain=host:port", t)
			continue
		}
		if _, _, err := net.SplitHostPort(hp); err != nil {
			bad("transport %q: want domain=host:port", t)
		}
	}
	if c.MaxQueueAge <= 0 {
		bad("max-queue-age must be positive")
	}
	if c.Retention < time.Hour {
		bad("retention must be at least 1h")
	}
	if c.DeliveryLease < time.Second {
		bad("delivery-lease must be at least 1s")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	return errors.Join(errs...)
}

// DomainName returns the service domain, lowercase, without a trailing dot.
func (c Config) DomainName() string { return strings.TrimSuffix(strings.ToLower(c.Domain), ".") }

// HasRegion reports whether r is one of the configured regions.
func (c Config) HasRegion(r string) bool { return slices.Contains(c.Regions, r) }
