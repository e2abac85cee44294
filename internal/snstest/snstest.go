// Package snstest is a webhook subscriber for tests: an HTTP server on
// loopback that confirms its SNS subscriptions, verifies every envelope's
// signature with the certificate the sender serves (written from the
// reference, independently of package sns), and keeps the notifications.
package snstest

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sesame-email/sesame/internal/testenv"
)

var ctx = context.Background()

// Envelope is what an SNS HTTP subscriber receives.
type Envelope struct {
	Type, MessageId, Token, TopicArn, Subject, Message, SubscribeURL, Timestamp string
	SignatureVersion, Signature, SigningCertURL, UnsubscribeURL                 string
}

// Verify checks an envelope's signature the way SNS subscribers do,
// written here from the reference (§8), independently of sesame's code:
// fetch the certificate at SigningCertURL, rebuild the string to sign,
// check SHA256withRSA.
func (e Envelope) Verify() error {
	if e.SignatureVersion != "2" {
		return fmt.Errorf("SignatureVersion %q", e.SignatureVersion)
	}
	resp, err := http.Get(e.SigningCertURL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	pemBytes, _ := io.ReadAll(resp.Body)
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return errors.New("certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	var fields []string
	if e.Type == "Notification" {
		fields = []string{"Message", e.Message, "MessageId", e.MessageId}
		if e.Subject != "" {
			fields = append(fields, "Subject", e.Subject)
		}
		fields = append(fields, "Timestamp", e.Timestamp, "TopicArn", e.TopicArn, "Type", e.Type)
	} else {
		fields = []string{"Message", e.Message, "MessageId", e.MessageId, "SubscribeURL", e.SubscribeURL, "Timestamp", e.Timestamp,
			"Token", e.Token, "TopicArn", e.TopicArn, "Type", e.Type}
	}
	var sb strings.Builder
	for _, f := range fields {
		sb.WriteString(f + "\n")
	}
	sig, err := base64.StdEncoding.DecodeString(e.Signature)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(sb.String()))
	return rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig)
}

// Subscriber is an HTTP endpoint that confirms its subscriptions and keeps
// the notifications whose signature verifies.
type Subscriber struct {
	*httptest.Server
	// Mu guards the fields below.
	Mu  sync.Mutex
	Got []Envelope
	bad []string
	// FailNext answers 500 to this many notifications.
	FailNext int
	// Hold, when set, makes notifications wait for it.
	Hold chan struct{}
	// Seen counts notifications that reached the handler.
	Seen int
}

func Start(t testing.TB) *Subscriber {
	s := &Subscriber{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var e Envelope
		if err := json.Unmarshal(body, &e); err != nil {
			s.Mu.Lock()
			s.bad = append(s.bad, "not JSON: "+string(body))
			s.Mu.Unlock()
			w.WriteHeader(400)
			return
		}
		if r.Header.Get("x-amz-sns-message-type") != e.Type || r.Header.Get("x-amz-sns-topic-arn") != e.TopicArn {
			s.Mu.Lock()
			s.bad = append(s.bad, "headers disagree with the body")
			s.Mu.Unlock()
		}
		if err := e.Verify(); err != nil {
			s.Mu.Lock()
			s.bad = append(s.bad, "signature: "+err.Error())
			s.Mu.Unlock()
			w.WriteHeader(400)
			return
		}
		if e.Type == "SubscriptionConfirmation" {
			resp, err := http.Get(e.SubscribeURL)
			if err == nil {
				resp.Body.Close()
			}
			return
		}
		s.Mu.Lock()
		s.Seen++
		hold := s.Hold
		if s.FailNext > 0 {
			s.FailNext--
			s.Mu.Unlock()
			w.WriteHeader(500)
			return
		}
		s.Mu.Unlock()
		if hold != nil {
			<-hold
		}
		s.Mu.Lock()
		s.Got = append(s.Got, e)
		s.Mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

// Messages returns the decoded Message of every notification so far.
func (s *Subscriber) Messages(t testing.TB) []map[string]any {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if len(s.bad) > 0 {
		t.Fatalf("subscriber saw bad requests: %v", s.bad)
	}
	var out []map[string]any
	for _, e := range s.Got {
		var m map[string]any
		if err := json.Unmarshal([]byte(e.Message), &m); err != nil {
			t.Fatalf("Message is not JSON: %q", e.Message)
		}
		out = append(out, m)
	}
	return out
}

// WaitFor polls cond until it holds or 20 s pass.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Topic creates a topic with a confirmed HTTP subscription to sub.
func Topic(t testing.TB, env *testenv.Env, name string, sub *Subscriber) string {
	t.Helper()
	c := env.SNS("", nil)
	tp, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: tp.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(sub.URL + "/hook")})
	if err != nil || aws.ToString(out.SubscriptionArn) != "pending confirmation" {
		t.Fatalf("subscribe = %v, %v", out, err)
	}
	WaitFor(t, "the subscription's confirmation", func() bool {
		l, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: tp.TopicArn})
		return err == nil && len(l.Subscriptions) == 1 && strings.HasPrefix(aws.ToString(l.Subscriptions[0].SubscriptionArn), aws.ToString(tp.TopicArn)+":")
	})
	return aws.ToString(tp.TopicArn)
}
