package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/cosign"
)

func TestSignVerifyHelpGolden(t *testing.T) {
	for _, name := range []string{"verify", "sign", "generate-key"} {
		inspectGolden(t, "help-"+name+".golden", mustRun(t, name, "--help"))
	}
}

// keyPair runs "skiff generate-key" in a new directory and returns the
// paths of the private and public keys.
func keyPair(t *testing.T) (string, string) {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "k")
	mustRun(t, "generate-key", "--output-key-prefix", prefix)
	return prefix + ".key", prefix + ".pub"
}

// failWith runs skiff, which must exit 1 with one line on stderr
// mentioning want.
func failWith(t *testing.T, want string, args ...string) {
	t.Helper()
	code, _, stderr := runSkiff(t, t.Context(), "", args...)
	if code != exitError || !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("skiff %s: exit %d, stderr %q; want exit 1 and one line mentioning %q", strings.Join(args, " "), code, stderr, want)
	}
}

func TestGenerateKey(t *testing.T) {
	key, pub := keyPair(t)
	for path, mode := range map[string]os.FileMode{key: 0o600, pub: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
	before, _ := os.ReadFile(key)
	prefix := strings.TrimSuffix(key, ".key")
	failWith(t, "already exists", "generate-key", "--output-key-prefix", prefix)
	if after, _ := os.ReadFile(key); string(after) != string(before) {
		t.Fatal("a refused generate-key changed the existing key")
	}
	os.Remove(key) // the .pub alone is reason enough to refuse
	failWith(t, "already exists", "generate-key", "--output-key-prefix", prefix)
	if _, err := os.Stat(key); err == nil {
		t.Fatal("a refused generate-key wrote the private key")
	}
	entries, _ := os.ReadDir(filepath.Dir(key))
	if len(entries) != 1 {
		t.Errorf("left behind %d files, want only the .pub", len(entries))
	}
}

func TestSignAndVerify(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "demo/app:1", 100)
	seedImage(t, srv, "demo/unsigned:1", 100)
	ref := srv.Host + "/demo/app:1"
	key, pub := keyPair(t)
	_, otherPub := keyPair(t)

	failWith(t, "no signature found", "verify", "--key", pub, ref)
	out := mustRun(t, "sign", "--key", key, "--annotation", "build=42", ref)
	if !strings.HasPrefix(out, srv.Host+"/demo/app:sha256-") || !strings.HasSuffix(out, ".sig\n") {
		t.Fatalf("sign printed %q, want the signature's tag", out)
	}
	mustRun(t, "sign", "--key", key, ref) // again: kept once

	out = mustRun(t, "verify", "--key", pub, "--identity", srv.Host+"/demo/app", ref)
	if strings.Count(out, "verified ") != 2 || !strings.Contains(out, "tag signature") || !strings.Contains(out, "identity "+srv.Host+"/demo/app") {
		t.Errorf("verify printed %q; want the two signatures (with and without the annotation)", out)
	}
	var res struct {
		Digest     manifest.Digest   `json:"digest"`
		Signatures []cosign.Verified `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "verify", "--json", "--key", pub, ref)), &res); err != nil || len(res.Signatures) != 2 || res.Signatures[0].Digest != res.Digest {
		t.Errorf("verify --json: %+v, %v", res, err)
	}

	failWith(t, "does not verify with this key", "verify", "--key", otherPub, ref)
	failWith(t, "identity mismatch", "verify", "--key", pub, "--identity", srv.Host+"/demo/other", ref)
	failWith(t, "no signature found", "verify", "--key", pub, srv.Host+"/demo/unsigned:1")
	failWith(t, "this is a private key", "verify", "--key", key, ref)
	failWith(t, "scrypt", "sign", "--key", "../../registry/cosign/testdata/cosign-encrypted.key", ref)
	if code, _, stderr := runSkiff(t, t.Context(), "", "verify", ref); code != exitUsage || !strings.Contains(stderr, "--key is required") {
		t.Errorf("verify without --key: exit %d, %q", code, stderr)
	}
	if code, _, _ := runSkiff(t, t.Context(), "", "sign", "--key", key, "--annotation", "novalue", ref); code != exitUsage {
		t.Errorf("sign --annotation without =: exit %d, want %d", code, exitUsage)
	}
}

// TestVerifyKeyGuardsTransfers checks that pull, copy and proxy with
// --verify-key move nothing until the image verifies.
func TestVerifyKeyGuardsTransfers(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "demo/app:1", 100)
	ref := srv.Host + "/demo/app:1"
	key, pub := keyPair(t)
	dir := t.TempDir()
	tarball := filepath.Join(dir, "app.tar")

	failWith(t, "no signature found", "pull", "--verify-key", pub, ref, tarball)
	failWith(t, "no signature found", "copy", "--verify-key", pub, ref, srv.Host+"/demo/copy:1")
	failWith(t, "no signature found", "copy", "--verify-key", pub, ref, "oci:"+filepath.Join(dir, "layout"))
	failWith(t, "no signature found", "proxy", "--verify-key", pub, "--listen", "127.0.0.1:0", ref)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("refused transfers left %d files behind", len(entries))
	}
	if _, err := resolve(t, srv.Host+"/demo/copy:1"); err == nil {
		t.Fatal("a refused copy pushed the image")
	}

	mustRun(t, "sign", "--key", key, ref)
	mustRun(t, "pull", "--verify-key", pub, ref, tarball)
	mustRun(t, "copy", "--verify-key", pub, ref, srv.Host+"/demo/copy:1")
	if _, err := os.Stat(tarball); err != nil {
		t.Fatal(err)
	}
	stderr := startProxyUntilServing(t, "--verify-key", pub, "--listen", "127.0.0.1:0", ref)
	if !strings.Contains(stderr, "verified ") {
		t.Errorf("proxy stderr %q does not say what verified", stderr)
	}
}

// startProxyUntilServing runs skiff proxy until it says it serves, then
// stops it, and returns what it wrote on stderr.
func startProxyUntilServing(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: pw, getenv: func(string) string { return "" }}
		done <- e.run(ctx, append([]string{"proxy"}, args...))
		pw.Close()
	}()
	var seen strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "serving") {
			break
		}
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if code := <-done; code != exitOK || !strings.Contains(seen.String(), "serving") {
		t.Fatalf("proxy exited %d before serving: %s", code, seen.String())
	}
	return seen.String()
}

func resolve(t *testing.T, s string) (manifest.Descriptor, error) {
	ref, err := reference.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return (&registry.Client{}).Repository(ref).Resolve(t.Context(), ref.Identifier())
}

// TestVerifyKeyIndexRule checks the rule for an index: its digest signed,
// or, when --platform picks manifests, each of theirs.
func TestVerifyKeyIndexRule(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ims, idx := multiArch(t, srv.Host, "demo/multi:1")
	ref := srv.Host + "/demo/multi:1"
	key, pub := keyPair(t)
	repo := srv.Host + "/demo/multi"
	mustRun(t, "sign", "--key", key, repo+"@"+string(ims[0].Manifest.Digest)) // amd64 only
	dir := t.TempDir()

	out := mustRun(t, "verify", "--key", pub, "--platform", "linux/amd64", ref)
	if !strings.Contains(out, "of its linux/amd64 manifest") || !strings.Contains(out, string(ims[0].Manifest.Digest)) {
		t.Errorf("verify --platform printed %q", out)
	}
	mustRun(t, "pull", "--verify-key", pub, "--platform", "linux/amd64", ref, filepath.Join(dir, "amd64.tar"))
	failWith(t, "nor is its linux/arm64 manifest signed", "pull", "--verify-key", pub, "--platform", "linux/arm64", ref, filepath.Join(dir, "arm64.tar"))
	failWith(t, "no signature found", "copy", "--verify-key", pub, ref, srv.Host+"/demo/all:1")
	failWith(t, "nor is its linux/arm64 manifest signed", "copy", "--verify-key", pub, "--platform", "linux/amd64,linux/arm64", ref, srv.Host+"/demo/two:1")
	failWith(t, "no signature found", "verify", "--key", pub, ref)

	mustRun(t, "sign", "--key", key, ref) // the index
	out = mustRun(t, "verify", "--key", pub, ref)
	if !strings.Contains(out, string(idx.Digest)) {
		t.Errorf("verify printed %q, want the index's signature", out)
	}
	mustRun(t, "copy", "--verify-key", pub, ref, srv.Host+"/demo/all:1")
	mustRun(t, "pull", "--verify-key", pub, "--platform", "linux/arm64", ref, filepath.Join(dir, "arm64.tar"))
}

// TestVerifyLayout signs an image in an OCI layout, where the .sig tag is
// an index.json entry, and verifies it there.
func TestVerifyLayout(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "demo/app:1", 100)
	dir := filepath.Join(t.TempDir(), "layout")
	mustRun(t, "copy", srv.Host+"/demo/app:1", "oci:"+dir+":1")
	key, pub := keyPair(t)
	failWith(t, "no signature found", "verify", "--key", pub, "oci:"+dir+":1")
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	img, err := l.Resolve(t.Context(), "1")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := readPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cosign.Sign(t.Context(), l, img, signer, &cosign.SignOptions{Reference: "example.com/app"}); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "verify", "--key", pub, "oci:"+dir+":1"); !strings.Contains(out, "identity example.com/app") {
		t.Errorf("verify printed %q", out)
	}
	mustRun(t, "copy", "--verify-key", pub, "oci:"+dir+":1", srv.Host+"/demo/fromlayout:1")
}
