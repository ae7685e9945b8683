package server

import (
	"encoding/json"
	"path"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// editIndex replaces the index.json of l's layout with edit's result,
// whole or not at all (safefile's Replace: a new file, flushed, renamed
// over the old one), serialized with the other edits of l.
func (s *layoutStorage) editIndex(l *repoLayout, edit func([]manifest.Descriptor) []manifest.Descriptor) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	idx, err := l.r.Index()
	if err != nil {
		return err
	}
	idx.SchemaVersion, idx.MediaType = 2, manifest.MediaTypeOCIIndex
	if idx.Manifests = edit(idx.Manifests); idx.Manifests == nil {
		idx.Manifests = []manifest.Descriptor{}
	}
	raw, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	return s.d.WriteFile(path.Join(l.name, layout.IndexFile), raw, 0o644, true)
}

// addEntry is the edit that lists desc, named name when it is not "", in
// place of the entries it replaces: those named name or, without a name,
// the unnamed entries of desc's digest. As layout.Layout's Tag and
// AddDescriptor, which the server cannot use: they open files by path,
// not through the root.
func addEntry(desc manifest.Descriptor, name string) func([]manifest.Descriptor) []manifest.Descriptor {
	if name != "" {
		desc.Annotations = map[string]string{layout.RefNameAnnotation: name}
	}
	return func(list []manifest.Descriptor) []manifest.Descriptor {
		out := make([]manifest.Descriptor, 0, len(list)+1)
		placed := false
		for _, e := range list {
			n := e.Annotations[layout.RefNameAnnotation]
			switch {
			case name != "" && n != name, name == "" && (n != "" || e.Digest != desc.Digest):
				out = append(out, e)
			case !placed:
				out = append(out, desc)
				placed = true
			}
		}
		if !placed {
			out = append(out, desc)
		}
		return out
	}
}

// removeEntries is the edit that drops the entries drop selects.
func removeEntries(drop func(manifest.Descriptor) bool) func([]manifest.Descriptor) []manifest.Descriptor {
	return func(list []manifest.Descriptor) []manifest.Descriptor {
		var out []manifest.Descriptor
		for _, e := range list {
			if !drop(e) {
				out = append(out, e)
			}
		}
		return out
	}
}
