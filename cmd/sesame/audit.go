package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/sesame-email/sesame/internal/app"
	"github.com/sesame-email/sesame/internal/audit"
	"github.com/sesame-email/sesame/internal/credfile"
	"github.com/sesame-email/sesame/internal/dnsx"
)

// exitError ends the process with code; err, if any, is printed first.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func newAudit(g *globals) *cobra.Command {
	var regions, identity, format, resolver, serviceDomain string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check every region's identities and their DNS (DKIM, SPF, MAIL FROM, DMARC, bulk-sender rules)",
		Long: "audit is an SES client: it lists every region's identities through the SES v2 API (of sesame, or of " +
			"Amazon SES itself) and checks their DNS the way receivers do. Credentials come from the AWS chain " +
			"(environment, shared files, SSO, instance role), or from sesame's data dir when --data-dir or " +
			"SESAME_DATA_DIR is given. Exit codes: 0 all pass, 1 warnings, 2 failures, 3 could not run. " +
			"See docs/AUDIT.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return &exitError{audit.ExitCannotRun, fmt.Errorf("--format %q: want table or json", format)}
			}
			cfg, err := g.awsConfig(cmd.Context())
			if err != nil {
				return &exitError{audit.ExitCannotRun, err}
			}
			var servers []string
			if resolver != "" {
				servers = []string{resolver}
			}
			r, err := dnsx.New(dnsx.Options{Servers: servers})
			if err != nil {
				return &exitError{audit.ExitCannotRun, err}
			}
			opts := audit.Options{AWS: cfg, Identity: identity, Resolver: r, ServiceDomain: serviceDomain}
			for _, s := range strings.Split(regions, ",") {
				if s = strings.TrimSpace(s); s != "" {
					opts.Regions = append(opts.Regions, s)
				}
			}
			if f, ok := cmd.ErrOrStderr().(*os.File); ok && isTerminal(f) {
				opts.Progress = f
			}
			rep, err := audit.Run(cmd.Context(), opts)
			if err != nil {
				return &exitError{audit.ExitCannotRun, err}
			}
			if format == "json" {
				err = rep.WriteJSON(cmd.OutOrStdout())
			} else {
				err = rep.WriteTable(cmd.OutOrStdout())
			}
			if err != nil {
				return &exitError{audit.ExitCannotRun, err}
			}
			if rep.ExitCode != 0 {
				return &exitError{code: rep.ExitCode}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&regions, "regions", "all", "regions to audit: all (EC2 DescribeRegions) or a comma-separated list")
	f.StringVar(&identity, "identity", "", "audit only this identity (a domain or an address)")
	f.StringVar(&format, "format", "table", "table or json (schema: docs/AUDIT.md)")
	f.StringVar(&resolver, "resolver", "", "DNS resolver host:port (default: /etc/resolv.conf)")
	f.StringVar(&serviceDomain, "service-domain", "", "the sending service's domain (default: amazonses.com for AWS endpoints, else learned from the API)")
	return cmd
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// awsConfig returns the SDK configuration of an SES client: with a data
// dir (--data-dir or SESAME_DATA_DIR), its saved key and endpoint; else
// the AWS default chain. --endpoint (or SESAME_ENDPOINT) and --region
// override either.
func (g *globals) awsConfig(ctx context.Context) (aws.Config, error) {
	dir := g.dataDir
	if dir == "" {
		dir = os.Getenv("SESAME_DATA_DIR")
	}
	endpoint := g.endpoint
	if endpoint == "" {
		endpoint = os.Getenv("SESAME_ENDPOINT")
	}
	var cfg aws.Config
	if dir != "" {
		creds, err := credfile.Read(filepath.Join(dir, app.CredentialsFile), envOr("AWS_PROFILE", "default"))
		if err != nil {
			return cfg, fmt.Errorf("no credentials in the data dir %s: %w", dir, err)
		}
		if endpoint == "" {
			if m, err := credfile.ReadProfile(filepath.Join(dir, app.AWSConfigFile), "default"); err == nil {
				endpoint = m["endpoint_url"]
			}
		}
		cfg = aws.Config{Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""), Region: creds.Region}
		if endpoint == "" {
			endpoint = "http://127.0.0.1:8080"
		}
	} else {
		var err error
		if cfg, err = awsconfig.LoadDefaultConfig(ctx); err != nil {
			return cfg, fmt.Errorf("AWS configuration: %w", err)
		}
	}
	if g.region != "" {
		cfg.Region = g.region
	}
	if cfg.Region == "" {
		cfg.Region = envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", "us-east-1"))
	}
	if endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cfg, nil
}
