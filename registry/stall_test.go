package registry_test

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/h1client"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
)

// stallWait is the body bound of these tests: the feature is a timeout,
// so a real one, short, drives it; the registry's stall lasts until the
// client hangs up.
const stallWait = 40 * time.Millisecond

func stallClient() *registry.Client {
	c, _ := testClient(&registry.Client{Timeouts: registry.Timeouts{Body: stallWait}})
	return c
}

// A blob whose body stalls, right after its headers or after 1 MiB, is
// cut once it sends nothing for Timeouts.Body and continued from where it
// stopped: a Range request from the bytes that arrived, answered 206, and
// the blob verifies. The same holds inside a pull to a layout.
func TestReliability50_StalledBlobContinuesWithRange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after int64 // StallAfter
		from  int64 // where the next request starts
	}{
		{"after the headers", -1, 0},
		{"after 1 MiB", 1 << 20, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := stallClient()
			srv, repo := serve(t, nil, c, "a/b")
			im := seed(t, srv, nil, "a/b", "v1", 3<<19)
			layer := im.Manifest.Manifest.Layers[0]
			stallBlob := registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"+string(layer.Digest)), Times: 1, StallAfter: tc.after}
			srv.Faults.Add(stallBlob)
			got, err := fetchAll(t, repo, layer)
			if err != nil || !bytes.Equal(got, im.Blobs[layer.Digest]) {
				t.Fatalf("fetch of a stalled blob: %d bytes, %v", len(got), err)
			}
			assertContinued(t, srv, layer.Digest, tc.from)

			srv.Log.Reset()
			srv.Faults.Add(stallBlob)
			l, err := layout.Create(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := images.CopyDescriptor(t.Context(), l, repo, im.Manifest.Descriptor(), &images.CopyOptions{Tag: "v1"}); err != nil {
				t.Fatalf("pull with a stalled blob: %v", err)
			}
			if err := verifyAll(t, l, im); err != nil {
				t.Fatal(err)
			}
			assertContinued(t, srv, layer.Digest, tc.from)
		})
	}
}

// assertContinued checks that the stalled GET of blob d was followed by
// one that asked for the rest from byte from.
func assertContinued(t *testing.T, srv *registrytest.Server, d manifest.Digest, from int64) {
	t.Helper()
	blobGets := func(r registrytest.Request) bool {
		return r.Method == "GET" && strings.HasSuffix(r.Path, "/blobs/"+string(d))
	}
	var stalled, next int
	want, status := "bytes="+strconv.FormatInt(from, 10)+"-", 206
	if from == 0 {
		want, status = "", 200
	}
	for _, r := range srv.Log.Requests() {
		switch {
		case !blobGets(r):
		case r.Fault:
			stalled++
		case r.Header.Get("Range") == want && r.Status == status:
			next++
		}
	}
	if next != 1 {
		t.Errorf("%d requests continued from byte %d with %q, answered %d; want 1 (log %+v)", next, from, want, status, srv.Log.Requests())
	}
	if stalled > 1 {
		t.Errorf("%d stalled requests logged, want at most 1", stalled)
	}
}

// Stalls count as resumes: a registry whose every answer stalls after a
// few bytes ends the fetch with an error after the resumes a blob gets,
// naming the host and the bound, instead of hanging.
func TestReliability50_StallsAreCountedResumes(t *testing.T) {
	c := stallClient()
	srv, repo := serve(t, nil, c, "a/b")
	im := seed(t, srv, nil, "a/b", "v1", 64<<10)
	layer := im.Manifest.Manifest.Layers[0]
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), StallAfter: 1000})
	_, err := fetchAll(t, repo, layer)
	var te *h1client.TimeoutError
	if !errors.As(err, &te) || te.Host != srv.Host || !strings.Contains(err.Error(), "giving up after 8 resumes") {
		t.Fatalf("err = %v, want the body timeout of %s after 8 resumes", err, srv.Host)
	}
}

// A manifest whose body stalls is asked for again, as a failed request
// is; so is a token.
func TestReliability50_StalledManifestAndTokenRetried(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault registrytest.Fault
	}{
		{"manifest", registrytest.Fault{Match: registrytest.Route("GET", "/manifests/"), Times: 1, StallAfter: 10}},
		{"manifest, after the headers", registrytest.Fault{Match: registrytest.Route("GET", "/manifests/"), Times: 1, StallAfter: -1}},
		{"token", registrytest.Fault{Match: registrytest.Route("GET", "^/token"), Times: 1, StallAfter: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := registrytest.NewServer(t, &registrytest.Options{Auth: registrytest.Auth{Mode: registrytest.AuthBearer, Users: map[string]string{"u": "p"}}})
			creds := auth.Static{srv.Host: {Username: "u", Password: "p"}}
			im := seed(t, srv, &registry.Client{Keychain: creds}, "a/b", "v1", 1000)
			c := stallClient()
			c.Keychain = creds
			srv.Faults.Add(tc.fault)
			doc, err := repoOn(t, c, srv, "a/b").FetchManifest(t.Context(), "v1")
			if err != nil {
				t.Fatalf("FetchManifest: %v", err)
			}
			if doc.Digest != im.Manifest.Digest {
				t.Fatalf("got %s, want %s", doc.Digest, im.Manifest.Digest)
			}
			if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Fault }); n != 1 {
				t.Errorf("%d stalled requests, want 1", n)
			}
		})
	}
}

// A registry that accepts connections and never answers fails the
// request with an error naming the host and the header bound, once the
// bound has passed, without a retry that would wait as long again.
func TestReliability50_SilentServerFailsWithinTheBound(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	gone := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-gone })
	go func() {
		defer close(gone)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conns = append(conns, c) // held open, never answered
		}
	}()
	host := ln.Addr().String()
	const bound = 40 * time.Millisecond
	c, _ := testClient(&registry.Client{Timeouts: registry.Timeouts{Handshake: bound, Header: bound}})
	_, err = c.Repository(mustParse(t, host+"/a/b")).FetchManifest(t.Context(), "v1")
	var te *h1client.TimeoutError
	if !errors.As(err, &te) || te.What != h1client.WaitHeader || te.Host != host || te.Wait != bound {
		t.Fatalf("err = %v, want a *TimeoutError for the response header of %s", err, host)
	}
	if want := "no response header from " + host + " within 40ms"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to say %q", err, want)
	}
	// One connection probed for TLS, one for the request: no retry.
	if n := accepted.Load(); n != 2 {
		t.Errorf("the server accepted %d connections, want 2", n)
	}
}
