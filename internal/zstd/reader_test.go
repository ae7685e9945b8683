package zstd_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"testing/iotest"

	"github.com/skiffoci/skiff/internal/zstd"
)

// TestReaderConformance runs the standard library's reader checks, with
// the compressed input arriving a byte at a time and in halves.
func TestReaderConformance(t *testing.T) {
	data := layer(t, 300<<10, 20)
	z := compressFile(t, data, "-5")
	for name, in := range map[string]io.Reader{
		"whole":    bytes.NewReader(z),
		"one byte": iotest.OneByteReader(bytes.NewReader(z)),
		"halves":   iotest.HalfReader(bytes.NewReader(z)),
		"data+EOF": iotest.DataErrReader(bytes.NewReader(z)),
	} {
		if err := iotest.TestReader(zstd.NewReader(in, nil), data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestReaderSmallReads reads with buffers smaller than a block.
func TestReaderSmallReads(t *testing.T) {
	data := layer(t, 200<<10, 21)
	z := compressFile(t, data)
	for _, size := range []int{1, 7, 4096} {
		zr := zstd.NewReader(bytes.NewReader(z), nil)
		var got []byte
		buf := make([]byte, size)
		for {
			n, err := zr.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("read %d: %v", size, err)
			}
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("reads of %d bytes gave %d bytes that differ", size, len(got))
		}
	}
}

type failingWriter struct{ after int }

var errWrite = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		n := w.after
		w.after = 0
		return n, errWrite
	}
	w.after -= len(p)
	return len(p), nil
}

// TestReaderWriteTo checks WriteTo, which io.Copy uses, and that it
// reports the writer's error.
func TestReaderWriteTo(t *testing.T) {
	data := layer(t, 500<<10, 22)
	z := compressFile(t, data)
	var b bytes.Buffer
	n, err := zstd.NewReader(bytes.NewReader(z), nil).WriteTo(&b)
	if err != nil || n != int64(len(data)) || !bytes.Equal(b.Bytes(), data) {
		t.Fatalf("WriteTo = %d, %v; want %d bytes equal to the input", n, err, len(data))
	}
	n, err = zstd.NewReader(bytes.NewReader(z), nil).WriteTo(&failingWriter{after: 1000})
	if !errors.Is(err, errWrite) || n != 1000 {
		t.Fatalf("WriteTo to a failing writer = %d, %v; want 1000, %v", n, err, errWrite)
	}
	_, err = zstd.NewReader(bytes.NewReader(z[:len(z)-10]), nil).WriteTo(io.Discard)
	wantError(t, err, io.ErrUnexpectedEOF)
}

// TestReaderReset decodes two streams with one Reader, and checks that the
// second reuses the buffers of the first.
func TestReaderReset(t *testing.T) {
	a, b := layer(t, 300<<10, 23), layer(t, 200<<10, 24)
	za, zb := compressFile(t, a), compressStdin(t, b, "-19")
	zr := zstd.NewReader(bytes.NewReader(za), nil)
	if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, a) {
		t.Fatalf("first stream: %d bytes, %v", len(got), err)
	}
	zr.Reset(bytes.NewReader(zb))
	if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, b) {
		t.Fatalf("second stream: %d bytes, %v", len(got), err)
	}
	allocs := testing.AllocsPerRun(5, func() {
		zr.Reset(bytes.NewReader(za))
		if _, err := zr.WriteTo(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("Reset and decode: %v allocations; want the buffers reused", allocs)
	}
	if err := zr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := zr.Read(make([]byte, 1)); err == nil || err == io.EOF {
		t.Errorf("Read after Close = %v; want an error", err)
	}
}

// skippable is a skippable frame (RFC 8878 section 3.1.2) with this magic
// number's low nibble.
func skippable(nibble byte, data []byte) []byte {
	h := make([]byte, 8)
	binary.LittleEndian.PutUint32(h, 0x184d2a50|uint32(nibble))
	binary.LittleEndian.PutUint32(h[4:], uint32(len(data)))
	return append(h, data...)
}

// TestSkippableFrames skips skippable frames before, between and after
// frames, as zstd:chunked writes them, with all 16 magic numbers.
func TestSkippableFrames(t *testing.T) {
	a, b := layer(t, 100<<10, 25), random(1000, 26)
	za, zb := compressFile(t, a), compressStdin(t, b)
	meta := []byte(`{"version":1,"entries":[]}`)
	var z []byte
	for i := range byte(16) {
		z = append(z, skippable(i, bytes.Repeat(meta, int(i)))...)
	}
	z = cat(z, za, skippable(3, nil), zb, skippable(15, random(70<<10, 27)))
	mustDecode(t, z, cat(a, b), nil)
	mustDecode(t, skippable(0, meta), nil, nil)
	_, err := decode(cat(za, skippable(1, meta)[:20]), nil)
	wantError(t, err, io.ErrUnexpectedEOF)
}

// TestReaderUnderlyingError passes the input's own errors through.
func TestReaderUnderlyingError(t *testing.T) {
	z := compressFile(t, layer(t, 200<<10, 28))
	in := io.MultiReader(bytes.NewReader(z[:len(z)/2]), iotest.ErrReader(os.ErrDeadlineExceeded))
	_, err := io.ReadAll(zstd.NewReader(in, nil))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("error %v; want the input's %v", err, os.ErrDeadlineExceeded)
	}
}

func ExampleNewReader() {
	// A frame holding one raw block: "hello, zstd\n".
	frame := []byte{
		0x28, 0xb5, 0x2f, 0xfd, // magic number
		0x20, 12, // single segment, content size 12
		0x61, 0x00, 0x00, // last block, raw, 12 bytes
		'h', 'e', 'l', 'l', 'o', ',', ' ', 'z', 's', 't', 'd', '\n',
	}
	zr := zstd.NewReader(bytes.NewReader(frame), nil)
	defer zr.Close()
	if _, err := io.Copy(os.Stdout, zr); err != nil {
		fmt.Println(err)
	}
	// Output: hello, zstd
}
