package sesapi_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/sesame-email/sesame/internal/testenv"
)

// TestListConfigurationSets: the sesv2 SDK lists with POST
// /v2/email/list-configuration-sets (older clients, the AWS CLI among them,
// with GET /v2/email/configuration-sets); both page with NextToken, and the
// POST form filters by a substring of the name.
func TestListConfigurationSets(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	v2 := env.SESv2("", nil)
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("set-%d", i)
		if i%2 == 1 {
			name = fmt.Sprintf("odd-%d", i)
		}
		want = append(want, name)
		if _, err := v2.CreateConfigurationSet(ctx, &sesv2.CreateConfigurationSetInput{ConfigurationSetName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(want)
	var got []string
	var token *string
	for pages := 0; ; pages++ {
		out, err := v2.ListConfigurationSets(ctx, &sesv2.ListConfigurationSetsInput{PageSize: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ConfigurationSets) > 2 || pages > 5 {
			t.Fatalf("page of %d", len(out.ConfigurationSets))
		}
		got = append(got, out.ConfigurationSets...)
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged list = %v, want %v", got, want)
	}
	out, err := v2.ListConfigurationSets(ctx, &sesv2.ListConfigurationSetsInput{Filter: map[string]string{"Name": "odd"}})
	if err != nil || !slices.Equal(out.ConfigurationSets, []string{"odd-1", "odd-3"}) {
		t.Errorf("filtered list = %v, %v", out, err)
	}
	// Another account sees none of them.
	other := env.NewAccount(t, "acme", "production")
	if out, err := env.SESv2("", &other).ListConfigurationSets(ctx, &sesv2.ListConfigurationSetsInput{}); err != nil || len(out.ConfigurationSets) != 0 {
		t.Errorf("another account lists %v, %v", out, err)
	}
	// The GET form still answers.
	var legacy struct {
		ConfigurationSets []string
		NextToken         string
	}
	if err := env.Admin(nil).Do(ctx, "GET", "/v2/email/configuration-sets?PageSize=3", nil, &legacy); err != nil {
		t.Fatal(err)
	}
	if len(legacy.ConfigurationSets) != 3 || legacy.NextToken == "" {
		t.Errorf("GET list = %+v", legacy)
	}
}
