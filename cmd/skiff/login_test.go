package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// loginRun runs skiff with DOCKER_CONFIG set to dir and stdin given.
func loginRun(t *testing.T, dir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == "DOCKER_CONFIG" {
			return dir
		}
		return ""
	}
	e := &env{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: getenv}
	code := e.run(t.Context(), args)
	return code, stdout.String(), stderr.String()
}

func TestLoginSavesVerifiedCredentials(t *testing.T) {
	for _, mode := range []registrytest.AuthMode{registrytest.AuthBasic, registrytest.AuthBearer} {
		srv := registrytest.NewServer(t, &registrytest.Options{Auth: registrytest.Auth{Mode: mode,
			Users: map[string]string{"dave": "s3cret"}}})
		dir := t.TempDir()
		code, stdout, stderr := loginRun(t, dir, "s3cret\n", "login", srv.Host, "-u", "dave", "--password-stdin")
		if code != exitOK || stdout != "" || strings.Contains(stderr, "s3cret") {
			t.Fatalf("mode %d: exit %d, stdout %q, stderr %q", mode, code, stdout, stderr)
		}
		store := &auth.Store{DockerConfig: filepath.Join(dir, "config.json")}
		if cred, err := store.Get(t.Context(), srv.Host); err != nil || cred.Username != "dave" || cred.Password != "s3cret" {
			t.Fatalf("mode %d: saved %v, %v", mode, cred, err)
		}
		if code, _, stderr := loginRun(t, dir, "", "logout", srv.Host); code != exitOK {
			t.Fatalf("logout: exit %d %s", code, stderr)
		}
		if cred, _ := store.Get(t.Context(), srv.Host); cred != (auth.Credential{}) {
			t.Fatalf("logout left %v", cred)
		}
	}
}

func TestLoginWrongCredentialsSavesNothing(t *testing.T) {
	users := map[string]string{"dave": "s3cret"}
	for mode, a := range []registrytest.Auth{
		{Mode: registrytest.AuthBasic, Users: users},
		{Mode: registrytest.AuthBearer, Users: users},
		{Mode: registrytest.AuthBasic, Users: users, AnonymousPull: true}, // GET /v2/ needs no credentials
	} {
		srv := registrytest.NewServer(t, &registrytest.Options{Auth: a})
		dir := t.TempDir()
		code, _, stderr := loginRun(t, dir, "wrong-pw\n", "login", "-u", "dave", "--password-stdin", srv.Host)
		if code != exitError || stderr != "skiff login: login failed: unauthorized\n" {
			t.Fatalf("mode %d: exit %d, %q", mode, code, stderr)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("mode %d: a failed login wrote %v", mode, entries)
		}
	}
}

func TestLoginErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		stdin string
		args  []string
		code  int
		err   string
	}{
		{"pw\n", []string{"login", "-u", "u", "--password-stdin", "127.0.0.1:1"}, exitError, "cannot reach 127.0.0.1:1"},
		{"", []string{"login", "-u", "u", "127.0.0.1:1"}, exitUsage, "--password-stdin"},
		{"pw\n", []string{"login", "--password-stdin", "127.0.0.1:1"}, exitUsage, "-u USER"},
		{"\n", []string{"login", "-u", "u", "--password-stdin", "127.0.0.1:1"}, exitError, "empty password"},
		{"pw\n", []string{"login", "-u", "u", "--password-stdin", "not a host"}, exitError, "not a registry host"},
		{"", []string{"login"}, exitUsage, "want one HOST"},
		{"", []string{"logout", "a", "b"}, exitUsage, "want one HOST"},
	}
	for _, tt := range tests {
		code, _, stderr := loginRun(t, dir, tt.stdin, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.err) {
			t.Errorf("skiff %q: exit %d, %q; want %d mentioning %q", tt.args, code, stderr, tt.code, tt.err)
		}
		if code == exitError && strings.Count(stderr, "\n") != 1 {
			t.Errorf("skiff %q: not one line: %q", tt.args, stderr)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("failed logins wrote %v", entries)
	}
}

func TestLogoutUnknownHostIsNotAnError(t *testing.T) {
	if code, _, stderr := loginRun(t, t.TempDir(), "", "logout", "ghcr.io"); code != exitOK {
		t.Fatalf("exit %d %s", code, stderr)
	}
}

func TestLoginHost(t *testing.T) {
	for in, want := range map[string]string{
		"ghcr.io": "ghcr.io", "Localhost:5000": "localhost:5000", "https://index.docker.io/v1/": "docker.io",
		"index.docker.io": "docker.io", "registry-1.docker.io": "docker.io", "https://quay.io": "quay.io",
	} {
		if got, err := loginHost([]string{in}); err != nil || got != want {
			t.Errorf("loginHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "alpine", "ghcr.io/o/r", "a b"} {
		if got, err := loginHost([]string{bad}); err == nil {
			t.Errorf("loginHost(%q) = %q, want an error", bad, got)
		}
	}
}

// TestLoginThenPull: what login saves is what the next command uses.
func TestLoginThenPull(t *testing.T) {
	srv := registrytest.NewServer(t, &registrytest.Options{Auth: registrytest.Auth{Mode: registrytest.AuthBearer,
		Users: map[string]string{"ci": "s3cret-login"}}})
	im, _ := testimage.New(testimage.Options{LayerSizes: []int{1000}, Seed: 4})
	ref, _ := reference.Parse(srv.Host + "/demo/app:1")
	seeder := &registry.Client{Keychain: auth.Static{srv.Host: {Username: "ci", Password: "s3cret-login"}}}
	if err := testimage.Push(t.Context(), seeder.Repository(ref), im, "1"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if code, _, _ := loginRun(t, dir, "", "digest", ref.String()); code != exitError {
		t.Fatal("the registry answered without credentials: the test proves nothing")
	}
	if code, _, stderr := loginRun(t, dir, "s3cret-login\n", "login", "-u", "ci", "--password-stdin", srv.Host); code != exitOK {
		t.Fatalf("login: exit %d %s", code, stderr)
	}
	if code, stdout, stderr := loginRun(t, dir, "", "digest", ref.String()); code != exitOK || strings.TrimSpace(stdout) != string(im.Manifest.Digest) {
		t.Fatalf("digest after login: exit %d %q %s", code, stdout, stderr)
	}
}
