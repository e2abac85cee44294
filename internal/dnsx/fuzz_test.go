package dnsx_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/dnsx"
)

// rawServer answers every query, on UDP and TCP of one loopback port, with
// the same bytes; with fixID the first two octets become the query's ID so
// that miekg/dns does not discard the reply before parsing it.
func rawServer(t *testing.T, reply []byte, fixID bool) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Skip(err)
	}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	answer := func(query []byte) []byte {
		out := append([]byte(nil), reply...)
		if fixID && len(out) >= 2 && len(query) >= 2 {
			copy(out, query[:2])
		}
		return out
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			out := answer(buf[:n])
			if len(out) > 65507 {
				out = out[:65507]
			}
			pc.WriteTo(out, from)
		}
	}()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(2 * time.Second))
				var l uint16
				if binary.Read(conn, binary.BigEndian, &l) != nil {
					return
				}
				q := make([]byte, l)
				if _, err := io.ReadFull(conn, q); err != nil {
					return
				}
				out := answer(q)
				if len(out) > 65535 {
					out = out[:65535]
				}
				conn.Write(binary.BigEndian.AppendUint16(nil, uint16(len(out))))
				conn.Write(out)
			}()
		}
	}()
	return pc.LocalAddr().String()
}

// FuzzHostileAnswer: whatever a server sends back, the client neither
// panics nor waits much beyond its timeout, and its errors are bare
// *net.DNSError values.
func FuzzHostileAnswer(f *testing.F) {
	seed := func(qtype uint16, rcode int, tc bool, answer ...string) []byte {
		q := new(dns.Msg)
		q.SetQuestion("fuzz.example.", qtype)
		m := new(dns.Msg)
		m.SetRcode(q, rcode)
		m.Truncated = tc
		for _, l := range answer {
			rr, err := dns.NewRR(l)
			if err != nil {
				f.Fatal(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(seed(dns.TypeTXT, dns.RcodeSuccess, false, `fuzz.example. 300 IN TXT "v=spf1" " -all"`), true, uint8(0))
	f.Add(seed(dns.TypeMX, dns.RcodeSuccess, false, `fuzz.example. 300 IN MX 0 .`, `fuzz.example. 300 IN MX 10 mx.example.`), true, uint8(1))
	f.Add(seed(dns.TypeA, dns.RcodeSuccess, false, `fuzz.example. 300 IN CNAME x.example.`, `x.example. 300 IN A 192.0.2.1`), true, uint8(2))
	f.Add(seed(dns.TypeCNAME, dns.RcodeSuccess, false, `fuzz.example. 300 IN CNAME fuzz.example.`), true, uint8(4))
	f.Add(seed(dns.TypeTXT, dns.RcodeSuccess, true), true, uint8(0))
	f.Add(seed(dns.TypeTXT, dns.RcodeNameError, false, `fuzz.example. 300 IN CNAME a.example.`, `a.example. 300 IN CNAME fuzz.example.`), true, uint8(0))
	f.Add(seed(dns.TypeTXT, dns.RcodeServerFailure, false), false, uint8(0))
	f.Add([]byte{0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}, true, uint8(0))
	f.Add([]byte("garbage"), true, uint8(3))
	f.Add([]byte{}, false, uint8(0))

	f.Fuzz(func(t *testing.T, reply []byte, fixID bool, which uint8) {
		const timeout = 100 * time.Millisecond
		c := client(t, timeout, rawServer(t, reply, fixID))
		ctx := context.Background()
		start := time.Now()
		var err error
		switch which % 6 {
		case 0:
			_, err = c.LookupTXT(ctx, "fuzz.example")
		case 1:
			_, err = c.LookupMX(ctx, "fuzz.example")
		case 2:
			_, err = c.LookupIPAddr(ctx, "fuzz.example")
		case 3:
			_, err = c.LookupAddr(ctx, "192.0.2.1")
		case 4:
			_, err = c.LookupCNAME(ctx, "fuzz.example")
		case 5:
			var a *dnsx.Answer
			a, err = c.Query(ctx, "fuzz.example", dns.TypeANY)
			if a == nil {
				t.Fatal("nil Answer")
			}
		}
		if err != nil {
			if _, ok := err.(*net.DNSError); !ok {
				t.Fatalf("error %v of type %T", err, err)
			}
		}
		// Each exchange is bounded by timeout: UDP, TCP, the same again
		// without EDNS0, and one query per hop of a chain (MaxChain+1).
		if d := time.Since(start); d > 4*time.Duration(dnsx.MaxChain+1)*timeout {
			t.Fatalf("took %v", d)
		}
	})
}
