package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/spf13/cobra"

	"github.com/sesame-email/sesame/internal/apiclient"
	"github.com/sesame-email/sesame/internal/dnscheck"
)

// sesv2Client returns an SDK client for the same endpoint, key and region
// as the admin client: the CLI is an ordinary SES client.
func sesv2Client(c *apiclient.Client) *sesv2.Client {
	return sesv2.NewFromConfig(aws.Config{
		Region:       c.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
		BaseEndpoint: aws.String(c.Endpoint),
	})
}

func newIdentity(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "Manage identities (domains and addresses) and their DNS records"}
	var keyLength, selector, keyFile string
	create := &cobra.Command{
		Use:   "create DOMAIN|ADDRESS",
		Short: "Create an identity and print the DNS records to publish",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			in := &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(args[0])}
			if keyLength != "" || selector != "" {
				in.DkimSigningAttributes = &types.DkimSigningAttributes{}
				if keyLength != "" {
					in.DkimSigningAttributes.NextSigningKeyLength = types.DkimSigningKeyLength(keyLength)
				}
				if selector != "" {
					key, err := readFileArg(keyFile)
					if err != nil {
						return err
					}
					in.DkimSigningAttributes.DomainSigningSelector = aws.String(selector)
					in.DkimSigningAttributes.DomainSigningPrivateKey = aws.String(key)
				}
			}
			out, err := sesv2Client(c).CreateEmailIdentity(cmd.Context(), in)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s (%s) in %s\n", args[0], out.IdentityType, c.Region)
			if out.IdentityType == types.IdentityTypeEmailAddress {
				fmt.Fprintln(cmd.OutOrStdout(), "a verification link was mailed to the address")
				return nil
			}
			fmt.Fprintln(cmd.OutOrStdout(), "publish these records:")
			recs, err := c.IdentityRecords(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return dnscheck.Render(cmd.OutOrStdout(), recs, "table")
		},
	}
	create.Flags().StringVar(&keyLength, "key-length", "", "Easy DKIM key length: RSA_2048_BIT (default) or RSA_1024_BIT")
	create.Flags().StringVar(&selector, "selector", "", "BYODKIM selector (with --private-key)")
	create.Flags().StringVar(&keyFile, "private-key", "", "BYODKIM private key file (base64 DER or PEM)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the region's identities with their status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			rows := [][]string{{"IDENTITY", "TYPE", "STATUS", "SENDING"}}
			p := sesv2.NewListEmailIdentitiesPaginator(sesv2Client(c), &sesv2.ListEmailIdentitiesInput{PageSize: aws.Int32(1000)})
			for p.HasMorePages() {
				page, err := p.NextPage(cmd.Context())
				if err != nil {
					return err
				}
				for _, id := range page.EmailIdentities {
					rows = append(rows, []string{aws.ToString(id.IdentityName), string(id.IdentityType), string(id.VerificationStatus), strconv.FormatBool(id.SendingEnabled)})
				}
			}
			table(cmd.OutOrStdout(), rows)
			return nil
		},
	}

	show := &cobra.Command{
		Use:   "show IDENTITY",
		Short: "Show an identity: statuses, DKIM, MAIL FROM, and why it is not verified",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			out, err := sesv2Client(c).GetEmailIdentity(cmd.Context(), &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(args[0])})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "identity:      %s (%s, %s)\n", args[0], out.IdentityType, c.Region)
			fmt.Fprintf(w, "verification:  %s%s\n", out.VerificationStatus, errSuffix(out.VerificationInfo))
			if out.VerificationInfo != nil && out.VerificationInfo.LastCheckedTimestamp != nil {
				fmt.Fprintf(w, "last checked:  %s\n", out.VerificationInfo.LastCheckedTimestamp.UTC().Format(time.RFC3339))
			}
			if d := out.DkimAttributes; d != nil {
				fmt.Fprintf(w, "dkim:          %s, signing %v, %s %s, tokens %s\n", d.Status, d.SigningEnabled, d.SigningAttributesOrigin, d.CurrentSigningKeyLength, strings.Join(d.Tokens, " "))
			}
			if m := out.MailFromAttributes; m != nil && aws.ToString(m.MailFromDomain) != "" {
				fmt.Fprintf(w, "mail from:     %s %s (%s)\n", aws.ToString(m.MailFromDomain), m.MailFromDomainStatus, m.BehaviorOnMxFailure)
			}
			recs, err := c.IdentityRecords(cmd.Context(), args[0])
			if err != nil || len(recs) == 0 {
				return err
			}
			fmt.Fprintln(w, "records:")
			return dnscheck.Render(w, recs, "table")
		},
	}

	del := &cobra.Command{
		Use:   "delete IDENTITY",
		Short: "Delete an identity (its DKIM keys stop resolving at once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			_, err = sesv2Client(c).DeleteEmailIdentity(cmd.Context(), &sesv2.DeleteEmailIdentityInput{EmailIdentity: aws.String(args[0])})
			return err
		},
	}

	verify := &cobra.Command{
		Use:   "verify IDENTITY",
		Short: "Check the identity's DNS records now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			out, err := c.VerifyIdentity(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "verification %s, dkim %s", out.VerificationStatus, out.DkimStatus)
			if out.MailFromStatus != "" {
				fmt.Fprintf(cmd.OutOrStdout(), ", mail from %s", out.MailFromStatus)
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return dnscheck.Render(cmd.OutOrStdout(), out.Records, "table")
		},
	}

	var format string
	records := &cobra.Command{
		Use:   "records IDENTITY",
		Short: "Print the DNS records to hand to the DNS admin (table, csv, json, bind)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			recs, err := c.IdentityRecords(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return dnscheck.Render(cmd.OutOrStdout(), recs, format)
		},
	}
	records.Flags().StringVar(&format, "format", "table", "table, csv, json or bind")
	ed := &cobra.Command{
		Use:   "ed25519 DOMAIN on|off",
		Short: "Sign with an Ed25519 key too (RFC 8463), once its CNAME is published",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[1] != "on" && args[1] != "off" {
				return fmt.Errorf("want on or off, not %q", args[1])
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			tok, err := c.SetEd25519(cmd.Context(), args[0], args[1] == "on")
			if err != nil {
				return err
			}
			if tok == "" {
				fmt.Fprintln(cmd.OutOrStdout(), "Ed25519 signing is off")
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "publish: %s._domainkey.%s CNAME %s.dkim.<service domain> (see: sesame identity records %s)\n", tok, args[0], tok, args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, show, del, verify, records, ed)
	return cmd
}

func errSuffix(v *types.VerificationInfo) string {
	if v == nil || v.ErrorType == "" {
		return ""
	}
	return " (" + string(v.ErrorType) + ")"
}
