package resume

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
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

// Sweep removes the partial sets in dir that were last written more than
// maxAge ago (every one, with maxAge 0), but for those keep names and
// those another process holds. It returns the names it removed.
func Sweep(dir string, maxAge time.Duration, keep ...string) ([]string, error) {
	entries, err := os.ReadDir(dir)
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
		data, state := filepath.Join(dir, name), filepath.Join(dir, stem+StateSuffix)
		if !olderThan(cutoff, data, state) || inUse(state) {
			continue
		}
		if err := errors.Join(os.RemoveAll(data), removeIfExists(state)); err != nil {
			return removed, err
		}
		removed = append(removed, name)
	}
	return removed, removeOrphanStates(dir, entries, cutoff)
}

// removeOrphanStates removes old state files whose data is gone.
func removeOrphanStates(dir string, entries []os.DirEntry, cutoff time.Time) error {
	for _, e := range entries {
		stem, ok := strings.CutSuffix(e.Name(), StateSuffix)
		if !ok || !strings.HasPrefix(stem, ".") {
			continue
		}
		state := filepath.Join(dir, e.Name())
		if _, err := os.Lstat(filepath.Join(dir, stem+DataSuffix)); errors.Is(err, fs.ErrNotExist) && olderThan(cutoff, state) && !inUse(state) {
			if err := removeIfExists(state); err != nil {
				return err
			}
		}
	}
	return nil
}

// olderThan reports whether every existing file among paths was last
// modified before cutoff.
func olderThan(cutoff time.Time, paths ...string) bool {
	for _, p := range paths {
		if fi, err := os.Lstat(p); err == nil && !fi.ModTime().Before(cutoff) {
			return false
		}
	}
	return true
}

// inUse reports whether another process holds the state file's lock.
func inUse(state string) bool {
	f, err := os.OpenFile(state, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := lock(f); err != nil {
		return true
	}
	unlock(f)
	return false
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
