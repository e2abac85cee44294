package credfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCreateRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials")
	c := Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "s/e+c=", Region: "us-east-1"}
	if err := Create(path, c); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	got, err := Read(path, "default")
	if err != nil || got != c {
		t.Errorf("Read = %+v, %v", got, err)
	}
	if err := Create(path, Credentials{AccessKeyID: "X", SecretAccessKey: "Y"}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Create err = %v, want ErrExist", err)
	}
	if got, _ := Read(path, "default"); got != c {
		t.Error("file was overwritten")
	}
	if _, err := Read(path, "other"); !errors.Is(err, ErrNoProfile) {
		t.Errorf("missing profile err = %v", err)
	}
	if _, err := Read(filepath.Join(dir, "none"), "default"); !errors.Is(err, ErrNoProfile) {
		t.Errorf("missing file err = %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestReadConfigProfiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	os.WriteFile(path, []byte("# c\n[default]\nregion=eu-west-1\n[profile x]\n aws_access_key_id = A \naws_secret_access_key=B\n; end\n"), 0o600)
	got, err := Read(path, "x")
	if err != nil || got.AccessKeyID != "A" || got.SecretAccessKey != "B" {
		t.Errorf("Read(x) = %+v, %v", got, err)
	}
	if err := WriteConfig(path, "us-west-2", "http://127.0.0.1:8080"); err != nil {
		t.Fatal(err)
	}
	m, err := ReadProfile(path, "default")
	if err != nil || m["endpoint_url"] != "http://127.0.0.1:8080" || m["region"] != "us-west-2" {
		t.Errorf("config = %v, %v", m, err)
	}
}
