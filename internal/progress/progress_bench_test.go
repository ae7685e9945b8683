package progress

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/iobuf"
	"github.com/skiffoci/skiff/manifest"
)

// BenchmarkWatchedBlob reads a 64 MiB blob as a pull writes it (verified,
// 256 KiB at a time, in 32 KiB reads as a socket delivers them) with no
// display, and watched by a terminal display and a plain one: issue 16's
// "progress costs (almost) nothing" in CPU per byte.
//
//	go test -run '^$' -bench WatchedBlob -count 6 ./internal/progress
func BenchmarkWatchedBlob(b *testing.B) {
	data := make([]byte, 64<<20)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	d := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)
	src := socketFetcher{d.Digest: data}
	for _, mode := range []struct {
		name string
		mode Mode
	}{{"none", Off}, {"tty", TTY}, {"plain", Plain}} {
		b.Run(mode.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				disp := newDisplay(io.Discard, mode.mode, time.Now)
				var f manifest.Fetcher = src
				if mode.mode != Off {
					f = manifest.ObserveFetcher(src, disp.Event)
				}
				rc, err := f.Fetch(b.Context(), d)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := iobuf.Copy(io.Discard, manifest.NewVerifier(rc, d)); err != nil {
					b.Fatal(err)
				}
				rc.Close()
				disp.draw() // one redraw per blob: the display redraws every 150 ms
			}
		})
	}
}

// socketFetcher serves verified blobs in reads of at most 32 KiB.
type socketFetcher map[manifest.Digest][]byte

func (s socketFetcher) Fetch(_ context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	return manifest.VerifyReadCloser(io.NopCloser(smallReads{bytes.NewReader(s[d.Digest])}), d), nil
}

type smallReads struct{ r io.Reader }

func (s smallReads) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), 32<<10)]) }
