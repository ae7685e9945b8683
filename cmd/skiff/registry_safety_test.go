//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A link another user planted at ROOT/.lock, a name serve invents, is not
// followed: serve replaces it with a lock file of its own and starts; a
// second serve is still refused; gc does the same with one planted again;
// the victim is byte for byte the same throughout.
func TestRegistryServePlantedLock(t *testing.T) {
	root, victim := t.TempDir(), filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o600)
	lock := filepath.Join(root, ".lock")
	os.Symlink(victim, lock)
	host, stop := startServeStop(t, "--root", root)
	pushTestImage(t, host+"/team/app:v1", 21)
	code, _, stderr := runSkiff(t, t.Context(), "", "registry", "serve", "--addr", "127.0.0.1:0", "--root", root)
	if code != exitError || !strings.Contains(stderr, lock) {
		t.Errorf("a second serve: exit %d, %q", code, stderr)
	}
	stop()
	os.Remove(lock)
	os.Symlink(victim, lock)
	mustRun(t, "registry", "gc", "--root", root)
	if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
		t.Fatalf("victim changed: %q, %v", b, err)
	}
	if fi, err := os.Lstat(lock); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the lock is %v, %v", fi, err)
	}
}

// A push to a repository named into another's layout fails with the
// registry's reason on stderr, and the layout is untouched.
func TestRegistryServeRefusesNestedName(t *testing.T) {
	root := t.TempDir()
	host := startServe(t, "--root", root)
	pushTestImage(t, host+"/priv/many:v1", 22)
	before := treeSnapshot(t, filepath.Join(root, "priv"))
	code, _, stderr := runSkiff(t, t.Context(), "", "copy", host+"/priv/many:v1", host+"/priv/many/blobs/sha256:v1")
	if code != exitError || !strings.Contains(stderr, "NAME_INVALID") || !strings.Contains(stderr, `component "blobs"`) {
		t.Fatalf("copy into a layout's blobs: exit %d, %q", code, stderr)
	}
	if after := treeSnapshot(t, filepath.Join(root, "priv")); after != before {
		t.Errorf("priv changed:\n%s\nwas\n%s", after, before)
	}
}
