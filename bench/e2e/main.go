// Command e2e is sesame's end-to-end load test: it builds and starts a
// real `sesame serve` on loopback, verifies a domain through a small DNS
// server of its own (sesame's --resolver), sends N messages through the
// SESv2 API from C concurrent senders, lets sesame DKIM-sign (RSA-2048),
// queue durably and deliver them over SMTP to a loopback sink (--transport),
// and reports messages per second from the first send to the last arrival,
// with sesame's CPU time.
//
// It runs three set-ups in one invocation: one node on SQLite, then one
// and two nodes on PostgreSQL (a throw-away cluster from the machine's
// PostgreSQL, fsync on, started by package pgtest; -postgres=false skips
// them). With two nodes the senders alternate between the nodes' APIs and
// both nodes deliver.
//
//	go run ./bench/e2e -n 5000 -size 4000 -conc 32
package main

import (
	"context"
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
	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/apiclient"
	"github.com/sesame-email/sesame/internal/credfile"
	"github.com/sesame-email/sesame/internal/pgtest"
)

func main() {
	n := flag.Int("n", 2000, "messages to send")
	size := flag.Int("size", 4000, "approximate message size in bytes")
	conc := flag.Int("conc", 32, "concurrent API senders")
	keep := flag.Bool("keep", false, "keep the temporary data dir")
	out := flag.String("json", "", "also write the results as JSON to this file")
	pg := flag.Bool("postgres", true, "also run on PostgreSQL with one and two nodes (needs PostgreSQL installed)")
	rate := flag.Float64("rate", 0, "send at this many messages per second in all (open loop; 0 = as fast as the senders go), to measure latency below saturation")
	openssl := flag.Bool("openssl", false, "build sesame with -tags openssl (DKIM RSA signing through libcrypto; needs libssl-dev)")
	flag.Parse()
	if err := run(*n, *size, *conc, *keep, *out, *pg, *rate, *openssl); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

// sink counts messages delivered to it.
type sink struct {
	count atomic.Int64
	last  atomic.Int64 // unix nanos of the last arrival
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct{ s *sink }

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	ss.s.count.Add(1)
	ss.s.last.Store(time.Now().UnixNano())
	return nil
}
func (ss *sinkSession) Reset()        {}
func (ss *sinkSession) Logout() error { return nil }

// zone is a tiny authoritative DNS server for the customer's records.
type zone struct {
	mu    sync.Mutex
	cname map[string]string
}

func (z *zone) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	q := r.Question[0]
	z.mu.Lock()
	target, ok := z.cname[strings.ToLower(q.Name)]
	z.mu.Unlock()
	if ok && (q.Qtype == dns.TypeCNAME || q.Qtype == dns.TypeTXT) {
		m.Answer = []dns.RR{&dns.CNAME{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: target}}
	} else if !ok {
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
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
	store string // "" = SQLite
	nodes int
}

func run(n, size, conc int, keep bool, outFile string, withPG bool, rate float64, openssl bool) error {
	dir, err := os.MkdirTemp("", "sesame-e2e-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	bin := filepath.Join(dir, "sesame")
	build := []string{"build", "-o", bin}
	if openssl {
		build = append(build, "-tags", "openssl")
	}
	if out, err := exec.Command("go", append(build, "./cmd/sesame")...).CombinedOutput(); err != nil {
		return fmt.Errorf("build (run from the repository root): %v\n%s", err, out)
	}
	// The customer's DNS, on loopback.
	z := &zone{cname: map[string]string{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	dnsSrv := &dns.Server{PacketConn: pc, Handler: z}
	go dnsSrv.ActivateAndServe()
	defer dnsSrv.Shutdown()

	setups := []setup{{name: "SQLite, 1 node", nodes: 1}}
	if withPG {
		cluster := &pgtest.Cluster{Durable: true}
		defer cluster.Close()
		for _, nodes := range []int{1, 2} {
			url, drop, err := cluster.NewDatabase()
			if err != nil {
				return fmt.Errorf("postgres (-postgres=false skips it): %w", err)
			}
			defer drop()
			setups = append(setups, setup{name: fmt.Sprintf("PostgreSQL, %d node%s", nodes, map[bool]string{true: "s"}[nodes > 1]), store: url, nodes: nodes})
		}
	}
	signing := "pure Go"
	if openssl {
		signing = "OpenSSL"
	}
	pace := "as fast as they go"
	if rate > 0 {
		pace = fmt.Sprintf("paced at %.0f msgs/s", rate)
	}
	fmt.Printf("sesame end to end: %d messages of ~%d bytes, %d senders %s, RSA-2048 DKIM (%s), durable queue, SMTP to a loopback sink\n", n, size, conc, pace, signing)
	var results []map[string]any
	for k, su := range setups {
		res, err := measure(filepath.Join(dir, fmt.Sprintf("run%d", k)), bin, pc.LocalAddr().String(), z, su, n, size, conc, rate)
		if err != nil {
			return fmt.Errorf("%s: %w", su.name, err)
		}
		results = append(results, res)
	}
	fmt.Printf("  command       %s\n", "go run ./bench/e2e "+strings.Join(os.Args[1:], " "))
	if outFile != "" {
		b, _ := json.MarshalIndent(map[string]any{"command": "go run ./bench/e2e " + strings.Join(os.Args[1:], " "), "n": n, "size": size,
			"concurrency": conc, "runs": results}, "", "  ")
		if err := os.WriteFile(outFile, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// startNode runs `sesame serve` on data and returns its process and API URL.
func startNode(bin, data, resolver, sinkAddr, store string) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "SESAME_DATA_DIR="+data, "SESAME_HTTP_ADDR=127.0.0.1:0",
		"SESAME_SMTP_ADDR=off", "SESAME_SMTPS_ADDR=off", "SESAME_MX_ADDR=127.0.0.1:0", "SESAME_DNS_ADDR=127.0.0.1:0",
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

// measure starts su's nodes and a fresh sink, verifies bench.example,
// sends n messages and waits for them at the sink.
func measure(dir, bin, resolver string, z *zone, su setup, n, size, conc int, rate float64) (map[string]any, error) {
	ctx := context.Background()
	sk := &sink{}
	srv := smtp.NewServer(sk)
	srv.Domain = "sink.bench"
	srv.MaxRecipients = 100
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go srv.Serve(ln)
	defer srv.Close()

	var cmds []*exec.Cmd
	var urls []string
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
		cmd, url, err := startNode(bin, data, resolver, ln.Addr().String(), su.store)
		if err != nil {
			return nil, err
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

	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n", max(1, size/74))
	cpu := func() float64 {
		var t float64
		for _, c := range cmds {
			t += cpuSeconds(c.Process.Pid)
		}
		return t
	}
	cpu0 := cpu()
	start := time.Now()
	var next atomic.Int64
	var failed atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := clients[w%len(clients)]
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if rate > 0 {
					time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
				}
				t0 := time.Now()
				_, err := client.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("news@bench.example"),
					Destination: &types.Destination{ToAddresses: []string{fmt.Sprintf("user%d@dest%d.example", i, i%50)}},
					Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("benchmark " + strconv.Itoa(i))},
						Body: &types.Body{Text: &types.Content{Data: aws.String(body)}}}}})
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	accepted := time.Since(start)
	want := int64(n) - failed.Load()
	for sk.count.Load() < want && time.Since(start) < 10*time.Minute {
		time.Sleep(20 * time.Millisecond)
	}
	end := time.Unix(0, sk.last.Load())
	total := end.Sub(start)
	used := cpu() - cpu0
	p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
	res := map[string]any{
		"setup": su.name, "nodes": su.nodes, "failed": failed.Load(), "delivered": sk.count.Load(),
		"accept_msgs_per_s":     float64(n) / accepted.Seconds(),
		"end_to_end_msgs_per_s": float64(sk.count.Load()) / total.Seconds(),
		"cpu_s_per_1000_msgs":   used / float64(n) * 1000,
		"accept_p50_ms":         float64(p50.Microseconds()) / 1000, "accept_p99_ms": float64(p99.Microseconds()) / 1000,
	}
	fmt.Printf("  %s\n", su.name)
	fmt.Printf("    accepted    %8.1f msgs/s  (p50 %.1f ms, p99 %.1f ms, %d failed)\n", res["accept_msgs_per_s"], res["accept_p50_ms"], res["accept_p99_ms"], failed.Load())
	fmt.Printf("    end to end  %8.1f msgs/s  (%d delivered in %s)\n", res["end_to_end_msgs_per_s"], sk.count.Load(), total.Round(time.Millisecond))
	fmt.Printf("    sesame CPU  %8.2f s per 1000 messages (PostgreSQL's own CPU not included)\n", res["cpu_s_per_1000_msgs"])
	if sk.count.Load() < want {
		return res, fmt.Errorf("only %d of %d messages arrived", sk.count.Load(), want)
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
