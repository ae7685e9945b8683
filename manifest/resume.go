package manifest

import (
	"context"
	"fmt"
	"io"
)

// RangeFetcher is implemented by stores that can return a blob's content
// from an offset on, so that an interrupted transfer continues where it
// stopped instead of from the first byte.
type RangeFetcher interface {
	// FetchFrom returns the bytes of desc's content from offset on. They
	// are not verified on their own: the caller checks them together with
	// the bytes it already has (see NewResumedVerifier).
	FetchFrom(ctx context.Context, desc Descriptor, offset int64) (io.ReadCloser, error)
}

// FetchFrom returns desc's content from offset on, through f's FetchFrom
// when f is a RangeFetcher, and otherwise by fetching the whole content and
// skipping the first offset bytes. From offset 0 it is f.Fetch, verified.
func FetchFrom(ctx context.Context, f Fetcher, desc Descriptor, offset int64) (io.ReadCloser, error) {
	if offset == 0 {
		return f.Fetch(ctx, desc)
	}
	if offset < 0 || desc.Size >= 0 && offset > desc.Size {
		return nil, fmt.Errorf("manifest: fetching %s from byte %d: %w: it has %d", desc.Digest, offset, ErrSizeMismatch, desc.Size)
	}
	if rf, ok := f.(RangeFetcher); ok {
		return rf.FetchFrom(ctx, desc, offset)
	}
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyN(io.Discard, rc, offset); err != nil {
		rc.Close()
		return nil, fmt.Errorf("manifest: skipping to byte %d of %s: %w", offset, desc.Digest, err)
	}
	return &skipped{rc}, nil
}

// skipped hides what the reader it wraps verifies: it no longer yields
// the whole content, so a store must check the rest itself.
type skipped struct{ rc io.ReadCloser }

func (s *skipped) Read(p []byte) (int, error) { return s.rc.Read(p) }
func (s *skipped) Close() error               { return s.rc.Close() }

// ResumingPusher is implemented by stores that keep what an interrupted
// push received, verified against a saved hash state, so that the next
// push of the same content continues from it. registry/images' Copy uses
// it when the destination has it.
type ResumingPusher interface {
	// PushResumable stores desc's content as Push does. It finds how
	// many leading bytes an earlier, interrupted call left and still
	// match their checkpoint, and calls open with that offset for the
	// rest (0 when nothing usable is left). On failure it keeps what can
	// be resumed, unless the content itself was wrong.
	PushResumable(ctx context.Context, desc Descriptor, open func(offset int64) (io.ReadCloser, error)) error
}
