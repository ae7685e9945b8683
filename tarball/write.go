package tarball

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/skiffoci/skiff/internal/iobuf"
	"github.com/skiffoci/skiff/manifest"
)

// DigestTag is the tag given, as go-containerregistry and crane do, to an
// image named only by digest ("alpine@sha256:…" becomes
// "alpine:i-was-a-digest"), since manifest.json's RepoTags cannot hold a
// digest.
const DigestTag = "i-was-a-digest"

// Entry is what to write into a tarball for one image: the tags it gets
// there, and its manifest, config and blobs (from Source, or given one by
// one). Write, WriteFile and WriteDir take a list of them.
type Entry struct {
	// Tags name the image, as references such as "alpine",
	// "ghcr.io/o/r:v1" or "alpine@sha256:…" (which gets DigestTag). They
	// are written in Docker's familiar form, "alpine:latest".
	Tags []string

	// Manifest is the image's manifest (not an index), written as is.
	// Its config descriptor and layer descriptors say what to fetch.
	Manifest *manifest.Document

	// Config is the raw config, if the caller already has it; it must
	// match the manifest's config descriptor. When nil, the config is
	// fetched like a layer. It is required when a layer is foreign
	// (non-distributable): LayerSources are keyed by diffID.
	Config []byte

	// Fetcher provides the config and layers. Each blob is verified
	// against its descriptor as it is written.
	Fetcher manifest.Fetcher

	// Source, if set, is the image itself, such as an *images.Image: it
	// supplies Manifest, Config and Fetcher where they are left nil.
	Source Source
}

// WriteOptions tunes Write, WriteFile, NewPlan and CalculateSize. The zero
// value writes the Docker 25 shape.
type WriteOptions struct {
	// Legacy writes only manifest.json, the config as "sha256:<hex>" and
	// the layers as "<hex>.tar.gz", as go-containerregistry does, instead
	// of a tarball that is also an OCI image layout.
	Legacy bool

	// Jobs bounds how many connections WriteFile and WriteDir fetch blobs
	// over at a time; zero means 4. Each blob being fetched holds one, and
	// a blob of at least RangeMin bytes from a source that serves ranges
	// (registry.Repository) borrows the free ones, range by range (see
	// RangeMin): a one-layer image gets them all, and blobs waiting to
	// start take them back as ranges end.
	Jobs int

	// RangeMin is the least size of a blob that WriteFile and WriteDir
	// fetch as several bounded ranges at once, written where they belong
	// as they arrive, over as many connections as raise the throughput,
	// within Jobs: over a long round trip, or a CDN that caps each
	// connection, one connection cannot carry a large blob at the link's
	// speed. Zero means 32 MiB; negative never. Write, to a stream, never
	// does.
	RangeMin int64

	// Sync makes WriteFile flush the file to stable storage before it
	// renames it into place, so that even a power loss right after cannot
	// leave a damaged file under the name. Without it (as with docker save,
	// crane and skopeo) a killed process still never leaves a partial file
	// there, and a large pull is much faster: the flush can cost as much as
	// the download.
	Sync bool

	// Fresh makes WriteFile discard the partial file an interrupted
	// WriteFile to the same path left, instead of continuing from it.
	Fresh bool

	// Progress, if set, receives the events of every blob written, as it
	// is fetched, possibly from several goroutines at once.
	Progress func(manifest.Event)

	// PartialMaxAge is how long WriteFile keeps partial files that
	// interrupted writes of other paths left in the same directory; older
	// ones are removed. Zero means 7 days; negative keeps them all.
	PartialMaxAge time.Duration
}

func (o *WriteOptions) rangeMin() int64 {
	if o == nil {
		return 0
	}
	return o.RangeMin
}

func (o *WriteOptions) jobs() int {
	if o == nil || o.Jobs <= 0 {
		return 4
	}
	return o.Jobs
}

// Write writes a tarball of images to w, which `docker load`,
// `podman load` and skopeo's docker-archive: read. Blobs stream from each
// image's Fetcher into w in order, verified, with no temporary file; a blob
// shared by several images is written once. It writes exactly
// CalculateSize bytes.
func Write(ctx context.Context, w io.Writer, images []Entry, opts *WriteOptions) error {
	p, err := NewPlan(images, opts)
	if err != nil {
		return err
	}
	return p.Write(ctx, w)
}

// Write writes the planned tarball to w, entry after entry.
func (p *Plan) Write(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	for i := range p.Files {
		if err := p.Files[i].write(ctx, bw); err != nil {
			return err
		}
		p.reportKnown(&p.Files[i])
	}
	if _, err := bw.Write(zeroBlocks[:trailerSize]); err != nil {
		return err
	}
	return bw.Flush()
}

// write writes e's header, content and padding.
func (e *PlannedFile) write(ctx context.Context, w io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := w.Write(e.header); err != nil {
		return err
	}
	if e.src == nil {
		if _, err := w.Write(e.data); err != nil {
			return err
		}
	} else if err := e.complete(e.writeBlob(ctx, w)); err != nil {
		return err
	}
	_, err := w.Write(zeroBlocks[:padding(e.Size)])
	return err
}

// writeBlob fetches e's blob and writes it, exactly e.Size bytes, through
// a manifest.Verifier, whose proof it returns.
func (e *PlannedFile) writeBlob(ctx context.Context, w io.Writer) (manifest.Verified, error) {
	rc, err := e.src.Fetch(ctx, e.Blob)
	if err != nil {
		return manifest.Verified{}, fmt.Errorf("tarball: fetching %s: %w", e.Blob.Digest, err)
	}
	defer rc.Close()
	v := manifest.NewVerifier(rc, e.Blob)
	_, err = iobuf.Copy(w, iobuf.ContextReader(ctx, v))
	if err == nil {
		return v.Verified()
	}
	return manifest.Verified{}, fmt.Errorf("tarball: writing %s: %w", e.Name, err)
}

// complete counts e's slot complete when whatever wrote its blob
// succeeded with a proof for e's blob, and returns why not otherwise.
func (e *PlannedFile) complete(proof manifest.Verified, err error) error {
	if err != nil {
		return err
	}
	if err := proof.Check(e.Blob); err != nil {
		return fmt.Errorf("tarball: writing %s: %w", e.Name, err)
	}
	return nil
}

// Source is an image an Entry is written from: it says what it is
// (its manifest and config) and serves its blobs. An *images.Image is one.
type Source interface {
	manifest.Fetcher
	Manifest() (*manifest.Document, error)
	RawConfig() ([]byte, error)
}

// resolve fills in the fields im leaves to its Source.
func (im Entry) resolve() (Entry, error) {
	if im.Source == nil {
		return im, nil
	}
	var err error
	if im.Manifest == nil {
		if im.Manifest, err = im.Source.Manifest(); err != nil {
			return im, err
		}
	}
	if im.Config == nil {
		if im.Config, err = im.Source.RawConfig(); err != nil {
			return im, err
		}
	}
	if im.Fetcher == nil {
		im.Fetcher = im.Source
	}
	return im, nil
}
