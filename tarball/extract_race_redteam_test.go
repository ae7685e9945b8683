//go:build linux && amd64

package tarball_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/tarball"
)

// RT-L2. Extract resolves each entry's parent inside its os.Root, but then
// makes symlinks, hard links and modification times through the host
// path (os.Symlink, os.Link, os.Chtimes on dir/rel), which a process that
// can write in the extraction directory can redirect by swapping a
// directory for a symbolic link between the two. Here a goroutine flips
// dir/a between a directory and a link to a directory outside while an
// image with thousands of symlinks under a/ is extracted: some land
// outside. Fixed: Go 1.25 (go.mod's version) has os.Root.Symlink, Link,
// Readlink and Chtimes, which Extract now uses, closing the window the
// code's comment described.
func TestRedteamExtractRaceOutOfRoot(t *testing.T) {
	entries := []tEntry{tDir("a")}
	for i := range 2000 {
		entries = append(entries, tSym(fmt.Sprintf("a/s%04d", i), "t"))
	}
	layer := testtool.Tar(t, entries...)
	base := t.TempDir()
	victim := filepath.Join(base, "victim")
	if err := os.Mkdir(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	for run := range 100 {
		dir := filepath.Join(base, fmt.Sprint("root", run))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		a, l := filepath.Join(dir, "a"), filepath.Join(dir, "l")
		if err := os.Symlink(victim, l); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // the other process, flipping dir/a
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if exchange(a, l) == nil { // a is the link for a moment
					exchange(a, l)
				}
				for range 200 {
					runtime.Gosched()
				}
			}
		}()
		err := tarball.Extract(context.Background(), dir, openers(layer), nil)
		_ = err // failing is fine; writing outside is not
		close(stop)
		wg.Wait()
		if got, _ := os.ReadDir(victim); len(got) > 0 {
			t.Fatalf("run %d: Extract made %d entries outside its root, in %s (first %s)", run, len(got), victim, got[0].Name())
		}
	}
}

// exchange swaps the names a and b atomically (renameat2 RENAME_EXCHANGE),
// so that no one ever sees either name absent.
func exchange(a, b string) error {
	pa, err := syscall.BytePtrFromString(a)
	if err != nil {
		return err
	}
	pb, err := syscall.BytePtrFromString(b)
	if err != nil {
		return err
	}
	const sysRenameat2, renameExchange, atFDCWD = 316, 2, -100
	fd := atFDCWD
	_, _, e := syscall.Syscall6(sysRenameat2, uintptr(fd), uintptr(unsafe.Pointer(pa)), uintptr(fd), uintptr(unsafe.Pointer(pb)), renameExchange, 0)
	if e != 0 {
		return e
	}
	return nil
}
