package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/sesame-email/sesame/internal/apiclient"
	"github.com/sesame-email/sesame/internal/app"
	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/credfile"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// globals are the flags every client command shares.
type globals struct {
	endpoint string
	dataDir  string
	region   string
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "sesame",
		Short:         "A self-hosted email platform that speaks Amazon SES's API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.endpoint, "endpoint", "", "sesame API URL (default: SESAME_ENDPOINT, AWS_ENDPOINT_URL, the data dir's config, or http://127.0.0.1:8080)")
	pf.StringVar(&g.dataDir, "data-dir", "", "data dir whose saved credentials to use (default: SESAME_DATA_DIR or ./sesame-data)")
	pf.StringVar(&g.region, "region", "", "region (default: AWS_REGION, the credentials' region, or us-east-1)")
	root.AddCommand(newServe(), newVersion(), newAccount(g), newKeys(g), newIdentity(g), newDev(g), newSend(g), newQueue(g), newSuppression(g), newAudit(g), newInbound(g))
	return root
}

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version and build information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "sesame %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" || s.Key == "vcs.time" || s.Key == "vcs.modified" {
						fmt.Fprintf(cmd.OutOrStdout(), "%s=%s\n", s.Key, s.Value)
					}
				}
			}
			return nil
		},
	}
}

func newServe() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run every role of sesame in one process",
		Long: "serve runs the SES API and console, SMTP submission, the MX listener, the DNS zone, " +
			"delivery workers and the verification checker. Every flag has an env twin (SESAME_ + upper-case name) " +
			"and a key in an optional sesame.toml (--config); precedence is flag > env > file.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.LookupEnv)
			if err != nil {
				return err
			}
			return app.Run(cmd.Context(), cfg, app.Options{Logger: newLogger(os.Stderr, cfg.LogLevel), Out: cmd.OutOrStdout()})
		},
	}
	config.Register(cmd.Flags())
	return cmd
}

// newLogger logs text to a terminal and JSON otherwise.
func newLogger(w *os.File, level string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if st, err := w.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// client builds the admin-API client from flags, environment and the data
// dir, in the order an AWS tool would look.
func (g *globals) client() (*apiclient.Client, error) {
	dir := g.dataDir
	if dir == "" {
		dir = envOr("SESAME_DATA_DIR", "./sesame-data")
	}
	c := &apiclient.Client{Endpoint: g.endpoint}
	if c.Endpoint == "" {
		c.Endpoint = envOr("SESAME_ENDPOINT", os.Getenv("AWS_ENDPOINT_URL"))
	}
	if c.Endpoint == "" {
		if m, err := credfile.ReadProfile(filepath.Join(dir, app.AWSConfigFile), "default"); err == nil {
			c.Endpoint = m["endpoint_url"]
		}
	}
	if c.Endpoint == "" {
		c.Endpoint = "http://127.0.0.1:8080"
	}
	credRegion := ""
	if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		c.AccessKeyID, c.SecretAccessKey = id, secret
	} else {
		path := filepath.Join(dir, app.CredentialsFile)
		if p := os.Getenv("AWS_SHARED_CREDENTIALS_FILE"); p != "" && g.dataDir == "" {
			path = p
		}
		creds, err := credfile.Read(path, envOr("AWS_PROFILE", "default"))
		if err != nil {
			return nil, fmt.Errorf("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or point --data-dir at sesame's data dir (%w)", err)
		}
		c.AccessKeyID, c.SecretAccessKey, credRegion = creds.AccessKeyID, creds.SecretAccessKey, creds.Region
	}
	c.Region = g.region
	for _, r := range []string{os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), credRegion, "us-east-1"} {
		if c.Region == "" {
			c.Region = r
		}
	}
	return c, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// table writes rows aligned in columns.
func table(w io.Writer, rows [][]string) {
	widths := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range rows {
		for i, c := range r {
			if i == len(r)-1 {
				fmt.Fprintln(w, c)
			} else {
				fmt.Fprintf(w, "%-*s  ", widths[i], c)
			}
		}
	}
}

// readFileArg returns a file's contents ("-" = standard input).
func readFileArg(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("a file is required")
	}
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	return string(data), err
}
