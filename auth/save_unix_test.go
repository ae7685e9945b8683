//go:build unix

package auth_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/traptest"
)

// A config.json that is the user's own symbolic link (a dotfiles
// manager's) is written through; one another user planted is replaced,
// and the file it points to is left alone.
func TestSaveFollowsOnlyOwnLinks(t *testing.T) {
	dir := t.TempDir()
	dotfiles := writeFile(t, filepath.Join(dir, "dotfiles", "docker-config.json"), `{"psFormat": "mine"}`)
	config := filepath.Join(dir, ".docker", "config.json")
	noErr(t, os.MkdirAll(filepath.Dir(config), 0o700))
	noErr(t, os.Symlink(dotfiles, config))
	s := &auth.Store{DockerConfig: config}
	pass := secret("pw-SECRET-dotfiles")
	basicSecret("me", pass)
	noErr(t, s.Save(ctx, "reg.example.com", auth.Credential{Username: "me", Password: pass}))
	if fi, err := os.Lstat(config); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the user's link was replaced: %v %v", fi, err)
	}
	if m := readJSON(t, dotfiles); m["auths"] == nil || compact(t, m["psFormat"]) != `"mine"` {
		t.Errorf("the linked file holds %v", m)
	}
	checkMode(t, dotfiles, 0o600)

	traptest.NeedRoot(t)
	shared := t.TempDir()
	noErr(t, os.Chmod(shared, 0o1777))
	victim := writeFile(t, filepath.Join(dir, "victim.json"), `{"psFormat": "victim"}`)
	planted := filepath.Join(shared, "config.json")
	noErr(t, os.Symlink(victim, planted))
	noErr(t, os.Lchown(planted, traptest.OtherUID, traptest.OtherUID))
	s = &auth.Store{DockerConfig: planted}
	noErr(t, s.Save(ctx, "reg.example.com", auth.Credential{Username: "me", Password: pass}))
	if b, _ := os.ReadFile(victim); string(b) != `{"psFormat": "victim"}` {
		t.Errorf("the file another user's link points to changed: %s", b)
	}
	traptest.Owned(t, planted, false)
	checkMode(t, planted, 0o600)
}
