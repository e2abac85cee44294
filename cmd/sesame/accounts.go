package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sesame-email/sesame/internal/apiclient"
	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/sesapi"
	"github.com/sesame-email/sesame/internal/sigv4"
)

func quota(v float64) string {
	if v < 0 {
		return "unlimited"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func accountRows(accts []sesapi.AdminAccount) [][]string {
	rows := [][]string{{"ID", "NAME", "MODE", "MAX24HOURSEND", "MAXSENDRATE", "CREATED"}}
	for _, a := range accts {
		rows = append(rows, []string{a.AccountId, a.Name, a.Mode, quota(a.Max24HourSend), quota(a.MaxSendRate), a.CreatedAt.Time().Format("2006-01-02T15:04:05Z")})
	}
	return rows
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newAccount(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Manage accounts (tenants): sandbox or production, quotas"}
	var mode string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an account (needs an admin key)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			a, err := c.CreateAccount(cmd.Context(), args[0], mode)
			if err != nil {
				return err
			}
			table(cmd.OutOrStdout(), accountRows([]sesapi.AdminAccount{a}))
			return nil
		},
	}
	create.Flags().StringVar(&mode, "mode", "sandbox", "sandbox or production")
	list := &cobra.Command{
		Use:   "list",
		Short: "List accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			accts, err := c.ListAccounts(cmd.Context())
			if err != nil {
				return err
			}
			table(cmd.OutOrStdout(), accountRows(accts))
			return nil
		},
	}
	show := &cobra.Command{
		Use:   "show [ID|NAME]",
		Short: "Show an account (default: the caller's)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var a sesapi.AdminAccount
			if len(args) == 0 {
				w, err := c.WhoAmI(cmd.Context())
				if err != nil {
					return err
				}
				a = w.Account
			} else if a, err = c.GetAccount(cmd.Context(), args[0]); err != nil {
				return err
			}
			return printJSON(cmd, a)
		},
	}
	var upd struct {
		mode        string
		max24, rate float64
	}
	update := &cobra.Command{
		Use:   "update ID|NAME",
		Short: "Change an account's mode or quotas (-1 = unlimited; needs an admin key)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var u apiclient.AccountUpdate
			if cmd.Flags().Changed("mode") {
				u.Mode = &upd.mode
			}
			if cmd.Flags().Changed("max-24-hour-send") {
				u.Max24HourSend = &upd.max24
			}
			if cmd.Flags().Changed("max-send-rate") {
				u.MaxSendRate = &upd.rate
			}
			a, err := c.UpdateAccount(cmd.Context(), args[0], u)
			if err != nil {
				return err
			}
			table(cmd.OutOrStdout(), accountRows([]sesapi.AdminAccount{a}))
			return nil
		},
	}
	update.Flags().StringVar(&upd.mode, "mode", "", "sandbox or production")
	update.Flags().Float64Var(&upd.max24, "max-24-hour-send", 0, "daily recipient quota")
	update.Flags().Float64Var(&upd.rate, "max-send-rate", 0, "recipients per second")
	cmd.AddCommand(create, list, show, update)
	return cmd
}

func newKeys(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage API access keys and SMTP passwords"}
	var acct, desc string
	var admin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an access key; its secret is shown once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if acct == "" {
				w, err := c.WhoAmI(cmd.Context())
				if err != nil {
					return err
				}
				acct = w.Account.AccountId
			}
			k, err := c.CreateKey(cmd.Context(), acct, admin, desc)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "aws_access_key_id     = %s\naws_secret_access_key = %s\naccount               = %s\nsmtp_password (%s) = %s\n",
				k.AccessKeyId, k.SecretAccessKey, k.AccountId, c.Region, sigv4.SMTPPassword(k.SecretAccessKey, c.Region))
			return nil
		},
	}
	create.Flags().StringVar(&acct, "account", "", "account id or name (default: the caller's)")
	create.Flags().StringVar(&desc, "description", "", "what the key is for")
	create.Flags().BoolVar(&admin, "admin", false, "may manage accounts and keys")
	list := &cobra.Command{
		Use:   "list",
		Short: "List an account's keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ref := acct
			if ref == "" {
				w, err := c.WhoAmI(cmd.Context())
				if err != nil {
					return err
				}
				ref = w.Account.AccountId
			}
			keys, err := c.ListKeys(cmd.Context(), ref)
			if err != nil {
				return err
			}
			rows := [][]string{{"ACCESS KEY ID", "ACCOUNT", "ADMIN", "CREATED", "DESCRIPTION"}}
			for _, k := range keys {
				rows = append(rows, []string{k.AccessKeyId, k.AccountId, strconv.FormatBool(k.Admin), k.CreatedAt.Time().Format("2006-01-02T15:04:05Z"), k.Description})
			}
			table(cmd.OutOrStdout(), rows)
			return nil
		},
	}
	list.Flags().StringVar(&acct, "account", "", "account id or name (default: the caller's)")
	del := &cobra.Command{
		Use:   "delete ACCESS_KEY_ID",
		Short: "Delete an access key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return c.DeleteKey(cmd.Context(), args[0])
		},
	}
	var secret string
	var all bool
	pw := &cobra.Command{
		Use:   "smtp-password",
		Short: "Print the SES SMTP password derived from a secret access key",
		Long: "smtp-password derives Amazon SES's version-4 SMTP password for a region from a secret access key " +
			"(the caller's unless --secret or SESAME_SECRET_ACCESS_KEY is given). The SMTP user name is the access key id.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s := secret
			if s == "" {
				s = os.Getenv("SESAME_SECRET_ACCESS_KEY")
			}
			region := g.region
			if s == "" {
				c, err := g.client()
				if err != nil {
					return err
				}
				s, region = c.SecretAccessKey, c.Region
				fmt.Fprintf(cmd.OutOrStdout(), "user: %s\n", c.AccessKeyID)
			}
			if region == "" {
				region = envOr("AWS_REGION", "us-east-1")
			}
			regions := []string{region}
			if all {
				regions = config.Default().Regions
			}
			for _, r := range regions {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", r, sigv4.SMTPPassword(s, r))
			}
			return nil
		},
	}
	pw.Flags().StringVar(&secret, "secret", "", "secret access key (visible in the process list; prefer SESAME_SECRET_ACCESS_KEY)")
	pw.Flags().BoolVar(&all, "all-regions", false, "print the password for every default region")
	cmd.AddCommand(create, list, del, pw)
	return cmd
}
