package tarball

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/skiffoci/skiff/internal/iobuf"
	"github.com/skiffoci/skiff/internal/spill"
)

// An Opener opens one layer's bytes: a tar, plain or compressed with gzip
// or zstd (a frame may ask for a window of at most 128 MiB); a
// Layer's Open method is one. Readers that verify a digest, such as a
// registry blob, are read to their end so that a mismatch is reported.
// Flatten may open a layer a second time (see there).
type Opener func() (io.ReadCloser, error)

// ExportOptions configure Flatten and Extract. The zero value, or a nil
// pointer, gives the defaults.
type ExportOptions struct {
	// MaxUncompressed caps the bytes decompressed from all layers together,
	// and separately the total size of the entries written. Exceeding
	// either fails with an error wrapping *manifest.LimitError. Zero means
	// DefaultMaxUncompressed.
	MaxUncompressed int64

	// MaxZstdWindow bounds the window (memory) a zstd layer may ask for;
	// zero means 128 MiB, the zstd command's own limit.
	MaxZstdWindow int64
}

// Whiteout names, from the OCI image spec's layer.md.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	whiteoutMeta   = ".wh..wh." // aufs bookkeeping, skipped
)

// Flatten writes to w one tar of the filesystem that results from applying
// layers in order (layers[0] is the base), with OCI whiteouts applied and
// left out: ".wh.NAME" deletes NAME from lower layers and ".wh..wh..opq"
// hides everything lower layers put in its directory.
//
// Layers are read top layer first, remembering the paths already written
// and the whiteouts seen, so no file content is held in memory (the
// technique of go-containerregistry's mutate.Extract). Each is read once,
// except in one rare case, read twice: a hard link whose target, earlier in
// its own layer, was hidden by a higher layer. An entry is written
// when no higher layer wrote the same path, deleted it or an ancestor,
// made an ancestor opaque, or replaced an ancestor with a non-directory.
// Entries therefore come out top layer first; a directory may follow its
// contents. A hard link to a file of a lower layer is written just after
// that file; when the file is itself hidden (deleted or replaced above the
// link), its contents are written under the link's name instead, so the
// link keeps the data it had. A higher layer's directory hides a lower
// layer's symlink at the same path, even one pointing at a directory. A hard link whose target no layer provides
// is an error. Within one layer the first of two entries with the same
// name wins.
//
// Names are cleaned with CleanPath; an unsafe name, link target or
// whiteout fails with an *UnsafePathError. Each layer is read to its end.
//
// What Flatten remembers of the paths of the layers above and of the
// hard links waiting for their target goes, past a few MiB, to temporary
// files in os.TempDir, removed before it returns: its memory does not
// grow with the number of entries.
func Flatten(ctx context.Context, w io.Writer, layers []Opener, opts *ExportOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10) // an entry of a few bytes is not a write of its own
	tw := tar.NewWriter(bw)
	f := newFlattener(tw, opts)
	defer f.close()
	for i := len(layers) - 1; i >= 0; i-- {
		if err := f.layer(ctx, layers[i]); err != nil {
			return fmt.Errorf("tarball: layer %d: %w", i, err)
		}
	}
	if err := f.danglingLinks(); err != nil {
		return err
	}
	if err := errors.Join(tw.Close(), bw.Flush()); err != nil {
		return fmt.Errorf("tarball: flatten: %w", err)
	}
	return nil
}

// Flags recorded per path while flattening. A path's entry in the
// flattener's table holds the flags of the layers above in its low byte,
// and in the next those that this layer sets for the layers below.
const (
	flagWritten    uint8 = 1 << iota // an entry was written at this path
	flagImpliedDir                   // a written entry lies below this path
	flagDeleted                      // a whiteout in a higher layer removed it
	flagOpaque                       // a higher layer hid lower contents
	flagNonDir                       // a higher layer put a non-directory here
	flagEmitted                      // this layer's non-directory is in the output
	flagHiddenHere                   // this layer's non-directory, hidden from above
)

// flattener remembers, for every path written or whited out, its flags,
// and the hard links waiting for their target, in tables that move to a
// temporary file past a bound (internal/spill): its memory does not grow
// with the number of entries.
type flattener struct {
	tw      *tar.Writer
	paths   *spill.Table // flags by path: above | below<<8
	waiting *links       // hard links, by the target they wait for

	refetch   bool // a link waits for a non-directory hidden here
	in, out   *byteBudget
	maxWindow int64 // for zstd layers
}

// Bounds of what Flatten holds in memory; tests make them small.
var spillEntries, spillBytes int

func newFlattener(tw *tar.Writer, opts *ExportOptions) *flattener {
	var limit, window int64
	if opts != nil {
		limit, window = opts.MaxUncompressed, opts.MaxZstdWindow
	}
	return &flattener{
		maxWindow: window,
		tw:        tw,
		paths:     &spill.Table{MemEntries: spillEntries},
		waiting:   newLinks(),
		in:        newByteBudget(limit, "uncompressed layers"),
		out:       newByteBudget(limit, "flattened entries"),
	}
}

func (f *flattener) close() {
	f.paths.Close()
	f.waiting.close()
}

// flags returns the flags of p from the layers above.
func (f *flattener) flags(p string) uint8 { return uint8(f.paths.Get(spill.KeyOf(p))) }

// below returns the flags this layer set on p for the layers below.
func (f *flattener) below(p string) uint8 { return uint8(f.paths.Get(spill.KeyOf(p)) >> 8) }

// set adds flags to p's flags from the layers above; setBelow adds them to
// those for the layers below.
func (f *flattener) set(p string, flags uint8)      { f.paths.Or(spill.KeyOf(p), uint64(flags)) }
func (f *flattener) setBelow(p string, flags uint8) { f.paths.Or(spill.KeyOf(p), uint64(flags)<<8) }

// layer writes the visible entries of one layer, then, if a hard link in
// it points at a file of the same layer that a higher layer hides, reads
// the layer again for that file's contents. Then what the layer set for
// the layers below takes effect.
func (f *flattener) layer(ctx context.Context, open Opener) error {
	f.refetch = false
	if err := f.pass(ctx, open, f.entry); err != nil {
		return err
	}
	if f.refetch {
		if err := f.pass(ctx, open, f.hiddenTarget); err != nil {
			return err
		}
	}
	return f.paths.Update(func(_ spill.Key, v uint64) uint64 {
		return v&0xff | v>>8&uint64(^flagHiddenHere)
	})
}

// pass reads one layer, calling fn for each entry, and drains it.
func (f *flattener) pass(ctx context.Context, open Opener, fn func(*tar.Reader, *tar.Header) error) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	stream, err := openLayerStream(iobuf.ContextReader(ctx, rc), f.maxWindow)
	if err != nil {
		return err
	}
	stream = f.in.reader(stream)
	if err := f.entries(tar.NewReader(stream), fn); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, stream)
	return err
}

func (f *flattener) entries(tr *tar.Reader, fn func(*tar.Reader, *tar.Header) error) error {
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(tr, hdr); err != nil {
			return err
		}
		if err := errors.Join(f.paths.Err(), f.waiting.err()); err != nil {
			return err
		}
	}
}

func (f *flattener) entry(tr *tar.Reader, hdr *tar.Header) error {
	if !fsEntryType(hdr.Typeflag) {
		return nil
	}
	name, err := CleanPath(hdr.Name)
	if err != nil || name == "." {
		return err
	}
	if base := path.Base(name); strings.HasPrefix(base, whiteoutPrefix) {
		return f.whiteout(hdr.Name, name, base)
	}
	isDir := hdr.Typeflag == tar.TypeDir
	hidden := f.hidden(name, isDir)
	if !isDir && f.waiting.has(name) {
		return f.linkTarget(tr, hdr, name, hidden)
	}
	if hidden {
		if !isDir {
			f.setBelow(name, flagHiddenHere)
		}
		return nil
	}
	return f.write(tr, hdr, name)
}

// write writes the visible entry hdr under name, or, for a hard link whose
// target this layer has not yet written, sets it aside until it has.
func (f *flattener) write(tr *tar.Reader, hdr *tar.Header, name string) error {
	if err := f.outHeader(hdr, name); err != nil {
		return err
	}
	f.record(name, hdr.Typeflag == tar.TypeDir)
	if hdr.Typeflag == tar.TypeLink {
		if below := f.below(hdr.Linkname); below&flagEmitted == 0 {
			f.refetch = f.refetch || below&flagHiddenHere != 0
			return f.waiting.add(hdr.Linkname, hdr)
		}
	}
	if err := f.copyEntry(tr, hdr); err != nil || hdr.Typeflag == tar.TypeDir {
		return err
	}
	return f.flush(name)
}

// whiteout records a whiteout entry for the layers below.
func (f *flattener) whiteout(raw, name, base string) error {
	dir := path.Dir(name)
	switch {
	case base == whiteoutOpaque:
		f.setBelow(dir, flagOpaque)
	case strings.HasPrefix(base, whiteoutMeta):
	default:
		target := base[len(whiteoutPrefix):]
		if target == "" || target == "." || target == ".." {
			return &UnsafePathError{Name: raw, Reason: "whiteout names no file inside its directory"}
		}
		f.setBelow(path.Join(dir, target), flagDeleted)
	}
	return nil
}

// hidden reports whether a higher layer, or an earlier entry of this one,
// hides an entry at name.
func (f *flattener) hidden(name string, isDir bool) bool {
	flags := f.flags(name)
	if flags&(flagWritten|flagDeleted) != 0 || flags&flagImpliedDir != 0 && !isDir {
		return true
	}
	for dir := path.Dir(name); ; dir = path.Dir(dir) {
		if f.flags(dir)&(flagDeleted|flagOpaque|flagNonDir) != 0 {
			return true
		}
		if dir == "." {
			return false
		}
	}
}

// record notes that an entry was written at name.
func (f *flattener) record(name string, isDir bool) {
	f.set(name, flagWritten)
	if !isDir {
		f.setBelow(name, flagNonDir)
	}
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if f.paths.Or(spill.KeyOf(dir), uint64(flagImpliedDir))&uint64(flagImpliedDir) != 0 {
			break
		}
	}
}

// outHeader rewrites hdr in place for the output: clean names, a format
// archive/tar may choose, and only the PAX records that carry xattrs.
func (f *flattener) outHeader(hdr *tar.Header, name string) error {
	if hdr.Typeflag == tar.TypeLink {
		target, err := CleanPath(hdr.Linkname)
		if err != nil {
			return err
		}
		hdr.Linkname = target
	}
	hdr.Name = name
	if hdr.Typeflag == tar.TypeDir {
		hdr.Name += "/"
	}
	hdr.Format = tar.FormatUnknown
	for k := range hdr.PAXRecords {
		if !strings.HasPrefix(k, "SCHILY.xattr.") {
			delete(hdr.PAXRecords, k)
		}
	}
	return nil
}

// copyEntry writes hdr and, for a regular file, its contents from tr.
func (f *flattener) copyEntry(tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeReg {
		hdr.Size = 0
		return f.tw.WriteHeader(hdr)
	}
	if err := f.out.take(hdr.Size); err != nil {
		return err
	}
	if err := f.tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := iobuf.Copy(f.tw, tr) // io.Copy would take 32 KiB anew for each file
	return err
}

// fsEntryType reports whether t is a filesystem object Flatten copies;
// global PAX headers and unknown types are skipped.
func fsEntryType(t byte) bool {
	switch t {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink,
		tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return true
	}
	return false
}
