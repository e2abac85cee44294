package console_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/sesame-email/sesame/internal/app"
	"github.com/sesame-email/sesame/internal/pgtest"
	"github.com/sesame-email/sesame/internal/testenv"
)

// cluster is the PostgreSQL the several-node test runs on.
var cluster = pgtest.New()

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, cluster)) }

// TestSessionAcrossNodes: two nodes on one PostgreSQL share sessions, as a
// load balancer in front of them needs: a session opened on one node works
// on the other, and signing out on either ends it on both.
func TestSessionAcrossNodes(t *testing.T) {
	db := cluster.Database(t)
	a := testenv.Start(t, testenv.Options{Store: db})
	dir := filepath.Join(t.TempDir(), "node-b")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{app.MasterKeyFile, app.CredentialsFile} {
		data, err := os.ReadFile(filepath.Join(a.DataDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b := testenv.Start(t, testenv.Options{Store: db, DataDir: dir, DNS: a.DNS})
	onA := newBrowser(t, a)
	onA.signIn(a.Creds)
	onB := newBrowser(t, b)
	u, _ := url.Parse(b.URL)
	onB.c.Jar.SetCookies(u, []*http.Cookie{{Name: "sesame_session", Value: onA.cookie("sesame_session").Value, Path: "/"}})
	if st, _, body := onB.get("/identities"); st != http.StatusOK || onB.csrf != onA.csrf {
		t.Fatalf("node B with node A's session: %d\n%s", st, body)
	}
	if st, _, _ := onB.post("/identities", url.Values{"identity": {"example.com"}, "key_length": {"RSA_1024_BIT"}}); st != http.StatusSeeOther {
		t.Errorf("a form posted to node B: %d", st)
	}
	if st, _, _ := onA.get("/identities/example.com"); st != http.StatusOK {
		t.Errorf("node A does not see what node B made: %d", st)
	}
	if st, _, _ := onB.post("/signout", url.Values{}); st != http.StatusSeeOther {
		t.Errorf("sign-out on node B: %d", st)
	}
	if st, _, _ := onA.get("/identities"); st != http.StatusSeeOther {
		t.Errorf("node A still takes a session signed out on node B: %d", st)
	}
}
