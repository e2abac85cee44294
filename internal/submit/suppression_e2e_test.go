package submit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

func TestSuppressionList(t *testing.T) { eachStore(t, testSuppressionList) }

func testSuppressionList(t *testing.T, st string) {
	env := devEnv(t, st)
	v2 := env.SESv2("", nil)
	for _, in := range []*sesv2.PutSuppressedDestinationInput{
		{EmailAddress: aws.String("Gone@Example.org"), Reason: types.SuppressionListReasonBounce},
		{EmailAddress: aws.String("angry@example.org"), Reason: types.SuppressionListReasonComplaint},
	} {
		if _, err := v2.PutSuppressedDestination(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []*sesv2.PutSuppressedDestinationInput{
		{EmailAddress: aws.String("not an address"), Reason: types.SuppressionListReasonBounce},
		{EmailAddress: aws.String("x@example.org"), Reason: "SPAM"},
	} {
		if _, err := v2.PutSuppressedDestination(ctx, bad); apiCode(err) != "BadRequestException" {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	got, err := v2.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String("gone@example.org")})
	if err != nil || got.SuppressedDestination.Reason != types.SuppressionListReasonBounce || got.SuppressedDestination.LastUpdateTime == nil {
		t.Fatalf("get = %+v, %v", got, err)
	}
	list, err := v2.ListSuppressedDestinations(ctx, &sesv2.ListSuppressedDestinationsInput{Reasons: []types.SuppressionListReason{types.SuppressionListReasonComplaint}})
	if err != nil || len(list.SuppressedDestinationSummaries) != 1 || aws.ToString(list.SuppressedDestinationSummaries[0].EmailAddress) != "angry@example.org" {
		t.Fatalf("list COMPLAINT = %+v, %v", list, err)
	}
	page, err := v2.ListSuppressedDestinations(ctx, &sesv2.ListSuppressedDestinationsInput{PageSize: aws.Int32(1), StartDate: aws.Time(time.Now().Add(-time.Hour))})
	if err != nil || len(page.SuppressedDestinationSummaries) != 1 || page.NextToken == nil {
		t.Fatalf("page 1 = %+v, %v", page, err)
	}
	page, _ = v2.ListSuppressedDestinations(ctx, &sesv2.ListSuppressedDestinationsInput{PageSize: aws.Int32(1), NextToken: page.NextToken})
	if len(page.SuppressedDestinationSummaries) != 1 || aws.ToString(page.SuppressedDestinationSummaries[0].EmailAddress) != "gone@example.org" || page.NextToken != nil {
		t.Fatalf("page 2 = %+v", page)
	}

	// A send to a suppressed and a normal recipient: accepted, the
	// suppressed one is never sent to.
	out, err := v2.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("ann@example.com"),
		Destination: &types.Destination{ToAddresses: []string{"GONE@example.org", "fine@example.org"}},
		Content:     &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	deadline := time.Now().Add(5 * time.Second)
	for len(states) < 2 || strings.HasPrefix(states["fine@example.org"], "queued") {
		m, _ := env.Admin(nil).Message(ctx, aws.ToString(out.MessageId))
		for _, r := range m.Recipients {
			states[strings.ToLower(r.Address)] = r.State + " " + r.LastResponse
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.HasPrefix(states["gone@example.org"], "bounced 5.1.1 not sent: on the account's suppression list (BOUNCE; OnAccountSuppressionList)") {
		t.Errorf("suppressed recipient: %q", states["gone@example.org"])
	}
	if !strings.HasPrefix(states["fine@example.org"], "captured") {
		t.Errorf("normal recipient: %q", states["fine@example.org"])
	}
	if _, err := v2.DeleteSuppressedDestination(ctx, &sesv2.DeleteSuppressedDestinationInput{EmailAddress: aws.String("gone@example.org")}); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.DeleteSuppressedDestination(ctx, &sesv2.DeleteSuppressedDestinationInput{EmailAddress: aws.String("gone@example.org")}); apiCode(err) != "NotFoundException" {
		t.Errorf("second delete: %v", err)
	}
	// Another account's list is its own.
	other := env.NewAccount(t, "other", "production")
	if _, err := env.SESv2("", &other).GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String("angry@example.org")}); apiCode(err) != "NotFoundException" {
		t.Errorf("another account sees the list: %v", err)
	}
}
