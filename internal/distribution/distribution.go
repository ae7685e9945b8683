// Package distribution runs the CNCF distribution registry on a loopback
// port for integration tests, with optional htpasswd basic auth and TLS
// from a certificate authority the test makes: Debian's docker-registry
// (distribution 2.8) or distribution v3, which .ci/run builds through the
// Go module proxy and puts on PATH as distribution-registry-v3.
package distribution

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The registries Start runs, by the name of their binary.
const (
	V2 = "docker-registry"          // Debian's distribution 2.8
	V3 = "distribution-registry-v3" // distribution v3, built by .ci/run
)

// Versions are the registries integration tests run against, each one.
var Versions = []string{V2, V3}

// Options choose how the registry runs.
type Options struct {
	Users   map[string]string // htpasswd basic auth when not empty
	TLS     bool
	Version string // V2 or V3; V2 when empty
}

// Registry is a running registry.
type Registry struct {
	Host  string         // 127.0.0.1:PORT
	Roots *x509.CertPool // the test CA, with TLS
	Dir   string         // its storage
}

// RequireTool returns the path of a tool, or skips the test when it is
// missing, or fails it when SKIFF_INTEGRATION=1 says tools must be there.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("SKIFF_INTEGRATION") == "1" {
		t.Fatalf("%s is not installed, and SKIFF_INTEGRATION=1 requires it (run .ci/run, or apt-get install it)", name)
	}
	t.Skipf("%s is not installed; skipping (set SKIFF_INTEGRATION=1 to make this a failure)", name)
	return ""
}

// Start runs a registry until the test ends.
func Start(t testing.TB, opts *Options) *Registry {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	bin := RequireTool(t, cmpOr(opts.Version, V2))
	dir := t.TempDir()
	r := &Registry{Dir: filepath.Join(dir, "storage")}
	port := freePort(t)
	r.Host = fmt.Sprintf("127.0.0.1:%d", port)
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", r.Dir, r.Host)
	if opts.TLS {
		cert, key := r.makeCerts(t, dir)
		cfg += fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", cert, key)
	}
	if len(opts.Users) > 0 {
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: skiff-test\n    path: %s\n", htpasswd(t, dir, opts.Users))
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, bin, cfgPath, r.Host)
	return r
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// run starts the registry and waits until its log says it listens.
func run(t testing.TB, bin, cfg, host string) {
	cmd := exec.Command(bin, "serve", cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var log []string
		for sc.Scan() {
			log = append(log, sc.Text())
			if strings.Contains(sc.Text(), "listening on") {
				ready <- nil
				for sc.Scan() { // keep draining so the registry never blocks
				}
				return
			}
		}
		ready <- fmt.Errorf("docker-registry exited before listening:\n%s", strings.Join(log, "\n"))
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("docker-registry did not start listening on %s within 30s", host)
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// htpasswd writes a bcrypt htpasswd file with the htpasswd tool; the
// standard library has no bcrypt.
func htpasswd(t testing.TB, dir string, users map[string]string) string {
	tool := RequireTool(t, "htpasswd")
	var lines []string
	for u, p := range users {
		out, err := exec.Command(tool, "-Bbn", u, p).Output()
		if err != nil {
			t.Fatalf("htpasswd: %v", err)
		}
		lines = append(lines, strings.TrimSpace(string(out)))
	}
	path := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// makeCerts makes a CA and a certificate for 127.0.0.1 signed by it.
func (r *Registry) makeCerts(t testing.TB, dir string) (certPath, keyPath string) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "skiff test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	r.Roots = x509.NewCertPool()
	r.Roots.AddCert(caCert)
	return certPath, keyPath
}
