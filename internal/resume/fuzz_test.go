package resume

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzState reads arbitrary bytes as a state file: opening, loading and
// summing its checkpoints never panic, a checkpoint loads only when its
// checksum holds, and a file of another key or count starts empty.
func FuzzState(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "seed")
	s, _ := openStatePath(good, [32]byte{1}, 2, false)
	s.Save(0, Checkpoint{N: 1 << 20, State: bytes.Repeat([]byte{7}, 108)})
	s.Save(1, Checkpoint{N: 5, State: []byte("x")})
	s.Save(1, Checkpoint{N: 9, State: []byte("y")})
	s.Close()
	raw, _ := os.ReadFile(good)
	f.Add(raw)
	f.Add(raw[:headerSize])
	f.Add([]byte{})
	work := f.TempDir() // one directory: a new one per input is slow
	f.Fuzz(func(t *testing.T, data []byte) {
		tmp, err := os.CreateTemp(work, "state-")
		if err != nil {
			t.Fatal(err)
		}
		path := tmp.Name()
		defer os.Remove(path)
		_, err = tmp.Write(data)
		if err = errors.Join(err, tmp.Close()); err != nil {
			t.Fatal(err)
		}
		Progress(path) // must not panic, whatever the bytes
		s, err := openStatePath(path, [32]byte{1}, 2, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for i := range 2 {
			c, ok := s.Load(i)
			if ok && (c.N < 0 || len(c.State) > maxState) {
				t.Fatalf("record %d loaded out of bounds: %+v", i, c)
			}
		}
		if !bytes.Equal(data, raw) && len(data) == len(raw) && !s.Fresh() {
			// Same size, other bytes, kept: only records may differ, and
			// every record that loads passed its checksum.
			if !bytes.Equal(data[:headerSize], raw[:headerSize]) {
				t.Fatal("a state file with another header was kept")
			}
		}
	})
}
