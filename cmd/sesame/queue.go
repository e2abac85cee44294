package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func newQueue(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "queue", Short: "The outbound queue: by destination, one message, retry, hold, release, delete"}
	list := &cobra.Command{
		Use:   "list",
		Short: "Pending mail by destination, with the last response",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			dests, err := c.Queue(cmd.Context())
			if err != nil {
				return err
			}
			rows := [][]string{{"DESTINATION", "QUEUED", "DEFERRED", "HELD", "OLDEST", "LAST RESPONSE"}}
			for _, d := range dests {
				rows = append(rows, []string{d.Destination, strconv.Itoa(d.Queued), strconv.Itoa(d.Deferred), strconv.Itoa(d.Held),
					d.Oldest.Time().Format("2006-01-02 15:04:05"), d.LastResponse})
			}
			table(cmd.OutOrStdout(), rows)
			return nil
		},
	}
	show := &cobra.Command{
		Use:   "show MESSAGE_ID",
		Short: "A message's envelope and each recipient's state and last response",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			m, err := c.Message(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "message:   %s\nmail from: %s\nfrom:      %s\nsubject:   %s\nsize:      %d\n", m.MessageId, m.MailFrom, m.From, m.Subject, len(m.Raw))
			rows := [][]string{{"RECIPIENT", "STATE", "ATTEMPTS", "LAST RESPONSE"}}
			for _, r := range m.Recipients {
				rows = append(rows, []string{r.Address, r.State, strconv.Itoa(r.Attempts), r.LastResponse})
			}
			table(w, rows)
			return nil
		},
	}
	cmd.AddCommand(list, show)
	for _, a := range []struct{ name, done, short string }{
		{"retry", "retried", "Make a message's pending recipients due now"},
		{"hold", "held", "Keep a message's pending recipients from delivery"},
		{"release", "released", "Put a held message's recipients back, due now"},
	} {
		cmd.AddCommand(&cobra.Command{
			Use:   a.name + " MESSAGE_ID",
			Short: a.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				n, err := c.QueueAction(cmd.Context(), args[0], a.name)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d recipient(s)\n", a.done, n)
				return nil
			},
		})
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "delete MESSAGE_ID",
		Short: "Remove a message from the queue for good",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return c.DeleteMessage(cmd.Context(), args[0])
		},
	})
	return cmd
}
