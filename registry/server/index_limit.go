package server

import (
	"fmt"
	"slices"
)

// The server reads a repository's index.json up to a bound (maxIndexSize)
// and so writes none larger: an edit that would make index.json larger
// than the bound, and larger than it is, is tried on the index kept in
// memory, taken back, and refused with an *indexFullError before the
// journal or any file changes. Edits that shrink it always go through,
// so that a repository at the bound can be cleaned up.

// indexFullError is an edit refused because it would grow a repository's
// index.json past what the server reads back.
type indexFullError struct {
	repo  string
	size  int64 // of index.json after the edit
	limit int64
}

func (e *indexFullError) Error() string { return "server: " + e.message() }

// message is what the client is told.
func (e *indexFullError) message() string {
	limit := fmt.Sprintf("%d bytes", e.limit)
	if e.limit%(1<<20) == 0 {
		limit = fmt.Sprintf("%d MiB", e.limit>>20)
	}
	return fmt.Sprintf("repository %s: index.json would grow past %s, the most this server reads back; "+
		"delete manifests by digest to make room", e.repo, limit)
}

// indexLimit is the most a repository's index.json may hold: the bound
// of what is read back, and so of what an edit may write.
func (s *layoutStorage) indexLimit() int64 {
	if s.maxIndex > 0 {
		return s.maxIndex
	}
	return maxIndexSize
}

// journalLimit bounds what is read of a journal, and so what is written:
// its first line holds an index.json of at most indexLimit bytes and some
// 60 more, and a line that would take it past the bound begins it again.
func (s *layoutStorage) journalLimit() int64 { return 4 * s.indexLimit() }

// factsLimit bounds what is read of a facts file: a line per manifest the
// index lists, each about as long as its entry, and the lines of
// manifests no longer listed until the file is written anew.
func (s *layoutStorage) factsLimit() int64 { return 4 * s.indexLimit() }

// try makes the edit e on l's index x unless it would make index.json
// larger than indexLimit and larger than it is: then x is left as it was
// and the error is an *indexFullError. An edit made is then kept
// (x.settle) or taken back (x.takeBack).
func (s *layoutStorage) try(l *repoLayout, x *repoIndex, e indexEdit) (bool, error) {
	before := x.size()
	changed, err := x.try(e)
	if err != nil || !changed {
		x.takeBack()
		return false, err
	}
	if after, limit := x.size(), s.indexLimit(); after > limit && after > before {
		x.takeBack()
		return false, &indexFullError{repo: l.name, size: after, limit: limit}
	}
	return true, nil
}

// fits returns the *indexFullError that the edit e of l would meet,
// without making it: a manifest is then not linked into a layout whose
// index.json cannot list it.
func (s *layoutStorage) fits(l *repoLayout, e indexEdit) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	x, err := s.index(l)
	if err != nil {
		return err
	}
	changed, err := s.try(l, x, e)
	if changed {
		x.takeBack()
	}
	return err
}

// size is the length of x's encoding, as encode returns it.
func (x *repoIndex) size() int64 {
	n := int64(len(x.prefix)+len(x.suffix)) + x.bytes
	if live := len(x.entries) - x.holes; live > 1 {
		n += int64(live - 1) // the commas
	}
	return n
}

// try makes the edit e on x, as e.apply does, and keeps what it changes
// until settle keeps the edit or takeBack undoes it.
func (x *repoIndex) try(e indexEdit) (bool, error) {
	x.trying, x.undo = true, x.undo[:0]
	x.undoHead, x.undoSum = len(x.head), x.headSum
	return e.apply(x)
}

// settle keeps the edit tried, and drops the places of removed entries
// once they are many.
func (x *repoIndex) settle() {
	x.endTry()
	x.compact()
}

// takeBack undoes the edit tried: x, and the encoding it keeps, are as
// they were.
func (x *repoIndex) takeBack() {
	for _, c := range slices.Backward(x.undo) {
		if c.removed {
			x.restore(c)
		} else {
			x.uninsert(c)
		}
	}
	if x.headOK { // the edit only added entries at the end, after what was kept
		x.head, x.headSum = x.head[:x.undoHead], x.undoSum
	}
	x.endTry()
}

func (x *repoIndex) endTry() {
	clear(x.undo)
	x.trying, x.undo = false, x.undo[:0]
}

// restore puts back an entry remove took out.
func (x *repoIndex) restore(c change) {
	e := c.e
	x.entries[c.at] = e
	x.holes--
	x.bytes += int64(len(e.raw))
	if e.tag != "" {
		x.tags[e.tag] = with(x.tags[e.tag], c.tagAt, e)
	}
	x.listed[e.desc.Digest] = with(x.listed[e.desc.Digest], c.listedAt, e)
}

// with returns list with e at place i, as without's undoing. (Not
// slices.Insert: that costs the binary a kilobyte.)
func with(list []*entry, i int, e *entry) []*entry {
	return append(list[:i:i], append([]*entry{e}, list[i:]...)...)
}

// uninsert takes out an entry insert put in.
func (x *repoIndex) uninsert(c change) {
	x.entries[c.at] = nil
	if c.appended {
		x.entries = x.entries[:c.at]
	} else {
		x.holes++
	}
	x.bytes -= int64(len(c.e.raw))
	x.unlist(c.e)
}
