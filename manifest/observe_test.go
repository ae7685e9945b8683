package manifest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

// TestObserveFetcherHashesOnce: a watched blob's reader still counts as
// verified, so a store's Verifier hashes it once; its events
// add up to its size and end with StateDone.
func TestObserveFetcherHashesOnce(t *testing.T) {
	data := bytes.Repeat([]byte("layer"), 20000)
	d := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)
	src := blobMap{d.Digest: data}
	var events []manifest.Event
	f := manifest.ObserveFetcher(src, func(e manifest.Event) { events = append(events, e) })
	rc, err := f.Fetch(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	r := manifest.NewVerifier(rc, d)
	if !r.Reused() {
		t.Fatal("a Verifier of an observed, verifying reader hashes again: the blob would be hashed twice")
	}
	got, err := io.ReadAll(inChunks(r, 4096))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	first, last := events[0], events[len(events)-1]
	if first.State != manifest.StateStart || last.State != manifest.StateDone || last.Bytes != d.Size || len(events) < 3 {
		t.Fatalf("events: first %+v, last %+v, %d in all", first, last, len(events))
	}
}

// TestObserveFetcherPassesMismatch: watching never hides a bad blob: the
// mismatch reaches the reader and no StateDone is reported.
func TestObserveFetcherPassesMismatch(t *testing.T) {
	d := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, []byte("right"))
	src := blobMap{d.Digest: []byte("wrong")}
	var done bool
	f := manifest.ObserveFetcher(src, func(e manifest.Event) { done = done || e.State == manifest.StateDone })
	rc, err := f.Fetch(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(manifest.NewVerifier(rc, d)); !errors.Is(err, manifest.ErrDigestMismatch) || done {
		t.Fatalf("read error %v, done reported %v", err, done)
	}
}

// inChunks reads r at most n bytes at a time.
func inChunks(r io.Reader, n int) io.Reader {
	return readerFunc(func(p []byte) (int, error) { return r.Read(p[:min(len(p), n)]) })
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// blobMap is a Fetcher of blobs in memory, verified as they are read.
type blobMap map[manifest.Digest][]byte

func (m blobMap) Fetch(ctx context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	b, ok := m[d.Digest]
	if !ok {
		return nil, manifest.ErrNotFound
	}
	return manifest.VerifyReadCloser(io.NopCloser(bytes.NewReader(b)), d), nil
}
