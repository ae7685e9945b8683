package tarball

import (
	"archive/tar"
	"fmt"
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
	chain := f.waiting.take(name)
	if hdr.Typeflag == tar.TypeLink {
		target, err := CleanPath(hdr.Linkname)
		if err != nil {
			return err
		}
		return f.waiting.splice(target, chain)
	}
	link, rest, err := f.waiting.read(chain)
	if err != nil {
		return err
	}
	first := *hdr
	if err := f.outHeader(&first, link.Name); err != nil {
		return err
	}
	if err := f.copyEntry(tr, &first); err != nil {
		return err
	}
	if err := f.waiting.splice(first.Name, f.waiting.rest(chain, rest)); err != nil {
		return err
	}
	return f.flush(first.Name)
}

// flush marks name as written in this layer and writes the hard links
// waiting for it, then those waiting for them, and so on.
func (f *flattener) flush(name string) error {
	f.setBelow(name, flagEmitted)
	queue := []string{name} // only names that links wait for
	for len(queue) > 0 {
		target := queue[0]
		queue = queue[1:]
		for ref := f.waiting.take(target); ref != 0; {
			l, next, err := f.waiting.read(ref)
			if err != nil {
				return err
			}
			l.Linkname = target
			if err := f.copyEntry(nil, l); err != nil {
				return err
			}
			f.setBelow(l.Name, flagEmitted)
			if f.waiting.has(l.Name) {
				queue = append(queue, l.Name)
			}
			ref = next
		}
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
	if err != nil || f.below(name)&flagHiddenHere == 0 || !f.waiting.has(name) {
		return err
	}
	return f.linkTarget(tr, hdr, name, true)
}

// danglingLinks reports a hard link whose target no layer provided: the
// first of those waiting for the target that sorts first.
func (f *flattener) danglingLinks() error {
	l, target, err := f.waiting.least()
	if err != nil || l == nil {
		return err
	}
	return fmt.Errorf("tarball: flatten: hard link %q to %q, which no layer provides", l.Name, target)
}
