package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/jackc/pgx/v5"

	"github.com/sesame-email/sesame/internal/apiclient"
	"github.com/sesame-email/sesame/internal/credfile"
	"github.com/sesame-email/sesame/internal/dkim"
	"github.com/sesame-email/sesame/internal/dnstest"
	"github.com/sesame-email/sesame/internal/dnsx"
	"github.com/sesame-email/sesame/internal/pgtest"
	"github.com/sesame-email/sesame/internal/smtptest"
)

// cluster is the PostgreSQL the multi-node tests share.
var cluster = pgtest.New()

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, cluster)) }

// node is one `sesame serve` process of a cluster.
type node struct {
	cmd  *exec.Cmd
	http string
	dns  string
	v2   *sesv2.Client
	adm  *apiclient.Client
}

func startNode(t *testing.T, bin, data, resolver string, creds credfile.Credentials, env ...string) *node {
	t.Helper()
	cmd, ready := serveNode(t, bin, data, resolver, env...)
	n := &node{cmd: cmd, http: ready["http"].(string), dns: ready["dns"].(string)}
	if creds.AccessKeyID == "" {
		var err error
		if creds, err = credfile.Read(filepath.Join(data, "credentials"), "default"); err != nil {
			t.Fatal(err)
		}
	}
	n.v2 = sesv2.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(n.http), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, "")})
	n.adm = &apiclient.Client{Endpoint: n.http, AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, Region: "us-east-1"}
	return n
}

func simple(from, to, subject string) *sesv2.SendEmailInput {
	return &sesv2.SendEmailInput{FromEmailAddress: aws.String(from), Destination: &types.Destination{ToAddresses: []string{to}},
		Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String(subject)},
			Body: &types.Body{Text: &types.Content{Data: aws.String("hello from the cluster")}}}}}
}

// messageID is the SES message id of a delivered message: the local part
// of its envelope sender (<id>@<region>.<service domain>).
func messageID(m smtptest.Message) string {
	id, _, _ := strings.Cut(m.From, "@")
	return id
}

// TestTwoNodesOnePostgres runs two real `sesame serve` processes on one
// PostgreSQL: node A takes 2,000 sends through its API while both nodes
// deliver to a loopback sink; A is SIGKILLed mid-stream and the senders
// move to B. Every acknowledged message reaches the sink (A's leases end
// and B delivers what A held); duplicates are counted and reported. An
// identity created on A is served by B's DNS, verified by B and signs on
// B; a suppression written on A stops a send on B; a node started with a
// master key of its own refuses to run.
func TestTwoNodesOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	db := cluster.Database(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "sesame")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	zone := dnstest.Start(t)
	sink := smtptest.Start(t, nil)
	const lease = 5 * time.Second
	env := []string{"SESAME_STORE=" + db, "SESAME_TRANSPORT=*=" + sink.Addr, "SESAME_DELIVERY_LEASE=" + lease.String()}
	dataA, dataB := filepath.Join(dir, "a"), filepath.Join(dir, "b")

	a := startNode(t, bin, dataA, zone.Addr(), credfile.Credentials{}, env...)
	creds, err := credfile.Read(filepath.Join(dataA, "credentials"), "default")
	if err != nil {
		t.Fatal(err)
	}
	// B without A's master key would seal and open nothing A made: it refuses.
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	refused := exec.CommandContext(rctx, bin, "serve")
	refused.Env = append(os.Environ(), "SESAME_DATA_DIR="+dataB, "SESAME_STORE="+db, "SESAME_HTTP_ADDR=127.0.0.1:0", "SESAME_SMTP_ADDR=off",
		"SESAME_SMTPS_ADDR=off", "SESAME_MX_ADDR=off", "SESAME_DNS_ADDR=off")
	out, err := refused.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "master.key") {
		t.Fatalf("node B with its own master key: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dataB, "master.key")); err == nil {
		t.Error("the refused node kept the master key it made")
	}
	key, err := os.ReadFile(filepath.Join(dataA, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataB, "master.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	b := startNode(t, bin, dataB, zone.Addr(), creds, env...)
	ctx := context.Background()

	// An identity made on A: B's DNS serves its keys, B verifies it.
	dom, err := a.v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("cluster.example"),
		DkimSigningAttributes: &types.DkimSigningAttributes{NextSigningKeyLength: types.DkimSigningKeyLengthRsa1024Bit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range dom.DkimAttributes.Tokens {
		zone.Add(fmt.Sprintf("%s._domainkey.cluster.example. 300 IN CNAME %s.dkim.sesame.localhost.", tok, tok))
	}
	zone.Forward("sesame.localhost", b.dns)
	resolver, err := dnsx.New(dnsx.Options{Servers: []string{zone.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	if txt, err := resolver.LookupTXT(ctx, dom.DkimAttributes.Tokens[0]+"._domainkey.cluster.example"); err != nil || len(txt) == 0 || !strings.Contains(strings.Join(txt, ""), "p=") {
		t.Fatalf("B's DNS does not serve the key A made: %q %v", txt, err)
	}
	if v, err := b.adm.VerifyIdentity(ctx, "cluster.example"); err != nil || v.VerificationStatus != "SUCCESS" {
		t.Fatalf("verify on B: %+v %v", v, err)
	}
	// A suppression written on A stops a send on B.
	if _, err := a.v2.PutSuppressedDestination(ctx, &sesv2.PutSuppressedDestinationInput{EmailAddress: aws.String("gone@example.org"),
		Reason: types.SuppressionListReasonBounce}); err != nil {
		t.Fatal(err)
	}
	sup, err := b.v2.SendEmail(ctx, simple("app@cluster.example", "gone@example.org", "suppressed"))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := b.adm.Message(ctx, aws.ToString(sup.MessageId)); err != nil || len(m.Recipients) != 1 || m.Recipients[0].State != "bounced" {
		t.Errorf("send on B to an address A suppressed: %+v %v", m, err)
	}

	// The stream: 2,000 sends, to A until it dies, then to B.
	const total = 2000
	var next atomic.Int64
	var mu sync.Mutex
	acked := map[string]string{} // message id → node that acknowledged it
	var killOnce sync.Once
	var ackedAtKill int
	var aDead atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				via, name := a, "A"
				if aDead.Load() {
					via, name = b, "B"
				}
				out, err := via.v2.SendEmail(ctx, simple("app@cluster.example", fmt.Sprintf("u%d@example.org", i), "cluster test"))
				if err != nil {
					if name == "B" {
						t.Errorf("send %d on B: %v", i, err)
					}
					continue // in flight at the kill: unacknowledged
				}
				mu.Lock()
				acked[aws.ToString(out.MessageId)] = name
				n := len(acked)
				mu.Unlock()
				if n >= total/2 {
					killOnce.Do(func() {
						a.cmd.Process.Signal(syscall.SIGKILL)
						aDead.Store(true)
						ackedAtKill = n
					})
				}
			}
		}()
	}
	wg.Wait()
	a.cmd.Wait()
	sent := time.Since(start)

	// Recipients under a lease right after the stream: those A claimed and
	// never finished, plus B's in flight.
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var leased int
	if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM recipients WHERE state IN ('queued','deferred') AND next_attempt > $1`, time.Now().UnixMilli()).Scan(&leased); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(lease + 60*time.Second)
	var got map[string]int
	for {
		got = map[string]int{}
		for _, m := range sink.Messages() {
			got[messageID(m)]++
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
			t.Fatalf("%d of %d acknowledged messages never reached the sink", missing, len(acked))
		}
		time.Sleep(100 * time.Millisecond)
	}
	dups, extra := 0, 0
	for id, n := range got {
		if n > 1 {
			dups++
		}
		if _, ok := acked[id]; !ok {
			extra++
		}
	}
	t.Logf("%d sends in %v; %d acknowledged (%d by A before SIGKILL, the rest by B); %d recipients under a lease when the stream ended (A's wait for their leases to end); "+
		"all acknowledged messages delivered after %v; %d delivered more than once; %d delivered but unacknowledged (in flight at the kill)",
		total, sent.Round(time.Millisecond), len(acked), ackedAtKill, leased, time.Since(start).Round(time.Millisecond), dups, extra)

	// Messages accepted on B are signed with the key A made.
	checked := false
	for _, m := range sink.Messages() {
		if acked[messageID(m)] != "B" {
			continue
		}
		vs, err := dkim.Verify(ctx, m.Data, resolver.LookupTXT)
		if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "cluster.example" {
			t.Fatalf("DKIM of a message signed on B: %+v %v", vs, err)
		}
		checked = true
		break
	}
	if !checked {
		t.Error("no message accepted by B reached the sink")
	}
}
