package dkim

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

// TestSignVerify signs with each kind of key and checks that the signature
// verifies, that changes to what it covers break it, and that the changes
// relaxed canonicalization allows do not.
func TestSignVerify(t *testing.T) {
	ctx := context.Background()
	for _, tc := range testKeys() {
		t.Run(tc.name, func(t *testing.T) {
			signed, z := signMsg(t, tc.key, testMsg)
			field := signed[:len(signed)-len(testMsg)]
			for _, want := range []string{"a=" + tc.alg, "c=relaxed/relaxed", "d=example.com", "s=sel", "h=From:To:Subject:Date:Message-ID:From;"} {
				if !strings.Contains(field, want) {
					t.Errorf("signature lacks %q:\n%s", want, field)
				}
			}
			if !strings.HasPrefix(field, "DKIM-Signature: ") || !strings.HasSuffix(field, "\r\n") {
				t.Errorf("signature field %q", field)
			}
			for line := range strings.SplitSeq(strings.TrimSuffix(field, "\r\n"), "\r\n") {
				if len(line) > 78 {
					t.Errorf("line of %d characters: %q", len(line), line)
				}
			}

			vs, err := Verify(ctx, []byte(signed), z.lookup)
			if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "example.com" || vs[0].Selector != "sel" {
				t.Fatalf("Verify = %+v, %v", vs, err)
			}

			tests := []struct {
				name     string
				from, to string
				pass     bool
			}{
				// Changes that must break the signature.
				{"body changed", "see  you.", "see  you!", false},
				{"body line added", "see  you.\r\n", "see  you.\r\nP.S. pay now\r\n", false},
				{"signed header changed", "Subject:  Hello", "Subject:  Hullo", false},
				{"signed header removed", "Date: Mon, 15 Jan 2024 10:15:00 +0000\r\n", "", false},
				{"second From on top", "From: Ann", "From: Mallory <m@evil.example>\r\nFrom: Ann", false},
				{"second From below", "To: bob", "From: Mallory <m@evil.example>\r\nTo: bob", false},
				{"d= changed", "d=example.com", "d=example.net", false},
				// Changes relaxed canonicalization tolerates (RFC 6376 §3.4.2, §3.4.4).
				{"header whitespace collapsed", "Subject:  Hello   there ", "Subject: Hello there", true},
				{"header refolded", "Subject:  Hello   there ", "Subject:\r\n\tHello\r\n there", true},
				{"header name case", "\r\nMessage-ID: <1", "\r\nMESSAGE-id : <1", true},
				{"trailing whitespace in body", "Hi Bob,  \r\n", "Hi Bob,\r\n", true},
				{"more trailing whitespace in body", "Hi Bob,  \r\n", "Hi Bob, \t \r\n", true},
				{"whitespace run in body", "see  you.", "see \t you.", true},
				{"empty lines added at the end", "see  you.\r\n\r\n", "see  you.\r\n\r\n\r\n\r\n", true},
				{"unsigned header added", "X-Unsigned:", "Received: by relay.example\r\nX-Unsigned:", true},
				{"unsigned header changed", "X-Unsigned: whatever", "X-Unsigned: other", true},
			}
			for _, m := range tests {
				bad := strings.Replace(signed, m.from, m.to, 1)
				if bad == signed {
					t.Fatalf("%s: the mutation did not apply", m.name)
				}
				vs, err := Verify(ctx, []byte(bad), z.lookup)
				if err != nil || len(vs) != 1 {
					t.Fatalf("%s: Verify = %+v, %v", m.name, vs, err)
				}
				if m.pass && vs[0].Err != nil {
					t.Errorf("%s: fails: %v", m.name, vs[0].Err)
				}
				if !m.pass && (vs[0].Err == nil || vs[0].Temporary) {
					t.Errorf("%s: still verifies (%+v)", m.name, vs[0])
				}
			}
		})
	}
}

// TestOversignControl shows the From over-signing test above is not
// vacuous: without over-signing, a From added on top still verifies.
func TestOversignControl(t *testing.T) {
	var b strings.Builder
	err := msgdkim.Sign(&b, strings.NewReader(testMsg), &msgdkim.SignOptions{
		Domain: "example.com", Selector: "sel", Signer: testEd25519,
		HeaderCanonicalization: msgdkim.CanonicalizationRelaxed, BodyCanonicalization: msgdkim.CanonicalizationRelaxed,
		HeaderKeys: []string{"From", "To", "Subject"},
	})
	if err != nil {
		t.Fatal(err)
	}
	z := zone{}
	z.publish(t, "sel", "example.com", testEd25519)
	forged := strings.Replace(b.String(), "From: Ann", "From: Mallory <m@evil.example>\r\nFrom: Ann", 1)
	if vs, err := Verify(context.Background(), []byte(forged), z.lookup); err != nil || vs[0].Err != nil {
		t.Fatalf("without over-signing the forgery should pass: %+v %v", vs, err)
	}
}

// TestInteropGoMsgauth verifies our signatures with go-msgauth's own
// Verify, called directly.
func TestInteropGoMsgauth(t *testing.T) {
	for _, tc := range testKeys() {
		t.Run(tc.name, func(t *testing.T) {
			signed, z := signMsg(t, tc.key, testMsg)
			vs, err := msgdkim.VerifyWithOptions(strings.NewReader(signed), &msgdkim.VerifyOptions{
				LookupTXT: func(name string) ([]string, error) { return z.lookup(context.Background(), name) },
			})
			if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "example.com" {
				t.Fatalf("go-msgauth Verify = %+v, %v", vs, err)
			}
		})
	}
}

// TestInteropByHand checks our signatures with an independent
// implementation of RFC 6376 verification (relaxed/relaxed only), written
// here from the RFC without go-msgauth's canonicalization code.
func TestInteropByHand(t *testing.T) {
	msgs := map[string]string{
		"small": testMsg,
		"folded and repeated headers": "Received: x\r\nTo: a@example.org,\r\n   b@example.org\r\nFrom:\tAnn\r\n  <ann@example.com>  \r\n" +
			"Subject: x\r\nSubject: second\r\nReply-To: r@example.com\r\nList-Unsubscribe: <https://example.com/u>\r\n" +
			"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nline\twith tab \r\n\r\n  leading space\r\n \r\n\t\r\n",
		"empty body":    "From: a@example.com\r\nSubject: nothing\r\n\r\n",
		"no final CRLF": "From: a@example.com\r\n\r\nlast line",
	}
	for _, tc := range testKeys() {
		for name, msg := range msgs {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				signed, _ := signMsg(t, tc.key, msg)
				if err := verifyByHand(signed, tc.key.Public()); err != nil {
					t.Fatalf("%v\n%s", err, signed)
				}
				// And the checker can fail: a body change is caught.
				if err := verifyByHand(signed+"x\r\n", tc.key.Public()); err == nil {
					t.Fatal("hand verifier passed a changed body")
				}
			})
		}
	}
}

// TestBodyHashByHand computes bh= for a small message by hand, following
// RFC 6376 §3.4.4 step by step, and compares it with what Sign wrote.
func TestBodyHashByHand(t *testing.T) {
	signed, _ := signMsg(t, testRSA2048, testMsg)
	// Body "Hi Bob,  \r\n\r\nsee  you.\r\n\r\n":
	//   trailing WSP at line ends removed:   "Hi Bob,"
	//   WSP runs reduced to one SP:          "see you."
	//   empty lines at the end removed, the body ends in CRLF.
	canon := "Hi Bob,\r\n\r\nsee you.\r\n"
	sum := sha256.Sum256([]byte(canon))
	want := base64.StdEncoding.EncodeToString(sum[:])
	tags := sigTags(t, signed)
	if tags["bh"] != want {
		t.Fatalf("bh=%s, by hand %s", tags["bh"], want)
	}
	// RFC 6376 §3.4.4: the relaxed hash of an empty body is that of "".
	signed, _ = signMsg(t, testRSA2048, "From: a@example.com\r\n\r\n\r\n \r\n")
	if empty := sha256.Sum256(nil); sigTags(t, signed)["bh"] != base64.StdEncoding.EncodeToString(empty[:]) {
		t.Fatalf("empty body: bh=%s", sigTags(t, signed)["bh"])
	}
}

// sigTags returns the tags of the first DKIM-Signature of msg, unfolded
// and with whitespace removed.
func sigTags(t testing.TB, msg string) map[string]string {
	t.Helper()
	fields, _ := splitMessage(msg)
	for _, f := range fields {
		name, value, _ := strings.Cut(f, ":")
		if strings.EqualFold(strings.TrimSpace(name), "DKIM-Signature") {
			tags := map[string]string{}
			for part := range strings.SplitSeq(value, ";") {
				k, v, ok := strings.Cut(part, "=")
				if ok {
					tags[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), "")
				}
			}
			return tags
		}
	}
	t.Fatal("no DKIM-Signature")
	return nil
}

// splitMessage splits a CRLF message into raw header fields (folding
// kept, final CRLF dropped) and the body.
func splitMessage(msg string) (fields []string, body string) {
	header, body, _ := strings.Cut(msg, "\r\n\r\n")
	for line := range strings.SplitSeq(header, "\r\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(fields) > 0 {
			fields[len(fields)-1] += "\r\n" + line
		} else {
			fields = append(fields, line)
		}
	}
	return fields, body
}

// relaxedHeader is RFC 6376 §3.4.2: lowercase the name, unfold, reduce
// WSP runs to one SP, drop WSP at the end of the value and around the
// colon.
func relaxedHeader(field string) string {
	name, value, _ := strings.Cut(field, ":")
	value = strings.ReplaceAll(value, "\r\n", "")
	value = strings.Join(strings.FieldsFunc(value, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
	return strings.ToLower(strings.TrimRight(name, " \t")) + ":" + value + "\r\n"
}

// relaxedBody is RFC 6376 §3.4.4.
func relaxedBody(body string) string {
	lines := strings.Split(body, "\r\n")
	for i, l := range lines {
		l = strings.Join(strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
		if strings.HasPrefix(lines[i], " ") || strings.HasPrefix(lines[i], "\t") {
			if l != "" {
				l = " " + l // a leading WSP run becomes one SP; trailing ones go
			}
		}
		lines[i] = l
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\r\n") + "\r\n"
}

// verifyByHand verifies the first DKIM-Signature of msg (relaxed/relaxed,
// sha256) against pub, following RFC 6376 §3.7 and §5.4.2.
func verifyByHand(msg string, pub crypto.PublicKey) error {
	fields, body := splitMessage(msg)
	var sigField string
	var tags map[string]string
	for _, f := range fields {
		name, value, _ := strings.Cut(f, ":")
		if strings.EqualFold(strings.TrimSpace(name), "DKIM-Signature") {
			sigField, tags = f, map[string]string{}
			for part := range strings.SplitSeq(value, ";") {
				if k, v, ok := strings.Cut(part, "="); ok {
					tags[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), "")
				}
			}
			break
		}
	}
	if sigField == "" {
		return errors.New("no signature")
	}
	if tags["c"] != "relaxed/relaxed" || tags["v"] != "1" {
		return fmt.Errorf("c=%s v=%s", tags["c"], tags["v"])
	}
	bh := sha256.Sum256([]byte(relaxedBody(body)))
	if base64.StdEncoding.EncodeToString(bh[:]) != tags["bh"] {
		return errors.New("body hash mismatch")
	}

	// §5.4.2: each name in h= takes the last unused instance of that field.
	h := sha256.New()
	used := map[string]int{}
	for _, name := range strings.Split(tags["h"], ":") {
		key := strings.ToLower(name)
		seen := 0
		for i := len(fields) - 1; i >= 0; i-- {
			n, _, _ := strings.Cut(fields[i], ":")
			if strings.ToLower(strings.TrimSpace(n)) != key {
				continue
			}
			if seen == used[key] {
				h.Write([]byte(relaxedHeader(fields[i])))
				break
			}
			seen++
		}
		used[key]++
	}
	// §3.7: the signature field itself, with b='s value removed, without
	// its final CRLF.
	canon := strings.TrimSuffix(relaxedHeader(sigField), "\r\n")
	i := strings.LastIndex(canon, "b=")
	if i < 0 || !strings.HasSuffix(canon[:i], " ") && !strings.HasSuffix(canon[:i], ";") {
		return errors.New("no b= at the end of the signature")
	}
	h.Write([]byte(canon[:i+2]))
	digest := h.Sum(nil)

	sig, err := base64.StdEncoding.DecodeString(tags["b"])
	if err != nil {
		return err
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if tags["a"] != "rsa-sha256" {
			return fmt.Errorf("a=%s", tags["a"])
		}
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig)
	case ed25519.PublicKey:
		// RFC 8463 §3: Ed25519 (pure) over the SHA-256 hash.
		if tags["a"] != "ed25519-sha256" || !ed25519.Verify(k, digest, sig) {
			return errors.New("ed25519 signature mismatch")
		}
		return nil
	}
	return fmt.Errorf("key %T", pub)
}

func TestSignHeaderSelection(t *testing.T) {
	msg := "Received: from x\r\nfrom: a@example.com\r\nTo: b@example.org\r\nTo: c@example.org\r\n" +
		"subject: hi\r\nList-Unsubscribe: <mailto:u@example.com>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" +
		"DKIM-Signature: v=1; d=other.example\r\nX-Mailer: m\r\n\r\nbody\r\n"
	tests := []struct {
		name    string
		headers []string
		wantH   string
	}{
		{"defaults", nil, "From:To:To:Subject:List-Unsubscribe:List-Unsubscribe-Post:From"},
		{"custom, spelled as configured", []string{"FROM", "x-mailer", "Date", "from"}, "FROM:x-mailer:FROM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSigner(SignerOptions{Domain: "example.com", Selector: "sel", Key: testEd25519, Headers: tc.headers})
			if err != nil {
				t.Fatal(err)
			}
			f, err := s.Sign([]byte(msg))
			if err != nil {
				t.Fatal(err)
			}
			if got := sigTags(t, f+msg)["h"]; got != tc.wantH {
				t.Errorf("h=%s, want %s", got, tc.wantH)
			}
			if err := verifyByHand(f+msg, testEd25519.Public()); err != nil {
				t.Error(err)
			}
		})
	}
	// DefaultHeaders hands out a fresh slice each time.
	d := DefaultHeaders()
	d[0] = "X-Changed"
	if DefaultHeaders()[0] != "From" {
		t.Error("DefaultHeaders shares its slice")
	}
}

func TestSignOptions(t *testing.T) {
	s, err := NewSigner(SignerOptions{Domain: "Mail.Example.COM.", Selector: "s2024", Key: testRSA1024,
		Identity: "bounce+x@News.Mail.Example.com", Expiration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	msg := "From: a@mail.example.com\r\n\r\nhi\r\n"
	f, err := s.Sign([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	tags := sigTags(t, f+msg)
	if tags["d"] != "mail.example.com" || tags["i"] != "bounce+x@news.mail.example.com" {
		t.Errorf("d=%s i=%s", tags["d"], tags["i"])
	}
	ts, _ := strconv.ParseInt(tags["t"], 10, 64)
	x, _ := strconv.ParseInt(tags["x"], 10, 64)
	if now := time.Now().Unix(); ts < now-5 || ts > now+5 || x-ts < 3600 || x-ts > 3602 {
		t.Errorf("t=%s x=%s", tags["t"], tags["x"])
	}
	z := zone{}
	z.publish(t, "s2024", "mail.example.com", testRSA1024)
	if vs, err := Verify(context.Background(), []byte(f+msg), z.lookup); err != nil || vs[0].Err != nil {
		t.Fatalf("Verify = %+v, %v", vs, err)
	}

	// The shortest expiration still gives x= after t=.
	s, _ = NewSigner(SignerOptions{Domain: "example.com", Selector: "s", Key: testEd25519, Expiration: time.Second})
	for range 20 {
		f, _ := s.Sign([]byte(msg))
		tags := sigTags(t, f+msg)
		ts, _ := strconv.ParseInt(tags["t"], 10, 64)
		x, _ := strconv.ParseInt(tags["x"], 10, 64)
		if x <= ts {
			t.Fatalf("x=%d is not after t=%d", x, ts)
		}
	}
}

func TestNewSignerErrors(t *testing.T) {
	small := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 511), E: 65537}, D: big.NewInt(3)}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ok := SignerOptions{Domain: "example.com", Selector: "sel", Key: testEd25519}
	tests := []struct {
		name string
		edit func(*SignerOptions)
		want string
	}{
		{"no domain", func(o *SignerOptions) { o.Domain = "" }, "domain"},
		{"bad domain", func(o *SignerOptions) { o.Domain = "exa mple.com" }, "domain"},
		{"domain with ;", func(o *SignerOptions) { o.Domain = "example.com;x=1" }, "domain"},
		{"no selector", func(o *SignerOptions) { o.Selector = "" }, "selector"},
		{"bad selector", func(o *SignerOptions) { o.Selector = "-sel" }, "selector"},
		{"no key", func(o *SignerOptions) { o.Key = nil }, "no key"},
		{"small RSA key", func(o *SignerOptions) { o.Key = small }, "512 bits"},
		{"ECDSA key", func(o *SignerOptions) { o.Key = ec }, "unsupported key type"},
		{"short Ed25519 key", func(o *SignerOptions) { o.Key = testEd25519[:10] }, "Ed25519 private key of 10 bytes"},
		{"headers without From", func(o *SignerOptions) { o.Headers = []string{"To", "Subject"} }, "must include From"},
		{"empty headers", func(o *SignerOptions) { o.Headers = []string{} }, "must include From"},
		{"bad header name", func(o *SignerOptions) { o.Headers = []string{"From", "To:"} }, "not a header field name"},
		{"identity outside d=", func(o *SignerOptions) { o.Identity = "a@example.org" }, "not in domain"},
		{"identity suffix trick", func(o *SignerOptions) { o.Identity = "a@badexample.com" }, "not in domain"},
		{"identity without @", func(o *SignerOptions) { o.Identity = "example.com" }, "no @"},
		{"identity with ;", func(o *SignerOptions) { o.Identity = "a;b@example.com" }, "needs quoting"},
		{"sub-second expiration", func(o *SignerOptions) { o.Expiration = time.Millisecond }, "at least 1s"},
		{"negative expiration", func(o *SignerOptions) { o.Expiration = -time.Hour }, "at least 1s"},
	}
	for _, tc := range tests {
		o := ok
		tc.edit(&o)
		if _, err := NewSigner(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := NewSigner(ok); err != nil {
		t.Fatal(err)
	}
	s, _ := NewSigner(ok)
	if _, err := s.Sign([]byte("To: b@example.org\r\n\r\nno From\r\n")); err == nil || !strings.Contains(err.Error(), "no From") {
		t.Errorf("a message without From: %v", err)
	}
}

// TestNewSignerLeavesKeyAlone checks that NewSigner precomputes a copy of
// the key, not the caller's key, which other goroutines may be using.
func TestNewSignerLeavesKeyAlone(t *testing.T) {
	bare := &rsa.PrivateKey{PublicKey: testRSA1024.PublicKey, D: testRSA1024.D, Primes: testRSA1024.Primes}
	s, err := NewSigner(SignerOptions{Domain: "example.com", Selector: "sel", Key: bare})
	if err != nil {
		t.Fatal(err)
	}
	if bare.Precomputed.Dp != nil {
		t.Error("NewSigner precomputed the caller's key")
	}
	k, ok := s.key.(*rsa.PrivateKey)
	if o, isOpenSSL := s.key.(interface{ goKey() *rsa.PrivateKey }); isOpenSSL {
		k, ok = o.goKey(), true
	}
	if !ok || k.Precomputed.Dp == nil {
		t.Error("the signer's key is not precomputed")
	}
	signed, _ := signMsg(t, bare, testMsg)
	if err := verifyByHand(signed, &testRSA1024.PublicKey); err != nil {
		t.Error(err)
	}
}

// TestSignConcurrent signs with one Signer from many goroutines (run with
// -race).
func TestSignConcurrent(t *testing.T) {
	s, _ := NewSigner(SignerOptions{Domain: "example.com", Selector: "sel", Key: testRSA1024})
	z := zone{}
	z.publish(t, "sel", "example.com", testRSA1024)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			msg := strings.Replace(testMsg, "see  you.", fmt.Sprintf("message %d", g), 1)
			for range 5 {
				f, err := s.Sign([]byte(msg))
				if err == nil {
					var vs []Verification
					vs, err = Verify(context.Background(), []byte(f+msg), z.lookup)
					if err == nil && vs[0].Err != nil {
						err = vs[0].Err
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSignHeaderOnly(t *testing.T) {
	for _, msg := range []string{"From: a@example.com\r\nSubject: x\r\n", "From: a@example.com\r\nSubject: x"} {
		signed, z := signMsg(t, testEd25519, msg)
		vs, err := Verify(context.Background(), []byte(signed), z.lookup)
		if err != nil || len(vs) != 1 || vs[0].Err != nil {
			t.Errorf("%q: Verify = %+v, %v", msg, vs, err)
		}
		empty := sha256.Sum256(nil)
		if bh := sigTags(t, signed+"\r\n\r\n")["bh"]; bh != base64.StdEncoding.EncodeToString(empty[:]) {
			t.Errorf("%q: bh=%s", msg, bh)
		}
	}
}

func TestVerifyKeyProblems(t *testing.T) {
	ctx := context.Background()
	signed, good := signMsg(t, testRSA2048, testMsg)
	otherTXT, _ := TXTRecord(testRSA1024.Public())
	goodTXT := good["sel._domainkey.example.com"][0]
	serverFailure := &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}
	timeout := &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}

	tests := []struct {
		name      string
		lookup    TXTLookup
		temporary bool
		wrapped   error // the lookup error, when Err must wrap it
		errText   string
	}{
		{"NXDOMAIN is permanent", zone{}.lookup, false, nil, "no such host"},
		{"SERVFAIL is temporary", func(context.Context, string) ([]string, error) { return nil, serverFailure }, true, serverFailure, "server misbehaving"},
		{"timeout is temporary", func(context.Context, string) ([]string, error) { return nil, timeout }, true, timeout, "i/o timeout"},
		{"unknown errors are temporary", func(context.Context, string) ([]string, error) { return nil, errors.New("boom") }, true, nil, "boom"},
		{"cancelled context is temporary", func(ctx context.Context, _ string) ([]string, error) { return nil, context.Canceled }, true, context.Canceled, "canceled"},
		{"no record is permanent", func(context.Context, string) ([]string, error) { return nil, nil }, false, nil, "no valid key"},
		{"revoked key", zone{"sel._domainkey.example.com": {"v=DKIM1; p="}}.lookup, false, nil, "revoked"},
		{"wrong key", zone{"sel._domainkey.example.com": {otherTXT}}.lookup, false, nil, "did not verify"},
		{"two records", zone{"sel._domainkey.example.com": {goodTXT, goodTXT}}.lookup, false, nil, "multiple"},
		{"malformed record", zone{"sel._domainkey.example.com": {"p=!!"}}.lookup, false, nil, "key syntax"},
		{"ed25519 record for an RSA signature", zone{"sel._domainkey.example.com": {"k=ed25519; p=" + base64.StdEncoding.EncodeToString(testEd25519.Public().(ed25519.PublicKey))}}.lookup, false, nil, "inappropriate key algorithm"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs, err := Verify(ctx, []byte(signed), tc.lookup)
			if err != nil || len(vs) != 1 {
				t.Fatalf("Verify = %+v, %v", vs, err)
			}
			v := vs[0]
			if v.Err == nil || v.Temporary != tc.temporary || !strings.Contains(v.Err.Error(), tc.errText) {
				t.Fatalf("got %+v (%v), want temporary=%v and %q", v, v.Err, tc.temporary, tc.errText)
			}
			if tc.wrapped != nil && !errors.Is(v.Err, tc.wrapped) {
				t.Errorf("Err %v does not wrap %v", v.Err, tc.wrapped)
			}
			if v.Domain != "example.com" || v.Selector != "sel" {
				t.Errorf("d=%s s=%s", v.Domain, v.Selector)
			}
		})
	}
	// The context reaches the lookup.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	vs, _ := Verify(cctx, []byte(signed), func(ctx context.Context, _ string) ([]string, error) { return nil, ctx.Err() })
	if len(vs) != 1 || !errors.Is(vs[0].Err, context.Canceled) || !vs[0].Temporary {
		t.Errorf("cancelled: %+v", vs)
	}
}

func TestVerifySeveralSignatures(t *testing.T) {
	ctx := context.Background()
	z := zone{}
	z.publish(t, "ed", "example.com", testEd25519)
	z.publish(t, "r1", "example.net", testRSA1024)
	msg := testMsg
	// The second signer's field goes on top, as a relay's would.
	for _, o := range []SignerOptions{
		{Domain: "example.com", Selector: "ed", Key: testEd25519},
		{Domain: "example.net", Selector: "r1", Key: testRSA1024},
		{Domain: "example.org", Selector: "gone", Key: testRSA1024},
	} {
		s, err := NewSigner(o)
		if err != nil {
			t.Fatal(err)
		}
		f, err := s.Sign([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		msg = f + msg
	}
	lookups := map[string]int{}
	var mu sync.Mutex
	vs, err := Verify(ctx, []byte(msg), func(ctx context.Context, name string) ([]string, error) {
		mu.Lock()
		lookups[name]++
		mu.Unlock()
		return z.lookup(ctx, name)
	})
	if err != nil || len(vs) != 3 {
		t.Fatalf("Verify = %+v, %v", vs, err)
	}
	want := []struct {
		d, s string
		pass bool
	}{{"example.org", "gone", false}, {"example.net", "r1", true}, {"example.com", "ed", true}}
	for i, w := range want {
		if vs[i].Domain != w.d || vs[i].Selector != w.s || (vs[i].Err == nil) != w.pass {
			t.Errorf("signature %d: %+v, want %+v", i, vs[i], w)
		}
	}

	// The same key name is looked up once, and no more than MaxSignatures
	// signatures are checked.
	signed, _ := signMsg(t, testEd25519, testMsg)
	field := signed[:len(signed)-len(testMsg)]
	many := strings.Repeat(field, MaxSignatures+5) + testMsg
	clear(lookups)
	z.publish(t, "sel", "example.com", testEd25519)
	vs, err = Verify(ctx, []byte(many), func(ctx context.Context, name string) ([]string, error) {
		mu.Lock()
		lookups[name]++
		mu.Unlock()
		return z.lookup(ctx, name)
	})
	if err != nil || len(vs) != MaxSignatures {
		t.Fatalf("%d signatures checked, err %v", len(vs), err)
	}
	for _, v := range vs {
		if v.Err != nil {
			t.Errorf("repeated signature: %v", v.Err)
		}
	}
	if lookups["sel._domainkey.example.com"] != 1 {
		t.Errorf("lookups %v", lookups)
	}
}

func TestVerifyUnsignedAndMalformed(t *testing.T) {
	ctx := context.Background()
	z := zone{}
	if vs, err := Verify(ctx, []byte(testMsg), z.lookup); err != nil || len(vs) != 0 {
		t.Errorf("unsigned: %+v, %v", vs, err)
	}
	if _, err := Verify(ctx, []byte(testMsg), nil); err == nil {
		t.Error("nil lookup accepted")
	}
	tests := []struct{ name, field, want string }{
		{"no tags", "DKIM-Signature: garbage\r\n", "malformed"},
		{"wrong version", "DKIM-Signature: v=2; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AA==; b=AA==\r\n", "version"},
		{"missing tags", "DKIM-Signature: v=1; d=example.com; s=sel\r\n", "missing required tag"},
		{"From not signed", "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=to; bh=AA==; b=AA==\r\n", "From field not signed"},
		{"sha1", "DKIM-Signature: v=1; a=rsa-sha1; d=example.com; s=sel; h=from; bh=AA==; b=AA==\r\n", "too weak"},
		{"l= tag", "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=from; l=1; bh=AA==; b=AA==\r\n", "body length"},
		{"expired", "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=from; t=1; x=2; bh=AA==; b=AA==\r\n", "expired"},
	}
	z.publish(t, "sel", "example.com", testRSA1024)
	for _, tc := range tests {
		vs, err := Verify(ctx, []byte(tc.field+testMsg), z.lookup)
		if err != nil || len(vs) != 1 || vs[0].Err == nil || vs[0].Temporary || !strings.Contains(vs[0].Err.Error(), tc.want) {
			t.Errorf("%s: %+v, %v", tc.name, vs, err)
		}
	}
}

// TestHostileHeaders checks that headers built to make go-msgauth work
// quadratically are refused quickly. Before the budgets, the 40000-name
// case took about 30 s and the folded one about 2 s.
func TestHostileHeaders(t *testing.T) {
	z := zone{}
	z.publish(t, "sel", "example.com", testEd25519)
	bh := func() string {
		sum := sha256.Sum256([]byte("body\r\n"))
		return base64.StdEncoding.EncodeToString(sum[:])
	}()
	sig := func(h string) string {
		return "DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=sel; h=" + h + "; bh=" + bh + "; b=AA==\r\n"
	}
	tests := []struct {
		name string
		msg  string
	}{
		{"many fields, long h=", sig(strings.Repeat("x:", 40000)+"from") + "From: a\r\n" + strings.Repeat("Y: a\r\n", 40000) + "\r\nbody\r\n"},
		{"many folded lines", sig("from") + "From: a\r\nX-Long: a\r\n" + strings.Repeat(" a\r\n", 40000) + "\r\nbody\r\n"},
		{"long field without colon", sig(strings.Repeat("x:", 5000)+"from") + "From: a\r\n" + strings.Repeat("y", 1<<20) + "\r\n\r\nbody\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			vs, err := Verify(context.Background(), []byte(tc.msg), z.lookup)
			if err != nil || len(vs) != 1 || vs[0].Err == nil || vs[0].Temporary || !strings.Contains(vs[0].Err.Error(), "too complex") {
				t.Errorf("Verify = %+v, %v", vs, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Verify took %v", d)
			}
		})
	}
	// Sign has the same guard: 40000 signed fields.
	s, _ := NewSigner(SignerOptions{Domain: "example.com", Selector: "sel", Key: testEd25519})
	msg := "From: a@example.com\r\n" + strings.Repeat("To: b@example.org\r\n", 40000) + "\r\nbody\r\n"
	start := time.Now()
	if _, err := s.Sign([]byte(msg)); err == nil || !strings.Contains(err.Error(), "too complex") {
		t.Errorf("Sign: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Sign took %v", d)
	}
	// A large but ordinary header is fine: 300 fields, 100 recipients
	// folded one per line.
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nTo: r0@example.org")
	for i := 1; i < 100; i++ {
		fmt.Fprintf(&b, ",\r\n r%d@example.org", i)
	}
	b.WriteString("\r\n")
	for i := range 300 {
		fmt.Fprintf(&b, "Received: from relay%d.example.net by relay%d.example.net; Mon, 15 Jan 2024 10:15:00 +0000\r\n", i, i+1)
	}
	b.WriteString("\r\nbody\r\n")
	signed, z2 := signMsg(t, testEd25519, b.String())
	if vs, err := Verify(context.Background(), []byte(signed), z2.lookup); err != nil || vs[0].Err != nil {
		t.Errorf("large ordinary header: %+v %v", vs, err)
	}
}
