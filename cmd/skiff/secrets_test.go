package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// TestTraceAndErrorsHoldNoSecrets runs commands with -v against a bearer
// registry and looks for the password and every token the registry saw
// in what skiff printed (RELIABILITY #27).
func TestTraceAndErrorsHoldNoSecrets(t *testing.T) {
	const password = "pw-Sup3rSecret"
	srv := registrytest.NewServer(t, &registrytest.Options{Auth: registrytest.Auth{Mode: registrytest.AuthBearer,
		Users: map[string]string{"dave": password}}})
	dir := t.TempDir()
	var printed strings.Builder
	runs := [][]string{
		{"push", "-v", "--user", "dave", "--password-stdin", "docker-archive:" + filepath.Join(dir, "none.tar"), srv.Host + "/s/app:1"},
		{"pull", "-v", "--user", "dave", "--password-stdin", srv.Host + "/s/app:missing", filepath.Join(dir, "x.tar")},
		{"pull", "-v", "--user", "dave", "--password-stdin", srv.Host + "/s/app:1", filepath.Join(dir, "y.tar")},
	}
	im, _ := testimage.New(testimage.Options{LayerSizes: []int{1000}})
	ref, _ := reference.Parse(srv.Host + "/s/app:1")
	seeder := &registry.Client{Keychain: auth.Static{srv.Host: {Username: "dave", Password: password}}}
	if err := testimage.Push(t.Context(), seeder.Repository(ref), im, "1"); err != nil {
		t.Fatal(err)
	}
	for _, args := range runs {
		_, stdout, stderr := runSkiff(t, t.Context(), password+"\n", args...)
		printed.WriteString(stdout + stderr)
	}
	out := printed.String()
	if !strings.Contains(out, "--> GET") {
		t.Fatalf("no -v trace was printed: %q", out)
	}
	secrets := []string{password}
	for _, r := range srv.Log.Requests() {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			secrets = append(secrets, tok)
		}
	}
	if len(secrets) < 2 {
		t.Fatal("no bearer token was seen: the test proves nothing")
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Fatalf("skiff printed a secret (%d chars) in:\n%s", len(s), out)
		}
	}
}
