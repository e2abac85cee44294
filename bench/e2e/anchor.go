package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/dkim"
)

// freePort returns a loopback port nothing listens on (now).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ensureAnchorTools installs Postfix and OpenDKIM from Debian when missing.
func ensureAnchorTools() error {
	var need []string
	for bin, pkg := range map[string]string{"postfix": "postfix", "smtp-source": "postfix", "opendkim": "opendkim"} {
		if _, err := exec.LookPath(bin); err != nil {
			need = append(need, pkg)
		}
	}
	if len(need) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing %v: apt-get install postfix opendkim opendkim-tools", need)
	}
	sel := exec.Command("debconf-set-selections")
	sel.Stdin = strings.NewReader("postfix postfix/main_mailer_type select No configuration\n")
	sel.Run()
	cmd := exec.Command("apt-get", "install", "-y", "-qq", "postfix", "opendkim", "opendkim-tools")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get: %v\n%s", err, out)
	}
	return nil
}

// machineCPU is the CPU time every process on the machine has used, in
// seconds (/proc/stat: user, nice, system, irq, softirq; not idle, iowait).
func machineCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	var t float64
	for _, i := range []int{1, 2, 3, 6, 7} {
		v, _ := strconv.ParseFloat(f[i], 64)
		t += v
	}
	return t / 100
}

// anchor runs Postfix with OpenDKIM (RSA-2048, relaxed/relaxed) as a
// milter, relaying to sinkAddr, loaded by Postfix's smtp-source with the
// same count, size and concurrency; it returns the measurements.
func anchor(dir, sinkAddr string, sk *sink, z *zone, n, size, conc int) (map[string]any, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the Postfix anchor needs root (a throw-away Postfix instance)")
	}
	if err := ensureAnchorTools(); err != nil {
		return nil, err
	}
	for _, d := range []string{"etc", "queue", "data", "dkim"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	// Postfix's unprivileged processes must reach the data directory.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	exec.Command("chown", "-R", "postfix", filepath.Join(dir, "data")).Run()
	// The DKIM key, published in the bench's DNS zone.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, "dkim", "anchor.key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return nil, err
	}
	txt, err := dkim.TXTRecord(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	z.mu.Lock()
	z.txt["anchor._domainkey.anchor.example."] = txt
	z.mu.Unlock()
	milterPort, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("Mode s\nDomain anchor.example\nSelector anchor\nKeyFile %s\nCanonicalization relaxed/relaxed\nSignatureAlgorithm rsa-sha256\n"+
		"Socket inet:%d@127.0.0.1\nSyslog no\nBackground no\nPidFile %s\nRequireSafeKeys false\n", keyFile, milterPort, filepath.Join(dir, "dkim", "pid"))
	confFile := filepath.Join(dir, "dkim", "opendkim.conf")
	os.WriteFile(confFile, []byte(conf), 0o644)
	od := exec.Command("opendkim", "-f", "-x", confFile)
	od.Stderr = os.Stderr
	if err := od.Start(); err != nil {
		return nil, fmt.Errorf("opendkim: %w", err)
	}
	defer func() { od.Process.Kill(); od.Wait() }()
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", milterPort)); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			return nil, fmt.Errorf("opendkim did not listen")
		}
		time.Sleep(50 * time.Millisecond)
	}

	smtpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, l := range strings.Split(string(master), "\n") {
		if strings.HasPrefix(l, "smtp ") && strings.Contains(l, " inet ") {
			l = "#" + l
		}
		lines = append(lines, l)
	}
	lines = append(lines, fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd", smtpPort))
	os.WriteFile(filepath.Join(dir, "etc", "master.cf"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
myhostname = anchor.bench
mydomain = anchor.example
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = %[2]s
alias_maps =
alias_database =
local_recipient_maps =
smtpd_milters = inet:127.0.0.1:%[3]d
non_smtpd_milters = $smtpd_milters
milter_default_action = tempfail
smtp_tls_security_level = none
smtpd_tls_security_level = none
in_flow_delay = 0s
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_process_limit = %[4]d
maillog_file_prefixes = %[1]s
maillog_file = %[1]s/maillog
syslog_name = postfix-anchor
`, dir, "["+strings.Replace(sinkAddr, ":", "]:", 1), milterPort, max(100, conc*2))
	os.WriteFile(filepath.Join(dir, "etc", "main.cf"), []byte(mainCF), 0o644)
	etc := filepath.Join(dir, "etc")
	if out, err := exec.Command("postfix", "-c", etc, "start").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("postfix start: %v\n%s", err, out)
	}
	defer exec.Command("postfix", "-c", etc, "stop").Run()
	time.Sleep(time.Second)

	sk.reset()
	cpu0, start := machineCPU(), time.Now()
	src := exec.Command("smtp-source", "-d", "-s", strconv.Itoa(conc), "-m", strconv.Itoa(n), "-l", strconv.Itoa(size),
		"-f", "bench@anchor.example", "-t", "user@dest.example", "-S", "anchor benchmark", fmt.Sprintf("127.0.0.1:%d", smtpPort))
	if out, err := src.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("smtp-source: %v\n%s", err, out)
	}
	accepted := time.Since(start)
	// Stop waiting when nothing has arrived for 30 s.
	for sk.count.Load() < int64(n) && time.Since(time.Unix(0, max(sk.last.Load(), start.UnixNano()))) < 30*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	total := time.Unix(0, sk.last.Load()).Sub(start)
	used := machineCPU() - cpu0
	if got := sk.count.Load(); got < int64(n) {
		log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
		return nil, fmt.Errorf("only %d of %d messages arrived; Postfix log tail:\n%s", got, n, tail(string(log), 20))
	}
	verified := z.verifySample(sk.sample(), "anchor.example")
	res := map[string]any{
		"setup": "Postfix + OpenDKIM (smtp-source, SMTP)", "delivered": sk.count.Load(),
		"accept_msgs_per_s":      float64(n) / accepted.Seconds(),
		"end_to_end_msgs_per_s":  float64(n) / total.Seconds(),
		"machine_cpu_s_per_1000": used / float64(n) * 1000,
		"dkim_sample_verified":   verified,
	}
	report(res)
	return res, nil
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}
