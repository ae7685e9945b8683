package registry_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// dripServer answers every request with a 200 of size bytes that it sends
// one byte at a time, each a little sooner than the client's body bound
// would cut it: a body that never stalls and never ends.
func dripServer(t *testing.T, size int, every time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", manifest.MediaTypeOCIManifest, size)
				tick := time.NewTicker(every)
				defer tick.Stop()
				for range size {
					select {
					case <-done:
						return
					case <-tick.C:
					}
					if _, err := c.Write([]byte{' '}); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// RT-N2. Timeouts.Body bounds how long a body may send nothing, not how
// long it may take: a registry (or anything on the path) that sends one
// byte just inside the bound keeps a manifest fetch, a token request or a
// blob going for as long as it likes. Here the bound is 200 ms and a byte
// comes every 50 ms; the 100 kB manifest would take over an hour.
// skiff should give up by itself (a minimum rate over the body bound, as
// curl's --speed-limit/--speed-time, with a blob continued by Range);
// today only the test's own deadline ends it.
func TestRedteamDripFedBodyNeverEnds(t *testing.T) {
	const bound, every = 200 * time.Millisecond, 50 * time.Millisecond
	host := dripServer(t, 100_000, every)
	c, _ := testClient(&registry.Client{Timeouts: registry.Timeouts{Body: bound, Header: time.Second}})
	repo := c.Repository(mustParse(t, host+"/a/b"))
	for _, what := range []string{"manifest", "blob"} {
		t.Run(what, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			var err error
			if what == "manifest" {
				_, err = repo.FetchManifest(ctx, "v1")
			} else {
				desc := manifest.Descriptor{MediaType: manifest.MediaTypeOCILayer, Digest: manifest.Digest("sha256:" + strings.Repeat("a", 64)), Size: 100_000}
				var rc io.ReadCloser
				if rc, err = repo.Fetch(ctx, desc); err == nil {
					_, err = io.Copy(io.Discard, rc)
					rc.Close()
				}
			}
			if err == nil || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("after %v of a body dripped a byte every %v: %v; want skiff to give up by itself", 3*time.Second, every, err)
			}
		})
	}
}

// A blob dripped a byte at a time is cut once a window of Timeouts.Body
// brings less than BodyMinBytes, and continued from the bytes that
// arrived with a Range request, as a stalled one is (one of its resumes):
// the fetch completes and verifies.
func TestReliability50_DripFedBlobContinuesWithRange(t *testing.T) {
	const bound, every = 100 * time.Millisecond, 10 * time.Millisecond
	srv := registrytest.NewServer(t, nil)
	im := seed(t, srv, nil, "a/b", "v1", 64<<10)
	layer := im.Manifest.Manifest.Layers[0]
	content := im.Blobs[layer.Digest]
	var mu sync.Mutex
	var ranges []string // of the blob's GETs after the dripped one
	var once sync.Once
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+string(layer.Digest)) {
			srv.Registry.ServeHTTP(w, r)
			return
		}
		dripped := false
		once.Do(func() { dripped = true; drip(w, r, content, every) })
		if !dripped {
			mu.Lock()
			ranges = append(ranges, r.Header.Get("Range"))
			mu.Unlock()
			srv.Registry.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(h.Close)
	c, _ := testClient(&registry.Client{Timeouts: registry.Timeouts{Body: bound}})
	repo := c.Repository(mustParse(t, strings.TrimPrefix(h.URL, "http://")+"/a/b"))
	got, err := fetchAll(t, repo, layer)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("fetch of a dripped blob: %d bytes, %v", len(got), err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ranges) != 1 || !strings.HasPrefix(ranges[0], "bytes=") || ranges[0] == "bytes=0-" {
		t.Fatalf("the GETs after the dripped one asked for %q, want one Range from the bytes that arrived", ranges)
	}
}

// drip answers r with the whole of content's length, sending its bytes one
// at a time, one every every, until the client hangs up.
func drip(w http.ResponseWriter, r *http.Request, content []byte, every time.Duration) {
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for _, b := range content {
		if _, err := w.Write([]byte{b}); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}
