package spill

import (
	"hash/maphash"
	"slices"
)

// DefaultMemEntries is how many entries a Table holds in memory before it
// moves them to its file: about 3 MiB.
const DefaultMemEntries = 1 << 16

// Key is the 128-bit fingerprint of a string.
type Key [2]uint64

var seeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// KeyOf returns the fingerprint of s. It is never the zero Key.
func KeyOf(s string) Key {
	k := Key{maphash.String(seeds[0], s), maphash.String(seeds[1], s)}
	if k == (Key{}) {
		k[1] = 1 // the zero Key marks an empty slot
	}
	return k
}

func (k Key) compare(o Key) int {
	if k[0] != o[0] {
		return cmpUint(k[0], o[0])
	}
	return cmpUint(k[1], o[1])
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// A Table maps Keys to numbers. A Key it does not hold reads as 0, and
// setting a Key to 0 removes it. The zero value is an empty table. It
// holds the entries set last in memory, up to MemEntries, and merges
// them into a hash table in a file each time that many have been set;
// the file's table is read with one small read per lookup, which a
// filter in memory saves for most Keys it does not hold. Close removes
// the file.
type Table struct {
	// MemEntries bounds the entries held in memory; zero means
	// DefaultMemEntries. Set it before the first Set.
	MemEntries int
	// Dir is where the file goes; empty means os.TempDir().
	Dir string

	mem  map[Key]uint64 // newer than disk; 0 removes a Key disk holds
	disk *diskTable
	n    int // Keys with a value other than 0
	err  error
}

// Get returns the value of k, or 0. After an error it returns 0.
func (t *Table) Get(k Key) uint64 {
	if v, ok := t.mem[k]; ok || t.disk == nil || t.err != nil {
		return v
	}
	v, err := t.disk.get(k)
	t.err = err
	return v
}

// Set makes v the value of k; 0 removes k.
func (t *Table) Set(k Key, v uint64) {
	old := t.Get(k)
	if t.err != nil || old == v {
		return
	}
	switch {
	case old == 0:
		t.n++
	case v == 0:
		t.n--
	}
	if t.mem == nil {
		t.mem = map[Key]uint64{}
	}
	if v == 0 && t.disk == nil {
		delete(t.mem, k)
	} else {
		t.mem[k] = v
	}
	if len(t.mem) >= t.memEntries() {
		t.flush(nil)
	}
}

// Or sets the bits of v in k's value and returns the value it had.
func (t *Table) Or(k Key, v uint64) uint64 {
	old := t.Get(k)
	t.Set(k, old|v)
	return old
}

func (t *Table) memEntries() int {
	if t.MemEntries <= 0 {
		return DefaultMemEntries
	}
	return t.MemEntries
}

// Len returns the number of Keys with a value other than 0.
func (t *Table) Len() int { return t.n }

// Update replaces the value of every Key by fn's result, in no particular
// order: in one pass over the file, once the table is in one.
func (t *Table) Update(fn func(Key, uint64) uint64) error {
	if t.err != nil || t.disk != nil {
		t.flush(fn)
		return t.err
	}
	for k, v := range t.mem {
		if nv := fn(k, v); nv != v {
			t.mem[k] = nv
			if nv == 0 {
				delete(t.mem, k)
				t.n--
			}
		}
	}
	return nil
}

// Range calls fn for every Key with a value other than 0, in no
// particular order, until fn returns false. fn must not change t.
func (t *Table) Range(fn func(Key, uint64) bool) error {
	if t.err != nil || t.disk == nil {
		for k, v := range t.mem {
			if !fn(k, v) {
				break
			}
		}
		return t.err
	}
	t.flush(nil)
	if t.err == nil {
		t.err = t.disk.each(fn)
	}
	return t.err
}

// flush merges the entries in memory into the file's table, applying fn
// to every entry when it is not nil.
func (t *Table) flush(fn func(Key, uint64) uint64) {
	if t.err != nil {
		return
	}
	if t.disk == nil {
		t.disk = &diskTable{dir: t.Dir}
	}
	mem := make([]entry, 0, len(t.mem))
	for k, v := range t.mem {
		mem = append(mem, entry{k, v})
	}
	slices.SortFunc(mem, func(a, b entry) int { return a.k.compare(b.k) })
	n, err := t.disk.rebuild(mem, fn)
	t.mem, t.n, t.err = nil, n, err
}

// Err returns the first error of the table's file, if any.
func (t *Table) Err() error { return t.err }

// Close releases the table and removes its file; it is empty afterwards.
func (t *Table) Close() error {
	var err error
	if t.disk != nil {
		err = t.disk.close()
	}
	t.mem, t.disk, t.n, t.err = nil, nil, 0, nil
	return err
}
