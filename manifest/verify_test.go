package manifest_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/skiffoci/skiff/manifest"
)

func descOf(b []byte) manifest.Descriptor {
	return manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, b)
}

func TestVerifyingReaderAccepts(t *testing.T) {
	data := bytes.Repeat([]byte("skiff"), 10000)
	r := manifest.NewVerifyingReader(iotest.HalfReader(bytes.NewReader(data)), descOf(data))
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll = %d bytes, %v", len(got), err)
	}
	if err := iotest.TestReader(manifest.NewVerifyingReader(bytes.NewReader(data), descOf(data)), data); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyingReaderRejects(t *testing.T) {
	data := []byte("the quick brown fox")
	flipped := bytes.Clone(data)
	flipped[3] ^= 1
	tests := []struct {
		name string
		body []byte
		want error
		text string
	}{
		{"one byte short", data[:len(data)-1], manifest.ErrSizeMismatch, "expected 19 bytes, got 18"},
		{"one byte long", append(bytes.Clone(data), 'x'), manifest.ErrSizeMismatch, "more than the expected 19 bytes"},
		{"right length wrong hash", flipped, manifest.ErrDigestMismatch, "expected " + string(manifest.FromBytes(data))},
		{"empty", nil, manifest.ErrSizeMismatch, "got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := io.ReadAll(manifest.NewVerifyingReader(bytes.NewReader(tt.body), descOf(data)))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("err = %v; want %v containing %q", err, tt.want, tt.text)
			}
			if len(got) > len(data) {
				t.Fatalf("returned %d bytes, more than the descriptor's %d", len(got), len(data))
			}
		})
	}
}

// countingReader counts the bytes taken from an endless source.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func TestVerifyingReaderNeverReadsPastSize(t *testing.T) {
	src := &countingReader{}
	desc := manifest.Descriptor{Digest: manifest.FromBytes(make([]byte, 1000)), Size: 1000}
	_, err := io.ReadAll(manifest.NewVerifyingReader(src, desc))
	if !errors.Is(err, manifest.ErrSizeMismatch) {
		t.Fatalf("endless source: err = %v, want size mismatch", err)
	}
	if src.n > 1001 {
		t.Fatalf("read %d bytes from the source, want at most size+1", src.n)
	}
}

func TestVerifyingReaderInvalidDigest(t *testing.T) {
	_, err := io.ReadAll(manifest.NewVerifyingReader(strings.NewReader("x"), manifest.Descriptor{Digest: "sha256:../x", Size: 1}))
	if !errors.Is(err, manifest.ErrInvalidDigest) {
		t.Fatalf("err = %v", err)
	}
}

func TestVerifyingReaderStickyError(t *testing.T) {
	r := manifest.NewVerifyingReader(strings.NewReader("abc"), descOf([]byte("abd")))
	io.ReadAll(r)
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("second read err = %v, want the same mismatch", err)
	}
}

func TestVerifyingReaderSizeUnknown(t *testing.T) {
	data := []byte("abc")
	desc := descOf(data)
	desc.Size = manifest.SizeUnknown
	if _, err := io.ReadAll(manifest.NewVerifyingReader(bytes.NewReader(data), desc)); err != nil {
		t.Fatal(err)
	}
	_, err := io.ReadAll(manifest.NewVerifyingReader(strings.NewReader("abd"), desc))
	if !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("err = %v", err)
	}
}

func TestReadLimited(t *testing.T) {
	if b, err := manifest.ReadLimited(strings.NewReader("12345"), 5, "thing"); err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q, %v", b, err)
	}
	src := &countingReader{}
	_, err := manifest.ReadLimited(src, 1<<20, "manifest")
	var le *manifest.LimitError
	if !errors.As(err, &le) || le.Limit != 1<<20 || !strings.Contains(err.Error(), "manifest exceeds") {
		t.Fatalf("endless: err = %v", err)
	}
	if src.n > 1<<20+512 {
		t.Fatalf("read %d bytes past a 1 MiB limit", src.n)
	}
}

func TestReadAllVerified(t *testing.T) {
	data := []byte(`{"a":1}`)
	if b, err := manifest.ReadAllVerified(bytes.NewReader(data), descOf(data), 100); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("%q, %v", b, err)
	}
	var le *manifest.LimitError
	if _, err := manifest.ReadAllVerified(bytes.NewReader(data), descOf(data), 3); !errors.As(err, &le) {
		t.Fatalf("over limit: %v", err)
	}
}
