package registry_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

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
	t.Skip("redteam: RT-N2 — fails today, see report")
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
