package spill_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/skiffoci/skiff/internal/spill"
)

// TestTableMatchesMap runs the same random sets and removals on a Table
// that merges its entries into a file every 100 (and one that holds them
// all in memory), and on a map: every Get, Len, Update and Range agrees.
func TestTableMatchesMap(t *testing.T) {
	for _, mem := range []int{100, 1 << 20} {
		t.Run(fmt.Sprint(mem), func(t *testing.T) { matchMap(t, mem) })
	}
}

func matchMap(t *testing.T, memEntries int) {
	dir := t.TempDir()
	tb := &spill.Table{MemEntries: memEntries, Dir: dir}
	defer tb.Close()
	model := map[spill.Key]uint64{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		k := spill.KeyOf(fmt.Sprint("path/", rng.IntN(8000)))
		switch v := uint64(rng.IntN(5)); {
		case i%3 == 0:
			if got := tb.Get(k); got != model[k] {
				t.Fatalf("op %d: Get = %d, want %d", i, got, model[k])
			}
		case v == 0:
			tb.Set(k, 0)
			delete(model, k)
		default:
			tb.Or(k, 1<<v)
			model[k] |= 1 << v
		}
	}
	if err := tb.Err(); err != nil || tb.Len() != len(model) {
		t.Fatalf("Len %d, want %d; %v", tb.Len(), len(model), err)
	}
	err := tb.Update(func(k spill.Key, v uint64) uint64 { return v &^ 2 })
	for k, v := range model {
		if model[k] = v &^ 2; model[k] == 0 {
			delete(model, k)
		}
	}
	if err != nil || tb.Len() != len(model) {
		t.Fatalf("after Update: Len %d, want %d; %v", tb.Len(), len(model), err)
	}
	seen := 0
	err = tb.Range(func(k spill.Key, v uint64) bool {
		if model[k] != v {
			t.Errorf("Range: %v = %d, want %d", k, v, model[k])
		}
		seen++
		return true
	})
	if err != nil || seen != len(model) {
		t.Fatalf("Range saw %d of %d: %v", seen, len(model), err)
	}
	checkRemoved(t, dir, tb)
}

// checkRemoved fails unless dir is empty once c is closed, and, where an
// open file can be removed, while it is still open.
func checkRemoved(t *testing.T, dir string, c interface{ Close() error }) {
	t.Helper()
	if names, _ := os.ReadDir(dir); runtime.GOOS != "windows" && len(names) != 0 {
		t.Errorf("the open file has a name: %v", names)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("left after Close: %v", names)
	}
}

// TestTableMemory: a table of a million entries holds a few MiB of heap
// (what it keeps in memory, a filter and a cache), where a map would hold
// over 40 MiB.
func TestTableMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a million entries")
	}
	tb := &spill.Table{Dir: t.TempDir()}
	defer tb.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 1 << 20 {
		tb.Set(spill.Key{uint64(i)*0x9e3779b97f4a7c15 + 1, uint64(i)}, 1)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if err := tb.Err(); err != nil || tb.Len() != 1<<20 {
		t.Fatalf("Len %d: %v", tb.Len(), err)
	}
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 8<<20 {
		t.Errorf("a million entries hold %d KiB of heap", grew>>10)
	}
}

// TestLog reads back records appended before and after the log moved to
// a file, and a patch on each side.
func TestLog(t *testing.T) {
	dir := t.TempDir()
	l := &spill.Log{MemBytes: 1000, Dir: dir}
	var offs []int64
	var recs [][]byte
	for i := range 300 {
		rec := bytes.Repeat([]byte{byte(i)}, 1+i%17)
		offs = append(offs, l.Append(rec))
		recs = append(recs, rec)
	}
	for _, i := range []int{3, 250} {
		recs[i][0] = 0xee
		if _, err := l.WriteAt(recs[i][:1], offs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, rec := range recs {
		got := make([]byte, len(rec))
		if _, err := l.ReadAt(got, offs[i]); err != nil || !bytes.Equal(got, rec) {
			t.Fatalf("record %d: %x, %v; want %x", i, got, err, rec)
		}
	}
	if _, err := l.ReadAt(make([]byte, 2), l.Size()-1); err == nil {
		t.Fatal("read past the end")
	}
	checkRemoved(t, dir, l)
}
