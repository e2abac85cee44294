// Command e2e is sesame's end-to-end load test. It builds and starts a real
// `sesame serve` on loopback, verifies a domain through a small DNS server
// of its own (sesame's --resolver), sends N messages from C concurrent
// senders through the SESv2 API (and, with -smtp, through SMTP submission
// with STARTTLS and AUTH), lets sesame DKIM-sign (RSA-2048), queue durably
// and deliver them over SMTP to a loopback sink (--transport), and reports
// messages per second from the first send to the last arrival, CPU per
// 1,000 messages and acceptance latency. A sample of what arrived is
// checked to carry a valid DKIM signature.
//
// With -anchor it first measures the alternative in the same invocation:
// Postfix with OpenDKIM as a milter (RSA-2048, relaxed/relaxed), loaded by
// Postfix's smtp-source, relaying to the same sink; every sesame figure
// is then also given as a ratio to it. bench/run runs it that way.
//
// With -postgres (the default when PostgreSQL is installed) it also runs
// one and two nodes on a throw-away PostgreSQL cluster (fsync on).
//
//	go run ./bench/e2e -n 5000 -size 4000 -conc 32
//	bench/run --n 20000 --size 4000 --conc 50
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/apiclient"
	"github.com/sesame-email/sesame/internal/credfile"
	"github.com/sesame-email/sesame/internal/dkim"
	"github.com/sesame-email/sesame/internal/pgtest"
	"github.com/sesame-email/sesame/internal/sigv4"
)

type options struct {
	n, size, conc int
	keep          bool
	out           string
	postgres      bool
	rate          float64
	openssl       string // auto, on, off
	anchor        bool
	smtp          bool
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 2000, "messages to send")
	flag.IntVar(&o.size, "size", 4000, "approximate message size in bytes")
	flag.IntVar(&o.conc, "conc", 32, "concurrent senders (API clients or SMTP sessions)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary data dir")
	flag.StringVar(&o.out, "json", "", "also write the results as JSON to this file")
	flag.BoolVar(&o.postgres, "postgres", pgtest.BinDir() != "", "also run on PostgreSQL with one and two nodes (needs PostgreSQL installed)")
	flag.Float64Var(&o.rate, "rate", 0, "send at this many messages per second in all (open loop; 0 = as fast as the senders go), to measure latency below saturation")
	flag.StringVar(&o.openssl, "openssl", "off", "also measure sesame built with -tags openssl (DKIM RSA through libcrypto): on, off, or auto (when libssl-dev is installed)")
	flag.BoolVar(&o.anchor, "anchor", false, "first measure Postfix + OpenDKIM the same way (needs root; installs postfix and opendkim when missing)")
	flag.BoolVar(&o.smtp, "smtp", false, "also load sesame through SMTP submission (STARTTLS + AUTH PLAIN)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

// sink counts messages delivered to it and keeps the first one.
type sink struct {
	count atomic.Int64
	last  atomic.Int64 // unix nanos of the last arrival
	mu    sync.Mutex
	first []byte
}

func (s *sink) reset() {
	s.count.Store(0)
	s.last.Store(0)
	s.mu.Lock()
	s.first = nil
	s.mu.Unlock()
}

func (s *sink) sample() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct{ s *sink }

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	ss.s.mu.Lock()
	keep := ss.s.first == nil
	ss.s.mu.Unlock()
	if keep {
		b, _ := io.ReadAll(r)
		ss.s.mu.Lock()
		ss.s.first = b
		ss.s.mu.Unlock()
	} else {
		io.Copy(io.Discard, r)
	}
	ss.s.count.Add(1)
	ss.s.last.Store(time.Now().UnixNano())
	return nil
}
func (ss *sinkSession) Reset()        {}
func (ss *sinkSession) Logout() error { return nil }

// zone is a tiny authoritative DNS server for the customer's records:
// CNAMEs (Easy DKIM) and TXT (the anchor's key).
type zone struct {
	mu     sync.Mutex
	cname  map[string]string
	txt    map[string]string
	sesame string // the DNS address of the sesame node being measured
}

func (z *zone) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	z.mu.Lock()
	target, isCNAME := z.cname[name]
	txt, isTXT := z.txt[name]
	z.mu.Unlock()
	switch {
	case isCNAME && (q.Qtype == dns.TypeCNAME || q.Qtype == dns.TypeTXT):
		m.Answer = []dns.RR{&dns.CNAME{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: target}}
	case isTXT && q.Qtype == dns.TypeTXT:
		var parts []string
		for len(txt) > 255 {
			parts, txt = append(parts, txt[:255]), txt[255:]
		}
		m.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: append(parts, txt)}}
	case !isCNAME && !isTXT:
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
}

// lookupTXT resolves a DKIM key as a receiver would: the zone's own TXT,
// or its CNAME followed to sesame's DNS server.
func (z *zone) lookupTXT(ctx context.Context, name string) ([]string, error) {
	fq := dns.Fqdn(strings.ToLower(name))
	z.mu.Lock()
	txt, isTXT := z.txt[fq]
	target, isCNAME := z.cname[fq]
	server := z.sesame
	z.mu.Unlock()
	if isTXT {
		return []string{txt}, nil
	}
	if !isCNAME {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	m := new(dns.Msg)
	m.SetQuestion(target, dns.TypeTXT)
	in, err := dns.ExchangeContext(ctx, m, server)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, nil
}

// verifySample reports whether raw carries a valid DKIM signature by domain.
func (z *zone) verifySample(raw []byte, domain string) bool {
	if raw == nil {
		return false
	}
	vs, err := dkim.Verify(context.Background(), raw, z.lookupTXT)
	if err != nil {
		return false
	}
	for _, v := range vs {
		if v.Err == nil && v.Domain == domain {
			return true
		}
	}
	return false
}

func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // clock ticks (USER_HZ = 100 on Linux)
}

// setup is one measured configuration.
type setup struct {
	name  string
	bin   string
	store string // "" = SQLite
	nodes int
	smtp  bool // load through SMTP submission instead of the API
}

func run(o options) error {
	dir, err := os.MkdirTemp("", "sesame-e2e-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	build := func(name string, tags ...string) (string, error) {
		bin := filepath.Join(dir, name)
		args := []string{"build", "-o", bin}
		if len(tags) > 0 {
			args = append(args, "-tags", strings.Join(tags, ","))
		}
		if out, err := exec.Command("go", append(args, "./cmd/sesame")...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %v (run from the repository root): %v\n%s", tags, err, out)
		}
		return bin, nil
	}
	pure, err := build("sesame")
	if err != nil {
		return err
	}
	var ssl string
	if o.openssl == "on" || (o.openssl == "auto" && fileExists("/usr/include/openssl/evp.h")) {
		if ssl, err = build("sesame-openssl", "openssl"); err != nil {
			return err
		}
	}
	// The customer's DNS, on loopback.
	z := &zone{cname: map[string]string{}, txt: map[string]string{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	dnsSrv := &dns.Server{PacketConn: pc, Handler: z}
	go dnsSrv.ActivateAndServe()
	defer dnsSrv.Shutdown()
	// One sink for every run.
	sk := &sink{}
	srv := smtp.NewServer(sk)
	srv.Domain = "sink.bench"
	srv.MaxRecipients = 100
	srv.MaxMessageBytes = 64 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	defer srv.Close()

	pace := "as fast as they go"
	if o.rate > 0 {
		pace = fmt.Sprintf("paced at %.0f msgs/s", o.rate)
	}
	fmt.Printf("end to end: %d messages of ~%d bytes, %d senders %s, RSA-2048 DKIM, durable queue, SMTP to a loopback sink\n", o.n, o.size, o.conc, pace)
	var results []map[string]any
	var base float64
	if o.anchor {
		res, err := anchor(filepath.Join(dir, "anchor"), ln.Addr().String(), sk, z, o.n, o.size, o.conc)
		if err != nil {
			return fmt.Errorf("anchor: %w", err)
		}
		base = res["end_to_end_msgs_per_s"].(float64)
		results = append(results, res)
	}
	setups := []setup{{name: "sesame, SQLite, v2 API, pure-Go RSA", bin: pure, nodes: 1}}
	if o.smtp {
		setups = append(setups, setup{name: "sesame, SQLite, SMTP submission, pure-Go RSA", bin: pure, nodes: 1, smtp: true})
	}
	if ssl != "" {
		setups = append(setups, setup{name: "sesame, SQLite, v2 API, OpenSSL RSA", bin: ssl, nodes: 1})
		if o.smtp {
			setups = append(setups, setup{name: "sesame, SQLite, SMTP submission, OpenSSL RSA", bin: ssl, nodes: 1, smtp: true})
		}
	}
	if o.postgres {
		cluster := &pgtest.Cluster{Durable: true}
		defer cluster.Close()
		for _, nodes := range []int{1, 2} {
			url, drop, err := cluster.NewDatabase()
			if err != nil {
				return fmt.Errorf("postgres (-postgres=false skips it): %w", err)
			}
			defer drop()
			setups = append(setups, setup{name: fmt.Sprintf("sesame, PostgreSQL, %d node%s, v2 API, pure-Go RSA", nodes, map[bool]string{true: "s"}[nodes > 1]),
				bin: pure, store: url, nodes: nodes})
		}
	}
	for k, su := range setups {
		sk.reset()
		res, err := measure(filepath.Join(dir, fmt.Sprintf("run%d", k)), pc.LocalAddr().String(), ln.Addr().String(), sk, z, su, o)
		if err != nil {
			return fmt.Errorf("%s: %w", su.name, err)
		}
		if base > 0 {
			res["ratio_to_anchor"] = res["end_to_end_msgs_per_s"].(float64) / base
		}
		results = append(results, res)
	}
	command := "go run ./bench/e2e " + strings.Join(os.Args[1:], " ")
	fmt.Printf("\n%-48s %10s %10s %9s %9s %8s %8s %6s\n", "", "msgs/s", "accepted", "CPU-s/1k", "(process)", "p50 ms", "p99 ms", "DKIM")
	for _, r := range results {
		fmt.Printf("%-48s %10.1f %10.1f %9.2f %9s %8s %8s %6v", r["setup"], r["end_to_end_msgs_per_s"], r["accept_msgs_per_s"],
			r["machine_cpu_s_per_1000"], opt(r, "cpu_s_per_1000_msgs", "%.2f"), opt(r, "accept_p50_ms", "%.1f"), opt(r, "accept_p99_ms", "%.1f"), r["dkim_sample_verified"])
		if v, ok := r["ratio_to_anchor"]; ok {
			fmt.Printf("   %.2f× Postfix", v)
		}
		fmt.Println()
	}
	fmt.Println("msgs/s: first send to last arrival at the sink; CPU-s/1k: the whole machine's CPU (load generator and sink included),")
	fmt.Println("(process): sesame's own; p50/p99: acceptance latency seen by the sender; DKIM: a delivered sample verifies.")
	fmt.Printf("command: %s\n", command)
	if o.out != "" {
		b, _ := json.MarshalIndent(map[string]any{"command": command, "n": o.n, "size": o.size, "concurrency": o.conc, "rate": o.rate,
			"date": time.Now().UTC().Format(time.RFC3339), "runs": results}, "", "  ")
		if err := os.WriteFile(o.out, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func opt(r map[string]any, k, f string) string {
	v, ok := r[k]
	if !ok {
		return "-"
	}
	return fmt.Sprintf(f, v)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func report(res map[string]any) {
	fmt.Printf("  %s: %.1f msgs/s end to end, %.1f accepted, %.2f machine CPU-s per 1000, DKIM sample %v\n", res["setup"],
		res["end_to_end_msgs_per_s"], res["accept_msgs_per_s"], res["machine_cpu_s_per_1000"], res["dkim_sample_verified"])
}

// startNode runs `sesame serve` on data and returns its process, API URL
// and SMTP submission address ("" unless smtp).
func startNode(bin, data, resolver, sinkAddr, store string, smtpPort, dnsPort int) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin, "serve")
	smtpAddr := "off"
	if smtpPort > 0 {
		smtpAddr = fmt.Sprintf("127.0.0.1:%d", smtpPort)
	}
	cmd.Env = append(os.Environ(), "SESAME_DATA_DIR="+data, "SESAME_HTTP_ADDR=127.0.0.1:0",
		"SESAME_SMTP_ADDR="+smtpAddr, "SESAME_SMTPS_ADDR=off", "SESAME_MX_ADDR=127.0.0.1:0", fmt.Sprintf("SESAME_DNS_ADDR=127.0.0.1:%d", dnsPort),
		"SESAME_RESOLVER="+resolver, "SESAME_TRANSPORT=*="+sinkAddr, "SESAME_LOG_LEVEL=warn", "SESAME_STORE="+store)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	go io.Copy(io.Discard, stderr)
	// "sesame serving" is logged at info; with log-level warn, find the
	// address in the AWS config file sesame writes instead.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m, err := credfile.ReadProfile(filepath.Join(data, "config"), "default"); err == nil && m["endpoint_url"] != "" {
			return cmd, m["endpoint_url"], nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, "", fmt.Errorf("sesame did not start")
}

// measure starts su's nodes, verifies bench.example, sends o.n messages and
// waits for them at the sink.
func measure(dir, resolver, sinkAddr string, sk *sink, z *zone, su setup, o options) (map[string]any, error) {
	ctx := context.Background()
	var cmds []*exec.Cmd
	var urls []string
	var smtpAddrs []string
	defer func() {
		for _, c := range cmds {
			c.Process.Signal(os.Interrupt)
			c.Wait()
		}
	}()
	for i := range su.nodes {
		data := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if i > 0 {
			// Every node shares the first node's master key.
			key, err := os.ReadFile(filepath.Join(dir, "node0", "master.key"))
			if err != nil {
				return nil, err
			}
			if err := os.MkdirAll(data, 0o700); err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(data, "master.key"), key, 0o600); err != nil {
				return nil, err
			}
		}
		dnsPort, err := freePort()
		if err != nil {
			return nil, err
		}
		smtpPort := 0
		if su.smtp {
			if smtpPort, err = freePort(); err != nil {
				return nil, err
			}
			smtpAddrs = append(smtpAddrs, fmt.Sprintf("127.0.0.1:%d", smtpPort))
		}
		cmd, url, err := startNode(su.bin, data, resolver, sinkAddr, su.store, smtpPort, dnsPort)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			z.mu.Lock()
			z.sesame = fmt.Sprintf("127.0.0.1:%d", dnsPort)
			z.mu.Unlock()
		}
		cmds, urls = append(cmds, cmd), append(urls, url)
	}
	creds, err := credfile.Read(filepath.Join(dir, "node0", "credentials"), "default")
	if err != nil {
		return nil, err
	}
	clients := make([]*sesv2.Client, len(urls))
	for i, url := range urls {
		clients[i] = sesv2.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, "")})
	}
	id, err := clients[0].CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("bench.example")})
	if err != nil {
		return nil, err
	}
	z.mu.Lock()
	for _, tok := range id.DkimAttributes.Tokens {
		z.cname[tok+"._domainkey.bench.example."] = tok + ".dkim.sesame.localhost."
	}
	z.mu.Unlock()
	adm := &apiclient.Client{Endpoint: urls[0], AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, Region: "us-east-1"}
	if v, err := adm.VerifyIdentity(ctx, "bench.example"); err != nil || v.VerificationStatus != "SUCCESS" {
		return nil, fmt.Errorf("verify bench.example: %+v %v", v, err)
	}

	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n", max(1, o.size/74))
	cpu := func() float64 {
		var t float64
		for _, c := range cmds {
			t += cpuSeconds(c.Process.Pid)
		}
		return t
	}
	var send func(w, i int) error
	if su.smtp {
		pool, err := newSMTPPool(smtpAddrs, creds, o.conc)
		if err != nil {
			return nil, err
		}
		defer pool.close()
		send = func(w, i int) error {
			raw := fmt.Sprintf("From: news@bench.example\r\nTo: user%d@dest%d.example\r\nSubject: benchmark %d\r\nMIME-Version: 1.0\r\n"+
				"Content-Type: text/plain; charset=utf-8\r\n\r\n%s", i, i%50, i, strings.ReplaceAll(body, "\n", "\r\n"))
			return pool.send(w, "news@bench.example", fmt.Sprintf("user%d@dest%d.example", i, i%50), raw)
		}
	} else {
		send = func(w, i int) error {
			_, err := clients[w%len(clients)].SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("news@bench.example"),
				Destination: &types.Destination{ToAddresses: []string{fmt.Sprintf("user%d@dest%d.example", i, i%50)}},
				Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("benchmark " + strconv.Itoa(i))},
					Body: &types.Body{Text: &types.Content{Data: aws.String(body)}}}}})
			return err
		}
	}
	cpu0, mcpu0 := cpu(), machineCPU()
	start := time.Now()
	var next atomic.Int64
	var failed atomic.Int64
	lat := make([]time.Duration, o.n)
	var wg sync.WaitGroup
	for w := range o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= o.n {
					return
				}
				if o.rate > 0 {
					time.Sleep(time.Until(start.Add(time.Duration(float64(i) / o.rate * float64(time.Second)))))
				}
				t0 := time.Now()
				err := send(w, i)
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	accepted := time.Since(start)
	want := int64(o.n) - failed.Load()
	for sk.count.Load() < want && time.Since(start) < 10*time.Minute {
		time.Sleep(20 * time.Millisecond)
	}
	total := time.Unix(0, sk.last.Load()).Sub(start)
	used, mused := cpu()-cpu0, machineCPU()-mcpu0
	p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
	res := map[string]any{
		"setup": su.name, "nodes": su.nodes, "failed": failed.Load(), "delivered": sk.count.Load(),
		"accept_msgs_per_s":      float64(o.n) / accepted.Seconds(),
		"end_to_end_msgs_per_s":  float64(sk.count.Load()) / total.Seconds(),
		"cpu_s_per_1000_msgs":    used / float64(o.n) * 1000,
		"machine_cpu_s_per_1000": mused / float64(o.n) * 1000,
		"accept_p50_ms":          float64(p50.Microseconds()) / 1000, "accept_p99_ms": float64(p99.Microseconds()) / 1000,
		"dkim_sample_verified": z.verifySample(sk.sample(), "bench.example"),
	}
	report(res)
	if sk.count.Load() < want {
		return res, fmt.Errorf("only %d of %d messages arrived", sk.count.Load(), want)
	}
	if failed.Load() > 0 {
		return res, fmt.Errorf("%d sends failed", failed.Load())
	}
	return res, nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[int(p*float64(len(s)-1))]
}

// smtpPool is one authenticated SMTP submission session per sender, each
// reused for every message it sends (as smtp-source -d does).
type smtpPool struct {
	clients []*smtp.Client
}

func newSMTPPool(addrs []string, creds credfile.Credentials, n int) (*smtpPool, error) {
	p := &smtpPool{}
	pw := sigv4.SMTPPassword(creds.SecretAccessKey, "us-east-1")
	for i := range n {
		c, err := smtp.DialStartTLS(addrs[i%len(addrs)], &tls.Config{InsecureSkipVerify: true}) // sesame's self-signed certificate
		if err != nil {
			p.close()
			return nil, err
		}
		if err := c.Auth(sasl.NewPlainClient("", creds.AccessKeyID, pw)); err != nil {
			c.Close()
			p.close()
			return nil, fmt.Errorf("AUTH: %w", err)
		}
		p.clients = append(p.clients, c)
	}
	return p, nil
}

func (p *smtpPool) send(w int, from, to, raw string) error {
	c := p.clients[w]
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	wc, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(wc, raw); err != nil {
		return err
	}
	return wc.Close()
}

func (p *smtpPool) close() {
	for _, c := range p.clients {
		c.Quit()
	}
}
