package tarball_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os/exec"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/internal/zstd"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// zstdOf frames b as zstd without compressing it: RLE blocks for runs of
// one byte, raw blocks for the rest. It is a valid stream (the zstd
// command reads it) made without the zstd command, and an RLE block turns
// 4 bytes into 128 KiB, which makes bombs.
func zstdOf(b []byte) []byte {
	type block struct {
		kind, size int
		data       []byte
	}
	var blocks []block
	for len(b) > 0 {
		if n := runLen(b); n >= 64 {
			blocks = append(blocks, block{1, n, b[:1]})
			b = b[n:]
			continue
		}
		n := 1
		for n < len(b) && n < 128<<10 && runLen(b[n:]) < 64 {
			n++
		}
		blocks = append(blocks, block{0, n, b[:n]})
		b = b[n:]
	}
	if len(blocks) == 0 {
		blocks = append(blocks, block{})
	}
	out := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 13 << 3} // no size or checksum, an 8 MiB window
	for i, bl := range blocks {
		h := bl.size<<3 | bl.kind<<1
		if i == len(blocks)-1 {
			h |= 1
		}
		out = append(append(out, byte(h), byte(h>>8), byte(h>>16)), bl.data...)
	}
	return out
}

// runLen is how many bytes at the start of b equal the first, up to a
// block.
func runLen(b []byte) int {
	n := 1
	for n < len(b) && n < 128<<10 && b[n] == b[0] {
		n++
	}
	return n
}

// zstdBomb is a zstd tar holding one 16 MiB file of zeros: about 600
// bytes that inflate thirty-thousandfold.
func zstdBomb(t testing.TB) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: 16 << 20})
	tw.Write(make([]byte, 16<<20))
	tw.Close()
	z := zstdOf(buf.Bytes())
	if len(z) > 1024 {
		t.Fatalf("the zstd bomb is %d bytes", len(z))
	}
	return z
}

// zstdCommand compresses b with the zstd command, or returns nil when it
// is missing (the raw frames of zstdOf cover the same paths without it).
func zstdCommand(t testing.TB, b []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("zstd"); err != nil {
		return nil
	}
	cmd := exec.Command("zstd", "-q", "-c", "-19")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zstd: %v", err)
	}
	return out
}

// TestFlattenZstd flattens zstd layers, next to gzip and plain ones: the
// result is the same as from the same layers uncompressed.
func TestFlattenZstd(t *testing.T) {
	base := testtool.Tar(t, tReg("etc/os-release", "ID=skiff\n"), tReg("bin/sh", "#!"), tReg("gone", "x"))
	mid := testtool.Tar(t, tReg("etc/motd", "hello\n"), tReg(".wh.gone", ""))
	top := testtool.Tar(t, tReg("app/main", string(bytes.Repeat([]byte("layer "), 50000))))
	var want bytes.Buffer
	if err := tarball.Flatten(context.Background(), &want, openers(base, mid, top), nil); err != nil {
		t.Fatal(err)
	}
	stacks := [][][]byte{
		{zstdOf(base), testtool.Gzip(t, mid, gzip.DefaultCompression), zstdOf(top)},
		{zstdOf(base), zstdOf(mid), top},
	}
	if z := zstdCommand(t, top); z != nil {
		stacks = append(stacks, [][]byte{base, zstdCommand(t, mid), z})
	}
	for i, layers := range stacks {
		var got bytes.Buffer
		if err := tarball.Flatten(context.Background(), &got, openers(layers...), nil); err != nil {
			t.Fatalf("stack %d: %v", i, err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("stack %d: flattened %d bytes, want the %d of the plain layers", i, got.Len(), want.Len())
		}
	}
}

// TestFlattenCorruptZstd fails cleanly on zstd layers that are not.
func TestFlattenCorruptZstd(t *testing.T) {
	good := zstdOf(testtool.Tar(t, tReg("a", "1")))
	for name, layer := range map[string][]byte{
		"truncated":      good[:len(good)-5],
		"magic only":     {0x28, 0xb5, 0x2f, 0xfd},
		"reserved block": {0x28, 0xb5, 0x2f, 0xfd, 0x00, 13 << 3, 0x07, 0, 0},
	} {
		err := tarball.Flatten(context.Background(), io.Discard, openers(layer), nil)
		if !errors.Is(err, zstd.ErrCorrupt) {
			t.Errorf("%s: err %v, want zstd.ErrCorrupt", name, err)
		}
	}
}

// TestWriteTarLayerZstd passes a zstd tar through as a zstd layer,
// whatever compressed media type is asked: the descriptor names the bytes
// as given, the diffID the tar inside. For an uncompressed layer it is
// decompressed; a plain tar cannot become a zstd layer.
func TestWriteTarLayerZstd(t *testing.T) {
	plain := testtool.Tar(t, tReg("a", "hello"), tReg("b", string(make([]byte, 300<<10))))
	for _, in := range [][]byte{zstdOf(plain), zstdCommand(t, plain)} {
		if in == nil {
			continue
		}
		for _, mt := range []string{"", manifest.MediaTypeOCILayerGzip, manifest.MediaTypeDockerLayer, manifest.MediaTypeOCILayerZstd} {
			out, desc, diffID, err := writeTarLayer(t, in, &tarball.LayerOptions{MediaType: mt})
			if err != nil {
				t.Fatalf("%q: %v", mt, err)
			}
			if !bytes.Equal(out, in) || desc.MediaType != manifest.MediaTypeOCILayerZstd ||
				desc.Digest != manifest.FromBytes(in) || desc.Size != int64(len(in)) || diffID != manifest.FromBytes(plain) {
				t.Errorf("%q: same bytes %v, descriptor %+v, diffID %s", mt, bytes.Equal(out, in), desc, diffID)
			}
		}
		out, desc, diffID, err := writeTarLayer(t, in, &tarball.LayerOptions{MediaType: manifest.MediaTypeOCILayer})
		if err != nil || !bytes.Equal(out, plain) || desc.Digest != diffID || diffID != manifest.FromBytes(plain) {
			t.Errorf("uncompressed: err %v, decompressed %v, %s vs %s", err, bytes.Equal(out, plain), desc.Digest, diffID)
		}
	}
	for name, in := range map[string][]byte{"plain": plain, "gzip": testtool.Gzip(t, plain, gzip.DefaultCompression)} {
		if _, _, _, err := writeTarLayer(t, in, &tarball.LayerOptions{MediaType: manifest.MediaTypeOCILayerZstd}); err == nil {
			t.Errorf("a %s tar became a zstd layer", name)
		}
	}
	bad := zstdOf(plain)
	if _, _, _, err := writeTarLayer(t, bad[:len(bad)-100], nil); !errors.Is(err, zstd.ErrCorrupt) {
		t.Errorf("truncated zstd: err %v, want zstd.ErrCorrupt", err)
	}
}

// TestWriteTarLayerZstdBomb stops a zstd bomb at the budget, passed through
// or decompressed.
func TestWriteTarLayerZstdBomb(t *testing.T) {
	for _, mt := range []string{manifest.MediaTypeOCILayerZstd, manifest.MediaTypeOCILayer} {
		_, _, _, err := writeTarLayer(t, zstdBomb(t), &tarball.LayerOptions{MediaType: mt, MaxUncompressed: 1 << 20})
		var le *manifest.LimitError
		if !errors.As(err, &le) || le.Limit != 1<<20 {
			t.Errorf("%s: err %v, want a *manifest.LimitError", mt, err)
		}
	}
}

// TestOpenZstdBudget stops a zstd-compressed tarball at the budget.
func TestOpenZstdBudget(t *testing.T) {
	images, _, _ := goldenImages(t)
	b := zstdOf(writeTarball(t, images, nil))
	if _, err := tarball.Open(bytes.NewReader(b), int64(len(b)), &tarball.OpenOptions{TempDir: t.TempDir()}); err != nil {
		t.Fatalf("zstd tarball: %v", err)
	}
	err := openErr(t, b, &tarball.OpenOptions{TempDir: t.TempDir(), MaxUncompressed: 4096})
	if !isErr[*manifest.LimitError](err) {
		t.Errorf("zstd tarball over budget: %v, want a *LimitError", err)
	}
}
