package tarball_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/tarball"
)

func FuzzFlatten(f *testing.F) {
	seeds := [][]byte{
		testtool.Tar(f, tDir("a/"), tReg("a/b", "x"), tSym("s", "../../etc"), tHard("h", "a/b")),
		testtool.Tar(f, tReg("a/.wh.b", ""), tReg(".wh..wh..opq", ""), tReg("../x", "")),
		testtool.Tar(f, tHard("l", "t"), tReg("t", "old"), tHard("m", "l")),
		testtool.Gzip(f, testtool.Tar(f, tReg("g", "zip"), tReg("a/.wh..wh..opq", "")), gzip.DefaultCompression),
		sparseTar(f),
		{0x28, 0xb5, 0x2f, 0xfd},
	}
	for _, s := range seeds {
		f.Add(s, uint16(len(s)/2))
	}
	base := testtool.Tar(f, tDir("a/"), tReg("a/b", "base"), tReg("t", "base"), tHard("l", "t"), tReg("a/c", "c"))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		split := int(cut) % (len(data) + 1)
		layers := openers(base, data[:split], data[split:])
		var out, spilled bytes.Buffer
		opts := &tarball.ExportOptions{MaxUncompressed: 4 << 20}
		err := tarball.Flatten(context.Background(), &out, layers, opts)
		restore := tarball.SetSpill(4, 256) // what it remembers goes to files
		serr := tarball.Flatten(context.Background(), &spilled, layers, opts)
		restore()
		if fmt.Sprint(err) != fmt.Sprint(serr) || !bytes.Equal(out.Bytes(), spilled.Bytes()) {
			t.Fatalf("in memory %v, %d bytes; spilled %v, %d bytes", err, out.Len(), serr, spilled.Len())
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tarball: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		checkFlat(t, out.Bytes())
	})
}

// checkFlat fails unless b is a tar of unique, clean names, none of them a
// whiteout, whose hard links point at earlier entries.
func checkFlat(t *testing.T, b []byte) {
	tr := tar.NewReader(bytes.NewReader(b))
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("output is not a tar: %v", err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if clean, err := tarball.CleanPath(name); err != nil || clean != name || seen[name] {
			t.Fatalf("bad or repeated name %q", hdr.Name)
		}
		if strings.Contains(name, ".wh.") && strings.HasPrefix(name[strings.LastIndex(name, "/")+1:], ".wh.") {
			t.Fatalf("whiteout %q in the output", hdr.Name)
		}
		if hdr.Typeflag == tar.TypeLink && !seen[hdr.Linkname] {
			t.Fatalf("hard link %q to %q before its target", hdr.Name, hdr.Linkname)
		}
		seen[name] = true
	}
}
