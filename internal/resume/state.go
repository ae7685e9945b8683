package resume

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/skiffoci/skiff/internal/safefile"
)

// Checkpoint records how far one blob got: its first N bytes are written,
// and State is the hash state of exactly those bytes
// (manifest.Digester.MarshalBinary). A blob fetched in ranges (see
// Slot.Ranges) may also have runs of bytes written beyond N, its Spans.
type Checkpoint struct {
	N     int64
	State []byte
	Spans []Span
}

// Span is a run of a blob's bytes written beyond its checkpoint's first N:
// Len bytes from byte Start, whose CRC-32C is CRC. The next run checks the
// CRC before it keeps them; the blob's digest still decides at the end.
type Span struct {
	Start, Len int64
	CRC        uint32
}

// ErrLocked is returned by OpenState when another process holds the state
// file: it is writing the same output right now.
var ErrLocked = errors.New("in use by another process")

// The on-disk layout: a header, then one record per blob. A record has two
// slots written in turn, each with a sequence number and a checksum, so
// that a write torn by a power cut loses at most the newest checkpoint. A
// slot holds: sequence number, N, the hash state's length and the hash
// state, the number of spans and the spans (start, length, CRC), and the
// slot's CRC-32 at its end. Version 2 added the spans; a file of another
// version is started anew.
const (
	headerSize = 64
	slotSize   = 512
	recordSize = 2 * slotSize
	stateAt    = 18
	maxState   = 222 // a SHA-512 state is 204 bytes
	spansAt    = stateAt + maxState
	spanSize   = 16
	maxSpans   = (slotSize - 4 - spansAt - 2) / spanSize
	magic      = "skiff-resume\x00\x00\x00\x02"
)

// State is an open, locked state file of Count checkpoints.
type State struct {
	d     *safefile.Dir
	name  string
	f     *os.File
	key   [32]byte
	count int
	seq   []uint64 // the newest sequence number of each record
	fresh bool
}

// OpenState opens the state file name in d for count blobs and locks it;
// d must stay open while the State is. It keeps the checkpoints already
// there when the file was made with the same key and count and fresh is
// false; otherwise it starts an empty file. Fresh reports which. Only a
// file skiff left is reused (safefile.Dir.Reuse): anything else under
// name is removed, never followed.
func OpenState(d *safefile.Dir, name string, key [32]byte, count int, fresh bool) (*State, error) {
	f, _, err := d.Reuse(name, 0o644)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	path := f.Name()
	if err := lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("resume: %s: %w", path, err)
	}
	s := &State{d: d, name: name, f: f, key: key, count: count, seq: make([]uint64, count)}
	if fresh || !s.headerMatches() {
		err = s.reset()
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("resume: %s: %w", path, err)
	}
	return s, nil
}

// Progress returns how many bytes the checkpoints in the state file at
// path account for (prefixes and spans), without locking or changing it: what a run resumed
// from it need not fetch again if the bytes are still intact.
func Progress(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := make([]byte, headerSize)
	if _, err := f.ReadAt(h, 0); err != nil || string(h[:16]) != magic ||
		binary.LittleEndian.Uint32(h[headerSize-4:]) != crc32.ChecksumIEEE(h[:headerSize-4]) {
		return 0, fmt.Errorf("resume: %s is not a state file", path)
	}
	s := &State{f: f, count: int(binary.LittleEndian.Uint32(h[48:]))}
	s.seq = make([]uint64, s.count)
	var total int64
	for i := range s.count {
		if c, ok := s.Load(i); ok {
			total += c.N
			for _, sp := range c.Spans {
				total += sp.Len
			}
		}
	}
	return total, nil
}

// Fresh reports whether the state started empty: no earlier run's
// checkpoints are in it.
func (s *State) Fresh() bool { return s.fresh }

// Count is the number of checkpoints the state holds.
func (s *State) Count() int { return s.count }

func (s *State) header() []byte {
	h := make([]byte, headerSize)
	copy(h, magic)
	copy(h[16:], s.key[:])
	binary.LittleEndian.PutUint32(h[48:], uint32(s.count))
	binary.LittleEndian.PutUint32(h[headerSize-4:], crc32.ChecksumIEEE(h[:headerSize-4]))
	return h
}

func (s *State) headerMatches() bool {
	got := make([]byte, headerSize)
	if _, err := s.f.ReadAt(got, 0); err != nil {
		return false
	}
	st, err := s.f.Stat()
	return err == nil && bytes.Equal(got, s.header()) && st.Size() == s.size()
}

func (s *State) size() int64 { return headerSize + int64(s.count)*recordSize }

// reset empties the file and writes a new header and empty records. It
// overwrites the records with zeros rather than truncating the file to
// zero, which would make ext4 write it back when it is closed (see
// Discard).
func (s *State) reset() error {
	if _, err := s.f.WriteAt(make([]byte, s.size()-headerSize), headerSize); err != nil {
		return err
	}
	if err := s.f.Truncate(s.size()); err != nil {
		return err
	}
	clear(s.seq)
	s.fresh = true
	_, err := s.f.WriteAt(s.header(), 0)
	return err
}

// Load returns checkpoint i, or false when there is none or it is damaged.
func (s *State) Load(i int) (Checkpoint, bool) {
	var best Checkpoint
	var bestSeq uint64
	raw := make([]byte, recordSize)
	if _, err := s.f.ReadAt(raw, s.recordOffset(i)); err != nil && err != io.EOF {
		return Checkpoint{}, false
	}
	for slot := range 2 {
		seq, c, ok := decodeSlot(raw[slot*slotSize : (slot+1)*slotSize])
		if ok && seq > bestSeq {
			best, bestSeq = c, seq
		}
	}
	s.seq[i] = bestSeq
	return best, bestSeq > 0
}

// Save writes checkpoint i over the older of its two slots; of its spans,
// the first MaxSpans are kept. Checkpoints of different blobs may be saved
// at the same time; one blob's must not.
func (s *State) Save(i int, c Checkpoint) error {
	seq := s.seq[i] + 1
	slot, err := encodeSlot(seq, c)
	if err != nil {
		return err
	}
	if _, err := s.f.WriteAt(slot, s.recordOffset(i)+int64(seq%2)*slotSize); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	s.seq[i] = seq
	return nil
}

// MaxSpans is how many spans a checkpoint keeps.
const MaxSpans = maxSpans

func encodeSlot(seq uint64, c Checkpoint) ([]byte, error) {
	if len(c.State) > maxState {
		return nil, fmt.Errorf("resume: a hash state of %d bytes does not fit", len(c.State))
	}
	slot := make([]byte, slotSize)
	le := binary.LittleEndian
	le.PutUint64(slot[0:], seq)
	le.PutUint64(slot[8:], uint64(c.N))
	le.PutUint16(slot[16:], uint16(len(c.State)))
	copy(slot[stateAt:], c.State)
	spans := c.Spans[:min(len(c.Spans), maxSpans)]
	le.PutUint16(slot[spansAt:], uint16(len(spans)))
	for k, sp := range spans {
		if sp.Start < 0 || sp.Len <= 0 || sp.Len > math.MaxUint32 {
			return nil, fmt.Errorf("resume: a span of %d bytes at %d does not fit", sp.Len, sp.Start)
		}
		b := slot[spansAt+2+k*spanSize:]
		le.PutUint64(b, uint64(sp.Start))
		le.PutUint32(b[8:], uint32(sp.Len))
		le.PutUint32(b[12:], sp.CRC)
	}
	le.PutUint32(slot[slotSize-4:], crc32.ChecksumIEEE(slot[:slotSize-4]))
	return slot, nil
}

// Clear forgets checkpoint i.
func (s *State) Clear(i int) error {
	s.seq[i] = 0
	_, err := s.f.WriteAt(make([]byte, recordSize), s.recordOffset(i))
	return err
}

func (s *State) recordOffset(i int) int64 { return headerSize + int64(i)*recordSize }

func decodeSlot(b []byte) (uint64, Checkpoint, bool) {
	le := binary.LittleEndian
	if le.Uint32(b[slotSize-4:]) != crc32.ChecksumIEEE(b[:slotSize-4]) {
		return 0, Checkpoint{}, false
	}
	seq := le.Uint64(b[0:])
	n := int64(le.Uint64(b[8:]))
	l := int(le.Uint16(b[16:]))
	k := int(le.Uint16(b[spansAt:]))
	if seq == 0 || n < 0 || l > maxState || k > maxSpans {
		return 0, Checkpoint{}, false
	}
	c := Checkpoint{N: n, State: bytes.Clone(b[stateAt : stateAt+l])}
	for j := range k {
		e := b[spansAt+2+j*spanSize:]
		sp := Span{Start: int64(le.Uint64(e)), Len: int64(le.Uint32(e[8:])), CRC: le.Uint32(e[12:])}
		if sp.Start < 0 || sp.Len == 0 {
			return 0, Checkpoint{}, false
		}
		c.Spans = append(c.Spans, sp)
	}
	return seq, c, true
}

// Close unlocks and closes the state file, keeping it for the next run.
func (s *State) Close() error {
	unlock(s.f)
	return s.f.Close()
}

// Remove deletes the state file: the transfer it served is complete.
func (s *State) Remove() error {
	err := s.d.Remove(s.name)
	return errors.Join(err, s.Close())
}
