package tarball_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

const smallBudget = 1 << 20

// zeroBomb is a gzip of a tar holding one 16 MiB file of zeros: about 16
// KiB that inflates a thousandfold.
func zeroBomb(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: 16 << 20})
	tw.Write(make([]byte, 16<<20))
	tw.Close()
	return testtool.Gzip(t, buf.Bytes(), gzip.DefaultCompression)
}

// paddedTar is a small tar followed by 4 MiB of zeros after its end.
func paddedTar(t testing.TB) []byte {
	return testtool.Gzip(t, append(testtool.Tar(t, tReg("a", "1")), make([]byte, 4<<20)...), gzip.DefaultCompression)
}

// sparseTar declares a PAX sparse file of 1 TB with no data at all, so the
// reader yields a terabyte of zeros from a few hundred bytes.
func sparseTar(t testing.TB) []byte {
	t.Helper()
	var recs string
	for _, kv := range [][2]string{{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"},
		{"GNU.sparse.name", "big"}, {"GNU.sparse.realsize", "1000000000000"}} {
		recs += paxRecord(kv[0], kv[1])
	}
	sparseMap := make([]byte, 512)
	copy(sparseMap, "0\n")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "pax", Typeflag: tar.TypeReg, Size: int64(len(recs))})
	io.WriteString(tw, recs)
	tw.WriteHeader(&tar.Header{Name: "GNUSparseFile.0/big", Typeflag: tar.TypeReg, Mode: 0o644, Size: 512})
	tw.Write(sparseMap)
	tw.Close()
	b := buf.Bytes()
	b[156] = tar.TypeXHeader // turn the first entry into the PAX header
	copy(b[148:156], checksum(b[:512]))
	return b
}

func paxRecord(k, v string) string {
	n := len(k) + len(v) + 3
	n += len(fmt.Sprint(n + len(fmt.Sprint(n))))
	return fmt.Sprintf("%d %s=%s\n", n, k, v)
}

func checksum(hdr []byte) []byte {
	sum := 0
	for i, c := range hdr {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int(c)
	}
	return []byte(fmt.Sprintf("%06o\x00 ", sum))
}

func TestExportBudget(t *testing.T) {
	opts := &tarball.ExportOptions{MaxUncompressed: smallBudget}
	for name, layer := range map[string][]byte{
		"gzip bomb": zeroBomb(t),
		"zstd bomb": zstdBomb(t),
		"padding":   paddedTar(t),
		"sparse":    sparseTar(t),
	} {
		for _, op := range []string{"flatten", "extract"} {
			start := time.Now()
			var err error
			if op == "flatten" {
				err = tarball.Flatten(context.Background(), io.Discard, openers(layer), opts)
			} else {
				err = tarball.Extract(context.Background(), filepath.Join(t.TempDir(), "r"), openers(layer), opts)
			}
			var le *manifest.LimitError
			if !errors.As(err, &le) || le.Limit != smallBudget {
				t.Errorf("%s, %s: err %v, want a *manifest.LimitError", name, op, err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("%s, %s: took %v", name, op, d)
			}
		}
	}
}

func TestExportBudgetIsShared(t *testing.T) {
	layer := testtool.Tar(t, tReg("f", string(make([]byte, 300<<10))))
	layers := openers(layer, layer, layer, layer)
	err := tarball.Flatten(context.Background(), io.Discard, layers, &tarball.ExportOptions{MaxUncompressed: smallBudget})
	var le *manifest.LimitError
	if !errors.As(err, &le) {
		t.Errorf("four 300 KiB layers under a 1 MiB budget: err %v", err)
	}
	if err := tarball.Flatten(context.Background(), io.Discard, layers[:2], &tarball.ExportOptions{MaxUncompressed: smallBudget}); err != nil {
		t.Errorf("two layers: %v", err)
	}
}

func TestSparseTarIsSparse(t *testing.T) {
	tr := tar.NewReader(bytes.NewReader(sparseTar(t)))
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "big" || hdr.Size != 1e12 {
		t.Fatalf("the sparse test archive is not what it claims: %+v, %v", hdr, err)
	}
}
