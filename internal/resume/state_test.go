package resume

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

func TestStateSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".x"+StateSuffix)
	key := [32]byte{1}
	s, err := openStatePath(path, key, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Fresh() {
		t.Fatal("a new state file is not fresh")
	}
	if _, ok := s.Load(1); ok {
		t.Fatal("an empty record loaded")
	}
	for n := int64(1); n <= 5; n++ {
		if err := s.Save(1, Checkpoint{N: n << 20, State: []byte{byte(n), 2, 3}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = openStatePath(path, key, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, ok := s.Load(1)
	if s.Fresh() || !ok || c.N != 5<<20 || !bytes.Equal(c.State, []byte{5, 2, 3}) {
		t.Fatalf("reopened: fresh %v, %+v %v", s.Fresh(), c, ok)
	}
	if _, ok := s.Load(0); ok {
		t.Fatal("record 0 was never saved but loads")
	}
}

// TestStateTornSlot: a write torn by a power cut damages one slot; the
// other, older checkpoint is used.
func TestStateTornSlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".x"+StateSuffix)
	s, err := openStatePath(path, [32]byte{}, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	s.Save(0, Checkpoint{N: 10, State: []byte("old")})
	s.Save(0, Checkpoint{N: 20, State: []byte("new")}) // sequence 2: slot 0
	s.Close()
	raw, _ := os.ReadFile(path)
	raw[headerSize+30] ^= 0xff // inside slot 0
	os.WriteFile(path, raw, 0o644)
	s, _ = openStatePath(path, [32]byte{}, 1, false)
	defer s.Close()
	if c, ok := s.Load(0); !ok || c.N != 10 || string(c.State) != "old" {
		t.Fatalf("after a torn slot: %+v %v, want the older checkpoint", c, ok)
	}
	s.Save(0, Checkpoint{N: 30, State: []byte("newer")}) // must go over the torn slot
	if c, _ := s.Load(0); c.N != 30 {
		t.Fatalf("saved over the wrong slot: %+v", c)
	}
}

// TestStateOtherContentStartsOver: another key, another count or fresh
// discard the checkpoints.
func TestStateOtherContentStartsOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".x"+StateSuffix)
	s, _ := openStatePath(path, [32]byte{1}, 2, false)
	s.Save(0, Checkpoint{N: 10, State: []byte("x")})
	s.Close()
	for name, open := range map[string]func() (*State, error){
		"other key":   func() (*State, error) { return openStatePath(path, [32]byte{2}, 2, false) },
		"other count": func() (*State, error) { return openStatePath(path, [32]byte{1}, 3, false) },
		"fresh":       func() (*State, error) { return openStatePath(path, [32]byte{1}, 2, true) },
	} {
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Load(0); ok || !s.Fresh() {
			t.Errorf("%s: the old checkpoint survived", name)
		}
		s.Close()
		s, _ = openStatePath(path, [32]byte{1}, 2, false)
		s.Save(0, Checkpoint{N: 10, State: []byte("x")})
		s.Close()
	}
}

func TestStateLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".x"+StateSuffix)
	s, err := openStatePath(path, [32]byte{}, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openStatePath(path, [32]byte{}, 1, false); !errors.Is(err, ErrLocked) {
		if lockWorks {
			t.Fatalf("a second open of a held state: %v, want ErrLocked", err)
		}
	}
	s.Close()
	s, err = openStatePath(path, [32]byte{}, 1, false)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	s.Remove()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("Remove left the state file")
	}
}

// TestStateOldFormatStartsOver: a state file of format 1 (256-byte slots,
// no spans), as skiff before ranged fetches left it, is discarded: the
// state starts empty, and whoever opens its partial file starts that
// anew too (Fresh).
func TestStateOldFormatStartsOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".x"+StateSuffix)
	key := [32]byte{9}
	h := make([]byte, headerSize)
	copy(h, "skiff-resume\x00\x00\x00\x01")
	copy(h[16:], key[:])
	binary.LittleEndian.PutUint32(h[48:], 2)
	binary.LittleEndian.PutUint32(h[headerSize-4:], crc32.ChecksumIEEE(h[:headerSize-4]))
	old := append(h, make([]byte, 2*512)...) // two records of two 256-byte slots
	slot := old[headerSize:]
	binary.LittleEndian.PutUint64(slot[0:], 1)     // seq
	binary.LittleEndian.PutUint64(slot[8:], 5<<20) // N
	binary.LittleEndian.PutUint32(slot[252:], crc32.ChecksumIEEE(slot[:252]))
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Progress(path); err == nil {
		t.Fatal("Progress read a format 1 file")
	}
	s, err := openStatePath(path, key, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.Load(0); ok || !s.Fresh() {
		t.Fatalf("a format 1 checkpoint survived (fresh %v)", s.Fresh())
	}
	if fi, _ := os.Stat(path); fi.Size() != headerSize+2*recordSize {
		t.Fatalf("the state file is %d bytes, want format 2's %d", fi.Size(), headerSize+2*recordSize)
	}
}

// TestStateSpans: spans round-trip, and a checkpoint keeps MaxSpans of
// them.
func TestStateSpans(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".x"+StateSuffix)
	s, err := openStatePath(path, [32]byte{}, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var spans []Span
	for i := range MaxSpans + 3 {
		spans = append(spans, Span{Start: int64(i+2) << 23, Len: 1<<23 - int64(i), CRC: uint32(i * 7)})
	}
	if err := s.Save(0, Checkpoint{N: 1 << 23, State: []byte("h"), Spans: spans}); err != nil {
		t.Fatal(err)
	}
	c, ok := s.Load(0)
	if !ok || c.N != 1<<23 || len(c.Spans) != MaxSpans {
		t.Fatalf("loaded %+v %v", c, ok)
	}
	for i, sp := range c.Spans {
		if sp != spans[i] {
			t.Fatalf("span %d: %+v, saved %+v", i, sp, spans[i])
		}
	}
	if err := s.Save(0, Checkpoint{N: 1, Spans: []Span{{Start: 5, Len: 1 << 32}}}); err == nil {
		t.Fatal("a span of 4 GiB saved")
	}
}
