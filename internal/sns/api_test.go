package sns_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/sesame-email/sesame/internal/testenv"
)

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestSNSAPI drives the SNS Query API with aws-sdk-go-v2's sns client.
func TestSNSAPI(t *testing.T) {
	ctx := context.Background()
	env := testenv.Start(t, testenv.Options{})
	c := env.SNS("", nil)
	a, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("events")})
	if err != nil || !strings.HasPrefix(aws.ToString(a.TopicArn), "arn:aws:sns:us-east-1:") || !strings.HasSuffix(aws.ToString(a.TopicArn), ":events") {
		t.Fatalf("create = %v, %v", a, err)
	}
	again, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("events")})
	if err != nil || aws.ToString(again.TopicArn) != aws.ToString(a.TopicArn) {
		t.Errorf("CreateTopic is idempotent: %v, %v", again, err)
	}
	if _, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("bad name!")}); code(err) != "InvalidParameter" {
		t.Errorf("bad name: %v", err)
	}
	c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("another")})
	list, err := c.ListTopics(ctx, &sns.ListTopicsInput{})
	if err != nil || len(list.Topics) != 2 || list.NextToken != nil {
		t.Errorf("list = %+v, %v", list, err)
	}
	for _, bad := range []*sns.SubscribeInput{
		{TopicArn: a.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("a@example.org")},
		{TopicArn: a.TopicArn, Protocol: aws.String("https"), Endpoint: aws.String("http://127.0.0.1/x")},
	} {
		if _, err := c.Subscribe(ctx, bad); code(err) != "InvalidParameter" {
			t.Errorf("subscribe %s %s: %v", *bad.Protocol, *bad.Endpoint, err)
		}
	}
	sub, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: a.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String("http://127.0.0.1:9/nobody"), ReturnSubscriptionArn: true})
	if err != nil || !strings.HasPrefix(aws.ToString(sub.SubscriptionArn), aws.ToString(a.TopicArn)+":") {
		t.Fatalf("subscribe = %v, %v", sub, err)
	}
	if _, err := c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: a.TopicArn, Token: aws.String("wrong")}); code(err) != "InvalidParameter" {
		t.Errorf("wrong token: %v", err)
	}
	// The unauthenticated SubscribeURL needs the token too.
	resp, err := http.Get(env.URL + "/sns/confirm?" + url.Values{"TopicArn": {aws.ToString(a.TopicArn)}, "Token": {"wrong"}}.Encode())
	if err != nil || resp.StatusCode != 400 {
		t.Errorf("confirm link with a wrong token: %v %v", resp, err)
	}
	attrs, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: a.TopicArn})
	if err != nil || attrs.Attributes["SubscriptionsPending"] != "1" || attrs.Attributes["SubscriptionsConfirmed"] != "0" {
		t.Errorf("attributes = %v, %v", attrs, err)
	}
	// Another account sees none of it.
	other := env.NewAccount(t, "other", "production")
	oc := env.SNS("", &other)
	if _, err := oc.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: a.TopicArn}); code(err) != "NotFound" {
		t.Errorf("other account reads the topic: %v", err)
	}
	if l, err := oc.ListTopics(ctx, &sns.ListTopicsInput{}); err != nil || len(l.Topics) != 0 {
		t.Errorf("other account lists %+v, %v", l, err)
	}
	if _, err := c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: sub.SubscriptionArn}); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: a.TopicArn}); len(l.Subscriptions) != 0 {
		t.Errorf("after unsubscribe: %+v", l.Subscriptions)
	}
	if _, err := c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: a.TopicArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: a.TopicArn}); code(err) != "NotFound" {
		t.Errorf("deleted topic: %v", err)
	}
	// The signing certificate is public.
	resp, err = http.Get(env.URL + "/sns/signing-cert.pem")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("certificate: %v %v", resp, err)
	}
}
