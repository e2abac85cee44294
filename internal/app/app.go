// Package app is sesame's composition root: from a config.Config it opens
// the data dir and the store, builds every service, binds the listeners,
// and stops them all in order. Nothing else wires components together.
//
// Lifecycle: New (open and bootstrap, no sockets) → Start (bind and serve)
// → Shutdown (stop accepting, drain, close the store). Run does all three
// around a context that SIGINT/SIGTERM cancel.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sesame-email/sesame/internal/account"
	"github.com/sesame-email/sesame/internal/certs"
	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/configsets"
	"github.com/sesame-email/sesame/internal/console"
	"github.com/sesame-email/sesame/internal/credfile"
	"github.com/sesame-email/sesame/internal/dkim"
	"github.com/sesame-email/sesame/internal/dnsserver"
	"github.com/sesame-email/sesame/internal/dnsx"
	"github.com/sesame-email/sesame/internal/events"
	"github.com/sesame-email/sesame/internal/feedback"
	"github.com/sesame-email/sesame/internal/identity"
	"github.com/sesame-email/sesame/internal/inbound"
	"github.com/sesame-email/sesame/internal/mta"
	"github.com/sesame-email/sesame/internal/queue"
	"github.com/sesame-email/sesame/internal/sealer"
	"github.com/sesame-email/sesame/internal/sesapi"
	"github.com/sesame-email/sesame/internal/simulator"
	"github.com/sesame-email/sesame/internal/smtpd"
	"github.com/sesame-email/sesame/internal/sns"
	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/store/postgres"
	"github.com/sesame-email/sesame/internal/store/sqlite"
	"github.com/sesame-email/sesame/internal/submit"
	"github.com/sesame-email/sesame/internal/suppression"
	"github.com/sesame-email/sesame/internal/templates"
)

// Files in the data dir.
const (
	DBFile          = "sesame.db"
	MasterKeyFile   = "master.key"
	CredentialsFile = "credentials"
	AWSConfigFile   = "config"
)

// Options are the parts of an App that are not configuration: where time
// comes from, where logs and the first-start credentials go.
type Options struct {
	Clock clock.Clock // nil = the system clock
	// AuthClock is the time signatures are checked against; nil = Clock.
	// Tests that move Clock days ahead keep this one real, since the SDKs
	// sign with the real time.
	AuthClock clock.Clock
	Logger    *slog.Logger // nil = discard
	// Out receives the one-time first-start message with the new key's
	// secret; nil = os.Stdout.
	Out io.Writer
	// CheckInterval is how often the verification engine looks for due
	// identities; 0 = 2 s.
	CheckInterval time.Duration
}

// App is a running (or ready to run) sesame.
type App struct {
	cfg          config.Config
	clock        clock.Clock
	authClock    clock.Clock
	log          *slog.Logger
	out          io.Writer
	store        store.Store
	accounts     *account.Service
	identities   *identity.Service
	resolver     *dnsx.Client
	outbox       *outbox
	dns          *dnsserver.Server
	queue        *queue.Queue
	submit       *submit.Service
	suppression  *suppression.Service
	smtp         *smtpd.Submission
	mx           *smtpd.MX
	mxAddr       string
	configSets   *configsets.Service
	topics       *sns.Service
	deliverer    *sns.Deliverer
	signer       *sns.Signer
	events       *events.Service
	feedback     *feedback.Processor
	receiptRules *inbound.Service
	receiver     *inbound.Receiver
	smtpAddr     string
	smtpsAddr    string
	registry     *prometheus.Registry
	cancel       context.CancelFunc

	httpSrv *http.Server
	httpLn  net.Listener
	wg      sync.WaitGroup
	errc    chan error

	checkInterval time.Duration
}

// New opens the data dir and store and bootstraps the first account. It
// binds no socket.
func New(ctx context.Context, cfg config.Config, opts Options) (*App, error) {
	a := &App{cfg: cfg, clock: opts.Clock, log: opts.Logger, out: opts.Out, errc: make(chan error, 8), checkInterval: opts.CheckInterval}
	if a.checkInterval <= 0 {
		a.checkInterval = 2 * time.Second
	}
	if a.clock == nil {
		a.clock = clock.System{}
	}
	if a.authClock = opts.AuthClock; a.authClock == nil {
		a.authClock = a.clock
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.out == nil {
		a.out = os.Stdout
	}
	if err := makeDataDir(cfg.DataDir, a.log); err != nil {
		return nil, err
	}
	keyPath := filepath.Join(cfg.DataDir, MasterKeyFile)
	key, createdKey, err := sealer.LoadOrCreateKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	sl, err := sealer.New(key)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Store == "" || cfg.Store == "sqlite":
		a.store, err = sqlite.Open(ctx, filepath.Join(cfg.DataDir, DBFile))
	case strings.HasPrefix(cfg.Store, "postgres://") || strings.HasPrefix(cfg.Store, "postgresql://"):
		a.store, err = postgres.Open(ctx, cfg.Store)
	default:
		err = fmt.Errorf("app: store %q: want empty, sqlite or a postgres:// URL", cfg.Store)
	}
	if err != nil {
		return nil, err
	}
	a.accounts = account.New(a.store, sl, a.clock, a.log.With("svc", "account"))
	err = a.bootstrap(ctx)
	if err == nil {
		// Nodes sharing a PostgreSQL store must share master.key: a node
		// that made a fresh key for a store someone else sealed stops here
		// (and drops the useless key) rather than failing every request.
		err = a.accounts.CheckSealer(ctx)
	}
	if err != nil {
		if createdKey && errors.Is(err, account.ErrWrongMasterKey) {
			os.Remove(keyPath)
			err = fmt.Errorf("%w: this node made a new %s, but the store was set up by another node: copy that node's %s into %s (mode 0600)",
				err, MasterKeyFile, MasterKeyFile, cfg.DataDir)
		}
		a.store.Close()
		return nil, err
	}
	var servers []string
	if cfg.Resolver != "" {
		servers = []string{cfg.Resolver}
	}
	if a.resolver, err = dnsx.New(dnsx.Options{Servers: servers, Logger: a.log.With("svc", "dns-client")}); err != nil {
		a.store.Close()
		return nil, err
	}
	a.outbox = &outbox{log: a.log.With("svc", "outbox")}
	a.identities = identity.New(identity.Config{
		Store: a.store, Sealer: sl, Clock: a.clock, Logger: a.log.With("svc", "identity"),
		Resolver: a.resolver, ServiceDomain: cfg.DomainName(), Mailer: a.outbox,
		VerifyURL: func() string { return "http://" + a.HTTPAddr() + "/verify" },
	})
	a.queue = queue.New(a.store, queue.Options{Logger: a.log.With("svc", "queue")})
	a.outbox.clock, a.outbox.domain, a.outbox.accept = a.clock, cfg.DomainName(), a.queue.Accept
	a.suppression = suppression.New(a.store, a.clock)
	a.configSets = configsets.New(a.store, a.clock)
	signKey, certPEM, err := certs.LoadSigning(cfg.DataDir, cfg.DomainName())
	if err != nil {
		a.store.Close()
		return nil, err
	}
	a.signer = &sns.Signer{Key: signKey, CertPEM: certPEM}
	a.deliverer = sns.NewDeliverer(a.store, a.clock, a.log.With("svc", "webhooks"), nil)
	a.topics = sns.New(sns.Config{Store: a.store, Clock: a.clock, Signer: a.signer, BaseURL: a.publicURL, Wake: a.deliverer.Wake})
	a.events = events.New(events.Config{Store: a.store, ConfigSets: a.configSets, Identities: a.identities, Topics: a.topics,
		Clock: a.clock, Logger: a.log.With("svc", "events")})
	a.feedback = feedback.New(feedback.Config{Queue: a.store, Suppression: a.suppression, ConfigSets: a.configSets, Events: a.events,
		IsSimulator: a.isSimulator, Hostname: cfg.Hostname, Identities: a.identities, Enqueue: a.queue.Accept, ServiceDomain: cfg.DomainName(), MaxAge: cfg.MaxQueueAge,
		Clock: a.clock, Logger: a.log.With("svc", "feedback")})
	a.receiptRules = inbound.New(a.store, a.clock)
	a.receiver = inbound.NewReceiver(inbound.ReceiverConfig{Rules: a.receiptRules, Regions: cfg.Regions, Resolver: a.resolver,
		AccountIDs: func(ctx context.Context) ([]string, error) {
			accts, err := a.store.ListAccounts(ctx)
			out := make([]string, len(accts))
			for i, ac := range accts {
				out[i] = ac.ID
			}
			return out, err
		},
		Identity: func(ctx context.Context, accountID, region, name string) (store.Identity, bool, error) {
			id, err := a.store.GetIdentity(ctx, accountID, region, name)
			if errors.Is(err, store.ErrNotFound) {
				return store.Identity{}, false, nil
			}
			return id, err == nil, err
		},
		Fanout: a.topics.Fanout,
		Notify: func(ctx context.Context, notes []store.Notification) error {
			if err := a.store.AddEvents(ctx, nil, notes); err != nil {
				return err
			}
			a.topics.Wake()
			return nil
		},
		Enqueue: a.queue.Accept, DataDir: cfg.DataDir, Hostname: cfg.Hostname, Clock: a.clock, Logger: a.log.With("svc", "inbound")})
	a.submit = submit.New(submit.Config{Accounts: a.accounts, Identities: a.identities, Queue: a.queue, Suppression: a.suppression, Clock: a.clock,
		Logger: a.log.With("svc", "submit"), ServiceDomain: cfg.DomainName(), ConfigSets: a.configSets, Events: a.events})
	a.registry = prometheus.NewRegistry()
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return a, nil
}

// makeDataDir creates dir with mode 0700, or warns when an existing one is
// open to others.
func makeDataDir(dir string, log *slog.Logger) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("app: data dir: %w", err)
		}
		return os.Chmod(dir, 0o700)
	}
	if err != nil {
		return fmt.Errorf("app: data dir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("app: data dir %s is not a directory", dir)
	}
	if st.Mode().Perm()&0o077 != 0 {
		log.Warn("data dir is readable by others; chmod 700 it", "dir", dir, "mode", st.Mode().Perm().String())
	}
	return nil
}

// bootstrap creates the default account and its admin key on first start.
// The credentials file is written before the account is committed, and
// reused when it already exists, so a crash in between loses nothing.
func (a *App) bootstrap(ctx context.Context) error {
	need, err := a.accounts.NeedsBootstrap(ctx)
	if err != nil || !need {
		return err
	}
	path := filepath.Join(a.cfg.DataDir, CredentialsFile)
	creds, err := credfile.Read(path, "default")
	fresh := false
	if err != nil {
		if _, statErr := os.Stat(path); statErr == nil {
			return fmt.Errorf("app: %s exists but is unusable: %w", path, err)
		}
		c := account.NewCredentials()
		creds = credfile.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Region: a.cfg.Regions[0]}
		if err := credfile.Create(path, creds); err != nil {
			return err
		}
		fresh = true
	}
	if _, err := a.accounts.Bootstrap(ctx, account.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey}); err != nil {
		return err
	}
	if fresh {
		fmt.Fprintf(a.out, "sesame: created account \"default\" and its admin access key (shown once):\n"+
			"  aws_access_key_id     = %s\n  aws_secret_access_key = %s\n"+
			"saved to %s (mode 0600)\n", creds.AccessKeyID, creds.SecretAccessKey, path)
	} else {
		a.log.Warn("restored the first-start key from the credentials file", "path", path)
	}
	return nil
}

// Accounts returns the account service (for tests and the CLI's local commands).
func (a *App) Accounts() *account.Service { return a.accounts }

// Start binds every listener and starts serving.
func (a *App) Start(ctx context.Context) error {
	ctx, a.cancel = context.WithCancel(ctx)
	// DNS first: the console's DKIM check and --dev capture read sesame's
	// own zone through it.
	if a.cfg.DNSAddr != "" && a.cfg.DNSAddr != "off" {
		dnsSrv, err := dnsserver.New(dnsserver.Config{
			Domain: a.cfg.DomainName(), Regions: a.cfg.Regions, Keys: a.identities, Logger: a.log.With("svc", "dns"),
			PublicIPs: publicIPs(a.cfg.PublicIPs, a.cfg.MXAddr, a.cfg.SMTPAddr, a.cfg.HTTPAddr),
		})
		if err != nil {
			return err
		}
		if err := dnsSrv.Start(ctx, a.cfg.DNSAddr); err != nil {
			return fmt.Errorf("app: dns listener: %w", err)
		}
		a.dns = dnsSrv
	}
	lookup, err := a.receiverLookup()
	if err != nil {
		return err
	}
	tmpl := templates.New(a.store, a.clock)
	api := sesapi.New(sesapi.Config{
		Regions:       a.cfg.Regions,
		Accounts:      a.accounts,
		Identities:    a.identities,
		ServiceDomain: a.cfg.DomainName(),
		Submit:        a.submit,
		Templates:     tmpl,
		Suppression:   a.suppression,
		ConfigSets:    a.configSets,
		Inbound:       a.receiptRules,
		Received:      a.receiver,
		Events:        a.store,
		SNS:           a.topics,
		Queue:         a.queue,
		Clock:         a.authClock,
		Logger:        a.log.With("svc", "api"),
		Registerer:    a.registry,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /verify", a.verifyHandler)
	mux.Handle("GET /sns/", api.SNSPublic(a.signer.CertPEM))
	con, err := console.New(console.Config{
		Regions: a.cfg.Regions, Accounts: a.accounts, Identities: a.identities, Submit: a.submit, Queue: a.queue,
		Suppression: a.suppression, ConfigSets: a.configSets, Topics: a.topics, Events: a.store, Templates: tmpl, Received: a.receiver,
		Sessions: a.store, ServiceDomain: a.cfg.DomainName(), Dev: a.cfg.Dev,
		CheckDKIM:     func(ctx context.Context, msg []byte) string { return mta.DKIMResult(ctx, msg, lookup) },
		SecureCookies: strings.HasPrefix(a.cfg.PublicURL, "https://"),
		Clock:         a.clock, Logger: a.log.With("svc", "console"),
	})
	if err != nil {
		return err
	}
	con.Register(mux)
	mux.Handle("/", api)
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("app: http listener: %w", err)
	}
	a.httpLn = ln
	a.httpSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.errc <- fmt.Errorf("app: http: %w", err)
		}
	}()
	if err := a.startSubmission(); err != nil {
		return err
	}
	if err := a.startMX(); err != nil {
		return err
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.deliverer.Run(ctx)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.janitor(ctx)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.identities.Run(ctx, a.checkInterval)
	}()
	if a.cfg.Dev {
		a.startDevCapture(ctx, lookup)
	} else {
		a.startDelivery(ctx)
	}
	endpoint := "http://" + ln.Addr().String()
	if err := credfile.WriteConfig(filepath.Join(a.cfg.DataDir, AWSConfigFile), a.cfg.Regions[0], endpoint); err != nil {
		a.log.Warn("could not write the AWS config file", "err", err)
	}
	a.log.Info("sesame serving", "http", endpoint, "dns", a.DNSAddr(), "smtp", a.smtpAddr, "smtps", a.smtpsAddr, "data_dir", a.cfg.DataDir, "regions", a.cfg.Regions, "domain", a.cfg.Domain)
	return nil
}

// startDelivery runs the delivery worker: the mailbox simulator, then SMTP
// to MX hosts (or the relay, or pinned transports).
func (a *App) startDelivery(ctx context.Context) {
	pins := map[string]string{}
	for _, t := range a.cfg.Transports {
		d, hp, _ := strings.Cut(t, "=")
		pins[strings.ToLower(d)] = hp
	}
	smtpT := mta.NewSMTPTransport(mta.SMTPOptions{
		Hostname: a.cfg.Hostname, Resolver: a.resolver, Transports: pins,
		Relay: a.cfg.Relay, RelayUser: a.cfg.RelayUser, RelayPassword: a.cfg.RelayPassword,
		MaxAge: a.cfg.MaxQueueAge, Clock: a.clock, Logger: a.log.With("svc", "mta"),
	})
	sim := &mta.Simulator{Domains: simulator.Domains(a.cfg.DomainName()), Next: smtpT}
	w := mta.NewWorker(a.store, sim, a.clock, a.log.With("svc", "mta"), a.queue.Wake(),
		mta.WorkerOptions{Destination: smtpT.Destination, Reporter: a.feedback, Lease: a.cfg.DeliveryLease,
			DestinationRate: a.cfg.DestinationRate, Unlimited: smtpT.Pinned})
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		w.Run(ctx)
		smtpT.CloseIdle() // QUIT the kept sessions once deliveries are done
	}()
}

// startSubmission starts SMTP submission with STARTTLS and implicit TLS.
func (a *App) startSubmission() error {
	if off(a.cfg.SMTPAddr) && off(a.cfg.SMTPSAddr) {
		return nil
	}
	hosts := []string{a.cfg.Hostname}
	for _, ip := range publicIPs(a.cfg.PublicIPs, a.cfg.SMTPAddr, a.cfg.SMTPSAddr) {
		hosts = append(hosts, ip.String())
	}
	tlsCfg, err := certs.Load(a.cfg.TLSCert, a.cfg.TLSKey, a.cfg.DataDir, hosts)
	if err != nil {
		return err
	}
	a.smtp = smtpd.NewSubmission(smtpd.Config{Accounts: a.accounts, Submit: a.submit, Regions: a.cfg.Regions,
		Hostname: a.cfg.Hostname, TLS: tlsCfg, Logger: a.log.With("svc", "submission"),
		ConfigurationSetExists: func(ctx context.Context, accountID, region, name string) (bool, error) {
			_, err := a.configSets.Get(ctx, accountID, region, name)
			if errors.Is(err, configsets.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		}})
	if !off(a.cfg.SMTPAddr) {
		if a.smtpAddr, err = a.smtp.Listen(a.cfg.SMTPAddr, false); err != nil {
			return err
		}
	}
	if !off(a.cfg.SMTPSAddr) {
		if a.smtpsAddr, err = a.smtp.Listen(a.cfg.SMTPSAddr, true); err != nil {
			return err
		}
	}
	return nil
}

func off(addr string) bool { return addr == "" || addr == "off" }

// SMTPAddr returns the bound STARTTLS submission address.
func (a *App) SMTPAddr() string { return a.smtpAddr }

// SMTPSAddr returns the bound implicit-TLS submission address.
func (a *App) SMTPSAddr() string { return a.smtpsAddr }

// startDevCapture runs the --dev delivery worker: every message is
// captured with the result of verifying its own DKIM signature, its keys
// found through lookup (receiverLookup).
func (a *App) startDevCapture(ctx context.Context, lookup dkim.TXTLookup) {
	capture := &mta.Capture{Lookup: lookup}
	sim := &mta.Simulator{Domains: simulator.Domains(a.cfg.DomainName()), Next: capture}
	w := mta.NewWorker(a.store, sim, a.clock, a.log.With("svc", "mta"), a.queue.Wake(), mta.WorkerOptions{Reporter: a.feedback, Lease: a.cfg.DeliveryLease, DestinationRate: -1})
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		w.Run(ctx)
	}()
	a.log.Warn("dev mode: outgoing mail is captured, not delivered")
}

// receiverLookup resolves DKIM keys as a receiver would, through the
// customers' DNS; in --dev, where nobody publishes the CNAMEs, sesame's own
// Easy DKIM tokens are read from its own DNS server instead.
func (a *App) receiverLookup() (dkim.TXTLookup, error) {
	if !a.cfg.Dev || a.dns == nil {
		return a.resolver.LookupTXT, nil
	}
	own, err := dnsx.New(dnsx.Options{Servers: []string{a.dns.Addr()}, Timeout: 2 * time.Second, Attempts: 1})
	if err != nil {
		return nil, err
	}
	return mta.DevLookup(a.cfg.DomainName(), own.LookupTXT, a.resolver.LookupTXT), nil
}

// DNSAddr returns the bound DNS address ("" when DNS is off).
func (a *App) DNSAddr() string {
	if a.dns == nil {
		return ""
	}
	return a.dns.Addr()
}

// HTTPAddr returns the bound HTTP address (useful with port 0).
func (a *App) HTTPAddr() string { return a.httpLn.Addr().String() }

// Errors reports listeners that failed after Start.
func (a *App) Errors() <-chan error { return a.errc }

// Shutdown stops accepting, waits for in-flight requests (until ctx ends),
// and closes the store.
func (a *App) Shutdown(ctx context.Context) error {
	var errs []error
	if a.cancel != nil {
		a.cancel()
	}
	if a.dns != nil {
		if err := a.dns.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("app: dns shutdown: %w", err))
		}
	}
	if a.smtp != nil {
		if err := a.smtp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("app: smtp shutdown: %w", err))
		}
	}
	if a.mx != nil {
		if err := a.mx.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("app: mx shutdown: %w", err))
		}
	}
	if a.httpSrv != nil {
		if err := a.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("app: http shutdown: %w", err))
		}
	}
	a.wg.Wait()
	a.queue.Close() // after the listeners: in-flight sends finish first
	if err := a.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("app: close store: %w", err))
	}
	a.log.Info("sesame stopped")
	return errors.Join(errs...)
}

// Run starts sesame and serves until ctx is cancelled or a listener fails,
// then shuts down gracefully (30 s at most).
func Run(ctx context.Context, cfg config.Config, opts Options) error {
	a, err := New(ctx, cfg, opts)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		a.Shutdown(context.Background())
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-a.errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return errors.Join(runErr, a.Shutdown(sctx))
}
