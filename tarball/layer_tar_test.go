package tarball_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

func writeTarLayer(t *testing.T, in []byte, opts *tarball.LayerOptions) ([]byte, manifest.Descriptor, manifest.Digest, error) {
	t.Helper()
	var out bytes.Buffer
	desc, diffID, err := tarball.WriteTarLayer(context.Background(), &out, bytes.NewReader(in), opts)
	return out.Bytes(), desc, diffID, err
}

func TestWriteTarLayerGzipPassthrough(t *testing.T) {
	plain := testtool.Tar(t, tDir("app/"), tReg("app/main", strings.Repeat("code ", 1000)))
	var zbuf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zbuf, gzip.BestSpeed)
	zw.Name, zw.ModTime = "not-canonical.tar", time.Now() // must survive untouched
	zw.Write(plain)
	zw.Close()
	in := zbuf.Bytes()
	for _, mt := range []string{"", manifest.MediaTypeDockerLayer} {
		out, desc, diffID, err := writeTarLayer(t, in, &tarball.LayerOptions{MediaType: mt})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, in) {
			t.Errorf("%q: gzip input was rewritten", mt)
		}
		if desc.Digest != manifest.FromBytes(in) || desc.Size != int64(len(in)) {
			t.Errorf("%q: descriptor %+v", mt, desc)
		}
		if diffID != manifest.FromBytes(plain) {
			t.Errorf("%q: diffID %s, want %s", mt, diffID, manifest.FromBytes(plain))
		}
	}
}

func TestWriteTarLayerPlainInput(t *testing.T) {
	plain := testtool.Tar(t, tReg("a", "alpha"), tSym("b", "a"))
	out, desc, diffID, err := writeTarLayer(t, plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(testtool.Gunzip(t, out), plain) {
		t.Errorf("plain tar changed on the way")
	}
	if desc.Digest != manifest.FromBytes(out) || desc.Size != int64(len(out)) || diffID != manifest.FromBytes(plain) {
		t.Errorf("descriptor %+v diffID %s", desc, diffID)
	}
	unc := &tarball.LayerOptions{MediaType: manifest.MediaTypeOCILayer}
	for _, in := range [][]byte{plain, testtool.Gzip(t, plain, gzip.DefaultCompression)} {
		out, desc, diffID, err := writeTarLayer(t, in, unc)
		if err != nil || !bytes.Equal(out, plain) || desc.Digest != diffID || diffID != manifest.FromBytes(plain) {
			t.Errorf("uncompressed output: err %v, same %v, %s vs %s", err, bytes.Equal(out, plain), desc.Digest, diffID)
		}
	}
}

func TestWriteTarLayerRefuses(t *testing.T) {
	for name, in := range map[string][]byte{
		"xz":    {0xfd, '7', 'z', 'X', 'Z', 0, 1, 2},
		"bzip2": []byte("BZh91AY&SY"),
	} {
		_, _, _, err := writeTarLayer(t, in, nil)
		if !errors.Is(err, tarball.ErrUnsupportedCompression) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if _, _, _, err := writeTarLayer(t, nil, nil); err == nil {
		t.Errorf("empty input accepted")
	}
	if _, _, _, err := writeTarLayer(t, []byte{0x1f, 0x8b, 8, 0, 1, 2}, nil); err == nil {
		t.Errorf("truncated gzip accepted")
	}
}

func TestWriteTarLayerBomb(t *testing.T) {
	bomb := testtool.Gzip(t, make([]byte, 8<<20), gzip.DefaultCompression)
	opts := &tarball.LayerOptions{MaxUncompressed: 1 << 20}
	for _, mt := range []string{manifest.MediaTypeOCILayerGzip, manifest.MediaTypeOCILayer} {
		opts.MediaType = mt
		_, _, _, err := writeTarLayer(t, bomb, opts)
		var le *manifest.LimitError
		if !errors.As(err, &le) || le.Limit != 1<<20 {
			t.Errorf("%s: err %v, want *manifest.LimitError", mt, err)
		}
	}
}

func TestWriteTarLayerCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := tarball.WriteTarLayer(ctx, io.Discard, bytes.NewReader(testtool.Tar(t, tReg("a", "b"))), nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
}

func TestLayerFromTar(t *testing.T) {
	plain := testtool.Tar(t, tReg("x", "y"))
	l, err := tarball.LayerFromTar(context.Background(), bytes.NewReader(plain), &tarball.LayerOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Remove()
	rc, _ := l.Open()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(testtool.Gunzip(t, b), plain) || l.DiffID != manifest.FromBytes(plain) {
		t.Errorf("read back: %v", err)
	}
}
