package dnsx_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/dnstest"
	"github.com/sesame-email/sesame/internal/dnsx"
)

// testTimeout is the per-exchange timeout of test clients that are not
// testing timeouts: generous, since -race on two cores is slow.
const testTimeout = 2 * time.Second

// setup starts a zone and a client that asks only it, once.
func setup(t *testing.T) (*dnstest.Server, *dnsx.Client) {
	t.Helper()
	z := dnstest.Start(t)
	return z, client(t, testTimeout, z.Addr())
}

func client(t testing.TB, timeout time.Duration, servers ...string) *dnsx.Client {
	t.Helper()
	c, err := dnsx.New(dnsx.Options{Servers: servers, Timeout: timeout, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dnsError asserts that err is a bare *net.DNSError, the only form blitiri
// spf and go-msgauth classify (they use type assertions, not errors.As).
func dnsError(t *testing.T, err error) *net.DNSError {
	t.Helper()
	de, ok := err.(*net.DNSError)
	if !ok {
		t.Fatalf("error %v (%T) is not a bare *net.DNSError", err, err)
	}
	return de
}

// serve runs h on a UDP and a TCP listener sharing a loopback port, for
// answers dnstest would never give. It stops when the test ends.
func serve(t testing.TB, h dns.HandlerFunc) string {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for range 50 {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Fatal("no port free for UDP and TCP")
	}
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	udp := &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: notify}
	tcp := &dns.Server{Listener: ln, Handler: h, NotifyStartedFunc: notify}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	<-started
	<-started
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		udp.ShutdownContext(ctx)
		tcp.ShutdownContext(ctx)
	})
	return pc.LocalAddr().String()
}

// reply builds a response to r carrying the given zone-file records.
func reply(t testing.TB, r *dns.Msg, rcode int, answer ...string) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(r, rcode)
	for _, l := range answer {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Errorf("bad record %q: %v", l, err)
			continue
		}
		m.Answer = append(m.Answer, rr)
	}
	return m
}
