package registry_test

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/registry"
)

// TestCertsDirCAStaysWithItsHost: a CA in certs.d/A/ca.crt makes A
// trusted, is not added to the caller's RootCAs, and does not make host
// B, which presents a certificate from that same CA, trusted.
func TestCertsDirCAStaysWithItsHost(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	a, b := httptest.NewTLSServer(ok), httptest.NewTLSServer(ok) // one CA signs both
	defer a.Close()
	defer b.Close()
	hostA, hostB := hostOf(t, a), hostOf(t, b)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, hostA), 0o755); err != nil {
		t.Fatal(err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, hostA, "ca.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		roots *x509.CertPool
	}{
		{"caller's RootCAs", x509.NewCertPool()},
		{"system roots", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before *x509.CertPool
			if tc.roots != nil {
				before = tc.roots.Clone()
			}
			c := &registry.Client{CertsDir: dir, RootCAs: tc.roots}
			if err := c.Ping(t.Context(), hostA); err != nil {
				t.Fatalf("host A with its certs.d CA: %v", err)
			}
			if err := c.Ping(t.Context(), hostB); err == nil {
				t.Fatal("host B was trusted through host A's CA")
			}
			if tc.roots != nil && !tc.roots.Equal(before) {
				t.Error("the caller's RootCAs pool was changed")
			}
		})
	}
}

func hostOf(t *testing.T, s *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
