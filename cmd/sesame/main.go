// Command sesame is a self-hosted email platform that speaks Amazon SES's
// API. `sesame serve` runs the server; the other commands are its CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sesame-email/sesame/internal/apiclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	if err := root.ExecuteContext(ctx); err != nil {
		var ae *apiclient.Error
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintf(os.Stderr, "sesame: %v\n", ee.err)
			}
			stop()
			os.Exit(ee.code)
		}
		if errors.As(err, &ae) {
			fmt.Fprintf(os.Stderr, "sesame: %s: %s\n", ae.Code, ae.Message)
		} else {
			fmt.Fprintf(os.Stderr, "sesame: %v\n", err)
		}
		os.Exit(1)
	}
}
