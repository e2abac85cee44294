package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/spf13/cobra"
)

func newSend(g *globals) *cobra.Command {
	var from, subject, text, html, rawFile, configSet string
	var to, cc, bcc, attach []string
	cmd := &cobra.Command{
		Use:   "send",
		Short: "Send a message through the API (SESv2 SendEmail)",
		Example: "  sesame send --from news@example.com --to ann@example.org --subject Hi --text 'Hello'\n" +
			"  sesame send --raw message.eml",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			in := &sesv2.SendEmailInput{ConfigurationSetName: nilIfEmpty(configSet)}
			if from != "" {
				in.FromEmailAddress = aws.String(from)
			}
			if len(to)+len(cc)+len(bcc) > 0 {
				in.Destination = &types.Destination{ToAddresses: to, CcAddresses: cc, BccAddresses: bcc}
			}
			if rawFile != "" {
				data, err := readFileArg(rawFile)
				if err != nil {
					return err
				}
				in.Content = &types.EmailContent{Raw: &types.RawMessage{Data: []byte(data)}}
			} else {
				if from == "" || len(to)+len(cc)+len(bcc) == 0 {
					return fmt.Errorf("--from and at least one of --to, --cc, --bcc are required (or --raw)")
				}
				msg := &types.Message{Subject: &types.Content{Data: aws.String(subject), Charset: aws.String("UTF-8")}, Body: &types.Body{}}
				if text != "" {
					msg.Body.Text = &types.Content{Data: aws.String(text), Charset: aws.String("UTF-8")}
				}
				if html != "" {
					msg.Body.Html = &types.Content{Data: aws.String(html), Charset: aws.String("UTF-8")}
				}
				for _, path := range attach {
					data, err := os.ReadFile(path)
					if err != nil {
						return err
					}
					msg.Attachments = append(msg.Attachments, types.Attachment{FileName: aws.String(filepath.Base(path)), RawContent: data})
				}
				in.Content = &types.EmailContent{Simple: msg}
			}
			out, err := sesv2Client(c).SendEmail(cmd.Context(), in)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), aws.ToString(out.MessageId))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "From address (a verified identity)")
	f.StringArrayVar(&to, "to", nil, "recipient (repeatable)")
	f.StringArrayVar(&cc, "cc", nil, "Cc recipient (repeatable)")
	f.StringArrayVar(&bcc, "bcc", nil, "Bcc recipient (repeatable)")
	f.StringVar(&subject, "subject", "", "subject")
	f.StringVar(&text, "text", "", "text body")
	f.StringVar(&html, "html", "", "HTML body")
	f.StringArrayVar(&attach, "attach", nil, "file to attach (repeatable)")
	f.StringVar(&rawFile, "raw", "", "send this MIME file as is (- for standard input)")
	f.StringVar(&configSet, "configuration-set", "", "configuration set name")
	return cmd
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
