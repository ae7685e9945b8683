package tarball_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// unprovenStore serves a memStore's blobs in a way no slot may count as
// complete: a verifying reader whose first 6 bytes were read, the bytes
// from byte 6, one byte short, or one byte long (whose first bytes are the
// whole blob).
type unprovenStore struct {
	*memStore
	mode string
}

func (s *unprovenStore) Fetch(ctx context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	rc, err := s.memStore.Fetch(ctx, d)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(rc)
	switch s.mode {
	case "partly read":
		v := manifest.VerifyReadCloser(io.NopCloser(bytes.NewReader(b)), d)
		io.ReadFull(v, make([]byte, 6))
		return v, nil
	case "from byte 6":
		b = b[6:]
	case "one byte short":
		b = b[:len(b)-1]
	case "one byte long":
		b = append(b, 'x')
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

var unprovenModes = []string{"partly read", "from byte 6", "one byte short", "one byte long"}

// withFetcher returns images whose blobs come from f.
func withFetcher(images []tarball.Entry, f manifest.Fetcher) []tarball.Entry {
	out := append([]tarball.Entry(nil), images...)
	for i := range out {
		out[i].Fetcher = f
	}
	return out
}

// TestWriteRefusesUnprovenReaders: Write, WriteFile and WriteDir fail on
// blobs that do not arrive whole from their first byte; WriteFile and
// WriteDir leave nothing under their name, and Write never writes all of
// such a blob.
func TestWriteRefusesUnprovenReaders(t *testing.T) {
	store, images, _ := bigImage(t, 7)
	for _, mode := range unprovenModes {
		bad := withFetcher(images, &unprovenStore{memStore: store.memStore, mode: mode})
		dir := t.TempDir()
		file, tree := filepath.Join(dir, "out.tar"), filepath.Join(dir, "out")
		if err := tarball.WriteFile(t.Context(), file, bad, nil); !errors.Is(err, manifest.ErrSizeMismatch) {
			t.Errorf("%s: WriteFile: %v, want a size mismatch", mode, err)
		}
		if err := tarball.WriteDir(t.Context(), tree, bad, nil); !errors.Is(err, manifest.ErrSizeMismatch) {
			t.Errorf("%s: WriteDir: %v, want a size mismatch", mode, err)
		}
		for _, p := range []string{file, tree} {
			if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %s exists: %v", mode, p, err)
			}
		}
		var out bytes.Buffer
		if err := tarball.Write(t.Context(), &out, bad, nil); !errors.Is(err, manifest.ErrSizeMismatch) {
			t.Errorf("%s: Write: %v, want a size mismatch", mode, err)
		}
		blob := store.blobs[images[0].Manifest.Manifest.Config.Digest]
		if bytes.Contains(out.Bytes(), blob) {
			t.Errorf("%s: Write wrote all of the config, unverified", mode)
		}
	}
}

// wrongOffsetStore serves FetchFrom from another offset than asked: shift
// bytes later, or from 0 when shift is negative.
type wrongOffsetStore struct {
	*rangeStore
	shift  int64
	ranged atomic.Int32 // fetches from an offset past 0
}

func (s *wrongOffsetStore) FetchFrom(ctx context.Context, d manifest.Descriptor, off int64) (io.ReadCloser, error) {
	if off > 0 {
		s.ranged.Add(1)
	}
	if off > 0 && s.shift < 0 {
		rc, err := s.rangeStore.FetchFrom(ctx, d, 0)
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(rc) // no longer a verifying reader
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	if off > 0 {
		off += s.shift
	}
	return s.rangeStore.FetchFrom(ctx, d, off)
}

// TestWriteFileRefusesWrongOffset: a WriteFile continuing from an
// interruption fails when the source answers a ranged fetch with bytes
// from another offset, and leaves nothing under the tarball's name.
func TestWriteFileRefusesWrongOffset(t *testing.T) {
	for _, shift := range []int64{-1, 6} {
		store, images, total := bigImage(t, 8)
		path := filepath.Join(t.TempDir(), "out.tar")
		ctx, cancel := context.WithCancel(t.Context())
		store.limit, store.cancel = total/2, cancel
		one := &tarball.WriteOptions{Jobs: 1} // one blob in flight: it is cut mid-way
		tarball.WriteFile(ctx, path, images, one)
		cancel()
		store.limit = 0
		wrong := &wrongOffsetStore{rangeStore: store, shift: shift}
		err := tarball.WriteFile(t.Context(), path, withFetcher(images, wrong), one)
		if !errors.Is(err, manifest.ErrSizeMismatch) && !errors.Is(err, manifest.ErrDigestMismatch) || wrong.ranged.Load() == 0 {
			t.Errorf("shift %d: %v after %d ranged fetches, want a mismatch", shift, err, wrong.ranged.Load())
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("shift %d: the tarball exists: %v", shift, err)
		}
	}
}
