package resume

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/skiffoci/skiff/internal/safefile"
)

// The suffixes of partial files: ".NAME" + DataSuffix holds the bytes,
// ".NAME" + StateSuffix the checkpoints.
const (
	DataSuffix  = ".skiff-partial"
	StateSuffix = ".skiff-state"
)

// DefaultMaxAge is how long partial files are kept for a run to resume
// them, unless told otherwise.
const DefaultMaxAge = 7 * 24 * time.Hour

// Names returns the partial data and state file names of an output named
// path.
func Names(path string) (data, state string) {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+DataSuffix), filepath.Join(dir, "."+base+StateSuffix)
}

// Sweep removes the partial sets in the directory dir of d ("." for d
// itself) that were last written more than maxAge ago (every one, with
// maxAge 0), but for those keep names, those another process holds and
// those with a file the effective user does not own: in a directory others
// share, another user's partial set is theirs to resume. It returns the
// names it removed. Nothing is followed: a link among them is removed, not
// what it points to.
func Sweep(d *safefile.Dir, dir string, maxAge time.Duration, keep ...string) ([]string, error) {
	entries, err := readDir(d, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	cutoff := time.Now().Add(-maxAge)
	for _, e := range entries {
		name := e.Name()
		stem, isData := strings.CutSuffix(name, DataSuffix)
		if !isData || !strings.HasPrefix(name, ".") || slices.Contains(keep, name) {
			continue
		}
		data, state := path.Join(dir, name), path.Join(dir, stem+StateSuffix)
		if !stale(d, cutoff, data, state) || inUse(d, state) {
			continue
		}
		if err := errors.Join(d.Remove(data), d.Remove(state)); err != nil {
			return removed, err
		}
		removed = append(removed, name)
	}
	return removed, removeOrphanStates(d, dir, entries, cutoff)
}

func readDir(d *safefile.Dir, dir string) ([]os.DirEntry, error) {
	f, err := d.Root().Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// removeOrphanStates removes old state files of the effective user whose
// data is gone.
func removeOrphanStates(d *safefile.Dir, dir string, entries []os.DirEntry, cutoff time.Time) error {
	for _, e := range entries {
		stem, ok := strings.CutSuffix(e.Name(), StateSuffix)
		if !ok || !strings.HasPrefix(stem, ".") {
			continue
		}
		state := path.Join(dir, e.Name())
		if _, err := d.Root().Lstat(path.Join(dir, stem+DataSuffix)); errors.Is(err, fs.ErrNotExist) && stale(d, cutoff, state) && !inUse(d, state) {
			if err := d.Remove(state); err != nil {
				return err
			}
		}
	}
	return nil
}

// stale reports whether every existing file among names was last
// modified before cutoff and is owned by the effective user.
func stale(d *safefile.Dir, cutoff time.Time, names ...string) bool {
	for _, n := range names {
		if fi, err := d.Root().Lstat(n); err == nil && (!fi.ModTime().Before(cutoff) || !safefile.Mine(fi)) {
			return false
		}
	}
	return true
}

// inUse reports whether another process holds the lock of the state file
// name. Only a regular file is opened to find out, never a link or FIFO.
func inUse(d *safefile.Dir, name string) bool {
	fi, err := d.Root().Lstat(name)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	f, err := d.Root().OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !os.SameFile(fi, st) {
		return false
	}
	if err := lock(f); err != nil {
		return true
	}
	unlock(f)
	return false
}
