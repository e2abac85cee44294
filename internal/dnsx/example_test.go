package dnsx_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/dnsx"
)

// A Client asks the servers it is given. Errors are *net.DNSError values
// to classify with IsNotFound, IsTemporary and Rcode.
func ExampleClient_LookupMX() {
	r, err := dnsx.New(dnsx.Options{
		Servers: []string{"127.0.0.1:53"}, // --resolver; empty: /etc/resolv.conf
		Timeout: 2 * time.Second,
		Logger:  slog.Default(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mxs, err := r.LookupMX(context.Background(), "example.com")
	switch {
	case dnsx.IsNotFound(err) && dnsx.Rcode(err) == dns.RcodeNameError:
		fmt.Println("no such domain")
	case dnsx.IsNotFound(err):
		fmt.Println("no MX: deliver to the A/AAAA of the domain (RFC 5321 §5.1)")
	case dnsx.IsTemporary(err):
		fmt.Println("try again later")
	case err != nil:
		fmt.Println("permanent DNS failure:", err)
	case len(mxs) == 1 && mxs[0].Host == ".":
		fmt.Println("null MX: the domain accepts no mail (RFC 7505)")
	default:
		for _, mx := range mxs {
			fmt.Println(mx.Pref, mx.Host)
		}
	}
}
