package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	if c.HTTPAddr != "127.0.0.1:8080" || c.SMTPAddr != "127.0.0.1:2587" || c.SMTPSAddr != "127.0.0.1:2465" ||
		c.MXAddr != "127.0.0.1:2525" || c.DNSAddr != "127.0.0.1:5353" || c.Domain != "sesame.localhost" ||
		c.DataDir != "./sesame-data" || c.MaxQueueAge != 14*time.Hour || !slices.Equal(c.Regions, want.Regions) {
		t.Errorf("defaults = %+v", c)
	}
	if !slices.Equal(c.Regions, []string{"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"}) {
		t.Errorf("regions = %v", c.Regions)
	}
}

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sesame.toml")
	os.WriteFile(file, []byte(`
http-addr = "127.0.0.1:1001"
smtp-addr = "127.0.0.1:1002"
mx-addr = "127.0.0.1:1003"
regions = ["eu-west-1", "us-east-1"]
public-ip = ["192.0.2.1", "2001:db8::1"]
dev = true
max-queue-age = "2h"
`), 0o600)
	c, err := load(t,
		[]string{"--config", file, "--http-addr", "127.0.0.1:3001", "--public-ip", "198.51.100.1", "--public-ip", "198.51.100.2"},
		map[string]string{"SESAME_HTTP_ADDR": "127.0.0.1:2001", "SESAME_SMTP_ADDR": "127.0.0.1:2002", "SESAME_DEV": "false"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got, want string }{
		{"flag beats env and file", c.HTTPAddr, "127.0.0.1:3001"},
		{"env beats file", c.SMTPAddr, "127.0.0.1:2002"},
		{"file beats default", c.MXAddr, "127.0.0.1:1003"},
		{"default", c.DNSAddr, "127.0.0.1:5353"},
		{"file list", strings.Join(c.Regions, ","), "eu-west-1,us-east-1"},
		{"repeated flag", strings.Join(c.PublicIPs, ","), "198.51.100.1,198.51.100.2"},
		{"env bool beats file", map[bool]string{true: "true", false: "false"}[c.Dev], "false"},
		{"file duration", c.MaxQueueAge.String(), "2h0m0s"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x.toml")
	os.WriteFile(file, []byte(`domain = "mail.example.net"`), 0o600)
	c, err := load(t, nil, map[string]string{"SESAME_CONFIG": file, "SESAME_REGIONS": "us-west-2", "SESAME_TRANSPORT": "*=127.0.0.1:25,example.com=127.0.0.1:26"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Domain != "mail.example.net" || !slices.Equal(c.Regions, []string{"us-west-2"}) || len(c.Transports) != 2 {
		t.Errorf("got %+v", c)
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad region", []string{"--regions", "useast1"}, nil, "region"},
		{"duplicate region", []string{"--regions", "us-east-1,us-east-1"}, nil, "twice"},
		{"bad addr", []string{"--http-addr", "nope"}, nil, "http-addr"},
		{"bad domain", []string{"--domain", "localhost"}, nil, "domain"},
		{"bad label", []string{"--domain", "a_b.example"}, nil, "label"},
		{"cert without key", []string{"--tls-cert", "x.pem"}, nil, "tls-key"},
		{"bad public ip", []string{"--public-ip", "999.1.1.1"}, nil, "public-ip"},
		{"bad transport", []string{"--transport", "example.com"}, nil, "transport"},
		{"bad store", []string{"--store", "mysql://x"}, nil, "store"},
		{"bad env bool", nil, map[string]string{"SESAME_DEV": "maybe"}, "SESAME_DEV"},
		{"bad log level", []string{"--log-level", "loud"}, nil, "log-level"},
		{"negative age", []string{"--max-queue-age", "-1h"}, nil, "max-queue-age"},
	}
	for _, tc := range tests {
		_, err := load(t, tc.args, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want mention of %q", tc.name, err, tc.want)
		}
	}
	file := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(file, []byte(`htp-addr = "x"`), 0o600)
	if _, err := load(t, []string{"--config", file}, nil); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("unknown TOML key: err = %v", err)
	}
}
