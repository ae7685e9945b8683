package tarball

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/skiffoci/skiff/internal/spill"
)

// links holds the hard links that wait for their target, by target: for
// each target a chain of records in a log, whose first record a table
// finds. Both move to a temporary file past a bound, so however many
// links wait, memory does not grow.
//
// A chain is named by a ref, 1 + the offset of its first record (0 is
// no chain). A record is the ref of the next record; the refs of the
// chain's last record and of its target's name, which only the first
// record keeps; the length of the link's header, and the header as
// archive/tar writes it. A name is its length and its bytes.
type links struct {
	heads *spill.Table
	log   *spill.Log
}

// The fields of a record, by offset.
const (
	fieldNext   = 0
	fieldTail   = 8
	fieldTarget = 16
	fieldLen    = 24
	recordHead  = 28
)

func newLinks() *links {
	return &links{heads: &spill.Table{MemEntries: spillEntries}, log: &spill.Log{MemBytes: spillBytes}}
}

func (w *links) close() {
	w.heads.Close()
	w.log.Close()
}

func (w *links) err() error { return errors.Join(w.heads.Err(), w.log.Err()) }

// has reports whether links wait for target.
func (w *links) has(target string) bool {
	return w.heads.Len() > 0 && w.heads.Get(spill.KeyOf(target)) != 0
}

// add makes hdr wait for target, after the links already waiting.
func (w *links) add(target string, hdr *tar.Header) error {
	h := *hdr
	h.Size = 0
	var buf bytes.Buffer
	buf.Write(make([]byte, recordHead))
	if err := tar.NewWriter(&buf).WriteHeader(&h); err != nil {
		return fmt.Errorf("tarball: flatten: keeping the hard link %q: %w", hdr.Name, err)
	}
	rec := buf.Bytes()
	binary.LittleEndian.PutUint32(rec[fieldLen:], uint32(len(rec)-recordHead))
	ref := uint64(w.log.Append(rec)) + 1
	w.setTail(ref, ref)
	return w.splice(target, ref)
}

// splice makes the chain ref wait for target, after the links already
// waiting.
func (w *links) splice(target string, ref uint64) error {
	if ref == 0 {
		return nil
	}
	k := spill.KeyOf(target)
	head := w.heads.Get(k)
	if head == 0 {
		w.setField(ref, fieldTarget, w.name(target))
		w.heads.Set(k, ref)
		return w.err()
	}
	w.setField(w.field(head, fieldTail), fieldNext, ref)
	w.setTail(head, w.field(ref, fieldTail))
	return w.err()
}

// name appends s to the log and returns its ref.
func (w *links) name(s string) uint64 {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(s)))
	return uint64(w.log.Append(append(b, s...))) + 1
}

// readName returns the name ref names.
func (w *links) readName(ref uint64) string {
	var n [4]byte
	w.log.ReadAt(n[:], int64(ref-1))
	b := make([]byte, binary.LittleEndian.Uint32(n[:]))
	w.log.ReadAt(b, int64(ref-1)+4)
	return string(b)
}

// take removes the chain of links waiting for target and returns it.
func (w *links) take(target string) uint64 {
	if w.heads.Len() == 0 {
		return 0
	}
	k := spill.KeyOf(target)
	ref := w.heads.Get(k)
	w.heads.Set(k, 0)
	return ref
}

// read returns the link of the record ref and the ref of the next.
func (w *links) read(ref uint64) (*tar.Header, uint64, error) {
	var head [recordHead]byte
	if _, err := w.log.ReadAt(head[:], int64(ref-1)); err != nil {
		return nil, 0, err
	}
	rec := make([]byte, binary.LittleEndian.Uint32(head[fieldLen:]))
	if _, err := w.log.ReadAt(rec, int64(ref-1)+recordHead); err != nil {
		return nil, 0, err
	}
	hdr, err := tar.NewReader(bytes.NewReader(rec)).Next()
	if err != nil {
		return nil, 0, fmt.Errorf("tarball: flatten: reading back a hard link: %w", err)
	}
	hdr.Format = tar.FormatUnknown
	for k := range hdr.PAXRecords {
		if !strings.HasPrefix(k, "SCHILY.xattr.") {
			delete(hdr.PAXRecords, k)
		}
	}
	return hdr, binary.LittleEndian.Uint64(head[fieldNext:]), nil
}

// rest returns the chain after the first record of chain, whose next
// record is next.
func (w *links) rest(chain, next uint64) uint64 {
	if next != 0 {
		w.setTail(next, w.field(chain, fieldTail))
	}
	return next
}

// least returns the first link waiting for the target whose name sorts
// first, and that name; nil when no link waits.
func (w *links) least() (*tar.Header, string, error) {
	var best *tar.Header
	var target string
	var err error
	rerr := w.heads.Range(func(_ spill.Key, ref uint64) bool {
		t := w.readName(w.field(ref, fieldTarget))
		if best != nil && t >= target {
			return true
		}
		best, _, err = w.read(ref)
		target = t
		return err == nil
	})
	return best, target, errors.Join(rerr, err, w.err())
}

func (w *links) setTail(ref, tail uint64) { w.setField(ref, fieldTail, tail) }

// field reads the ref at byte at of the record ref; setField writes it.
func (w *links) field(ref uint64, at int64) uint64 {
	var b [8]byte
	w.log.ReadAt(b[:], int64(ref-1)+at)
	return binary.LittleEndian.Uint64(b[:])
}

func (w *links) setField(ref uint64, at int64, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	w.log.WriteAt(b[:], int64(ref-1)+at)
}
