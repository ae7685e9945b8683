package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path"
	"strconv"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// A repository's index.json is what skopeo, umoci and every other reader
// of its layout read, so every edit replaces it before the server
// answers: whole, by a rename, never edited in place. What makes an edit
// survive a power cut is not flushing that file, whose size grows with
// the tags, but the repository's journal: one line per edit, appended
// and flushed before index.json is replaced, after a first line that
// holds index.json as it was when the journal began. See the package
// doc for the rules that recover index.json from it.

// metaDir is the directory under a layout storage's root where the
// server keeps what is its own about each repository: the journal of its
// index.json and the facts of its manifests, in metaDir/<repository>/.
// Like the blob store it is private to the server; no repository name
// starts with a dot.
const metaDir = ".meta"

// The files of a repository's directory under metaDir.
const (
	journalFile = ".journal"
	factsFile   = ".manifests"
)

// journalVersion is the format of journals this server writes and reads;
// a journal of another is ignored, and index.json taken as it is.
const journalVersion = 1

// maxJournalEdits is how many edits a journal holds before it starts
// again with the index as it then is: a bound on its size and on the
// work of reading it.
const maxJournalEdits = 1024

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// indexSum is the checksum by which a journal knows the versions of
// index.json it wrote.
func indexSum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// indexEdit is one change to a repository's index, as the journal
// records it: enough to make it again, and the checksum of index.json
// after it.
type indexEdit struct {
	Op     string               `json:"op"` // "tag", "add", "untag" or "drop"
	Tag    string               `json:"tag,omitempty"`
	Desc   *manifest.Descriptor `json:"desc,omitempty"`
	Digest manifest.Digest      `json:"digest,omitempty"`
	Sum    uint32               `json:"sum"`
}

func tagEdit(tag string, desc manifest.Descriptor) indexEdit {
	return indexEdit{Op: "tag", Tag: tag, Desc: &desc}
}

// digest is the manifest the edit lists or removes.
func (e indexEdit) digest() manifest.Digest {
	if e.Desc != nil {
		return e.Desc.Digest
	}
	return e.Digest
}

// apply makes the edit on x and reports whether x changed.
func (e indexEdit) apply(x *repoIndex) (bool, error) {
	switch {
	case e.Op == "tag" && e.Desc != nil:
		return x.setTag(e.Tag, *e.Desc), nil
	case e.Op == "add" && e.Desc != nil:
		return x.add(*e.Desc), nil
	case e.Op == "untag":
		return x.untag(e.Tag), nil
	case e.Op == "drop":
		return x.drop(e.Digest), nil
	}
	return false, fmt.Errorf("server: unknown index edit %q", e.Op)
}

// journal is what the server knows of a repository's journal file.
type journal struct {
	name  string          // of the file, in the root
	size  int64           // of its whole lines
	edits int             // lines after the first
	sums  map[uint32]bool // of every index.json it holds, first to last
	last  uint32          // of the index.json its last line made
	stale bool            // to be begun again before the next edit
}

func journalName(repo string) string { return path.Join(metaDir, repo, journalFile) }

// readJournal reads the journal of repo, up to limit bytes, and makes its
// edits again on the index of its first line. A last line cut short (a
// crash while it was written, before the edit was answered) is left out.
func readJournal(d *safefile.Dir, repo string, limit int64) (*journal, *repoIndex, error) {
	j := &journal{name: journalName(repo), sums: map[uint32]bool{}}
	f, err := d.OpenFile(j.name, os.O_RDONLY)
	if err != nil {
		return nil, nil, err
	}
	raw, err := manifest.ReadLimited(f, limit, j.name)
	f.Close()
	if err != nil {
		return nil, nil, err
	}
	first, rest, ok := bytes.Cut(raw, []byte{'\n'})
	if !ok {
		return nil, nil, fmt.Errorf("server: %s has no first line", j.name)
	}
	x, sum, err := parseJournalHead(first)
	if err != nil {
		return nil, nil, fmt.Errorf("server: %s: %w", j.name, err)
	}
	j.size, j.last, j.sums[sum] = int64(len(first)+1), sum, true
	for {
		line, more, ok := bytes.Cut(rest, []byte{'\n'})
		var e indexEdit
		if !ok || json.Unmarshal(line, &e) != nil {
			j.stale = len(rest) > 0 // a line cut short: begin again
			break
		}
		if _, err := e.apply(x); err != nil {
			return nil, nil, fmt.Errorf("server: %s: %w", j.name, err)
		}
		x.compact()
		j.size += int64(len(line) + 1)
		j.edits++
		j.last, j.sums[e.Sum] = e.Sum, true
		rest = more
	}
	if _, sum := x.encode(); sum != j.last {
		return nil, nil, fmt.Errorf("server: %s: its edits do not make the index.json it recorded", j.name)
	}
	return j, x, nil
}

// The first line of a journal: {"skiffIndexJournal":1,"sum":N,"index":{…}}.
const journalHead = `{"skiffIndexJournal":`

func parseJournalHead(line []byte) (*repoIndex, uint32, error) {
	var head struct {
		Version int             `json:"skiffIndexJournal"`
		Sum     uint32          `json:"sum"`
		Index   json.RawMessage `json:"index"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return nil, 0, err
	}
	if head.Version != journalVersion {
		return nil, 0, fmt.Errorf("journal version %d, not %d", head.Version, journalVersion)
	}
	if indexSum(head.Index) != head.Sum {
		return nil, 0, errors.New("its index does not match its checksum")
	}
	x, err := parseIndex(head.Index)
	return x, head.Sum, err
}

// beginJournal writes, flushed, the journal of repo anew with body, the
// index.json of its first line.
func beginJournal(d *safefile.Dir, repo string, body []byte, sum uint32) (*journal, error) {
	if err := d.MkdirPrivate(metaDir, 0o700); err != nil {
		return nil, err
	}
	if err := d.MkdirAll(path.Join(metaDir, repo), 0o700); err != nil {
		return nil, err
	}
	j := &journal{name: journalName(repo), sums: map[uint32]bool{sum: true}, last: sum}
	line := make([]byte, 0, len(body)+64)
	line = append(line, journalHead...)
	line = strconv.AppendInt(line, journalVersion, 10)
	line = append(line, `,"sum":`...)
	line = strconv.AppendUint(line, uint64(sum), 10)
	line = append(line, `,"index":`...)
	line = append(append(line, body...), "}\n"...)
	if err := d.WriteFile(j.name, line, 0o600, true); err != nil {
		return nil, err
	}
	j.size = int64(len(line))
	return j, nil
}

// errJournalGone is wrapped by append's error when the journal is no
// longer the file the server wrote (removed, or replaced by a link or
// another file): nothing was written, and the journal is begun again.
var errJournalGone = errors.New("server: the journal is not the server's own file")

// errJournalFull is append's error when the line would take the journal
// past what is read of it: nothing was written, and the journal is begun
// again.
var errJournalFull = errors.New("server: the journal is full")

// append adds e to the journal, flushed, unless it would then be longer
// than limit. A line that could not be written whole is taken back.
func (j *journal) append(d *safefile.Dir, e indexEdit, limit int64) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if j.size+int64(len(line))+1 > limit {
		return errJournalFull
	}
	f, err := j.open(d)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(append(line, '\n'), j.size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		j.undo(d, j.size)
		return err
	}
	j.size += int64(len(line) + 1)
	j.edits++
	j.last, j.sums[e.Sum] = e.Sum, true
	return nil
}

// open opens the journal to write, when it is still the server's own:
// a regular file of one link that only the server may write, as the open
// file says. Otherwise the error wraps errJournalGone.
func (j *journal) open(d *safefile.Dir) (*os.File, error) {
	f, err := d.OpenFile(j.name, os.O_WRONLY)
	if err == nil {
		if fi, serr := f.Stat(); serr != nil || !safefile.Trusted(fi) {
			f.Close()
			err = errors.New("a file of one link that only the server may write is not there")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errJournalGone, j.name, err)
	}
	return f, nil
}

// undo cuts the journal back to size bytes, flushed, so that it no
// longer holds an edit that index.json never got; failing that, it
// removes the journal, and index.json is taken as it is when next read.
func (j *journal) undo(d *safefile.Dir, size int64) {
	f, err := j.open(d)
	if err == nil {
		err = f.Truncate(size)
		if err == nil {
			err = f.Sync()
		}
		f.Close()
	}
	if err != nil {
		d.Remove(j.name)
	}
	j.stale = true
}

// load reads repository l's index: from index.json when the journal
// made it, or when there is no journal or another tool wrote it; from
// the journal when index.json is an earlier version the journal made (a
// power cut lost the replacements since), or is missing or unreadable.
// Recovered, index.json is written again, flushed. The caller holds
// l.mu.
func (s *layoutStorage) load(l *repoLayout) (*repoIndex, error) {
	raw, fi, ierr := readIndexFile(s.d, l.name, s.indexLimit())
	j, jx, jerr := readJournal(s.d, l.name, s.journalLimit())
	if jerr != nil && !errors.Is(jerr, fs.ErrNotExist) {
		s.logf("server: repository %s: not using its journal: %v", l.name, jerr)
	}
	sum := indexSum(raw)
	switch {
	case jerr == nil && ierr == nil && sum == j.last:
		jx.stamp, l.j = fi, j
		return jx, nil
	case jerr == nil && ierr == nil && j.sums[sum]:
		return s.recover(l, j, jx, "it lacked edits its journal holds")
	}
	if ierr == nil {
		x, err := parseIndex(raw)
		if err == nil {
			x.stamp, l.j = fi, &journal{stale: true} // begun at the next edit
			return x, nil
		}
		ierr = fmt.Errorf("server: %s: %w", path.Join(l.name, layout.IndexFile), err)
	}
	if jerr == nil {
		return s.recover(l, j, jx, ierr.Error())
	}
	return nil, ierr
}

// recover writes the index the journal made as index.json, flushed.
func (s *layoutStorage) recover(l *repoLayout, j *journal, x *repoIndex, why string) (*repoIndex, error) {
	if s.readOnly {
		x.stamp, l.j = nil, j // nothing is current: read again every time
		return x, nil
	}
	name := path.Join(l.name, layout.IndexFile)
	body, _ := x.encode()
	if err := s.d.WriteFile(name, body, 0o644, true); err != nil {
		return nil, err
	}
	fi, err := s.d.Root().Lstat(name)
	if err != nil {
		return nil, err
	}
	s.logf("server: repository %s: index.json recovered from its journal: %s", l.name, why)
	x.stamp, l.j = fi, j
	return x, nil
}

// commit makes the edit e, already made on x, last: the journal records
// it, flushed (or begins again with x), then index.json is replaced by
// x, not flushed. When either fails, the journal is taken back to what
// index.json holds.
func (s *layoutStorage) commit(l *repoLayout, x *repoIndex, e indexEdit) error {
	body, sum := x.encode()
	e.Sum = sum
	before := int64(-1) // the journal's size before e, when appended
	var err error
	if j := l.j; j == nil || j.stale || j.edits >= maxJournalEdits {
		l.j, err = beginJournal(s.d, l.name, body, e.Sum)
	} else {
		before = j.size
		err = j.append(s.d, e, s.journalLimit())
		if errors.Is(err, errJournalGone) {
			s.logf("server: repository %s: journal begun again: %v", l.name, err)
		}
		if errors.Is(err, errJournalGone) || errors.Is(err, errJournalFull) {
			before = -1
			l.j, err = beginJournal(s.d, l.name, body, e.Sum) // replaces what is there, never follows it
		}
	}
	if err != nil {
		return err
	}
	name := path.Join(l.name, layout.IndexFile)
	if err = s.d.WriteFile(name, body, 0o644, false); err == nil {
		x.stamp, err = s.d.Root().Lstat(name)
	}
	if err != nil && before >= 0 {
		l.j.undo(s.d, before)
	}
	// Begun again with x, the journal does not know index.json's version
	// as it was: read again, it is taken as it is.
	return err
}
