package resume

import (
	"bytes"
	"errors"
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
