package tarball

import (
	"archive/tar"
	"fmt"
	"sort"
)

// linkTarget handles an entry that hard links set aside are waiting for.
// A visible target is written, and the links after it. A hidden target's
// contents are written under the first link's name, and the other links
// point there. When a hidden target is itself a hard link, the waiting
// links move on to wait for its target.
func (f *flattener) linkTarget(tr *tar.Reader, hdr *tar.Header, name string, hidden bool) error {
	if !hidden {
		return f.write(tr, hdr, name)
	}
	links := f.waiting[name]
	delete(f.waiting, name)
	if hdr.Typeflag == tar.TypeLink {
		target, err := CleanPath(hdr.Linkname)
		if err != nil {
			return err
		}
		f.waiting[target] = append(f.waiting[target], links...)
		return nil
	}
	first := *hdr
	if err := f.outHeader(&first, links[0].Name); err != nil {
		return err
	}
	if err := f.copyEntry(tr, &first); err != nil {
		return err
	}
	f.waiting[first.Name] = append(f.waiting[first.Name], links[1:]...)
	return f.flush(first.Name)
}

// flush marks name as written in this layer and writes the hard links
// waiting for it, then those waiting for them, and so on.
func (f *flattener) flush(name string) error {
	queue := []string{name}
	for len(queue) > 0 {
		target := queue[0]
		queue = queue[1:]
		f.pending[target] |= flagEmitted
		for _, l := range f.waiting[target] {
			l.Linkname = target
			if err := f.copyEntry(nil, l); err != nil {
				return err
			}
			queue = append(queue, l.Name)
		}
		delete(f.waiting, target)
	}
	return nil
}

// hiddenTarget is the second pass over a layer: it gives the contents of
// hidden entries of the layer to the hard links waiting for them.
func (f *flattener) hiddenTarget(tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeDir || !fsEntryType(hdr.Typeflag) {
		return nil
	}
	name, err := CleanPath(hdr.Name)
	if err != nil || !f.hiddenHere[name] || len(f.waiting[name]) == 0 {
		return err
	}
	return f.linkTarget(tr, hdr, name, true)
}

// danglingLinks reports hard links whose target no layer provided.
func (f *flattener) danglingLinks() error {
	if len(f.waiting) == 0 {
		return nil
	}
	targets := make([]string, 0, len(f.waiting))
	for t := range f.waiting {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	l := f.waiting[targets[0]][0]
	return fmt.Errorf("tarball: flatten: hard link %q to %q, which no layer provides", l.Name, targets[0])
}
