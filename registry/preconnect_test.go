package registry_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/server"
)

// How a connection the client opened was first used.
const (
	usePooled  = iota + 1 // pooled idle before any request
	useRequest            // an HTTP request was written first: dialled for it
	useProbe              // a TLS ClientHello was written first: the scheme probe
)

// dialLog opens the client's connections and records, per address, how
// each was first used and whether a request went over it.
type dialLog struct {
	mu     sync.Mutex
	seq    int
	conns  map[string][]*watchConn
	pooled map[string]chan struct{} // one send per connection pooled before use
}

func newDialLog() *dialLog {
	return &dialLog{conns: map[string][]*watchConn{}, pooled: map[string]chan struct{}{}}
}

func (l *dialLog) pooledCh(addr string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := l.pooled[addr]
	if ch == nil {
		ch = make(chan struct{}, 100)
		l.pooled[addr] = ch
	}
	return ch
}

func (l *dialLog) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := &watchConn{Conn: nc, log: l, pooled: l.pooledCh(addr)}
	l.mu.Lock()
	l.conns[addr] = append(l.conns[addr], c)
	l.mu.Unlock()
	return c, nil
}

// next numbers the first request written on a connection, in order.
func (l *dialLog) next() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	return l.seq
}

// count is how many connections to addr were first used as use.
func (l *dialLog) count(addr string, use int32) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.conns[addr] {
		if c.first.Load() == use {
			n++
		}
	}
	return n
}

// firstRequest is how the connection that carried the first request to
// addr was first used.
func (l *dialLog) firstRequest(addr string) int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first *watchConn
	for _, c := range l.conns[addr] {
		if s := c.request.Load(); s > 0 && (first == nil || s < first.request.Load()) {
			first = c
		}
	}
	if first == nil {
		return 0
	}
	return first.first.Load()
}

// awaitPooled waits for n connections to addr to be pooled before any
// request took them; it reports false if they did not come.
func (l *dialLog) awaitPooled(addr string, n int) bool {
	ch := l.pooledCh(addr)
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for range n {
		select {
		case <-ch:
		case <-timeout.C:
			return false
		}
	}
	return true
}

type watchConn struct {
	net.Conn
	log     *dialLog
	pooled  chan struct{}
	first   atomic.Int32 // usePooled, useRequest or useProbe
	request atomic.Int32 // the number of the first request written on it, 0 before
	watched atomic.Bool  // reported pooled
}

// SetReadDeadline sees the pool take c in: it gives an idle connection
// its idle timeout, before any request on a connection opened ahead, and
// only after the first request on one dialled for it.
func (c *watchConn) SetReadDeadline(t time.Time) error {
	if t.After(time.Now()) {
		c.first.CompareAndSwap(0, usePooled)
	}
	return c.Conn.SetReadDeadline(t)
}

// Read reports a connection opened ahead once the pool watches it idle:
// it is in the pool by then.
func (c *watchConn) Read(p []byte) (int, error) {
	if c.first.Load() == usePooled && c.watched.CompareAndSwap(false, true) {
		c.pooled <- struct{}{}
	}
	return c.Conn.Read(p)
}

func (c *watchConn) Write(p []byte) (int, error) {
	use := int32(useRequest)
	if len(p) > 0 && p[0] == 0x16 { // a TLS handshake record
		use = useProbe
	}
	c.first.CompareAndSwap(0, use)
	if use == useRequest && c.request.Load() == 0 {
		c.request.CompareAndSwap(0, int32(c.log.next()))
	}
	return c.Conn.Write(p)
}

// gated serves h, holding the requests for manifests by digest until
// open returns (which it must within a few seconds).
func gated(h http.Handler, open func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256:") {
			open()
		}
		h.ServeHTTP(w, r)
	})
}

// seedIndex writes a 3-platform index of one-layer images to host/name.
func seedIndex(t *testing.T, host, name string) {
	t.Helper()
	var imgs []*images.Image
	for i, arch := range []string{"amd64", "arm64", "s390x"} {
		im, err := imagestest.Random(512, 1, &imagestest.Options{Seed: uint64(i), Platform: manifest.Platform{OS: "linux", Architecture: arch}})
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, im)
	}
	ix, err := images.NewIndex(imgs...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.WriteIndex(t.Context(), ix, host+"/"+name, nil); err != nil {
		t.Fatal(err)
	}
}

// Connections Repository.Preconnect opens serve the requests that come
// next at once: none of them dials.
func TestPreconnectServesFanOut(t *testing.T) {
	srv := httptest.NewServer(server.New(nil))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	seedIndex(t, host, "multi:1")
	log := newDialLog()
	c := &registry.Client{}
	registry.SetDial(c, log.dial)
	t.Cleanup(func() { registry.CloseIdleConnections(c) })
	repo := newRepo(t, c, srv, "multi")
	doc, err := repo.FetchManifest(t.Context(), "1")
	if err != nil {
		t.Fatal(err)
	}
	children := doc.Index.Manifests
	repo.Preconnect(t.Context(), len(children)+1)
	// The request's connection is idle: Preconnect opens the others.
	if !log.awaitPooled(host, len(children)) {
		t.Fatalf("Preconnect(%d) beside one idle connection pooled %d connections, want %d",
			len(children)+1, log.count(host, usePooled), len(children))
	}
	var wg sync.WaitGroup
	for _, d := range children {
		wg.Go(func() {
			if _, err := repo.FetchManifest(t.Context(), string(d.Digest)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := log.count(host, useRequest); n != 1 {
		t.Errorf("%d connections dialled for requests, want 1 (the first request's): the %d fetches at once should find the preconnected ones", n, len(children))
	}
	if n := log.count(host, usePooled); n != len(children) {
		t.Errorf("%d connections preconnected in all, want %d", n, len(children))
	}
}

// A copy of an index between registries opens connections to the
// destination while it walks the source, one for each request it makes
// there at once (2×Jobs, checks and uploads): the destination's first
// request finds one ready, and no more are opened ahead.
func TestCopyPreconnectsDestination(t *testing.T) {
	const jobs = 2
	log := newDialLog()
	var dstHost string
	opened := sync.OnceValue(func() bool { return log.awaitPooled(dstHost, 2*jobs) })
	src := httptest.NewServer(gated(server.New(nil), func() { opened() }))
	t.Cleanup(src.Close)
	dst := httptest.NewServer(server.New(nil))
	t.Cleanup(dst.Close)
	srcHost, dstHost := strings.TrimPrefix(src.URL, "http://"), strings.TrimPrefix(dst.URL, "http://")
	seedIndex(t, srcHost, "multi:1")
	c := &registry.Client{}
	registry.SetDial(c, log.dial)
	t.Cleanup(func() { registry.CloseIdleConnections(c) })
	if _, err := images.Copy(t.Context(), srcHost+"/multi:1", dstHost+"/copy:1", &images.Options{Client: c, Jobs: jobs}); err != nil {
		t.Fatal(err)
	}
	if !opened() {
		t.Fatalf("the destination got %d connections opened ahead while the source was walked, want %d", log.count(dstHost, usePooled), 2*jobs)
	}
	if got := log.firstRequest(dstHost); got != usePooled {
		t.Errorf("the destination's first request went on a connection first used as %d, want one opened ahead (%d)", got, usePooled)
	}
	if n := log.count(dstHost, usePooled); n > 2*jobs {
		t.Errorf("%d connections opened ahead to the destination, more than 2×Jobs (%d)", n, 2*jobs)
	}
}

// A pull of one platform of an index opens connections for the image's
// blobs while the platform's manifest is fetched: the blobs need no
// connection of their own.
func TestPullPreconnectsBlobs(t *testing.T) {
	const jobs = 2
	log := newDialLog()
	var host string
	// Preconnect(jobs) counts the index's connection if it is still idle
	// (the manifest's request has not taken it yet): one is enough.
	opened := sync.OnceValue(func() bool { return log.awaitPooled(host, jobs-1) })
	srv := httptest.NewServer(gated(server.New(nil), func() { opened() }))
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	seedIndex(t, host, "multi:1")
	c := &registry.Client{}
	registry.SetDial(c, log.dial)
	t.Cleanup(func() { registry.CloseIdleConnections(c) })
	opts := &images.Options{Client: c, Jobs: jobs, Platforms: []manifest.Platform{{OS: "linux", Architecture: "arm64"}}}
	out := "docker-archive:" + t.TempDir() + "/image.tar"
	if _, err := images.Copy(t.Context(), host+"/multi:1", out, opts); err != nil {
		t.Fatal(err)
	}
	if !opened() {
		t.Fatalf("%d connections opened ahead while the platform's manifest was fetched, want %d or more", log.count(host, usePooled), jobs-1)
	}
	// The index's GET dialled (unless a connection Copy opened ahead was
	// ready first); the config and the layer took what was opened ahead
	// and the connection the manifest gave back.
	if n := log.count(host, useRequest); n > 1 {
		t.Errorf("%d connections dialled for requests, want 1 at most (the index's)", n)
	}
}

// A scheme probe cut short by its context says nothing of the host: the
// next request probes again instead of taking the host for plain HTTP.
// (A preconnect probes on the transfer's context, which may end.)
func TestCanceledProbeNotKept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	first := make(chan byte, 2) // the first byte of each connection
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 1)
				if _, err := c.Read(b); err == nil {
					first <- b[0]
				}
				<-hold // answer nothing: the probe waits until its context ends
			}()
		}
	}()
	c := &registry.Client{}
	ref, err := reference.Parse(ln.Addr().String() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	repo := c.Repository(ref)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := repo.FetchManifest(ctx, "1"); done <- err }()
	if b := testtool.Await(t, first, "the probe"); b != 0x16 {
		t.Fatalf("the first connection began with %#x, want a TLS ClientHello (the probe)", b)
	}
	cancel()
	if err := testtool.Await(t, done, "the request to end with its context"); err == nil {
		t.Fatal("a request whose context ended succeeded")
	}
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	go func() { _, err := repo.FetchManifest(ctx2, "1"); done <- err }()
	if b := testtool.Await(t, first, "the next request's connection"); b != 0x16 {
		t.Errorf("after a probe cut short, the next connection began with %#x, want the probe again (0x16)", b)
	}
	cancel2()
	testtool.Await(t, done, "the second request to end with its context")
}
