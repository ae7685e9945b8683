package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testtool"
)

// startContainerd runs containerd with its own root, state and socket in
// a temporary directory, and returns a function that runs ctr against it.
// containerd needs root; the test is skipped otherwise.
func startContainerd(t *testing.T) func(args ...string) string {
	t.Helper()
	daemon := testtool.Need(t, "containerd")
	ctr := testtool.Need(t, "ctr")
	if os.Geteuid() != 0 {
		t.Skip("containerd needs root")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "c.sock")
	config := "version = 2\nroot = \"" + filepath.Join(dir, "root") + "\"\nstate = \"" + filepath.Join(dir, "state") +
		"\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"" + sock + "\"\n"
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config", filepath.Join(dir, "config.toml"))
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	booted := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		ok := false
		for sc.Scan() {
			if !ok && strings.Contains(sc.Text(), "containerd successfully booted") {
				ok = true
				booted <- true
			}
		}
		if !ok {
			booted <- false
		}
	}()
	select {
	case ok := <-booted:
		if !ok {
			t.Fatal("containerd exited before it booted")
		}
	case <-time.After(time.Minute):
		t.Fatal("containerd did not boot within a minute")
	}
	return func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, ctr, append([]string{"--address", sock, "--namespace", "skiff"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
}

// TestContainerdExportPushes: ctr pulls an index from a registry and
// exports it; skiff pushes the export. With this machine's platform only,
// that platform's manifest goes up; with every platform, the index, with
// its digest.
func TestContainerdExportPushes(t *testing.T) {
	ctr := startContainerd(t)
	var host int
	switch runtime.GOARCH {
	case "amd64":
		host = 0
	case "arm64":
		host = 1
	default:
		t.Skipf("the test image has linux/amd64 and linux/arm64, not %s", runtime.GOARCH)
	}
	srv := registrytest.NewServer(t, nil)
	ims, idx := multiArch(t, srv.Host, "ctr/app:1")
	ref := srv.Host + "/ctr/app:1"
	dir := t.TempDir()

	ctr("images", "pull", "--plain-http", ref)
	one := filepath.Join(dir, "one.tar")
	ctr("images", "export", one, ref)
	code, stdout, stderr := runSkiff(t, t.Context(), "", "push", one, srv.Host+"/ctr/one:1")
	if code != exitOK || strings.TrimSpace(stdout) != string(ims[host].Manifest.Digest) || !strings.Contains(stderr, "which the archive does not hold") {
		t.Fatalf("push of ctr's export: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	ctr("images", "pull", "--plain-http", "--all-platforms", ref)
	all := filepath.Join(dir, "all.tar")
	ctr("images", "export", "--all-platforms", all, ref)
	if out := mustRun(t, "push", all, srv.Host+"/ctr/all:1"); strings.TrimSpace(out) != string(idx.Digest) {
		t.Fatalf("push of ctr's --all-platforms export: %q, want the index %s", out, idx.Digest)
	}
	if out := mustRun(t, "copy", "oci-archive:"+all+":1", srv.Host+"/ctr/byref:1"); strings.TrimSpace(out) != string(idx.Digest) {
		t.Fatalf("oci-archive:FILE:1 (the ref.name ctr wrote): %q", out)
	}
}
