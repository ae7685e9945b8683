package pgzip_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/skiffoci/skiff/internal/pgzip"
)

// Compress on every core, then read the stream back with compress/gzip.
func ExampleNewWriter() {
	var buf bytes.Buffer
	zw := pgzip.NewWriter(&buf, &pgzip.Options{BlockSize: 64 << 10})
	if _, err := io.Copy(zw, strings.NewReader(strings.Repeat("layer bytes ", 100000))); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		log.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	fmt.Println(n, err)
	// Output: 1200000 <nil>
}
