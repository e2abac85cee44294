package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newDev(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "dev", Short: "Tools for --dev: captured outgoing mail"}
	var limit int
	var raw bool
	msgs := &cobra.Command{
		Use:   "messages [MESSAGE_ID]",
		Short: "List captured messages with their DKIM result, or print one",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(args) == 1 {
				m, err := c.Message(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if raw {
					_, err = w.Write(m.Raw)
					return err
				}
				fmt.Fprintf(w, "message:   %s\nmail from: %s\nfrom:      %s\nsubject:   %s\n", m.MessageId, m.MailFrom, m.From, m.Subject)
				for _, r := range m.Recipients {
					fmt.Fprintf(w, "to:        %s  %s  %s\n", r.Address, r.State, r.LastResponse)
				}
				fmt.Fprintf(w, "\n%s", m.Raw)
				return nil
			}
			list, err := c.Messages(cmd.Context(), limit)
			if err != nil {
				return err
			}
			rows := [][]string{{"MESSAGE ID", "CREATED", "FROM", "TO", "STATE", "RESULT"}}
			for _, m := range list {
				var to []string
				state, result := "", ""
				for _, r := range m.Recipients {
					to = append(to, r.Address)
					state, result = r.State, r.LastResponse
				}
				rows = append(rows, []string{m.MessageId, m.CreatedAt.Time().Format("15:04:05"), m.From, strings.Join(to, ","), state, result})
			}
			table(w, rows)
			return nil
		},
	}
	msgs.Flags().IntVar(&limit, "limit", 20, "how many messages to list")
	msgs.Flags().BoolVar(&raw, "raw", false, "print only the message as sent")
	cmd.AddCommand(msgs)
	return cmd
}
