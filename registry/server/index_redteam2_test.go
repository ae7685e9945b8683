package server_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

// TestRedteam2IndexPastFourMiB: the server reads a repository's
// index.json up to 64 MiB ("about 300,000 tags"), but parsed it with
// manifest.Parse, which refuses anything past 4 MiB (about 18,000 tags):
// such a repository could not be served at all, and one that grew past
// 4 MiB while served was lost at the next start, or rolled back to what
// its journal once held. RT2-S1.
func TestRedteam2IndexPastFourMiB(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 tags")
	}
	root := t.TempDir()
	const n = 20000
	seedTags(t, root, "big/repo", n)
	if fi, err := os.Stat(filepath.Join(root, "big", "repo", "index.json")); err != nil || fi.Size() <= 4<<20 {
		t.Fatalf("the seeded index.json is not past 4 MiB: %v %v", fi, err)
	}
	s := startAt(t, root, nil)
	r := s.do("GET", "/v2/big/repo/manifests/t00001", nil, "Accept", manifest.MediaTypeOCIManifest)
	if r.StatusCode != 200 {
		t.Fatalf("a repository of %d tags is not served: %d %.300s", n, r.StatusCode, r.body)
	}
	im := newImage("one more", 100, nil)
	s.push("big/repo", "new", im)
	s.Close()
	s2 := startAt(t, root, nil)
	if got := len(s2.tags("big/repo")); got != n+1 {
		t.Errorf("after a restart %d tags, want %d", got, n+1)
	}
}
