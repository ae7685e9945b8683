package server_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRedteam2JournalPlantedLink: a symbolic link, and a hard link, to a
// victim file planted at a repository's journal: pushes and a restart
// leave the victim byte for byte as it was, and every tag is kept.
func TestRedteam2JournalPlantedLink(t *testing.T) {
	for _, hard := range []bool{false, true} {
		s := start(t, nil)
		s.push("a", "v1", newImage("one", 100, nil))
		victim := filepath.Join(t.TempDir(), "victim")
		want := []byte("precious\n")
		if err := os.WriteFile(victim, want, 0o644); err != nil {
			t.Fatal(err)
		}
		j := journalOf(s.root, "a")
		os.Remove(j)
		plant := os.Symlink
		if hard {
			plant = os.Link
		}
		if err := plant(victim, j); err != nil {
			t.Fatal(err)
		}
		s.push("a", "v2", newImage("two", 100, nil))
		s.push("a", "v3", newImage("three", 100, nil))
		s.Close()
		if got := startAt(t, s.root, nil).tags("a"); len(got) != 3 {
			t.Errorf("hard %v: tags %v after a restart", hard, got)
		}
		if got, _ := os.ReadFile(victim); !bytes.Equal(got, want) {
			t.Errorf("hard %v: the victim now holds %q", hard, got)
		}
	}
}
