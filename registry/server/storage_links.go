package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// The links of a layout storage's repository are its layout: a blob is
// linked when its file is in the layout's blobs directory, a manifest
// when an entry of index.json lists it (or, for a child of an index that
// was copied in, when its file is there), a tag when an entry names it.

// index returns l's index, read again (see load) when index.json is not
// the file it was read from or written as. The caller holds l.mu.
func (s *layoutStorage) index(l *repoLayout) (*repoIndex, error) {
	if l.idx != nil && l.idx.current(s.d, l.name) {
		return l.idx, nil
	}
	x, err := s.load(l)
	if err != nil {
		return nil, err
	}
	l.idx = x
	if l.facts != nil {
		l.facts.complete = false // for the manifests x lists
	}
	return x, nil
}

// view calls fn with l's index, locked.
func (s *layoutStorage) view(l *repoLayout, fn func(*repoIndex) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	x, err := s.index(l)
	if err != nil {
		return err
	}
	return fn(x)
}

// edit makes the edit plan returns (none when its Op is "") on l's
// index, serialized with l's other edits, and commits it when it changed
// anything. An edit that would grow index.json past indexLimit changes
// nothing (see try). After a failed commit the index is read again.
func (s *layoutStorage) edit(l *repoLayout, plan func(*repoIndex) (indexEdit, error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	x, err := s.index(l)
	if err != nil {
		return err
	}
	e, err := plan(x)
	if err != nil || e.Op == "" {
		return err
	}
	_, listed := x.manifest(e.digest())
	changed, err := s.try(l, x, e)
	if err != nil || !changed {
		return err
	}
	x.settle()
	if err := s.commit(l, x, e); err != nil {
		l.idx = nil
		return err
	}
	if e.Desc != nil && !listed {
		s.pushed(l, x, *e.Desc)
	}
	return nil
}

// linkFile hard-links the stored blob d into l's blobs directory, and
// flushes that directory, so that what the server confirms survives a
// power cut.
func (s *layoutStorage) linkFile(l *repoLayout, d manifest.Digest) error {
	dir, err := s.dir()
	if err != nil {
		return err
	}
	blobs := path.Join(l.name, layout.BlobsDir, d.Algorithm())
	if err := dir.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	if err := linkBlob(dir, blobName(d), path.Join(blobs, d.Hex())); err != nil {
		return err
	}
	return dir.SyncDir(blobs)
}

// layoutBlob is the name of the file of blob d in l's layout.
func layoutBlob(l *repoLayout, d manifest.Digest) string {
	return path.Join(l.name, layout.BlobsDir, d.Algorithm(), d.Hex())
}

func (s *layoutStorage) Link(repo string, ln Link) error {
	if err := checkLink(repo, ln.Kind, ln.Name); err != nil {
		return err
	}
	l, err := s.repo(repo, true)
	if err != nil {
		return err
	}
	switch ln.Kind {
	case KindBlob:
		return s.linkFile(l, ln.Digest)
	case KindManifest:
		desc := s.descriptor(ln.Digest, ln.MediaType)
		e := indexEdit{Op: "add", Desc: &desc}
		if err := s.fits(l, e); err != nil {
			return err
		}
		if err := s.linkFile(l, ln.Digest); err != nil {
			return err
		}
		return s.edit(l, func(*repoIndex) (indexEdit, error) { return e, nil })
	}
	return s.edit(l, func(x *repoIndex) (indexEdit, error) {
		m, err := s.manifestIn(l, x, ln.Digest)
		if err != nil {
			return indexEdit{}, err
		}
		return tagEdit(ln.Name, s.descriptor(m.Digest, m.MediaType)), nil
	})
}

// LinkTagged links the manifest m into repo and names it tag with one
// replacement of index.json: the entry naming tag lists the manifest.
func (s *layoutStorage) LinkTagged(repo string, m Link, tag string) error {
	if err := checkLink(repo, KindManifest, m.Name); err != nil {
		return err
	}
	if err := checkLink(repo, KindTag, tag); err != nil {
		return err
	}
	l, err := s.repo(repo, true)
	if err != nil {
		return err
	}
	e := tagEdit(tag, s.descriptor(m.Digest, m.MediaType))
	if err := s.fits(l, e); err != nil {
		return err
	}
	if err := s.linkFile(l, m.Digest); err != nil {
		return err
	}
	return s.edit(l, func(*repoIndex) (indexEdit, error) { return e, nil })
}

func (s *layoutStorage) descriptor(d manifest.Digest, mediaType string) manifest.Descriptor {
	size, _ := s.StatBlob(d)
	return manifest.Descriptor{MediaType: mediaType, Digest: d, Size: size}
}

func (s *layoutStorage) Unlink(repo string, kind Kind, name string) error {
	if err := checkLink(repo, kind, name); err != nil {
		return err
	}
	l, err := s.repo(repo, false)
	if err != nil {
		return err
	}
	notFound := fmt.Errorf("%s %s in %s: %w", kind, name, repo, manifest.ErrNotFound)
	d := manifest.Digest(name)
	switch kind {
	case KindTag:
		return s.edit(l, func(x *repoIndex) (indexEdit, error) {
			if _, ok := x.tagged(name); !ok {
				return indexEdit{}, notFound
			}
			return indexEdit{Op: "untag", Tag: name}, nil
		})
	case KindManifest:
		err = s.edit(l, func(x *repoIndex) (indexEdit, error) {
			if _, err := s.manifestIn(l, x, d); err != nil {
				return indexEdit{}, err
			}
			return indexEdit{Op: "drop", Digest: d}, nil
		})
	case KindBlob:
		err = s.view(l, func(x *repoIndex) error {
			if !s.blobIn(l, x, d) {
				return notFound
			}
			return nil
		})
	}
	if err != nil {
		return err
	}
	return s.d.Remove(layoutBlob(l, d))
}

func (s *layoutStorage) Lookup(repo string, kind Kind, name string) (Link, error) {
	if err := checkLink(repo, kind, name); err != nil {
		return Link{}, err
	}
	l, err := s.repo(repo, false)
	if err != nil {
		return Link{}, err
	}
	var ln Link
	err = s.view(l, func(x *repoIndex) error {
		ln, err = s.lookup(l, x, kind, name)
		return err
	})
	return ln, err
}

func (s *layoutStorage) lookup(l *repoLayout, x *repoIndex, kind Kind, name string) (Link, error) {
	d := manifest.Digest(name)
	switch kind {
	case KindTag:
		if desc, ok := x.tagged(name); ok {
			return Link{Kind: KindTag, Name: name, Digest: desc.Digest}, nil
		}
	case KindManifest:
		desc, err := s.manifestIn(l, x, d)
		if err != nil {
			return Link{}, err
		}
		return Link{Kind: KindManifest, Name: name, Digest: d, MediaType: desc.MediaType}, nil
	case KindBlob:
		if s.blobIn(l, x, d) {
			return Link{Kind: KindBlob, Name: name, Digest: d}, nil
		}
	}
	return Link{}, fmt.Errorf("%s %s in %s: %w", kind, name, l.name, manifest.ErrNotFound)
}

// blobIn reports whether the layout holds d as a blob that no entry of
// index.json lists.
func (s *layoutStorage) blobIn(l *repoLayout, x *repoIndex, d manifest.Digest) bool {
	if _, listed := x.manifest(d); listed {
		return false
	}
	fi, err := s.d.Root().Lstat(layoutBlob(l, d))
	return err == nil && fi.Mode().IsRegular()
}

// manifestIn returns the descriptor of the manifest d of l: its entry in
// index.json or, without one, the document stored as a blob of the
// layout (a child of an index, as copies into layouts store them).
func (s *layoutStorage) manifestIn(l *repoLayout, x *repoIndex, d manifest.Digest) (manifest.Descriptor, error) {
	if desc, ok := x.manifest(d); ok {
		return desc, nil
	}
	notFound := fmt.Errorf("manifest %s in %s: %w", d, l.name, manifest.ErrNotFound)
	fi, err := s.d.Root().Lstat(layoutBlob(l, d))
	if err != nil || !fi.Mode().IsRegular() {
		return manifest.Descriptor{}, notFound
	}
	doc, err := manifest.FetchDocument(context.Background(), layoutFiles{s, l}, manifest.Descriptor{Digest: d, Size: fi.Size()})
	if err != nil {
		return manifest.Descriptor{}, notFound
	}
	return doc.Descriptor(), nil
}

func (s *layoutStorage) List(repo string, kind Kind) ([]Link, error) {
	l, err := s.repo(repo, false)
	if err != nil {
		return nil, err
	}
	var links []Link
	err = s.view(l, func(x *repoIndex) error {
		switch kind {
		case KindTag:
			for tag, es := range x.tags {
				links = append(links, Link{Kind: KindTag, Name: tag, Digest: es[0].desc.Digest})
			}
		case KindManifest:
			for d, es := range x.listed {
				links = append(links, Link{Kind: KindManifest, Name: string(d), Digest: d, MediaType: es[0].desc.MediaType})
			}
		case KindBlob:
			links, err = s.listBlobs(l, x)
		}
		return err
	})
	slices.SortFunc(links, func(a, b Link) int { return strings.Compare(a.Name, b.Name) })
	return links, err
}

// listBlobs lists the blobs linked into l that no index entry names.
func (s *layoutStorage) listBlobs(l *repoLayout, x *repoIndex) ([]Link, error) {
	var links []Link
	for _, alg := range []string{manifest.SHA256, manifest.SHA512} {
		entries, err := fs.ReadDir(s.d.Root().FS(), path.Join(l.name, layout.BlobsDir, alg))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			d, err := manifest.ParseDigest(alg + ":" + e.Name())
			if _, listed := x.manifest(d); err == nil && !listed {
				links = append(links, Link{Kind: KindBlob, Name: string(d), Digest: d})
			}
		}
	}
	return links, nil
}

// layoutFiles fetches the blobs of a repository's layout.
type layoutFiles struct {
	s *layoutStorage
	l *repoLayout
}

func (f layoutFiles) Fetch(_ context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	if desc.Digest.Validate() != nil {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, manifest.ErrNotFound)
	}
	return f.s.d.OpenFile(layoutBlob(f.l, desc.Digest), os.O_RDONLY)
}
