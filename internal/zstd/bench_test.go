package zstd_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/internal/zstd"
)

// The benchmarks decode 256 MiB shaped like a container layer (layerLike),
// compressed by the zstd command at levels 3 (its default) and 19, next to
// `zstd -d` on the same files:
//
//	go test -run '^$' -bench . -benchtime 5x ./internal/zstd
//
// Compressing 256 MiB at level 19 takes minutes, so the files are kept in
// $SKIFF_ZSTD_BENCH_DIR, or else the user's cache directory
// (~/.cache/skiff-zstd-bench), and made again only when missing.
const benchSize = 256 << 20

// benchVersion names the generator's output: change it when layerLike
// changes.
const benchVersion = "v1"

type benchFile struct {
	path string
	sum  string // SHA-256 of the uncompressed bytes
	size int64  // their length
	err  error
}

var benchFiles sync.Map // level -> *benchFile

// benchInput returns the compressed file for a level, making it if needed.
func benchInput(b *testing.B, level string) *benchFile {
	b.Helper()
	zstdCommand(b)
	v, _ := benchFiles.LoadOrStore(level, &benchFile{})
	f := v.(*benchFile)
	if f.path == "" && f.err == nil {
		f.path, f.sum, f.size, f.err = makeBenchInput(level)
	}
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f
}

// makeBenchInput returns the file's path, and the SHA-256 and length of
// what it decompresses to.
func makeBenchInput(level string) (path, sum string, size int64, err error) {
	dir := os.Getenv("SKIFF_ZSTD_BENCH_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", "", 0, err
		}
		dir = filepath.Join(cache, "skiff-zstd-bench")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", 0, err
	}
	base := filepath.Join(dir, "layer-256MiB-"+benchVersion)
	z := base + "-" + level + ".zst"
	tarPath := base + ".tar"
	if _, err := os.Stat(z); err != nil {
		if err := writeLayer(tarPath); err != nil {
			return "", "", 0, err
		}
		out, err := exec.Command("zstd", "-q", "-f", "-T0", "-"+level, tarPath, "-o", z+".tmp").CombinedOutput()
		if err != nil {
			return "", "", 0, fmt.Errorf("zstd: %v: %s", err, out)
		}
		if err := os.Rename(z+".tmp", z); err != nil {
			return "", "", 0, err
		}
	}
	if _, err := os.Stat(base + ".sha256"); err != nil {
		if err := writeLayer(tarPath); err != nil {
			return "", "", 0, err
		}
	}
	line, err := os.ReadFile(base + ".sha256")
	if err != nil {
		return "", "", 0, err
	}
	if _, err := fmt.Sscan(string(line), &sum, &size); err != nil {
		return "", "", 0, fmt.Errorf("%s.sha256: %v", base, err)
	}
	return z, sum, size, nil
}

// writeLayer writes the generated tar to path, unless it is there, and
// its SHA-256 and length next to it.
func writeLayer(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	h := sha256.New()
	cw := &countWriter{}
	err = layerLike(io.MultiWriter(f, h, cw), benchSize, 1)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(path, ".tar")
	if err := os.WriteFile(base+".sha256", fmt.Appendf(nil, "%x %d\n", h.Sum(nil), cw.n), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// onlyReader hides WriteTo, so io.Copy reads through Read.
type onlyReader struct{ io.Reader }

// BenchmarkDecode decodes the 256 MiB file: through WriteTo (what io.Copy
// uses) and through Read with io.Copy's 32 KiB buffer (what archive/tar
// sees).
func BenchmarkDecode(b *testing.B) {
	for _, level := range []string{"3", "19"} {
		for _, how := range []string{"WriteTo", "Read"} {
			b.Run("level"+level+"/"+how, func(b *testing.B) {
				f := benchInput(b, level)
				z, err := os.ReadFile(f.path)
				if err != nil {
					b.Fatal(err)
				}
				h := sha256.New()
				n, err := io.Copy(h, zstd.NewReader(bytes.NewReader(z), nil))
				if err != nil {
					b.Fatal(err)
				}
				if got := hex.EncodeToString(h.Sum(nil)); got != f.sum {
					b.Fatalf("decoded SHA-256 %s, want %s", got, f.sum)
				}
				b.SetBytes(n)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					var r io.Reader = zstd.NewReader(bytes.NewReader(z), nil)
					if how == "Read" {
						r = onlyReader{r}
					}
					if _, err := io.Copy(io.Discard, r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkZstdCommand times `zstd -d -c FILE > /dev/null` on the same
// files, for the ratio with BenchmarkDecode. It includes starting the
// process (about a millisecond).
func BenchmarkZstdCommand(b *testing.B) {
	for _, level := range []string{"3", "19"} {
		b.Run("level"+level, func(b *testing.B) {
			f := benchInput(b, level)
			b.SetBytes(f.size)
			b.ResetTimer()
			for range b.N {
				// Stdout is nil: the output goes to /dev/null.
				var stderr bytes.Buffer
				cmd := exec.Command("zstd", "-q", "-d", "-c", f.path)
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil {
					b.Fatalf("zstd -d: %v %s", err, stderr.Bytes())
				}
			}
		})
	}
}
