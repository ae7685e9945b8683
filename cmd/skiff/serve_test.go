package main

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/distribution"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// startServe runs "skiff registry serve" until the test ends and returns
// its host, read from the line it prints when it listens.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	host, _ := startServeStop(t, args...)
	return host
}

// startServeStop is startServe that also returns a function stopping the
// server, which fails the test unless it exits cleanly.
func startServeStop(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: pw, getenv: func(string) string { return "" }}
		done <- e.run(ctx, append([]string{"registry", "serve", "--addr", "127.0.0.1:0"}, args...))
		pw.Close()
	}()
	br := bufio.NewReader(pr)
	var line string
	for !strings.Contains(line, "serving ") {
		var err error
		if line, err = br.ReadString('\n'); err != nil {
			t.Fatalf("serve did not start: %v", err)
		}
	}
	go io.Copy(io.Discard, br)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if code := <-done; code != exitOK {
				t.Errorf("serve exited %d", code)
			}
		})
	}
	t.Cleanup(stop)
	_, rest, _ := strings.Cut(line, "://")
	host, _, _ := strings.Cut(rest, ",")
	return host, stop
}

func TestRegistryServeKeepsLayouts(t *testing.T) {
	root := t.TempDir()
	host := startServe(t, "--root", root)
	ref, _ := reference.Parse(host + "/team/app:v1")
	repo := (&registry.Client{}).Repository(ref)
	im, err := testimage.New(testimage.Options{LayerSizes: []int{200 << 10}, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.Push(t.Context(), repo, im, "v1"); err != nil {
		t.Fatal(err)
	}
	l, err := layout.Open(filepath.Join(root, "team", "app"))
	if err != nil {
		t.Fatalf("the repository is not an OCI layout: %v", err)
	}
	if d, err := l.Resolve(t.Context(), "v1"); err != nil || d.Digest != im.Manifest.Digest {
		t.Fatalf("layout tag v1: %v %v", d, err)
	}
	// skiff reads it back, and copies from the directory as a layout.
	mustRun(t, "copy", "--quiet", "oci:"+filepath.Join(root, "team", "app")+":v1", host+"/team/copy:v1")
	if tags, err := repo.Tags(t.Context()); err != nil || len(tags) != 1 {
		t.Fatalf("tags %v %v", tags, err)
	}
	if err := repo.Delete(t.Context(), string(im.Manifest.Digest)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Resolve(t.Context(), "v1"); err == nil {
		t.Fatal("a deleted manifest is still tagged in the layout")
	}
}

func TestRegistryServeWithPeers(t *testing.T) {
	skopeo := distribution.RequireTool(t, "skopeo")
	umoci := distribution.RequireTool(t, "umoci")
	root := t.TempDir()
	host := startServe(t, "--root", root)
	src := filepath.Join(t.TempDir(), "src")
	im, _ := testimage.New(testimage.Options{LayerSizes: []int{100 << 10}, Seed: 6})
	l, _ := layout.Create(src)
	if err := testimage.Push(t.Context(), l, im, "v1"); err != nil {
		t.Fatal(err)
	}
	runTool(t, skopeo, "copy", "--dest-tls-verify=false", "oci:"+src+":v1", "docker://"+host+"/peers/app:v1")
	out := filepath.Join(t.TempDir(), "out")
	runTool(t, skopeo, "copy", "--src-tls-verify=false", "docker://"+host+"/peers/app:v1", "oci:"+out+":v1")
	if got := runTool(t, skopeo, "inspect", "--raw", "oci:"+out+":v1"); !strings.Contains(got, string(im.Manifest.Manifest.Layers[0].Digest)) {
		t.Fatalf("skopeo copied out something else: %s", got)
	}
	served := filepath.Join(root, "peers", "app")
	runTool(t, skopeo, "inspect", "oci:"+served+":v1")
	runTool(t, umoci, "stat", "--image", served+":v1")
}

// TestRegistryServeWithCrane: crane (installed by .ci/run) pushes a
// tarball into the served registry, lists its tags and repositories,
// and skiff pulls back exactly what crane pushed.
func TestRegistryServeWithCrane(t *testing.T) {
	crane := distribution.RequireTool(t, "crane")
	root := t.TempDir()
	host := startServe(t, "--root", root)
	im, _ := testimage.New(testimage.Options{LayerSizes: []int{150 << 10, 40 << 10}, Seed: 8})
	l, _ := layout.Create(filepath.Join(t.TempDir(), "src"))
	if err := testimage.Push(t.Context(), l, im, "v1"); err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "app.tar")
	mustRun(t, "copy", "--quiet", "oci:"+l.Dir()+":v1", "docker-archive:"+tarPath+":crane/app:v1")
	runTool(t, crane, "push", "--insecure", tarPath, host+"/crane/app:v1")
	runTool(t, crane, "tag", "--insecure", host+"/crane/app:v1", "v2")
	if got := strings.Fields(runTool(t, crane, "ls", "--insecure", host+"/crane/app")); strings.Join(got, ",") != "v1,v2" {
		t.Fatalf("crane ls: %q", got)
	}
	if got := runTool(t, crane, "catalog", "--insecure", host); !strings.Contains(got, "crane/app") {
		t.Fatalf("crane catalog: %q", got)
	}
	craneDigest := strings.TrimSpace(runTool(t, crane, "digest", "--insecure", host+"/crane/app:v2"))
	if got := strings.TrimSpace(mustRun(t, "digest", host+"/crane/app:v2")); got != craneDigest {
		t.Fatalf("skiff digest %s, crane digest %s", got, craneDigest)
	}
	// The served directory is a layout holding what crane pushed.
	served, err := layout.Open(filepath.Join(root, "crane", "app"))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := served.Resolve(t.Context(), "v2"); err != nil || string(d.Digest) != craneDigest {
		t.Fatalf("layout tag v2: %v %v", d.Digest, err)
	}
	out := filepath.Join(t.TempDir(), "back.tar")
	mustRun(t, "pull", "--quiet", host+"/crane/app:v1", out)
	runTool(t, crane, "delete", "--insecure", host+"/crane/app@"+craneDigest)
	if code, _, stderr := runSkiff(t, t.Context(), "", "digest", host+"/crane/app:v1"); code != exitError || !strings.Contains(stderr, "404") {
		t.Fatalf("after crane delete: exit %d %s", code, stderr)
	}
}

func runTool(t *testing.T, tool string, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestRegistryServeHtpasswd(t *testing.T) {
	sum := sha1.Sum([]byte("s3cret"))
	file := filepath.Join(t.TempDir(), "users")
	os.WriteFile(file, []byte("# users\nalice:{SHA}"+base64.StdEncoding.EncodeToString(sum[:])+"\nbob:plainpw\n"), 0o600)
	host := startServe(t, "--root", t.TempDir(), "--htpasswd", file)
	ref, _ := reference.Parse(host + "/a/b:v1")
	for user, pw := range map[string]string{"alice": "s3cret", "bob": "plainpw"} {
		c := &registry.Client{Keychain: auth.Static{host: {Username: user, Password: pw}}}
		if _, err := c.Repository(ref).Tags(t.Context()); err != nil && !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("%s: %v", user, err)
		}
	}
	wrong := &registry.Client{Keychain: auth.Static{host: {Username: "alice", Password: "nope"}}}
	if _, err := wrong.Repository(ref).Tags(t.Context()); !errors.Is(err, registry.ErrUnauthorized) {
		t.Fatalf("wrong password: %v", err)
	}
	bcrypt := filepath.Join(t.TempDir(), "bcrypt")
	os.WriteFile(bcrypt, []byte("carol:$2y$05$abcdefghijklmnopqrstuv\n"), 0o600)
	code, _, stderr := runSkiff(t, t.Context(), "", "registry", "serve", "--addr", "127.0.0.1:0", "--htpasswd", bcrypt)
	if code != exitError || !strings.Contains(stderr, "bcrypt") {
		t.Fatalf("bcrypt entry: exit %d %q", code, stderr)
	}
}
