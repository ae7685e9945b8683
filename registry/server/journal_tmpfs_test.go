//go:build linux

package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/layout"
)

// TestIndexEditUndoneOnFullDisk: an edit the journal took but index.json
// could not (the disk filled up between the two) is answered 507 and
// taken back out of the journal: neither this server nor the next one
// started on the root lists the tag, and once there is room the same
// push succeeds and stays.
func TestIndexEditUndoneOnFullDisk(t *testing.T) {
	root := tmpfs(t)
	s := startAt(t, root, nil)
	im := newImage("one", 100, nil)
	s.push("a", "v0", im)
	s.Close()
	// 2,000 tags of one image: an index.json of some 380 KB.
	entry, _ := json.Marshal(im.desc)
	var idx strings.Builder
	idx.WriteString(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`)
	var want []string
	for i := range 2000 {
		tag := fmt.Sprintf("t%04d", i)
		want = append(want, tag)
		if i > 0 {
			idx.WriteByte(',')
		}
		idx.WriteString(strings.Replace(string(entry), `}`, `,"annotations":{"org.opencontainers.image.ref.name":"`+tag+`"}}`, 1))
	}
	idx.WriteString(`]}`)
	index := filepath.Join(root, "a", layout.IndexFile)
	writeFile(t, index, []byte(idx.String()))

	s = startAt(t, root, nil)
	s.push("a", "first", im) // begins the journal with the index as it is
	want = append(want, "first")
	slices.Sort(want)
	next := newImage("two", 100, nil)
	s.pushBlob("a", next.config)
	s.pushBlob("a", next.layer)
	before := readFile(t, index)
	fill(t, filepath.Join(root, "filler"), free(t, root)-int64(len(before))/2)
	s.putManifest("a", "late", next.raw).wantNoSpace(t)
	if got := s.tags("a"); !slices.Equal(got, want) {
		t.Fatalf("%d tags after the failed push, want %d", len(got), len(want))
	}
	if !bytes.Equal(readFile(t, index), before) {
		t.Fatal("index.json changed")
	}
	if got := startAt(t, root, nil).tags("a"); !slices.Equal(got, want) {
		t.Fatalf("%d tags after a restart, want %d: the journal kept the failed edit", len(got), len(want))
	}

	os.Remove(filepath.Join(root, "filler"))
	s.putManifest("a", "late", next.raw).want(t, 201)
	want = append(want, "late")
	slices.Sort(want)
	if got := startAt(t, root, nil).tags("a"); !slices.Equal(got, want) {
		t.Fatalf("%d tags after room came back and a restart, want %d", len(got), len(want))
	}
	checkLayout(t, root, "a")
}
