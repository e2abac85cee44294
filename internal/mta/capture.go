package mta

import (
	"context"
	"fmt"
	"strings"

	"github.com/sesame-email/sesame/internal/dkim"
	"github.com/sesame-email/sesame/internal/store"
)

// Capture is the --dev transport: nothing leaves the machine. Each message
// is kept, and its own DKIM signature is verified the way a receiver would,
// with the key fetched through sesame's DNS.
type Capture struct {
	// Lookup resolves TXT records; see DevLookup.
	Lookup dkim.TXTLookup
}

// Deliver marks every recipient captured, with the DKIM result as the
// response.
func (c *Capture) Deliver(ctx context.Context, msg store.Message, rcpts []store.Recipient) []Result {
	resp := "captured; " + DKIMResult(ctx, msg.Data, c.Lookup)
	out := make([]Result, len(rcpts))
	for i, r := range rcpts {
		out[i] = Result{Address: r.Address, State: store.RcptCaptured, Response: resp}
	}
	return out
}

// DKIMResult verifies msg's signatures and describes the outcome as an
// Authentication-Results method would (RFC 8601 §2.7.1): "dkim=pass
// header.d=example.com", "dkim=fail (reason)", "dkim=none".
func DKIMResult(ctx context.Context, msg []byte, lookup dkim.TXTLookup) string {
	vs, err := dkim.Verify(ctx, msg, lookup)
	if err != nil {
		return "dkim=permerror (" + err.Error() + ")"
	}
	if len(vs) == 0 {
		return "dkim=none"
	}
	var parts []string
	for _, v := range vs {
		switch {
		case v.Err == nil:
			parts = append(parts, "dkim=pass header.d="+v.Domain)
		case v.Temporary:
			parts = append(parts, fmt.Sprintf("dkim=temperror header.d=%s (%v)", v.Domain, v.Err))
		default:
			parts = append(parts, fmt.Sprintf("dkim=fail header.d=%s (%v)", v.Domain, v.Err))
		}
	}
	return strings.Join(parts, "; ")
}

// DevLookup resolves DKIM keys in --dev: a selector that is one of
// sesame's Easy DKIM tokens is read from sesame's own DNS at
// <token>.dkim.D (where the customer's CNAME would lead); anything else
// goes to the regular resolver.
func DevLookup(serviceDomain string, own, other dkim.TXTLookup) dkim.TXTLookup {
	return func(ctx context.Context, name string) ([]string, error) {
		n := strings.TrimSuffix(strings.ToLower(name), ".")
		if sel, _, ok := strings.Cut(n, "._domainkey."); ok {
			if txt, err := own(ctx, sel+".dkim."+serviceDomain); err == nil && len(txt) > 0 {
				return txt, nil
			}
		}
		return other(ctx, name)
	}
}
