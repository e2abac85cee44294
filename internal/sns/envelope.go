package sns

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/ids"
	"github.com/sesame-email/sesame/internal/store"
)

// CertPath is where sesame serves the signing certificate (SigningCertURL).
const CertPath = "/sns/signing-cert.pem"

// ConfirmPath and UnsubscribePath are the unauthenticated links in
// envelopes (SubscribeURL, UnsubscribeURL); a token authorises each.
const (
	ConfirmPath     = "/sns/confirm"
	UnsubscribePath = "/sns/unsubscribe"
)

// Signer signs envelopes with SignatureVersion 2 (SHA256withRSA).
type Signer struct {
	Key *rsa.PrivateKey
	// CertPEM is the certificate served at CertPath.
	CertPEM []byte
}

// envelope is the JSON an HTTP subscriber receives. Field order follows
// SNS; empty optional fields are left out.
type envelope struct {
	Type             string
	MessageId        string
	Token            string `json:",omitempty"`
	TopicArn         string
	Subject          string `json:",omitempty"`
	Message          string
	SubscribeURL     string `json:",omitempty"`
	Timestamp        string
	SignatureVersion string
	Signature        string
	SigningCertURL   string
	UnsubscribeURL   string `json:",omitempty"`
}

// StringToSign is the text SNS signs: "key\nvalue\n" for each signed
// field that is present, in SNS's fixed order (Notification: Message,
// MessageId, Subject, Timestamp, TopicArn, Type; confirmations: Message,
// MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type).
func (e *envelope) StringToSign() string {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	add("Message", e.Message)
	add("MessageId", e.MessageId)
	if e.Type == "Notification" {
		if e.Subject != "" {
			add("Subject", e.Subject)
		}
	} else {
		add("SubscribeURL", e.SubscribeURL)
	}
	add("Timestamp", e.Timestamp)
	if e.Type != "Notification" {
		add("Token", e.Token)
	}
	add("TopicArn", e.TopicArn)
	add("Type", e.Type)
	return b.String()
}

func (s *Service) sign(e *envelope) []byte {
	e.SignatureVersion = "2"
	e.SigningCertURL = s.cfg.BaseURL() + CertPath
	sum := sha256.Sum256([]byte(e.StringToSign()))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.cfg.Signer.Key, crypto.SHA256, sum[:])
	if err != nil { // only on a broken key, which LoadSigning would have refused
		panic("sns: signing: " + err.Error())
	}
	e.Signature = base64.StdEncoding.EncodeToString(sig)
	b, _ := json.Marshal(e)
	return b
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// notification builds a signed Notification envelope.
func (s *Service) notification(id, topicARN string, sub Subscription, subject, message string, now time.Time) []byte {
	e := &envelope{Type: "Notification", MessageId: id, TopicArn: topicARN, Subject: subject, Message: message, Timestamp: stamp(now),
		UnsubscribeURL: s.cfg.BaseURL() + UnsubscribePath + "?" + url.Values{"SubscriptionArn": {sub.ARN}, "Token": {sub.Token}}.Encode()}
	return s.sign(e)
}

// confirmation builds the SubscriptionConfirmation a new subscriber gets.
func (s *Service) confirmation(accountID, region, topicARN string, sub Subscription) store.Notification {
	now := s.now()
	id := ids.UUID()
	link := s.cfg.BaseURL() + ConfirmPath + "?" + url.Values{"Action": {"ConfirmSubscription"}, "TopicArn": {topicARN}, "Token": {sub.Token}}.Encode()
	e := &envelope{Type: "SubscriptionConfirmation", MessageId: id, Token: sub.Token, TopicArn: topicARN,
		Message:      "You have chosen to subscribe to the topic " + topicARN + ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL: link, Timestamp: stamp(now)}
	return store.Notification{ID: id, AccountID: accountID, Region: region, TopicARN: topicARN, SubscriptionARN: sub.ARN, Type: e.Type,
		Endpoint: sub.Endpoint, Body: s.sign(e), State: store.NotePending, NextAttempt: now, CreatedAt: now, UpdatedAt: now}
}
