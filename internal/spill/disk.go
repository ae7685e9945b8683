package spill

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"os"
)

// A slot of a table on disk holds a Key's two halves and its value,
// little endian; an all-zero slot is empty.
const slotSize = 24

const (
	probeSlots = 8       // slots read at once by a lookup
	cacheSlots = 1 << 12 // lookups remembered: directories repeat
	filterBits = 1 << 23 // a Bloom filter of 1 MiB over the Keys on disk
)

type entry struct {
	k Key
	v uint64
}

// diskTable is a hash table in a file, written whole by rebuild and then
// only read. A Key's home is the top bits of its first half: slots are
// filled in the order of the Keys, each at its home or at the first free
// slot after it, and a lookup reads from the home to the first empty
// slot. Two files take turns: rebuild reads the table from one and
// writes the next into the other.
type diskTable struct {
	dir    string
	files  [2]*tempFile
	cur    int   // the file holding the table
	shift  uint  // 64 - log2(slots of the table)
	size   int64 // slots written, those past the last home included
	count  int   // entries
	filter []uint64
	cache  [cacheSlots]cached
	buf    [probeSlots * slotSize]byte
}

type cached struct {
	e     entry
	valid bool
}

func (d *diskTable) get(k Key) (uint64, error) {
	if d.filter == nil || !d.mayHold(k) {
		return 0, nil
	}
	c := &d.cache[k[1]%cacheSlots]
	if c.valid && c.e.k == k {
		return c.e.v, nil
	}
	v, err := d.lookup(k)
	if err == nil {
		*c = cached{entry{k, v}, true}
	}
	return v, err
}

func (d *diskTable) lookup(k Key) (uint64, error) {
	for pos := int64(k[0] >> d.shift); pos < d.size; pos += probeSlots {
		b := d.buf[:min(probeSlots, d.size-pos)*slotSize]
		if _, err := d.files[d.cur].ReadAt(b, pos*slotSize); err != nil {
			return 0, fmt.Errorf("spill: %w", err)
		}
		for ; len(b) > 0; b = b[slotSize:] {
			e := decode(b)
			if e.k == k {
				return e.v, nil
			}
			if e.k == (Key{}) {
				return 0, nil
			}
		}
	}
	return 0, nil
}

func (d *diskTable) filterBits(k Key) [3]uint64 {
	const mask = filterBits - 1
	return [3]uint64{k[1] & mask, k[1] >> 23 & mask, k[0] & mask}
}

func (d *diskTable) mayHold(k Key) bool {
	for _, b := range d.filterBits(k) {
		if d.filter[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

func (d *diskTable) remember(k Key) {
	for _, b := range d.filterBits(k) {
		d.filter[b/64] |= 1 << (b % 64)
	}
}

// rebuild writes a new table of the entries on disk and those of mem,
// sorted, which replace them; fn, if not nil, gives each its new value.
// Entries whose value is 0 are left out. It returns how many it wrote.
func (d *diskTable) rebuild(mem []entry, fn func(Key, uint64) uint64) (int, error) {
	next := 1 - d.cur
	if d.files[next] == nil {
		f, err := createTemp(d.dir)
		if err != nil {
			return 0, err
		}
		d.files[next] = f
	}
	out := d.files[next]
	if err := out.Truncate(0); err != nil {
		return 0, fmt.Errorf("spill: %w", err)
	}
	slots := int64(1) << bits.Len64(uint64(2*(d.count+len(mem))|1023))
	w := &slotWriter{w: bufio.NewWriterSize(io.NewOffsetWriter(out, 0), 64<<10), shift: uint(64 - bits.TrailingZeros64(uint64(slots)))}
	if d.filter == nil {
		d.filter = make([]uint64, filterBits/64)
	}
	clear(d.filter)
	n := 0
	err := d.merge(mem, func(e entry) error {
		if fn != nil && e.v != 0 {
			e.v = fn(e.k, e.v)
		}
		if e.v == 0 {
			return nil
		}
		n++
		d.remember(e.k)
		return w.put(e)
	})
	if err == nil {
		err = w.w.Flush()
	}
	if err != nil {
		return 0, fmt.Errorf("spill: %w", err)
	}
	d.cur, d.shift, d.size, d.count = next, w.shift, w.pos, n
	clear(d.cache[:])
	return n, nil
}

// merge calls put with the entries on disk and those of mem, in the
// order of their Keys; an entry of mem replaces one on disk.
func (d *diskTable) merge(mem []entry, put func(entry) error) error {
	var err error
	eerr := d.each(func(k Key, v uint64) bool {
		for len(mem) > 0 && mem[0].k.compare(k) < 0 && err == nil {
			err, mem = put(mem[0]), mem[1:]
		}
		e := entry{k, v}
		if len(mem) > 0 && mem[0].k == k {
			e, mem = mem[0], mem[1:]
		}
		if err == nil {
			err = put(e)
		}
		return err == nil
	})
	if err == nil {
		err = eerr
	}
	for _, e := range mem {
		if err != nil {
			break
		}
		err = put(e)
	}
	return err
}

// each calls fn for every entry of the table, in the order of the Keys,
// until fn returns false.
func (d *diskTable) each(fn func(Key, uint64) bool) error {
	f := d.files[d.cur]
	if f == nil {
		return nil
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, d.size*slotSize), 64<<10)
	var b [slotSize]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("spill: %w", err)
		}
		if e := decode(b[:]); e.k != (Key{}) && !fn(e.k, e.v) {
			return nil
		}
	}
}

// slotWriter writes entries, in the order of their Keys, each at its
// home or the first slot after the one before.
type slotWriter struct {
	w     *bufio.Writer
	shift uint
	pos   int64 // the next slot
}

func (s *slotWriter) put(e entry) error {
	var zero [slotSize]byte
	for home := int64(e.k[0] >> s.shift); s.pos < home; s.pos++ {
		if _, err := s.w.Write(zero[:]); err != nil {
			return err
		}
	}
	var b [slotSize]byte
	le := binary.LittleEndian
	le.PutUint64(b[0:], e.k[0])
	le.PutUint64(b[8:], e.k[1])
	le.PutUint64(b[16:], e.v)
	s.pos++
	_, err := s.w.Write(b[:])
	return err
}

func decode(b []byte) entry {
	le := binary.LittleEndian
	return entry{Key{le.Uint64(b), le.Uint64(b[8:])}, le.Uint64(b[16:])}
}

func (d *diskTable) close() error {
	var err error
	for _, f := range d.files {
		if f != nil {
			if cerr := f.close(); err == nil {
				err = cerr
			}
		}
	}
	return err
}

// tempFile is a file of its own in a directory, removed as soon as the
// system lets an open file be removed, and otherwise when it is closed.
type tempFile struct {
	*os.File
	name string // still to remove at close, or ""
}

func createTemp(dir string) (*tempFile, error) {
	f, err := os.CreateTemp(dir, "skiff-spill-*")
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	t := &tempFile{File: f}
	if os.Remove(f.Name()) != nil {
		t.name = f.Name()
	}
	return t, nil
}

func (t *tempFile) close() error {
	err := t.File.Close()
	if t.name != "" {
		if rerr := os.Remove(t.name); err == nil {
			err = rerr
		}
	}
	return err
}
