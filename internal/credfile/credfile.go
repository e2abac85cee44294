// Package credfile reads and writes the AWS shared-credentials file that
// sesame saves in its data dir on first start, so both the sesame CLI and
// `AWS_SHARED_CREDENTIALS_FILE=./sesame-data/credentials aws …` find the key.
// It also writes an AWS config file naming the endpoint, for AWS_CONFIG_FILE.
package credfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Credentials is one profile of a shared-credentials file.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	Region          string
}

// ErrNoProfile means the file has no such profile or it lacks a key.
var ErrNoProfile = errors.New("credfile: profile not found")

// Create writes c as profile [default] to path with mode 0600. It never
// overwrites: an existing file is an error wrapping fs.ErrExist. The file is
// written to a temporary name, synced, then linked into place, so a crash
// leaves either no file or a complete one.
func Create(path string, c Credentials) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", c.AccessKeyID, c.SecretAccessKey)
	if c.Region != "" {
		fmt.Fprintf(&b, "region = %s\n", c.Region)
	}
	return writeNew(path, b.Bytes(), 0o600)
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("credfile: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("credfile: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("credfile: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("credfile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("credfile: %w", err)
	}
	// os.Link fails if path exists: no overwrite, atomically.
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("credfile: %w", err)
	}
	return nil
}

// WriteConfig (re)writes an AWS config file at path (mode 0600) whose
// [default] profile names the region and the endpoint URL, so recent AWS
// CLIs and SDKs reach sesame with only AWS_CONFIG_FILE set.
func WriteConfig(path, region, endpoint string) error {
	data := fmt.Sprintf("[default]\nregion = %s\nendpoint_url = %s\n", region, endpoint)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		return fmt.Errorf("credfile: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("credfile: %w", err)
	}
	return nil
}

// Read returns the named profile of a shared-credentials (or config) file:
// INI sections, "key = value" lines, '#' and ';' comments.
func Read(path, profile string) (Credentials, error) {
	m, err := ReadProfile(path, profile)
	if err != nil {
		return Credentials{}, err
	}
	c := Credentials{AccessKeyID: m["aws_access_key_id"], SecretAccessKey: m["aws_secret_access_key"], Region: m["region"]}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("%w: [%s] in %s has no key", ErrNoProfile, profile, path)
	}
	return c, nil
}

// ReadProfile returns every key of one profile. In a config file the
// section of a non-default profile is "[profile NAME]"; both forms match.
func ReadProfile(path, profile string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", ErrNoProfile, err)
		}
		return nil, fmt.Errorf("credfile: %w", err)
	}
	var cur string
	out := map[string]string{}
	found := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			cur = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line[1:len(line)-1]), "profile "))
			if cur == profile {
				found = true
			}
			continue
		}
		if cur != profile {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: [%s] in %s", ErrNoProfile, profile, path)
	}
	return out, nil
}
