// Command e2e is sesame's end-to-end load test: it builds and starts a
// real `sesame serve` on loopback, verifies a domain through a small DNS
// server of its own (sesame's --resolver), sends N messages through the
// SESv2 API from C concurrent senders, lets sesame DKIM-sign (RSA-2048),
// queue durably and deliver them over SMTP to a loopback sink (--transport),
// and reports messages per second from the first send to the last arrival,
// with sesame's CPU time.
//
//	go run ./bench/e2e -n 5000 -size 4000 -conc 32
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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
)

func main() {
	n := flag.Int("n", 2000, "messages to send")
	size := flag.Int("size", 4000, "approximate message size in bytes")
	conc := flag.Int("conc", 32, "concurrent API senders")
	keep := flag.Bool("keep", false, "keep the temporary data dir")
	out := flag.String("json", "", "also write the results as JSON to this file")
	flag.Parse()
	if err := run(*n, *size, *conc, *keep, *out); err != nil {
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

func run(n, size, conc int, keep bool, outFile string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sesame-e2e-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	bin := filepath.Join(dir, "sesame")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/sesame").CombinedOutput(); err != nil {
		return fmt.Errorf("build (run from the repository root): %v\n%s", err, out)
	}
	// The sink and the customer's DNS, on loopback.
	sk := &sink{}
	srv := smtp.NewServer(sk)
	srv.Domain = "sink.bench"
	srv.MaxRecipients = 100
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	defer srv.Close()
	z := &zone{cname: map[string]string{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	dnsSrv := &dns.Server{PacketConn: pc, Handler: z}
	go dnsSrv.ActivateAndServe()
	defer dnsSrv.Shutdown()

	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "SESAME_DATA_DIR="+filepath.Join(dir, "data"), "SESAME_HTTP_ADDR=127.0.0.1:0",
		"SESAME_SMTP_ADDR=off", "SESAME_SMTPS_ADDR=off", "SESAME_MX_ADDR=127.0.0.1:0", "SESAME_DNS_ADDR=127.0.0.1:0",
		"SESAME_RESOLVER="+pc.LocalAddr().String(), "SESAME_TRANSPORT=*="+ln.Addr().String(), "SESAME_LOG_LEVEL=warn")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	endpoint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "sesame serving" {
				endpoint <- m["http"].(string)
			}
		}
	}()
	// "sesame serving" is logged at info; with log-level warn, find the
	// address in the AWS config file sesame writes instead.
	var url string
	deadline := time.Now().Add(60 * time.Second)
	for url == "" {
		select {
		case url = <-endpoint:
		case <-time.After(100 * time.Millisecond):
			if m, err := credfile.ReadProfile(filepath.Join(dir, "data", "config"), "default"); err == nil {
				url = m["endpoint_url"]
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sesame did not start")
		}
	}
	creds, err := credfile.Read(filepath.Join(dir, "data", "credentials"), "default")
	if err != nil {
		return err
	}
	client := sesv2.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, "")})
	id, err := client.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("bench.example")})
	if err != nil {
		return err
	}
	z.mu.Lock()
	for _, tok := range id.DkimAttributes.Tokens {
		z.cname[tok+"._domainkey.bench.example."] = tok + ".dkim.sesame.localhost."
	}
	z.mu.Unlock()
	adm := &apiclient.Client{Endpoint: url, AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, Region: "us-east-1"}
	if v, err := adm.VerifyIdentity(ctx, "bench.example"); err != nil || v.VerificationStatus != "SUCCESS" {
		return fmt.Errorf("verify bench.example: %+v %v", v, err)
	}

	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n", max(1, size/74))
	cpu0 := cpuSeconds(cmd.Process.Pid)
	start := time.Now()
	var next atomic.Int64
	var failed atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
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
	cpu := cpuSeconds(cmd.Process.Pid) - cpu0
	p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
	res := map[string]any{
		"command": "go run ./bench/e2e " + strings.Join(os.Args[1:], " "), "n": n, "size": size, "concurrency": conc,
		"failed": failed.Load(), "delivered": sk.count.Load(),
		"accept_msgs_per_s":     float64(n) / accepted.Seconds(),
		"end_to_end_msgs_per_s": float64(sk.count.Load()) / total.Seconds(),
		"cpu_s_per_1000_msgs":   cpu / float64(n) * 1000,
		"accept_p50_ms":         float64(p50.Microseconds()) / 1000, "accept_p99_ms": float64(p99.Microseconds()) / 1000,
	}
	fmt.Printf("sesame end to end: %d messages of ~%d bytes, %d senders, RSA-2048 DKIM, durable queue, SMTP to a loopback sink\n", n, size, conc)
	fmt.Printf("  accepted      %8.1f msgs/s  (p50 %.1f ms, p99 %.1f ms, %d failed)\n", res["accept_msgs_per_s"], res["accept_p50_ms"], res["accept_p99_ms"], failed.Load())
	fmt.Printf("  end to end    %8.1f msgs/s  (%d delivered in %s)\n", res["end_to_end_msgs_per_s"], sk.count.Load(), total.Round(time.Millisecond))
	fmt.Printf("  sesame CPU    %8.2f s per 1000 messages\n", res["cpu_s_per_1000_msgs"])
	fmt.Printf("  command       %s\n", res["command"])
	if outFile != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(outFile, b, 0o644); err != nil {
			return err
		}
	}
	if sk.count.Load() < want {
		return fmt.Errorf("only %d of %d messages arrived", sk.count.Load(), want)
	}
	return nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if len(s) == 0 {
		return 0
	}
	return s[int(p*float64(len(s)-1))]
}
