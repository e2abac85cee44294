package mta

import (
	"context"
	"strings"

	"github.com/sesame-email/sesame/internal/store"
)

// Simulator answers for the mailbox simulator (reference §6) and passes
// every other recipient to Next. Simulator recipients never touch the
// network. Addresses are case-insensitive and may carry a +label.
type Simulator struct {
	// Domains are the simulator's domains: simulator.D and
	// simulator.amazonses.com.
	Domains []string
	Next    Transport
}

// IsSimulator reports whether addr is at a simulator domain.
func (s *Simulator) IsSimulator(addr string) bool {
	d := strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
	for _, sd := range s.Domains {
		if d == sd {
			return true
		}
	}
	return false
}

// outcome is the simulator's answer for one address.
func (s *Simulator) outcome(addr string) Result {
	local := strings.ToLower(addr[:strings.LastIndexByte(addr, '@')])
	local, _, _ = strings.Cut(local, "+")
	switch local {
	case "success", "ooto", "complaint":
		// ooto and complaint are delivered first; their auto-reply and
		// complaint follow through the feedback path once it exists.
		return Result{Address: addr, State: store.RcptDelivered, Response: "250 2.6.0 Message received (mailbox simulator, " + local + ")"}
	case "bounce":
		return Result{Address: addr, State: store.RcptBounced, Response: "550 5.1.1 user unknown"}
	default: // suppressionlist and every other local part
		return Result{Address: addr, State: store.RcptBounced,
			Response: "550 5.1.1 Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid address (mailbox simulator)"}
	}
}

// Deliver implements Transport.
func (s *Simulator) Deliver(ctx context.Context, msg store.Message, rcpts []store.Recipient) []Result {
	out := make([]Result, len(rcpts))
	var rest []store.Recipient
	var restIdx []int
	for i, r := range rcpts {
		if s.IsSimulator(r.Address) {
			out[i] = s.outcome(r.Address)
			continue
		}
		rest, restIdx = append(rest, r), append(restIdx, i)
	}
	if len(rest) > 0 {
		for j, res := range s.Next.Deliver(ctx, msg, rest) {
			out[restIdx[j]] = res
		}
	}
	return out
}
