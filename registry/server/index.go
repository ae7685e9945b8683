package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// maxIndexSize bounds the index.json of a served repository: about
// 300,000 tags. It is larger than layout.MaxIndexSize, which bounds the
// index.json of a layout skiff reads as an image source. The server
// reads no more, so it refuses an edit that would write more (see
// indexFullError).
const maxIndexSize = 64 << 20

// repoIndex is a repository's index.json, parsed once and kept: lookups
// are map reads, and an edit replaces the file with the entries' JSON as
// it was read or first encoded, joined, never encoding or parsing the
// whole again. stamp is the file it was read from or written as; when
// index.json on disk is another file (another tool wrote it), the index
// is read again.
type repoIndex struct {
	prefix, suffix []byte                       // of the JSON around the entries
	entries        []*entry                     // in file order; nil where one was removed
	holes          int                          // nil entries
	tags           map[string][]*entry          // entries by tag, in file order
	listed         map[manifest.Digest][]*entry // entries by digest
	stamp          fs.FileInfo
	// head is the encoding of x but its suffix, while headOK, and
	// headSum its CRC-32C; its array is reused when it is made again.
	head    []byte
	headOK  bool
	headSum uint32
	bytes   int64 // of the live entries' JSON
	// While an edit is tried (try), what it changed, and the encoding
	// kept's length and checksum before it, so that it can be taken back.
	trying   bool
	undo     []change
	undoHead int
	undoSum  uint32
}

// change is an entry an edit inserted at, or removed from, place at of
// the entries; a removed one was at tagAt and listedAt of its lists.
type change struct {
	e               *entry
	removed         bool
	appended        bool // inserted at the end
	at              int
	tagAt, listedAt int
}

// entry is one descriptor of index.json, with its JSON.
type entry struct {
	desc manifest.Descriptor
	tag  string // its ref.name annotation
	raw  []byte
	pos  int // in the entries
}

func newEntry(desc manifest.Descriptor, tag string) *entry {
	if tag != "" {
		desc.Annotations = map[string]string{layout.RefNameAnnotation: tag}
	}
	raw, _ := json.Marshal(desc) // a Descriptor always encodes
	return &entry{desc: desc, tag: tag, raw: raw}
}

// readIndexFile reads the index.json of the layout dir, up to limit
// bytes, and describes the file it read.
func readIndexFile(d *safefile.Dir, dir string, limit int64) ([]byte, fs.FileInfo, error) {
	f, err := d.OpenFile(path.Join(dir, layout.IndexFile), os.O_RDONLY)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	raw, err := manifest.ReadLimited(f, limit, path.Join(dir, layout.IndexFile))
	return raw, fi, err
}

// parseIndex validates raw as an OCI index and keeps each entry's JSON.
func parseIndex(raw []byte) (*repoIndex, error) {
	idx, err := decodeIndex(raw)
	if err != nil {
		return nil, err
	}
	var raws struct{ Manifests []json.RawMessage }
	if err := json.Unmarshal(raw, &raws); err != nil || len(raws.Manifests) != len(idx.Manifests) {
		return nil, fmt.Errorf("unreadable manifests list")
	}
	head := *idx
	head.SchemaVersion, head.MediaType, head.Manifests = 2, manifest.MediaTypeOCIIndex, []manifest.Descriptor{}
	b, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	pre, suf, _ := bytes.Cut(b, []byte(`"manifests":[]`)) // no string holds it: its quotes would be escaped
	x := &repoIndex{prefix: append(pre, `"manifests":[`...), suffix: append([]byte("]"), suf...),
		tags: map[string][]*entry{}, listed: map[manifest.Digest][]*entry{}}
	for i, desc := range idx.Manifests {
		var c bytes.Buffer
		json.Compact(&c, raws.Manifests[i]) // valid: it parsed
		x.insert(len(x.entries), &entry{desc: desc, tag: desc.Annotations[layout.RefNameAnnotation], raw: c.Bytes()})
	}
	return x, nil
}

// decodeIndex parses raw as an OCI index, as manifest.Parse does, but up
// to maxIndexSize bytes: manifest.Parse stops at manifest.MaxManifestSize
// (4 MiB, some 18,000 tags), the bound of what a client sends.
func decodeIndex(raw []byte) (*manifest.Index, error) {
	var idx manifest.Index
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&idx); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	switch {
	case dec.More():
		return nil, fmt.Errorf("data after the JSON value")
	case idx.SchemaVersion != 2:
		return nil, fmt.Errorf("schemaVersion must be 2, got %d", idx.SchemaVersion)
	case idx.MediaType != "" && idx.MediaType != manifest.MediaTypeOCIIndex:
		return nil, fmt.Errorf("mediaType %q is not an OCI index's", truncate(idx.MediaType, 100))
	}
	for i, d := range idx.Manifests {
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("index entry %d: %w", i, err)
		}
	}
	if idx.Subject != nil {
		if err := idx.Subject.Validate(); err != nil {
			return nil, fmt.Errorf("subject: %w", err)
		}
	}
	return &idx, nil
}

// current reports whether index.json of the layout dir is still the file
// x was read from or written as.
func (x *repoIndex) current(d *safefile.Dir, dir string) bool {
	fi, err := d.Root().Lstat(path.Join(dir, layout.IndexFile))
	return err == nil && os.SameFile(fi, x.stamp) && fi.Size() == x.stamp.Size() && fi.ModTime().Equal(x.stamp.ModTime())
}

// encode returns x as index.json holds it, and its CRC-32C. After an
// edit that adds an entry at the end (a new tag, a new manifest) it costs
// what the entry costs: the encoding of before, kept, grows by the entry;
// after any other edit it is made again.
func (x *repoIndex) encode() ([]byte, uint32) {
	if !x.headOK {
		x.head = append(x.head[:0], x.prefix...)
		first := true
		for _, e := range x.entries {
			if e == nil {
				continue
			}
			if !first {
				x.head = append(x.head, ',')
			}
			first = false
			x.head = append(x.head, e.raw...)
		}
		x.headSum, x.headOK = crc32.Checksum(x.head, castagnoli), true
	}
	// The suffix goes after head in its array, where the next entry goes.
	return append(x.head, x.suffix...), crc32.Update(x.headSum, castagnoli, x.suffix)
}

// extendHead adds e, about to be the last entry, to the encoding kept.
func (x *repoIndex) extendHead(e *entry) {
	if !x.headOK {
		return
	}
	n := len(x.head)
	if len(x.entries)-x.holes > 0 {
		x.head = append(x.head, ',')
	}
	x.head = append(x.head, e.raw...)
	x.headSum = crc32.Update(x.headSum, castagnoli, x.head[n:])
}

// insert puts e at position i of the entries: the end, or the place of
// a removed one.
func (x *repoIndex) insert(i int, e *entry) {
	e.pos = i
	x.bytes += int64(len(e.raw))
	if x.trying {
		x.undo = append(x.undo, change{e: e, appended: i == len(x.entries), at: i})
	}
	if i == len(x.entries) {
		x.extendHead(e)
		x.entries = append(x.entries, e)
	} else {
		x.entries[i] = e
		x.holes--
		x.headOK = false
	}
	if e.tag != "" {
		x.tags[e.tag] = append(x.tags[e.tag], e)
	}
	x.listed[e.desc.Digest] = append(x.listed[e.desc.Digest], e)
}

// remove takes e out of the entries and returns where it was.
func (x *repoIndex) remove(e *entry) int {
	if x.trying {
		x.undo = append(x.undo, change{e: e, removed: true, at: e.pos,
			tagAt: slices.Index(x.tags[e.tag], e), listedAt: slices.Index(x.listed[e.desc.Digest], e)})
	}
	x.entries[e.pos] = nil
	x.holes++
	x.headOK = false
	x.bytes -= int64(len(e.raw))
	x.unlist(e)
	return e.pos
}

// unlist takes e out of the lists by tag and by digest.
func (x *repoIndex) unlist(e *entry) {
	if e.tag != "" {
		if x.tags[e.tag] = without(x.tags[e.tag], e); len(x.tags[e.tag]) == 0 {
			delete(x.tags, e.tag)
		}
	}
	if x.listed[e.desc.Digest] = without(x.listed[e.desc.Digest], e); len(x.listed[e.desc.Digest]) == 0 {
		delete(x.listed, e.desc.Digest)
	}
}

func without(list []*entry, e *entry) []*entry {
	for i, o := range list {
		if o == e {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

// compact drops the places of removed entries once they are as many as
// the entries.
func (x *repoIndex) compact() {
	if x.holes < 64 || x.holes < len(x.entries)-x.holes {
		return
	}
	live := make([]*entry, 0, len(x.entries)-x.holes)
	for _, e := range x.entries {
		if e != nil {
			e.pos = len(live)
			live = append(live, e)
		}
	}
	x.entries, x.holes = live, 0
}

// The edits below change x as a layout.Layout's Tag, Untag and
// RemoveDescriptor change index.json (which the server cannot use: they
// open files by path, not through the root), and report whether anything
// changed. They leave the places of removed entries (see compact), so
// that an edit tried can be taken back. A manifest is in the repository
// while an entry lists it: one entry per tag naming it, or one without a
// name.

// setTag makes tag name desc, in place of the entries naming it before
// or else of desc's unnamed entry. A manifest the tag named before stays,
// unnamed, unless another entry lists it.
func (x *repoIndex) setTag(tag string, desc manifest.Descriptor) bool {
	e := newEntry(desc, tag)
	old := x.tags[tag]
	if len(old) == 1 && bytes.Equal(old[0].raw, e.raw) {
		return false
	}
	at := len(x.entries)
	for _, o := range old {
		at = min(at, x.remove(o))
	}
	for _, u := range x.unnamed(desc.Digest) {
		at = min(at, x.remove(u))
	}
	x.insert(at, e)
	for _, o := range old {
		x.keep(o.desc)
	}
	return true
}

// add lists the manifest desc, without a name, unless an entry lists it.
func (x *repoIndex) add(desc manifest.Descriptor) bool {
	if len(x.listed[desc.Digest]) > 0 {
		return false
	}
	x.insert(len(x.entries), newEntry(desc, ""))
	return true
}

// untag removes the entries naming tag; the manifests they list stay,
// unnamed, unless another entry lists them.
func (x *repoIndex) untag(tag string) bool {
	old := x.tags[tag]
	for _, o := range old {
		x.remove(o)
	}
	for _, o := range old {
		x.keep(o.desc)
	}
	return len(old) > 0
}

// drop removes every entry listing d.
func (x *repoIndex) drop(d manifest.Digest) bool {
	old := x.listed[d]
	for _, o := range old {
		x.remove(o)
	}
	return len(old) > 0
}

// keep lists desc's manifest without a name unless an entry lists it.
func (x *repoIndex) keep(desc manifest.Descriptor) {
	if len(x.listed[desc.Digest]) > 0 {
		return
	}
	if _, ok := desc.Annotations[layout.RefNameAnnotation]; ok {
		a := maps.Clone(desc.Annotations)
		delete(a, layout.RefNameAnnotation)
		if desc.Annotations = a; len(a) == 0 {
			desc.Annotations = nil
		}
	}
	x.insert(len(x.entries), newEntry(desc, ""))
}

// unnamed returns the entries listing d without a name.
func (x *repoIndex) unnamed(d manifest.Digest) []*entry {
	var out []*entry
	for _, e := range x.listed[d] {
		if e.tag == "" {
			out = append(out, e)
		}
	}
	return out
}

// tagged returns the descriptor tag names.
func (x *repoIndex) tagged(tag string) (manifest.Descriptor, bool) {
	if l := x.tags[tag]; len(l) > 0 {
		return l[0].desc, true
	}
	return manifest.Descriptor{}, false
}

// manifest returns the descriptor of the manifest d, if an entry lists it.
func (x *repoIndex) manifest(d manifest.Digest) (manifest.Descriptor, bool) {
	if l := x.listed[d]; len(l) > 0 {
		return l[0].desc, true
	}
	return manifest.Descriptor{}, false
}
