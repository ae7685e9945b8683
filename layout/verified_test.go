package layout_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

// unproven returns readers of the 28-byte blob data that must never be
// committed under its digest: partly read before the push (issue 25's
// case: 6 bytes read, the 22 left), the rest of it from byte 6 as a
// ranged fetch gives it, one byte short and one byte long.
func unproven(t *testing.T, data []byte, desc manifest.Descriptor) map[string]func() io.Reader {
	src, _ := create(t)
	push(t, src, blob{desc: desc, data: data})
	return map[string]func() io.Reader{
		"partly read": func() io.Reader {
			r := manifest.NewVerifyingReader(bytes.NewReader(data), desc)
			io.ReadFull(r, make([]byte, 6))
			return r
		},
		"resumed from byte 6": func() io.Reader {
			rc, err := src.FetchFrom(t.Context(), desc, 6)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rc.Close() })
			return rc
		},
		"one byte short": func() io.Reader { return bytes.NewReader(data[:len(data)-1]) },
		"one byte long":  func() io.Reader { return bytes.NewReader(append(bytes.Clone(data), 'x')) },
	}
}

// TestPushRefusesUnprovenReaders: Push fails for every reader that does
// not yield the whole blob from its first byte, and leaves nothing under
// the blob's name and no temporary file.
func TestPushRefusesUnprovenReaders(t *testing.T) {
	data := []byte("the twenty-eight bytes here.")
	desc := manifest.DescriptorFor(manifest.MediaTypeOCILayer, data)
	for name, r := range unproven(t, data, desc) {
		l, dir := create(t)
		err := l.Push(t.Context(), desc, r())
		if !errors.Is(err, manifest.ErrSizeMismatch) {
			t.Errorf("%s: %v, want a size mismatch", name, err)
		}
		if _, err := os.Lstat(blobFile(dir, desc.Digest)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the blob's name exists: %v", name, err)
		}
		checkNoTemp(t, dir)
	}
}

// TestPushResumableRefusesUnprovenReaders: PushResumable, continuing a
// push cut after 10 bytes, fails when open hands it bytes from another
// offset than it asked for, or too few; starting afresh, it fails with a
// reader already partly read. Nothing appears under the blob's name.
func TestPushResumableRefusesUnprovenReaders(t *testing.T) {
	data, desc := randomBlob(100<<10, 9)
	partly := func(int64) (io.ReadCloser, error) {
		rc := manifest.VerifyReadCloser(io.NopCloser(bytes.NewReader(data)), desc)
		io.ReadFull(rc, make([]byte, 6))
		return rc, nil
	}
	cases := map[string]struct {
		from int64 // where the push continues: 10 after the cut
		open func(int64) (io.ReadCloser, error)
	}{
		"bytes from 0 at the offset": {10, func(int64) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }},
		"bytes from 16 at the offset": {10, func(off int64) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data[off+6:])), nil
		}},
		"one byte short": {10, func(off int64) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data[off : len(data)-1])), nil
		}},
		"partly read": {0, partly},
	}
	for name, c := range cases {
		l, dir := create(t)
		if c.from > 0 {
			cut := func(int64) (io.ReadCloser, error) {
				return io.NopCloser(&errReader{data: data[:c.from], err: errBoom}), nil
			}
			if err := l.PushResumable(t.Context(), desc, cut); !errors.Is(err, errBoom) {
				t.Fatalf("%s: the cut push: %v", name, err)
			}
		}
		asked := int64(-1)
		err := l.PushResumable(t.Context(), desc, func(off int64) (io.ReadCloser, error) {
			asked = off
			return c.open(off)
		})
		if asked != c.from {
			t.Errorf("%s: continued from byte %d, not %d", name, asked, c.from)
		}
		if !errors.Is(err, manifest.ErrSizeMismatch) && !errors.Is(err, manifest.ErrDigestMismatch) {
			t.Errorf("%s: %v, want a mismatch", name, err)
		}
		if _, err := os.Lstat(blobFile(dir, desc.Digest)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the blob's name exists: %v", name, err)
		}
	}
}
