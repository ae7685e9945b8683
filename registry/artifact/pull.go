package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/tarball"
)

// PullOptions tune Pull and PullFrom. The zero value, or nil, pulls the
// artifact named, replaces nothing and allows directories of up to
// tarball.DefaultMaxUncompressed bytes.
type PullOptions struct {
	// Overwrite replaces what is already under a title: a file, or a
	// directory with all it holds. By default that is an error wrapping
	// fs.ErrExist, and nothing is written.
	Overwrite bool
	// ReferrerType, if set, makes Pull pull not the image src names but
	// the newest artifact of this type that refers to it, as Newest
	// picks it.
	ReferrerType string
	// MaxUncompressed bounds the bytes a directory's layer may unpack to;
	// 0 means tarball.DefaultMaxUncompressed.
	MaxUncompressed int64
	// Images reaches locations (Client, Jobs, Progress); nil means
	// images' defaults.
	Images *images.Options
}

// Pulled says what Pull wrote.
type Pulled struct {
	// Artifact is the manifest pulled, with its artifact type.
	Artifact manifest.Descriptor
	// Titles lists the files and directories written, in layer order.
	Titles []string
	// Untitled counts the layers without a title, which are not written
	// (as oras skips them).
	Untitled int
}

// Pull writes the files of the artifact at src, spelled as
// images.ParseLocation reads it, under dir (made if need be): each layer
// under its title, a directory unpacked. See the package documentation
// for what is checked and refused.
func Pull(ctx context.Context, src, dir string, opts *PullOptions) (*Pulled, error) {
	opts = opts.orDefault()
	loc, err := images.ParseLocation(src)
	if err != nil {
		return nil, err
	}
	s, err := images.OpenSource(ctx, loc, opts.Images)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if opts.ReferrerType == "" {
		return PullFrom(ctx, s.Store, s.Root, dir, opts)
	}
	lister, ok := s.Store.(manifest.ReferrersLister)
	if !ok {
		return nil, fmt.Errorf("artifact: %s cannot list referrers", loc)
	}
	desc, err := Newest(ctx, lister, s.Root, opts.ReferrerType)
	if err != nil {
		return nil, err
	}
	return pullFrom(ctx, s.Store, desc, &s.Root, dir, opts)
}

// PullFrom writes the files of the artifact whose manifest desc names in
// src, a store the caller holds, under dir, as Pull does.
func PullFrom(ctx context.Context, src manifest.Fetcher, desc manifest.Descriptor, dir string, opts *PullOptions) (*Pulled, error) {
	return pullFrom(ctx, src, desc, nil, dir, opts)
}

// pullFrom is PullFrom of a referrer of subject, when subject is set: a
// referrers list is the registry's word (or, in the tag schema, that of
// anyone who may push), so the manifest itself must name subject and be
// of opts.ReferrerType.
func pullFrom(ctx context.Context, src manifest.Fetcher, desc manifest.Descriptor, subject *manifest.Descriptor, dir string, opts *PullOptions) (*Pulled, error) {
	opts = opts.orDefault()
	doc, err := manifest.FetchDocument(ctx, src, desc)
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	if doc.Manifest == nil {
		return nil, fmt.Errorf("artifact: %s is an index, not an artifact: pull one of its manifests", desc.Digest)
	}
	if subject != nil {
		if err := refersTo(doc.Manifest, desc, *subject, opts.ReferrerType); err != nil {
			return nil, err
		}
	}
	out := &Pulled{Artifact: doc.Descriptor()}
	out.Artifact.ArtifactType = doc.Manifest.ArtifactType
	files, err := plan(doc.Manifest.Layers, out)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	d, err := safefile.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	defer d.Close()
	if !opts.Overwrite {
		if err := absent(d, files); err != nil {
			return nil, err
		}
	}
	p := &puller{src: manifest.ObserveFetcher(src, opts.Images.Progress), dir: d, opts: opts}
	if opts.Images.Progress == nil {
		p.src = src
	}
	err = each(ctx, len(files), opts.Images.Jobs, func(ctx context.Context, i int) error { return p.pull(ctx, files[i]) })
	return out, err
}

// refersTo checks that m, listed as a referrer of subject, names subject
// as its subject and is of artifactType.
func refersTo(m *manifest.Manifest, desc, subject manifest.Descriptor, artifactType string) error {
	if m.Subject == nil || m.Subject.Digest != subject.Digest {
		return fmt.Errorf("artifact: %s is listed as a referrer of %s, but its subject is not that image", desc.Digest, subject.Digest)
	}
	if got := cmpOr(m.ArtifactType, m.Config.MediaType); got != artifactType {
		return fmt.Errorf("artifact: %s is listed as an artifact of type %s, but is of type %s", desc.Digest, artifactType, got)
	}
	return nil
}

// plan returns the titled layers, each title checked and none twice, and
// counts the others in out.
func plan(layers []manifest.Descriptor, out *Pulled) ([]manifest.Descriptor, error) {
	var files []manifest.Descriptor
	seen := map[string]bool{}
	for _, l := range layers {
		title := l.Annotations[AnnotationTitle]
		if title == "" {
			out.Untitled++
			continue
		}
		if err := checkTitle(title); err != nil {
			return nil, fmt.Errorf("artifact: refusing layer %s: %w", l.Digest, err)
		}
		if title == "." && !unpacked(l) {
			return nil, fmt.Errorf("artifact: refusing layer %s: the title \".\" names the directory itself, not a file", l.Digest)
		}
		if seen[title] {
			return nil, fmt.Errorf("artifact: two layers are titled %q", title)
		}
		seen[title] = true
		files = append(files, l)
		out.Titles = append(out.Titles, title)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("artifact: %s: no layer has a title (%s), so there is no file to write; an image's files come out of skiff export", out.Artifact.Digest, AnnotationTitle)
	}
	return files, nil
}

// unpacked reports whether l is a directory to unpack.
func unpacked(l manifest.Descriptor) bool {
	return l.Annotations[AnnotationUnpack] == "true"
}

// absent fails when something is already under one of the titles.
func absent(d *safefile.Dir, files []manifest.Descriptor) error {
	for _, l := range files {
		title := l.Annotations[AnnotationTitle]
		if title == "." {
			continue // a directory unpacked into dir itself: checked entry by entry
		}
		if _, err := d.Root().Lstat(title); err == nil {
			return fmt.Errorf("artifact: %s: %w", path.Join(d.Name(), title), fs.ErrExist)
		}
	}
	return nil
}

// puller writes the layers of one artifact under dir.
type puller struct {
	src  manifest.Fetcher
	dir  *safefile.Dir
	opts *PullOptions
}

// pull writes layer l under its title: fetched, verified, into a
// temporary file beside it, then named.
func (p *puller) pull(ctx context.Context, l manifest.Descriptor) error {
	title := l.Annotations[AnnotationTitle]
	parent := path.Dir(title)
	if unpacked(l) {
		parent = "."
	}
	if err := p.dir.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("artifact: %s: %w", title, err)
	}
	f, tmp, err := p.dir.CreateTemp(path.Join(parent, safefile.TempPrefix+"skiff-artifact-*"))
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	defer p.dir.Remove(tmp)
	defer f.Close()
	if err := p.fetch(ctx, f, l); err != nil {
		return err
	}
	if unpacked(l) {
		return p.unpack(ctx, f, tmp, l)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	return p.commit(tmp, title)
}

// fetch copies l's content, verified, into f.
func (p *puller) fetch(ctx context.Context, f *os.File, l manifest.Descriptor) error {
	rc, err := p.src.Fetch(ctx, l)
	if err != nil {
		return fmt.Errorf("artifact: %s: %w", l.Annotations[AnnotationTitle], err)
	}
	defer rc.Close()
	if _, err := io.Copy(f, rc); err != nil {
		return fmt.Errorf("artifact: %s: %w", l.Annotations[AnnotationTitle], err)
	}
	return nil
}

// commit names the finished temporary file or directory tmp title: over
// what is there with Overwrite, else only where nothing is.
func (p *puller) commit(tmp, title string) error {
	if p.opts.Overwrite {
		if err := p.dir.Commit(tmp, title, false); err != nil {
			return fmt.Errorf("artifact: %w", err)
		}
		return nil
	}
	err := p.dir.Link(tmp, title)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("artifact: %s: %w", path.Join(p.dir.Name(), title), fs.ErrExist)
	}
	if err != nil { // a file system without hard links
		if _, lerr := p.dir.Root().Lstat(title); lerr == nil {
			return fmt.Errorf("artifact: %s: %w", path.Join(p.dir.Name(), title), fs.ErrExist)
		}
		err = p.dir.Commit(tmp, title, false)
	}
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	return nil
}

// orDefault returns o, or the zero options, with Images set.
func (o *PullOptions) orDefault() *PullOptions {
	c := PullOptions{}
	if o != nil {
		c = *o
	}
	if c.Images == nil {
		c.Images = &images.Options{}
	}
	if c.MaxUncompressed <= 0 {
		c.MaxUncompressed = tarball.DefaultMaxUncompressed
	}
	return &c
}
