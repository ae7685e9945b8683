package manifest

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is wrapped by content stores when content or a tag is absent.
var ErrNotFound = errors.New("not found")

// ErrNoPlatform is wrapped by the error for a platform an index does not
// list (SelectPlatform's, and so every Open that chooses a platform). It
// matches ErrNotFound too, so errors.Is(err, ErrNoPlatform) tells a
// missing platform from a missing tag, and errors.Is(err, ErrNotFound)
// takes both.
var ErrNoPlatform error = notFoundKind("platform not in index")

// notFoundKind is a kind of ErrNotFound.
type notFoundKind string

func (e notFoundKind) Error() string { return string(e) }
func (e notFoundKind) Unwrap() error { return ErrNotFound }

// Fetcher returns the content a descriptor names. The reader verifies size
// and digest as it streams: its last Read fails instead of returning io.EOF
// when the bytes do not match desc.
type Fetcher interface {
	Fetch(ctx context.Context, desc Descriptor) (io.ReadCloser, error)
}

// Pusher stores content read from r under desc. Implementations read r
// through a Verifier (NewVerifier), and the content becomes visible under
// its name only with the Verified it yields for desc.
type Pusher interface {
	Push(ctx context.Context, desc Descriptor, r io.Reader) error
}

// Exister reports whether a store already has the content desc names.
type Exister interface {
	Exists(ctx context.Context, desc Descriptor) (bool, error)
}

// Resolver turns a tag or a digest string into the descriptor of the
// manifest or index it names.
type Resolver interface {
	Resolve(ctx context.Context, ref string) (Descriptor, error)
}

// Tagger names a manifest or index that the store already holds.
type Tagger interface {
	Tag(ctx context.Context, desc Descriptor, tag string) error
}

// ReadOnlyStore is what a copy reads from.
type ReadOnlyStore interface {
	Fetcher
	Resolver
}

// Store is what a copy writes to.
type Store interface {
	Pusher
	Exister
	Tagger
}

// FetchDocument fetches the manifest or index desc names, bounded by
// MaxManifestSize, verified and parsed.
func FetchDocument(ctx context.Context, f Fetcher, desc Descriptor) (*Document, error) {
	raw, err := FetchAll(ctx, f, desc, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	return Parse(raw, desc.MediaType)
}

// FetchConfig fetches and parses the image config desc names.
func FetchConfig(ctx context.Context, f Fetcher, desc Descriptor) (*Config, []byte, error) {
	raw, err := FetchAll(ctx, f, desc, MaxConfigSize)
	if err != nil {
		return nil, nil, err
	}
	c, err := ParseConfig(raw)
	return c, raw, err
}

// FetchAll reads small content (at most limit bytes) whole, verified.
func FetchAll(ctx context.Context, f Fetcher, desc Descriptor, limit int64) ([]byte, error) {
	if desc.Data != nil && desc.Validate() == nil {
		return desc.Data, nil
	}
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return ReadAllVerified(rc, desc, limit)
}

// Bounds on an image graph (registry/images' Walk and Copy, tarball's
// reader): how deep indexes nest and how many documents one root holds.
const (
	MaxDepth     = 8     // index nesting
	MaxManifests = 10000 // manifests and indexes in one graph
)

// Mounter is implemented by stores that can take a blob from another
// store on the same server without moving its bytes (a registry's
// cross-repository mount). MountFrom reports false, with no error, when
// src is not such a store (then without a request) or the server
// declined. registry/images' Copy tries it after checking that dst lacks
// the blob.
type Mounter interface {
	MountFrom(ctx context.Context, desc Descriptor, src Fetcher) (bool, error)
}

// ReferencePusher is implemented by stores that can store a manifest under
// a tag in one step, instead of Push and then Tag.
type ReferencePusher interface {
	PushReference(ctx context.Context, desc Descriptor, r io.Reader, tag string) error
}
