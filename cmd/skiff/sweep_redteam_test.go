//go:build unix

package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/traptest"
)

// RT-L3. Every pull sweeps the partial sets older than --partial-max-age
// (7 days) from the output's directory, whoever they belong to. In a
// shared directory (/tmp, a team's mirror), root's pull of one image
// removes another user's interrupted pull of another, a set that user
// could still resume, and a directory named like a partial goes with
// everything in it. The names are skiff's, so nothing else can be made to
// go, but a sweep should leave what another user owns alone: it is not
// a file skiff left for the user running it.
func TestRedteamSweepRemovesAnotherUsersPartials(t *testing.T) {
	traptest.NeedRoot(t)
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "demo/app:1", 1000)
	scene := traptest.NewScene(t)
	old := time.Now().Add(-8 * 24 * time.Hour)
	var theirs []string
	for _, name := range []string{".theirs.tar.skiff-partial", ".theirs.tar.skiff-state"} {
		p := filepath.Join(scene.Out, name)
		mustOK(t, os.WriteFile(p, []byte("their bytes"), 0o600))
		mustOK(t, os.Chown(p, traptest.OtherUID, traptest.OtherUID))
		mustOK(t, os.Chtimes(p, old, old))
		theirs = append(theirs, p)
	}
	if code, _, stderr := runSkiff(t, t.Context(), "", "pull", "--quiet", srv.Host+"/demo/app:1", filepath.Join(scene.Out, "app.tar")); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, p := range theirs {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("another user's %s was swept: %v", filepath.Base(p), err)
		}
	}
}
