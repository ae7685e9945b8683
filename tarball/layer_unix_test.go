//go:build unix

package tarball_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/internal/traptest"
	"github.com/skiffoci/skiff/tarball"
)

// A layer's temporary file that another user replaced in a shared
// temporary directory is not read: whatever trap took its name, Open
// refuses it.
func TestLayerFileReplacedRefused(t *testing.T) {
	for _, tr := range traptest.Traps {
		t.Run(tr.Name, func(t *testing.T) {
			scene := traptest.NewScene(t)
			src := t.TempDir()
			makeTree(t, src)
			l, err := tarball.LayerFromDir(context.Background(), src, &tarball.LayerOptions{TempDir: scene.Out})
			if err != nil {
				t.Fatal(err)
			}
			paths, _ := filepath.Glob(filepath.Join(scene.Out, "*"))
			if len(paths) != 1 {
				t.Fatalf("temp dir holds %q", paths)
			}
			os.Remove(paths[0])
			scene.Plant(t, tr, paths[0])
			if rc, err := l.Open(); err == nil {
				rc.Close()
				t.Fatal("opened what took the layer file's place")
			}
			scene.Check(t)
		})
	}
}
