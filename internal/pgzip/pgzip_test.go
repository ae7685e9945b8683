package pgzip_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/pgzip"
)

const testBlock = 64 << 10

// randomBytes is n incompressible bytes, the same on every run.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

// textBytes is n compressible bytes: words drawn from a small vocabulary.
func textBytes(n int, seed uint64) []byte {
	words := []string{"layer ", "manifest ", "digest ", "sha256 ", "blob ", "index\n", "config ", "tar "}
	r := rand.New(rand.NewPCG(seed, seed))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.Bytes()[:n]
}

// compress gzips p through a Writer fed chunk bytes at a time (all at once
// when chunk is zero).
func compress(t testing.TB, p []byte, opts *pgzip.Options, chunk int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := pgzip.NewWriter(&buf, opts)
	if chunk <= 0 {
		chunk = max(len(p), 1)
	}
	for rest := p; len(rest) > 0; {
		k := min(chunk, len(rest))
		n, err := zw.Write(rest[:k])
		if err != nil || n != k {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, k)
		}
		rest = rest[k:]
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

func gunzip(t testing.TB, z []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatalf("gzip.NewReader: %v", err)
	}
	zr.Multistream(false)
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("compress/gzip: %v", err)
	}
	if rest, _ := io.ReadAll(zr); len(rest) != 0 {
		t.Fatalf("%d bytes after the gzip member", len(rest))
	}
	return got
}

// systemGunzip decompresses z with the gzip command, or returns nil when
// there is none and SKIFF_INTEGRATION is not set.
func systemGunzip(t *testing.T, z []byte) []byte {
	t.Helper()
	path, err := exec.LookPath("gzip")
	if err != nil {
		if os.Getenv("SKIFF_INTEGRATION") == "1" {
			t.Fatalf("SKIFF_INTEGRATION=1 but no gzip command: %v", err)
		}
		return nil
	}
	cmd := exec.Command(path, "-d", "-c")
	cmd.Stdin = bytes.NewReader(z)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gzip -d: %v: %s", err, stderr.Bytes())
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	if _, err := exec.LookPath("gzip"); err != nil && os.Getenv("SKIFF_INTEGRATION") != "1" {
		t.Log("no gzip command: checking with compress/gzip only")
	}
	sizes := []int{0, 1, testBlock - 1, testBlock, testBlock + 1, 2*testBlock - 1, 7*testBlock + 12345}
	kinds := map[string]func(int, uint64) []byte{"random": randomBytes, "text": textBytes}
	for kind, gen := range kinds {
		for _, n := range sizes {
			for _, level := range []int{0, 1, 9, -2} {
				t.Run(fmt.Sprintf("%s/%d/level%d", kind, n, level), func(t *testing.T) {
					in := gen(n, uint64(n))
					z := compress(t, in, &pgzip.Options{BlockSize: testBlock, Level: level}, 0)
					if got := gunzip(t, z); !bytes.Equal(got, in) {
						t.Fatalf("compress/gzip gives %d bytes, want %d", len(got), len(in))
					}
					if got := systemGunzip(t, z); got != nil && !bytes.Equal(got, in) {
						t.Fatalf("gzip -d gives %d bytes, want %d", len(got), len(in))
					}
				})
			}
		}
	}
}

func TestDefaultBlockSize(t *testing.T) {
	in := append(textBytes(3*pgzip.DefaultBlockSize/2, 1), randomBytes(pgzip.DefaultBlockSize+7, 2)...)
	z := compress(t, in, nil, 0)
	if got := gunzip(t, z); !bytes.Equal(got, in) {
		t.Fatal("round trip differs")
	}
	if got := systemGunzip(t, z); got != nil && !bytes.Equal(got, in) {
		t.Fatal("gzip -d gives different bytes")
	}
}

// The dictionary must reach back across blocks smaller than the window.
func TestSmallBlocks(t *testing.T) {
	text := textBytes(200<<10, 3)
	for _, tc := range []struct{ block, n int }{{1, 300}, {100, 40 << 10}, {4096, 200 << 10}, {40 << 10, 200 << 10}} {
		in := text[:tc.n]
		z := compress(t, in, &pgzip.Options{BlockSize: tc.block}, 0)
		if got := gunzip(t, z); !bytes.Equal(got, in) {
			t.Fatalf("block size %d: round trip differs", tc.block)
		}
	}
}

func TestDeterministic(t *testing.T) {
	in := append(textBytes(5*testBlock+99, 4), randomBytes(3*testBlock+1, 5)...)
	want := compress(t, in, &pgzip.Options{BlockSize: testBlock, Workers: 1}, 0)
	for _, workers := range []int{1, 2, 8} {
		for _, chunk := range []int{0, 1, 7, 4093, testBlock + 3} {
			if workers != 1 && chunk == 1 {
				continue // slow, and 1-byte writes are covered with one worker
			}
			got := compress(t, in, &pgzip.Options{BlockSize: testBlock, Workers: workers}, chunk)
			if !bytes.Equal(got, want) {
				t.Errorf("workers %d, writes of %d: output differs", workers, chunk)
			}
		}
	}
}

// Input that fits one block compresses exactly as compress/gzip does with
// the header skiff gives it, so small layers keep their digests.
func TestOneBlockMatchesStdlib(t *testing.T) {
	for _, level := range []int{gzip.DefaultCompression, gzip.BestSpeed, gzip.BestCompression, gzip.HuffmanOnly} {
		for _, n := range []int{0, 1, 1000, testBlock} {
			in := textBytes(n, 6)
			var want bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&want, level)
			zw.Header = gzip.Header{OS: 255}
			zw.Write(in)
			zw.Close()
			got := compress(t, in, &pgzip.Options{BlockSize: testBlock, Level: level}, 0)
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("level %d, %d bytes: differs from compress/gzip", level, n)
			}
		}
	}
}

// failWriter accepts limit bytes, then fails.
type failWriter struct{ limit int }

var errDisk = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errDisk
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestWriterError(t *testing.T) {
	in := randomBytes(20*testBlock, 7)
	for _, limit := range []int{0, 5, testBlock, 10 * testBlock} {
		zw := pgzip.NewWriter(&failWriter{limit: limit}, &pgzip.Options{BlockSize: testBlock, Workers: 2})
		var err error
		for p := in; len(p) > 0 && err == nil; p = p[min(len(p), 10000):] {
			_, err = zw.Write(p[:min(len(p), 10000)])
		}
		if err == nil {
			err = zw.Close()
		}
		if !errors.Is(err, errDisk) {
			t.Fatalf("limit %d: error %v, want %v", limit, err, errDisk)
		}
		if _, err := zw.Write([]byte("x")); !errors.Is(err, errDisk) {
			t.Errorf("limit %d: Write after failure = %v, want sticky %v", limit, err, errDisk)
		}
		if err := zw.Close(); !errors.Is(err, errDisk) {
			t.Errorf("limit %d: Close after failure = %v, want sticky %v", limit, err, errDisk)
		}
	}
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

func TestShortWrite(t *testing.T) {
	zw := pgzip.NewWriter(shortWriter{}, nil)
	zw.Write([]byte("hello"))
	if err := zw.Close(); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("Close = %v, want io.ErrShortWrite", err)
	}
}

func TestBadLevel(t *testing.T) {
	for _, level := range []int{10, -3} {
		var buf bytes.Buffer
		zw := pgzip.NewWriter(&buf, &pgzip.Options{Level: level})
		if _, err := zw.Write([]byte("x")); err == nil {
			t.Errorf("level %d: Write succeeded", level)
		}
		if err := zw.Close(); err == nil {
			t.Errorf("level %d: Close succeeded", level)
		}
		if buf.Len() != 0 {
			t.Errorf("level %d: wrote %d bytes", level, buf.Len())
		}
	}
}

func TestCloseTwiceAndWriteAfterClose(t *testing.T) {
	var buf bytes.Buffer
	zw := pgzip.NewWriter(&buf, nil)
	zw.Write([]byte("hello"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	n := buf.Len()
	if err := zw.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := zw.Write([]byte("x")); !errors.Is(err, pgzip.ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
	if buf.Len() != n {
		t.Fatal("bytes written after Close")
	}
	if got := gunzip(t, buf.Bytes()); string(got) != "hello" {
		t.Fatalf("got %q", got)
	}
}

// A Writer abandoned without Close leaves no goroutine behind.
func TestAbandonedWriterLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	zw := pgzip.NewWriter(io.Discard, &pgzip.Options{BlockSize: testBlock, Workers: 4})
	zw.Write(textBytes(10*testBlock, 8))
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before the Writer", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Each block is primed with the input before it: a block that repeats its
// predecessor compresses to almost nothing.
func TestDictionary(t *testing.T) {
	const bs = 16 << 10
	in := bytes.Repeat(randomBytes(bs, 9), 8)
	for _, level := range []int{0, gzip.DefaultCompression, 2, 6, 9} {
		z := compress(t, in, &pgzip.Options{BlockSize: bs, Level: level}, 0)
		if len(z) > bs+bs/2 {
			t.Errorf("level %d: %d bytes compress to %d: the dictionary was not used", level, len(in), len(z))
		}
		if got := gunzip(t, z); !bytes.Equal(got, in) {
			t.Fatalf("level %d: round trip differs", level)
		}
	}
}
