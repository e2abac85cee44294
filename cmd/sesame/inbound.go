package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func newInbound(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "inbound", Short: "Mail received through receipt rules: list, show"}
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "Received messages, newest first, with their verdicts and the rules that matched",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			msgs, err := c.Inbound(cmd.Context(), limit)
			if err != nil {
				return err
			}
			rows := [][]string{{"MESSAGE ID", "RECEIVED", "FROM", "SUBJECT", "SPF", "DKIM", "DMARC", "RULES"}}
			for _, m := range msgs {
				rows = append(rows, []string{m.MessageID, m.Time.Format("2006-01-02 15:04:05"), m.From, m.Subject,
					m.Receipt.SPFVerdict.Status, m.Receipt.DKIMVerdict.Status, m.Receipt.DMARCVerdict.Status, fmt.Sprint(m.Rules)})
			}
			table(cmd.OutOrStdout(), rows)
			return nil
		},
	}
	list.Flags().IntVar(&limit, "limit", 50, "at most this many messages")
	show := &cobra.Command{
		Use:   "show MESSAGE_ID",
		Short: "A received message as stored, Authentication-Results header included",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			m, err := c.InboundMessage(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "message:   %s\nreceived:  %s\nsource:    %s\nrules:     %v\nsize:      %s\n\n%s", m.MessageID,
				m.Time.Format("2006-01-02 15:04:05"), m.Source, m.Rules, strconv.Itoa(m.Size), m.Raw)
			return nil
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}
