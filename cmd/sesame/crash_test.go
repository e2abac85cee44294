package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/sesame-email/sesame/internal/apiclient"
	"github.com/sesame-email/sesame/internal/credfile"
	"github.com/sesame-email/sesame/internal/dnstest"
	"github.com/sesame-email/sesame/internal/smtptest"
)

// serveProc runs the real binary and returns its HTTP endpoint.
func serveProc(t *testing.T, bin, data, resolver string) (*exec.Cmd, string) {
	t.Helper()
	cmd, ready := serveNode(t, bin, data, resolver)
	return cmd, ready["http"].(string)
}

// serveNode runs the real binary with extra SESAME_* settings (they win
// over the defaults here) and returns its "sesame serving" log line.
func serveNode(t *testing.T, bin, data, resolver string, env ...string) (*exec.Cmd, map[string]any) {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "SESAME_DATA_DIR="+data, "SESAME_HTTP_ADDR=127.0.0.1:0", "SESAME_SMTP_ADDR=127.0.0.1:0",
		"SESAME_SMTPS_ADDR=127.0.0.1:0", "SESAME_MX_ADDR=127.0.0.1:0", "SESAME_DNS_ADDR=127.0.0.1:0", "SESAME_RESOLVER="+resolver,
		"SESAME_TRANSPORT=*=127.0.0.1:1") // delivery attempts fail at once, on loopback
	cmd.Env = append(cmd.Env, env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "sesame serving" {
				found <- m
			}
		}
	}()
	select {
	case m := <-found:
		return cmd, m
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	return nil, nil
}

// TestCrashSafety sends concurrently through the v2 API, SIGKILLs the
// server mid-stream, restarts it on the same data dir, and finds every
// acknowledged message in the queue exactly once.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	n := startVerified(t, "crash.example")
	bin, data, zone, cmd, client, adm := n.bin, n.data, n.zone, n.cmd, n.client, n.adm
	ctx := context.Background()

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				out, err := client.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("app@crash.example"),
					Destination: &types.Destination{ToAddresses: []string{fmt.Sprintf("u%d-%d@example.org", w, i)}},
					Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("crash test")},
						Body: &types.Body{Text: &types.Content{Data: aws.String("hello")}}}}})
				if err != nil {
					return // the server is gone: unacknowledged, may or may not exist
				}
				mu.Lock()
				acked = append(acked, aws.ToString(out.MessageId))
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 20 {
		t.Fatalf("only %d messages acknowledged before the kill", len(acked))
	}

	_, endpoint := serveProc(t, bin, data, zone.Addr())
	adm.Endpoint = endpoint
	seen := map[string]bool{}
	for _, id := range acked {
		if seen[id] {
			t.Fatalf("message id %s acknowledged twice", id)
		}
		seen[id] = true
		m, err := adm.Message(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged message %s lost: %v", id, err)
		}
		if len(m.Recipients) != 1 || (m.Recipients[0].State != "queued" && m.Recipients[0].State != "deferred") {
			t.Fatalf("message %s recipients %+v", id, m.Recipients)
		}
	}
	list, err := adm.Messages(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, m := range list {
		ids[m.MessageId]++
	}
	for id, n := range ids {
		if n != 1 {
			t.Fatalf("message %s stored %d times", id, n)
		}
	}
	t.Logf("%d messages acknowledged before SIGKILL, all present once after restart", len(acked))
}

// TestKillDuringDelivery SIGKILLs the server while it delivers to a slow
// receiver, restarts it on the same data dir, and checks that every
// acknowledged message reaches the receiver: the ones whose delivery was
// cut off come back when their lease ends (at-least-once; duplicates are
// counted, never a loss).
func TestKillDuringDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	sink := smtptest.Start(t, nil)
	sink.Delay = 40 * time.Millisecond
	env := []string{"SESAME_TRANSPORT=*=" + sink.Addr, "SESAME_DELIVERY_LEASE=2s"}
	node := startVerified(t, "kill.example", env...)
	bin, data, zone, cmd, client := node.bin, node.data, node.zone, node.cmd, node.client
	ctx := context.Background()
	const n = 150
	acked := map[string]bool{}
	for i := range n {
		out, err := client.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("app@kill.example"),
			Destination: &types.Destination{ToAddresses: []string{fmt.Sprintf("u%d@example.org", i)}},
			Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("kill test")},
				Body: &types.Body{Text: &types.Content{Data: aws.String("hello")}}}}})
		if err != nil {
			t.Fatal(err)
		}
		acked[aws.ToString(out.MessageId)] = true
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(sink.Messages()) < 20 {
		if time.Now().After(deadline) {
			t.Fatal("delivery never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	before := len(sink.Messages())
	if before >= n {
		t.Fatalf("all %d delivered before the kill; the test needs a slower receiver", before)
	}
	serveNode(t, bin, data, zone.Addr(), env...)
	got := map[string]int{}
	deadline = time.Now().Add(60 * time.Second)
	for {
		got = map[string]int{}
		for _, m := range sink.Messages() {
			id, _, _ := strings.Cut(m.From, "@")
			got[id]++
		}
		missing := 0
		for id := range acked {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged messages never arrived after the restart", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
	dups := 0
	for _, c := range got {
		dups += c - 1
	}
	t.Logf("%d acknowledged; %d delivered before SIGKILL; all arrived after restart; %d duplicate deliveries", n, before, dups)
}

// verifiedNode is the real binary serving on a fresh data dir, with a
// verified domain (RSA-1024 Easy DKIM, CNAMEs in the test zone).
type verifiedNode struct {
	bin, data string
	zone      *dnstest.Server
	cmd       *exec.Cmd
	client    *sesv2.Client
	adm       *apiclient.Client
}

// startVerified builds the binary, serves it with extra SESAME_* settings,
// and verifies domain.
func startVerified(t *testing.T, domain string, env ...string) verifiedNode {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	n := verifiedNode{bin: filepath.Join(dir, "sesame"), data: filepath.Join(dir, "data"), zone: dnstest.Start(t)}
	if out, err := exec.Command("go", "build", "-o", n.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd, ready := serveNode(t, n.bin, n.data, n.zone.Addr(), env...)
	n.cmd = cmd
	endpoint := ready["http"].(string)
	creds, err := credfile.Read(filepath.Join(n.data, "credentials"), "default")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n.client = sesv2.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, "")})
	dom, err := n.client.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(domain),
		DkimSigningAttributes: &types.DkimSigningAttributes{NextSigningKeyLength: types.DkimSigningKeyLengthRsa1024Bit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range dom.DkimAttributes.Tokens {
		n.zone.Add(fmt.Sprintf("%s._domainkey.%s. 300 IN CNAME %s.dkim.sesame.localhost.", tok, domain, tok))
	}
	n.adm = &apiclient.Client{Endpoint: endpoint, AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, Region: "us-east-1"}
	if v, err := n.adm.VerifyIdentity(ctx, domain); err != nil || v.VerificationStatus != "SUCCESS" {
		t.Fatalf("verify: %+v %v", v, err)
	}
	return n
}
