package tarball

import (
	"fmt"
	"slices"
	"strings"

	"github.com/skiffoci/skiff/internal/tally"
	"github.com/skiffoci/skiff/manifest"
)

// Plan is the layout of a tarball before any blob is fetched: every
// file's name, header offset, content offset and size. Since all sizes
// come from descriptors, the plan is exact, and blobs can be written into
// their slots in any order (see Plan.WriteAt). A Plan is read-only once
// made: changing its files makes Write and WriteAt write a broken tar.
type Plan struct {
	Files []PlannedFile
	Size  int64 // bytes of the whole tarball, end-of-archive marker included

	progress *tally.Counter // WriteOptions.Progress, with the tarball's totals
}

// PlannedFile is one file of a planned tarball. Its header occupies
// [HeaderOffset, Offset), its content [Offset, Offset+Size), and zero
// padding follows up to the next multiple of 512.
type PlannedFile struct {
	Name         string
	HeaderOffset int64
	Offset       int64
	Size         int64

	// Blob is the descriptor of the content when the file is a blob; it
	// is zero for oci-layout, index.json, manifest.json and directories.
	Blob manifest.Descriptor

	header []byte           // encoded tar header
	data   []byte           // content known up front
	src    manifest.Fetcher // else where the content is fetched from
	raw    manifest.Fetcher // src unobserved, for ranges
}

// Fetched reports whether the file's content is fetched when written,
// rather than known from the plan.
func (e *PlannedFile) Fetched() bool { return e.src != nil }

// planImage is an Entry checked and merged with its duplicates.
type planImage struct {
	img  Entry
	man  *manifest.Manifest
	tags []tagName
}

// NewPlan checks images and lays out the tarball Write would write for
// them. Images with the same manifest digest are written once, with all
// their tags.
func NewPlan(images []Entry, opts *WriteOptions) (*Plan, error) {
	imgs, err := prepare(images)
	if err != nil {
		return nil, err
	}
	b := &planBuilder{legacy: opts != nil && opts.Legacy, seen: make(map[string]bool)}
	p := &Plan{}
	if p.Files, err = b.metadata(imgs); err != nil {
		return nil, err
	}
	var blobs []PlannedFile
	for _, pi := range imgs {
		blobs = b.appendBlobs(blobs, pi)
	}
	if opts != nil && opts.Progress != nil {
		p.observe(blobs, opts.Progress)
	}
	if !b.legacy {
		p.Files = append(p.Files, blobDirs(blobs)...)
	}
	p.Files = append(p.Files, blobs...)
	return p, p.layout()
}

// prepare checks each image and merges images with the same manifest.
func prepare(images []Entry) ([]*planImage, error) {
	var out []*planImage
	byDigest := make(map[manifest.Digest]*planImage)
	for i, im := range images {
		im, err := im.resolve()
		var tags []tagName
		if err == nil {
			tags, err = parseTags(im.Tags)
		}
		if err == nil {
			err = im.check()
		}
		if err != nil {
			return nil, fmt.Errorf("tarball: image %d: %w", i, err)
		}
		if pi, ok := byDigest[im.Manifest.Digest]; ok {
			pi.tags = appendTags(pi.tags, tags)
			if pi.img.Config == nil {
				pi.img.Config = im.Config
			}
			continue
		}
		pi := &planImage{img: im, man: im.Manifest.Manifest, tags: appendTags(nil, tags)}
		byDigest[im.Manifest.Digest] = pi
		out = append(out, pi)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("tarball: no image to write")
	}
	return out, nil
}

// check reports what makes im unwritable.
func (im *Entry) check() error {
	switch {
	case im.Manifest == nil:
		return fmt.Errorf("no manifest")
	case im.Manifest.Manifest == nil:
		return fmt.Errorf("%s is an index: choose one platform's manifest", im.Manifest.Digest)
	case im.Fetcher == nil:
		return fmt.Errorf("no Fetcher")
	case manifest.FromBytes(im.Manifest.Raw) != im.Manifest.Digest:
		return fmt.Errorf("manifest %s: %w", im.Manifest.Digest, manifest.ErrDigestMismatch)
	}
	if im.Config == nil {
		return nil
	}
	d := im.Manifest.Manifest.Config
	d.Data = im.Config
	if err := d.Validate(); err != nil {
		return fmt.Errorf("Config: %w", err)
	}
	return nil
}

// planBuilder names blobs and skips those already planned.
type planBuilder struct {
	legacy bool
	seen   map[string]bool // entry names planned
}

// blobName is the entry name of a config (config true) or another blob.
func (b *planBuilder) blobName(d manifest.Digest, config bool) string {
	switch {
	case !b.legacy:
		return blobPath(d)
	case config:
		return string(d)
	}
	return d.Hex() + ".tar.gz"
}

// appendBlobs appends the blob entries of pi not yet planned: in the
// Docker 25 shape its manifest, then its config and layers.
func (b *planBuilder) appendBlobs(out []PlannedFile, pi *planImage) []PlannedFile {
	if !b.legacy {
		out = b.appendBlob(out, blobPath(pi.img.Manifest.Digest), pi.img.Manifest.Descriptor(), pi.img.Manifest.Raw, nil)
	}
	cfg := pi.man.Config
	out = b.appendBlob(out, b.blobName(cfg.Digest, true), cfg, pi.img.Config, pi.img.Fetcher)
	for _, l := range pi.man.Layers {
		out = b.appendBlob(out, b.blobName(l.Digest, false), l, nil, pi.img.Fetcher)
	}
	return out
}

// appendBlob appends one blob entry, with its content in data or, when
// data is nil, fetched from src.
func (b *planBuilder) appendBlob(out []PlannedFile, name string, d manifest.Descriptor, data []byte, src manifest.Fetcher) []PlannedFile {
	if b.seen[name] {
		return out
	}
	b.seen[name] = true
	e := PlannedFile{Name: name, Size: d.Size, Blob: d, data: data}
	if data == nil {
		e.src, e.raw = src, src
	}
	return append(out, e)
}

// blobDirs returns the directory entries "blobs/" and "blobs/<alg>/" of an
// OCI layout, for the algorithms blobs use.
func blobDirs(blobs []PlannedFile) []PlannedFile {
	var algs []string
	for _, e := range blobs {
		if a := e.Blob.Digest.Algorithm(); !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	slices.Sort(algs)
	dirs := []PlannedFile{{Name: "blobs/"}}
	for _, a := range algs {
		dirs = append(dirs, PlannedFile{Name: "blobs/" + a + "/"})
	}
	return dirs
}

// layout encodes every header and computes the offsets and total size.
func (p *Plan) layout() error {
	var off int64
	for i := range p.Files {
		e := &p.Files[i]
		h, err := encodeHeader(header(e.Name, e.Size, strings.HasSuffix(e.Name, "/")))
		if err != nil {
			return fmt.Errorf("tarball: %s: %w", e.Name, err)
		}
		e.header, e.HeaderOffset, e.Offset = h, off, off+int64(len(h))
		off = e.Offset + e.Size + padding(e.Size)
	}
	p.Size = off + trailerSize
	return nil
}

// observe makes the plan report its blobs to fn, with the tarball's
// totals: the fetched ones as they stream, the ones known up front (a
// config the caller gave) as they are written.
func (p *Plan) observe(blobs []PlannedFile, fn func(manifest.Event)) {
	descs := make([]manifest.Descriptor, len(blobs))
	for i, e := range blobs {
		descs[i] = e.Blob
	}
	p.progress = tally.New(descs, fn)
	for i := range blobs {
		if e := &blobs[i]; e.src != nil {
			e.src = manifest.ObserveFetcher(e.src, p.progress.Event)
		}
	}
}

// reportKnown reports the blob of e, written from the plan's own bytes,
// done.
func (p *Plan) reportKnown(e *PlannedFile) {
	if e.Blob.Digest != "" && e.src == nil && !manifest.IsManifest(e.Blob.MediaType) && !manifest.IsIndex(e.Blob.MediaType) {
		p.progress.Event(manifest.Event{Desc: e.Blob, State: manifest.StateDone, Bytes: e.Size})
	}
}
