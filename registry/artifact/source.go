package artifact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// blob is where a blob of an artifact being pushed is: bytes in memory
// (the manifest, the empty config), a file, or a directory's layer.
type blob struct {
	data  []byte
	path  string
	layer *tarball.Layer
}

// localSource serves the blobs of an artifact being pushed, from memory
// and from disk, verified as they stream: it is the source
// images.CopyDescriptor copies the artifact from.
type localSource struct {
	blobs map[manifest.Digest]blob
	temps []*tarball.Layer // the temporary files of directories
}

func (s *localSource) add(d manifest.Descriptor, b blob) {
	if _, ok := s.blobs[d.Digest]; !ok {
		s.blobs[d.Digest] = b
	}
}

// remove removes the directories' temporary files.
func (s *localSource) remove() {
	for _, l := range s.temps {
		l.Remove()
	}
}

// Fetch returns desc's content, verified: a file that changed since its
// digest was taken fails at its end, with an error naming it.
func (s *localSource) Fetch(ctx context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	rc, err := s.FetchFrom(ctx, desc, 0)
	if err != nil {
		return nil, err
	}
	rc = manifest.VerifyReadCloser(rc, desc)
	if p := s.blobs[desc.Digest].path; p != "" {
		rc = &named{ReadCloser: rc, path: p}
	}
	return rc, nil
}

// FetchFrom returns desc's content from offset on, for an upload the
// destination continues (manifest.RangeFetcher): the destination
// verifies it with what it holds.
func (s *localSource) FetchFrom(ctx context.Context, desc manifest.Descriptor, offset int64) (io.ReadCloser, error) {
	b, ok := s.blobs[desc.Digest]
	switch {
	case !ok:
		return nil, fmt.Errorf("artifact: %s is not part of the artifact: %w", desc.Digest, manifest.ErrNotFound)
	case b.path != "":
		f, err := os.Open(b.path)
		if err != nil {
			return nil, fmt.Errorf("artifact: %w", err)
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("artifact: %w", err)
		}
		return f, nil
	case b.layer != nil:
		rc, err := b.layer.Open()
		if err != nil {
			return nil, err
		}
		if _, err := io.CopyN(io.Discard, rc, offset); err != nil {
			rc.Close()
			return nil, fmt.Errorf("artifact: skipping to %d of %s: %w", offset, desc.Digest, err)
		}
		return rc, nil
	}
	return io.NopCloser(bytes.NewReader(b.data[min(offset, int64(len(b.data))):])), nil
}

// named says which file no longer matches the digest it had.
type named struct {
	io.ReadCloser
	path string
}

func (n *named) Read(p []byte) (int, error) {
	k, err := n.ReadCloser.Read(p)
	if errors.Is(err, manifest.ErrDigestMismatch) || errors.Is(err, manifest.ErrSizeMismatch) {
		err = fmt.Errorf("artifact: %s changed while it was pushed: %w", n.path, err)
	}
	return k, err
}
