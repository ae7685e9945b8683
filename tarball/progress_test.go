package tarball_test

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// Every blob of a tarball is reported, the config the caller gave too
// (it is written from memory, never fetched), and the events carry the
// tarball's totals, which reach the whole: for Write, WriteFile and
// WriteDir alike, in both shapes.
func TestProgressReportsEveryBlobWithTotals(t *testing.T) {
	store := newMemStore()
	ti := buildImage(t, store, spec{layers: []string{"a\n", "b\n"}, level: 1})
	entry := ti.image(store, "app:1")
	entry.Config = ti.config
	want := manifest.Totals{Blobs: 3, BlobsDone: 3, Bytes: int64(len(ti.config))}
	for _, l := range ti.layers {
		want.Bytes += int64(len(l))
	}
	want.BytesDone = want.Bytes
	writers := map[string]func(opts *tarball.WriteOptions) error{
		"Write": func(opts *tarball.WriteOptions) error {
			return tarball.Write(context.Background(), &bytes.Buffer{}, []tarball.Entry{entry}, opts)
		},
		"WriteFile": func(opts *tarball.WriteOptions) error {
			return tarball.WriteFile(context.Background(), filepath.Join(t.TempDir(), "a.tar"), []tarball.Entry{entry}, opts)
		},
		"WriteDir": func(opts *tarball.WriteOptions) error {
			return tarball.WriteDir(context.Background(), filepath.Join(t.TempDir(), "dir"), []tarball.Entry{entry}, opts)
		},
	}
	for name, write := range writers {
		for _, legacy := range []bool{false, true} {
			var mu sync.Mutex
			done := map[manifest.Digest]bool{}
			var most manifest.Totals
			progress := func(e manifest.Event) {
				mu.Lock()
				defer mu.Unlock()
				if e.State == manifest.StateDone {
					done[e.Desc.Digest] = true
				}
				most.Blobs, most.Bytes = e.Transfer.Blobs, e.Transfer.Bytes
				most.BlobsDone, most.BytesDone = max(most.BlobsDone, e.Transfer.BlobsDone), max(most.BytesDone, e.Transfer.BytesDone)
			}
			if err := write(&tarball.WriteOptions{Legacy: legacy, Progress: progress}); err != nil {
				t.Fatal(err)
			}
			if !done[manifest.FromBytes(ti.config)] {
				t.Errorf("%s (legacy %v): no event for the config", name, legacy)
			}
			if most != want {
				t.Errorf("%s (legacy %v): totals reached %+v, want %+v", name, legacy, most, want)
			}
		}
	}
}
