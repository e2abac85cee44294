// Command queue1m measures sesame with a large queue: it fills a data dir's
// SQLite store with N queued messages (default 1,000,000), starts the real
// `sesame serve` on it, and reports the time until it serves, its resident
// memory while it delivers to a loopback sink, and the delivery rate. The
// worker holds at most mta.MaxInMemory jobs, so memory must not grow with N.
//
//	go run ./bench/queue1m -n 1000000 -size 1000 -for 30s
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
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/store/sqlite"
)

func main() {
	n := flag.Int("n", 1_000_000, "queued messages")
	size := flag.Int("size", 1000, "message size in bytes")
	dur := flag.Duration("for", 30*time.Second, "how long to watch delivery")
	out := flag.String("json", "", "also write the results as JSON to this file")
	flag.Parse()
	if err := run(*n, *size, *dur, *out); err != nil {
		fmt.Fprintln(os.Stderr, "queue1m:", err)
		os.Exit(1)
	}
}

// sink counts what it receives.
type sink struct{ n atomic.Int64 }

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sess{s}, nil }

type sess struct{ s *sink }

func (x *sess) Mail(string, *smtp.MailOptions) error { return nil }
func (x *sess) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x *sess) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	x.s.n.Add(1)
	return nil
}
func (x *sess) Reset()        {}
func (x *sess) Logout() error { return nil }

func rssKB(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	return 0
}

func start(bin, data, sinkAddr string) (*exec.Cmd, error) {
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "SESAME_DATA_DIR="+data, "SESAME_HTTP_ADDR=127.0.0.1:0", "SESAME_SMTP_ADDR=off", "SESAME_SMTPS_ADDR=off",
		"SESAME_MX_ADDR=off", "SESAME_DNS_ADDR=off", "SESAME_TRANSPORT=*="+sinkAddr, "SESAME_LOG_LEVEL=info")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "sesame serving") {
				once = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
		return cmd, nil
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		return nil, fmt.Errorf("sesame did not start")
	}
}

func run(n, size int, dur time.Duration, outFile string) error {
	dir, err := os.MkdirTemp("", "sesame-queue1m-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "sesame")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/sesame").CombinedOutput(); err != nil {
		return fmt.Errorf("build (run from the repository root): %v\n%s", err, out)
	}
	sk := &sink{}
	srv := smtp.NewServer(sk)
	srv.Domain = "sink.bench"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	defer srv.Close()
	data := filepath.Join(dir, "data")

	// First start: the data dir, the account.
	cmd, err := start(bin, data, "127.0.0.1:1")
	if err != nil {
		return err
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "sesame.db"))
	if err != nil {
		return err
	}
	accts, err := st.ListAccounts(ctx)
	if err != nil || len(accts) == 0 {
		return fmt.Errorf("no account: %v", err)
	}
	acct := accts[0].ID
	body := []byte("From: bench@bench.example\r\nTo: x@example.org\r\nSubject: queue1m\r\n\r\n" + strings.Repeat("x", max(0, size-70)) + "\r\n")
	fillStart := time.Now()
	now := time.Now()
	const batch = 2000
	for i := 0; i < n; i += batch {
		var msgs []store.Message
		var rcpts [][]store.Recipient
		for j := i; j < min(n, i+batch); j++ {
			id := fmt.Sprintf("q%012d", j)
			dom := fmt.Sprintf("d%d.example", j%1000)
			msgs = append(msgs, store.Message{ID: id, AccountID: acct, Region: "us-east-1", MailFrom: id + "@us-east-1.sesame.localhost",
				From: "bench@bench.example", CreatedAt: now, Data: body})
			rcpts = append(rcpts, []store.Recipient{{MessageID: id, Address: "u@" + dom, Domain: dom, State: store.RcptQueued, NextAttempt: now, UpdatedAt: now}})
		}
		if err := st.Enqueue(ctx, msgs, rcpts); err != nil {
			return err
		}
	}
	st.Close()
	fill := time.Since(fillStart)
	fi, _ := os.Stat(filepath.Join(data, "sesame.db"))
	fmt.Printf("filled %d messages of %d bytes in %v (database %d MB)\n", n, size, fill.Round(time.Millisecond), fi.Size()>>20)

	t0 := time.Now()
	cmd, err = start(bin, data, ln.Addr().String())
	if err != nil {
		return err
	}
	startup := time.Since(t0)
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	fmt.Printf("restart to serving: %v; RSS at start %d MB\n", startup.Round(time.Millisecond), rssKB(cmd.Process.Pid)>>10)
	peak := 0
	var samples []map[string]any
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	began, first := time.Now(), int64(-1)
	for time.Since(began) < dur {
		<-tick.C
		r := rssKB(cmd.Process.Pid)
		peak = max(peak, r)
		d := sk.n.Load()
		if first < 0 && d > 0 {
			first = int64(time.Since(t0) / time.Millisecond)
		}
		samples = append(samples, map[string]any{"t_s": int(time.Since(began).Seconds()), "rss_mb": r >> 10, "delivered": d})
	}
	delivered := sk.n.Load()
	rate := float64(delivered) / time.Since(began).Seconds()
	fmt.Printf("delivering for %v: %d delivered (%.0f msgs/s), first delivery %d ms after restart, peak RSS %d MB\n",
		dur, delivered, rate, first, peak>>10)
	fmt.Printf("command: go run ./bench/queue1m %s\n", strings.Join(os.Args[1:], " "))
	if outFile != "" {
		b, _ := json.MarshalIndent(map[string]any{"command": "go run ./bench/queue1m " + strings.Join(os.Args[1:], " "), "n": n, "size": size,
			"fill_s": fill.Seconds(), "db_mb": fi.Size() >> 20, "restart_to_serving_ms": startup.Milliseconds(), "first_delivery_ms": first,
			"peak_rss_mb": peak >> 10, "delivered": delivered, "msgs_per_s": rate, "samples": samples}, "", "  ")
		return os.WriteFile(outFile, b, 0o644)
	}
	return nil
}
