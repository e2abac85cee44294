package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesame-email/sesame/internal/apiclient"
)

// suppressed is one row of ListSuppressedDestinations.
type suppressed struct {
	EmailAddress   string
	Reason         string
	LastUpdateTime float64
}

// listSuppressed pages through the account's list with the SES v2 API.
func listSuppressed(cmd *cobra.Command, c *apiclient.Client, reason string) ([]suppressed, error) {
	var all []suppressed
	token := ""
	for {
		q := url.Values{"PageSize": {"1000"}}
		if reason != "" {
			q.Set("Reason", strings.ToUpper(reason))
		}
		if token != "" {
			q.Set("NextToken", token)
		}
		var page struct {
			SuppressedDestinationSummaries []suppressed
			NextToken                      string
		}
		if err := c.Do(cmd.Context(), "GET", "/v2/email/suppression/addresses?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.SuppressedDestinationSummaries...)
		if page.NextToken == "" {
			return all, nil
		}
		token = page.NextToken
	}
}

func stamp(v float64) string {
	return time.UnixMilli(int64(v * 1000)).UTC().Format(time.RFC3339)
}

func newSuppression(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "suppression", Short: "The account's suppression list: list, add, remove, import and export (CSV)"}
	var reason string
	list := &cobra.Command{
		Use:   "list",
		Short: "Suppressed addresses with their reason and when they were added",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			all, err := listSuppressed(cmd, c, reason)
			if err != nil {
				return err
			}
			rows := [][]string{{"ADDRESS", "REASON", "LAST UPDATE"}}
			for _, s := range all {
				rows = append(rows, []string{s.EmailAddress, s.Reason, stamp(s.LastUpdateTime)})
			}
			table(cmd.OutOrStdout(), rows)
			return nil
		},
	}
	list.Flags().StringVar(&reason, "reason", "", "only BOUNCE or COMPLAINT")
	var addReason string
	add := &cobra.Command{
		Use:   "add ADDRESS...",
		Short: "Add addresses (--reason BOUNCE or COMPLAINT)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			for _, a := range args {
				if err := c.Do(cmd.Context(), "PUT", "/v2/email/suppression/addresses", map[string]string{"EmailAddress": a, "Reason": strings.ToUpper(addReason)}, nil); err != nil {
					return fmt.Errorf("%s: %w", a, err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %d address(es)\n", len(args))
			return nil
		},
	}
	add.Flags().StringVar(&addReason, "reason", "BOUNCE", "BOUNCE or COMPLAINT")
	remove := &cobra.Command{
		Use:   "remove ADDRESS...",
		Short: "Remove addresses",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			for _, a := range args {
				if err := c.Do(cmd.Context(), "DELETE", "/v2/email/suppression/addresses/"+url.PathEscape(a), nil, nil); err != nil {
					return fmt.Errorf("%s: %w", a, err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d address(es)\n", len(args))
			return nil
		},
	}
	export := &cobra.Command{
		Use:   "export [FILE]",
		Short: "Write the list as CSV (address,reason,last_update) to FILE or stdout",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			all, err := listSuppressed(cmd, c, reason)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 1 {
				f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			w := csv.NewWriter(out)
			w.Write([]string{"address", "reason", "last_update"})
			for _, s := range all {
				w.Write([]string{s.EmailAddress, s.Reason, stamp(s.LastUpdateTime)})
			}
			w.Flush()
			return w.Error()
		},
	}
	export.Flags().StringVar(&reason, "reason", "", "only BOUNCE or COMPLAINT")
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Add the addresses of a CSV file (address[,reason]; a header row is skipped; reason defaults to BOUNCE)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			r := csv.NewReader(f)
			r.FieldsPerRecord = -1
			n, line := 0, 0
			for {
				rec, err := r.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				line++
				addr := strings.TrimSpace(rec[0])
				if line == 1 && strings.EqualFold(addr, "address") || addr == "" {
					continue
				}
				rsn := "BOUNCE"
				if len(rec) > 1 && strings.TrimSpace(rec[1]) != "" {
					rsn = strings.ToUpper(strings.TrimSpace(rec[1]))
				}
				if err := c.Do(cmd.Context(), "PUT", "/v2/email/suppression/addresses", map[string]string{"EmailAddress": addr, "Reason": rsn}, nil); err != nil {
					return fmt.Errorf("%s line %d (%s): %w", args[0], line, addr, err)
				}
				n++
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d address(es)\n", n)
			return nil
		},
	}
	cmd.AddCommand(list, add, remove, export, imp)
	return cmd
}
