package iobuf

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// sizeRecorder records the largest write it is given.
type sizeRecorder struct {
	bytes.Buffer
	largest int
}

func (s *sizeRecorder) Write(p []byte) (int, error) {
	s.largest = max(s.largest, len(p))
	return s.Buffer.Write(p)
}

// ReadFrom would be used by io.Copy, and would defeat the buffer.
func (s *sizeRecorder) ReadFrom(io.Reader) (int64, error) {
	return 0, errors.New("ReadFrom must not be used")
}

func TestCopyUsesLargeBuffers(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 3*Size/16+7)
	var w sizeRecorder
	n, err := Copy(&w, bytes.NewReader(data)) // bytes.Reader has WriteTo
	if err != nil || n != int64(len(data)) || !bytes.Equal(w.Bytes(), data) {
		t.Fatalf("copied %d, %v", n, err)
	}
	if w.largest != Size {
		t.Fatalf("largest write %d bytes, want %d", w.largest, Size)
	}
}

func TestCopyToFile(t *testing.T) {
	data := bytes.Repeat([]byte{7}, Size+1)
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, err := Copy(f, io.MultiReader(bytes.NewReader(data))); err != nil || n != int64(len(data)) {
		t.Fatalf("copied %d, %v", n, err)
	}
	got, _ := os.ReadFile(f.Name())
	if !bytes.Equal(got, data) {
		t.Fatal("file differs")
	}
}

func TestCopyReturnsReadErrors(t *testing.T) {
	boom := errors.New("boom")
	if _, err := Copy(io.Discard, io.MultiReader(bytes.NewReader([]byte("x")), errReader{boom})); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
