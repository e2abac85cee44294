// Package testenv starts a whole sesame in-process for tests: a temp data
// dir, every listener on an ephemeral loopback port, and real aws-sdk-go-v2
// clients (sesv2, ses, ec2) signing with the server's own first-start key.
// Tests of every later feature go through it, so they exercise the same
// listeners, routing and authentication a user's AWS CLI does.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sesv2types "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sesame-email/sesame/internal/apiclient"
	"github.com/sesame-email/sesame/internal/app"
	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/credfile"
	"github.com/sesame-email/sesame/internal/dnstest"
)

// Options change how the environment starts.
type Options struct {
	// Config edits the configuration before start (regions, domain, …).
	Config func(*config.Config)
	// Clock replaces the system clock (a *clock.Fake for time travel).
	Clock clock.Clock
	// AuthClock is what signatures are checked against; nil = Clock.
	AuthClock clock.Clock
	// DataDir reuses a data dir (for restart tests); "" = a new temp dir.
	DataDir string
	// CheckInterval runs the background verification engine this often;
	// 0 = once an hour, so tests drive checks explicitly.
	CheckInterval time.Duration
	// DNS reuses a customer DNS zone (for restart tests); nil = a new one.
	DNS *dnstest.Server
	// Store is the --store setting: "" for SQLite in the data dir, or a
	// postgres:// URL (see package pgtest for a throw-away database).
	Store string
}

// Env is a running sesame.
type Env struct {
	App     *app.App
	Config  config.Config
	URL     string // "http://127.0.0.1:port"
	DataDir string
	// Creds is the first-start admin key of account "default".
	Creds credfile.Credentials
	// FirstStartOutput is what sesame printed on first start (empty on reuse).
	FirstStartOutput string
	// Logs holds everything sesame logged.
	Logs *SyncBuffer
	// DNS is the customers' DNS: sesame's --resolver points at it, and it
	// forwards the service domain to sesame's own DNS server, as the
	// Internet's resolvers would.
	DNS *dnstest.Server

	stopFn func()
}

// SyncBuffer is a goroutine-safe bytes.Buffer for captured logs.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start runs sesame until the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	dir := opts.DataDir
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "sesame-data")
	}
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SMTPAddr = "127.0.0.1:0"
	cfg.SMTPSAddr = "127.0.0.1:0"
	cfg.MXAddr = "127.0.0.1:0"
	cfg.DNSAddr = "127.0.0.1:0"
	cfg.Hostname = "sesame.test"
	zone := opts.DNS
	if zone == nil {
		zone = dnstest.Start(t)
	}
	cfg.Resolver = zone.Addr()
	cfg.Store = opts.Store
	if opts.Config != nil {
		opts.Config(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	logs := &SyncBuffer{}
	var out bytes.Buffer
	ctx := context.Background()
	a, err := app.New(ctx, cfg, app.Options{
		Clock:     opts.Clock,
		AuthClock: opts.AuthClock,
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Out:       &out,
		CheckInterval: func() time.Duration {
			if opts.CheckInterval > 0 {
				return opts.CheckInterval
			}
			return time.Hour
		}(),
	})
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	e := &Env{App: a, Config: cfg, URL: "http://" + a.HTTPAddr(), DataDir: dir, FirstStartOutput: out.String(), Logs: logs, DNS: zone}
	zone.Forward(cfg.DomainName(), a.DNSAddr())
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			e.stop(t)
		}
		if t.Failed() && os.Getenv("SESAME_TEST_LOGS") != "" {
			t.Logf("sesame logs:\n%s", logs.String())
		}
	})
	e.stopFn = func() { stopped = true; e.stop(t) }
	creds, err := credfile.Read(filepath.Join(dir, app.CredentialsFile), "default")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	e.Creds = creds
	return e
}

// Stop shuts sesame down before the test ends (for restart tests).
func (e *Env) Stop() { e.stopFn() }

func (e *Env) stop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.App.Shutdown(ctx); err != nil {
		t.Errorf("testenv: shutdown: %v", err)
	}
}

// Region returns the first configured region.
func (e *Env) Region() string { return e.Config.Regions[0] }

// AWSConfig returns an SDK config for region signing with creds (the
// admin key when creds is nil). Retries are off: tests see every error.
func (e *Env) AWSConfig(region string, creds *credfile.Credentials) aws.Config {
	c := e.Creds
	if creds != nil {
		c = *creds
	}
	return aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
		BaseEndpoint:     aws.String(e.URL),
		RetryMaxAttempts: 1,
	}
}

// SESv2 returns a sesv2 client for region (the first region when "").
func (e *Env) SESv2(region string, creds *credfile.Credentials, optFns ...func(*sesv2.Options)) *sesv2.Client {
	if region == "" {
		region = e.Region()
	}
	return sesv2.NewFromConfig(e.AWSConfig(region, creds), optFns...)
}

// SES returns an SES v1 client.
func (e *Env) SES(region string, creds *credfile.Credentials, optFns ...func(*ses.Options)) *ses.Client {
	if region == "" {
		region = e.Region()
	}
	return ses.NewFromConfig(e.AWSConfig(region, creds), optFns...)
}

// EC2 returns an EC2 client (for DescribeRegions).
func (e *Env) EC2(region string, creds *credfile.Credentials, optFns ...func(*ec2.Options)) *ec2.Client {
	if region == "" {
		region = e.Region()
	}
	return ec2.NewFromConfig(e.AWSConfig(region, creds), optFns...)
}

// SNS returns an SNS client (topics and subscriptions for event
// destinations and identity notifications).
func (e *Env) SNS(region string, creds *credfile.Credentials, optFns ...func(*sns.Options)) *sns.Client {
	if region == "" {
		region = e.Region()
	}
	return sns.NewFromConfig(e.AWSConfig(region, creds), optFns...)
}

// Admin returns an admin-API client signing with creds (the admin key when nil).
func (e *Env) Admin(creds *credfile.Credentials) *apiclient.Client {
	c := e.Creds
	if creds != nil {
		c = *creds
	}
	return &apiclient.Client{Endpoint: e.URL, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Region: e.Region()}
}

// NewAccount creates an account with one (non-admin) key and returns the key.
func (e *Env) NewAccount(t testing.TB, name, mode string) credfile.Credentials {
	t.Helper()
	ctx := context.Background()
	adm := e.Admin(nil)
	if _, err := adm.CreateAccount(ctx, name, mode); err != nil {
		t.Fatalf("testenv: create account: %v", err)
	}
	k, err := adm.CreateKey(ctx, name, false, "test")
	if err != nil {
		t.Fatalf("testenv: create key: %v", err)
	}
	return credfile.Credentials{AccessKeyID: k.AccessKeyId, SecretAccessKey: k.SecretAccessKey, Region: e.Region()}
}

// VerifyDomain creates a domain identity in region with an RSA-1024 Easy
// DKIM key (fast to make), publishes its CNAMEs in the customer zone and
// checks it, so it is verified when VerifyDomain returns.
func (e *Env) VerifyDomain(t testing.TB, creds *credfile.Credentials, region, domain string) {
	t.Helper()
	e.VerifyDomainWithKey(t, creds, region, domain, sesv2types.DkimSigningKeyLengthRsa1024Bit)
}

// VerifyDomainWithKey is VerifyDomain with a chosen Easy DKIM key length
// (benchmarks sign with RSA-2048, as production does by default).
func (e *Env) VerifyDomainWithKey(t testing.TB, creds *credfile.Credentials, region, domain string, length sesv2types.DkimSigningKeyLength) {
	t.Helper()
	ctx := context.Background()
	if region == "" {
		region = e.Region()
	}
	out, err := e.SESv2(region, creds).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(domain),
		DkimSigningAttributes: &sesv2types.DkimSigningAttributes{NextSigningKeyLength: length}})
	if err != nil {
		t.Fatalf("testenv: create %s: %v", domain, err)
	}
	for _, tok := range out.DkimAttributes.Tokens {
		e.DNS.Add(fmt.Sprintf("%s._domainkey.%s. 300 IN CNAME %s.dkim.%s.", tok, domain, tok, e.Config.DomainName()))
	}
	c := e.Creds
	if creds != nil {
		c = *creds
	}
	who, err := e.Admin(&c).WhoAmI(ctx)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	id, err := e.App.Identities().CheckNow(ctx, who.Account.AccountId, region, domain)
	if err != nil || id.Verification.Status != "SUCCESS" {
		t.Fatalf("testenv: %s not verified: %v %v", domain, id.Verification, err)
	}
}
