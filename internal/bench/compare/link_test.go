//go:build linux

package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests check the harness's link simulator, not the product. They
// use a long round trip against tiny work and assert lower bounds (a
// delay is never shorter than simulated), with upper bounds only generous
// enough to catch a delay applied many times over.

const testRTT = 100 * time.Millisecond

// slack is what a loaded machine may add to a wait.
const slack = 3 * time.Second

// backend serves size bytes at GET /blob, reads and counts any request
// body, and echoes the Host header at /host.
func backend(t *testing.T, size int) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/host":
			io.WriteString(w, r.Host)
		case "/blob":
			w.Write(make([]byte, size))
		default:
			io.WriteString(w, strings.Repeat("k", int(n%7)))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func startTestProxy(t *testing.T, target string, lk *link) *proxy {
	t.Helper()
	p, err := startProxy(target, lk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p
}

// get sends one request and returns how long it took, with the body.
func get(t *testing.T, c *http.Client, method, url string, body []byte) (time.Duration, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %v %v", method, url, resp.Status, err)
	}
	return time.Since(start), b
}

func TestLinkSequentialRequestsCostARoundTripEach(t *testing.T) {
	p := startTestProxy(t, backend(t, 10).Listener.Addr().String(), newLink(testRTT, 0))
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	const n = 3
	start := time.Now()
	for i := range n {
		took, _ := get(t, c, http.MethodGet, "http://"+p.host+"/v2/", nil)
		want := testRTT
		if i == 0 {
			want = 2 * testRTT // the handshake, then the request
		}
		if took < want {
			t.Errorf("request %d took %s, less than %s", i, took, want)
		}
	}
	total := time.Since(start)
	if want := (n + 1) * testRTT; total < want || total > want+slack {
		t.Errorf("%d sequential requests on one connection took %s, want %s (+ a little)", n, total, want)
	}
	reqs := p.rec.take()
	if len(reqs) != n {
		t.Fatalf("recorded %d requests, want %d", len(reqs), n)
	}
	for i, r := range reqs {
		if r.first != (i == 0) || r.method != http.MethodGet || r.path != "/v2/" || r.status != http.StatusOK {
			t.Errorf("request %d recorded as %+v", i, r)
		}
	}
	if got, chain := criticalPath(reqs); got != n+1 || len(chain) != n {
		t.Errorf("critical path of %d sequential requests = %d round trips over %d requests, want %d over %d", n, got, len(chain), n+1, n)
	}
}

func TestLinkParallelConnectionsOverlap(t *testing.T) {
	p := startTestProxy(t, backend(t, 10).Listener.Addr().String(), newLink(testRTT, 0))
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{}} // a connection each
			defer c.CloseIdleConnections()
			get(t, c, http.MethodGet, "http://"+p.host+"/v2/", nil)
		}()
	}
	wg.Wait()
	reqs := p.rec.take()
	if len(reqs) != 3 {
		t.Fatalf("recorded %d requests, want 3", len(reqs))
	}
	for _, r := range reqs {
		if !r.first {
			t.Errorf("a request on its own new connection was not recorded as its first: %+v", r)
		}
	}
	if got, _ := criticalPath(reqs); got != 2 {
		t.Errorf("three requests at once on new connections: critical path %d round trips, want 2", got)
	}
}

func TestLinkCapsBandwidthBothWays(t *testing.T) {
	const size = 96 * kib
	const bandwidth = 2e6 // bits per second: 250 kB/s
	p := startTestProxy(t, backend(t, size).Listener.Addr().String(), newLink(0, bandwidth))
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer c.CloseIdleConnections()
	atLeast := time.Duration(float64(size-burstBytes) / (bandwidth / 8) * float64(time.Second))
	took, body := get(t, c, http.MethodGet, "http://"+p.host+"/blob", nil)
	if len(body) != size {
		t.Fatalf("downloaded %d bytes, want %d", len(body), size)
	}
	if took < atLeast || took > atLeast+slack {
		t.Errorf("downloading %d bytes at %g bit/s took %s, want about %s", size, bandwidth, took, atLeast)
	}
	if took, _ = get(t, c, http.MethodPut, "http://"+p.host+"/up", make([]byte, size)); took < atLeast || took > atLeast+slack {
		t.Errorf("uploading %d bytes at %g bit/s took %s, want about %s", size, bandwidth, took, atLeast)
	}
}

func TestLinkBandwidthIsSharedByConnections(t *testing.T) {
	const size = 48 * kib
	const bandwidth = 2e6
	p := startTestProxy(t, backend(t, size).Listener.Addr().String(), newLink(0, bandwidth))
	var wg sync.WaitGroup
	start := time.Now()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			defer c.CloseIdleConnections()
			get(t, c, http.MethodGet, "http://"+p.host+"/blob", nil)
		}()
	}
	wg.Wait()
	atLeast := time.Duration(float64(2*size-burstBytes) / (bandwidth / 8) * float64(time.Second))
	if took := time.Since(start); took < atLeast {
		t.Errorf("two downloads of %d bytes at once took %s, less than the link allows (%s)", size, took, atLeast)
	}
}

// TestLinkCapsEachConnection: through a capped link one connection
// carries at most its cap each way, while two connections carry twice as
// much together.
func TestLinkCapsEachConnection(t *testing.T) {
	const size = 96 * kib
	const perConn = 250e3 // bytes per second
	p := startTestProxy(t, backend(t, size).Listener.Addr().String(), newCappedLink(0, 0, perConn))
	atLeast := time.Duration(float64(size-burstBytes) / perConn * float64(time.Second))
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer c.CloseIdleConnections()
	if took, _ := get(t, c, http.MethodGet, "http://"+p.host+"/blob", nil); took < atLeast || took > atLeast+slack {
		t.Errorf("downloading %d bytes at %g B/s took %s, want about %s", size, perConn, took, atLeast)
	}
	if took, _ := get(t, c, http.MethodPut, "http://"+p.host+"/up", make([]byte, size)); took < atLeast || took > atLeast+slack {
		t.Errorf("uploading %d bytes at %g B/s took %s, want about %s", size, perConn, took, atLeast)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			defer c.CloseIdleConnections()
			get(t, c, http.MethodGet, "http://"+p.host+"/blob", nil)
		}()
	}
	wg.Wait()
	if took := time.Since(start); took < atLeast || took > atLeast+slack {
		t.Errorf("two downloads of %d bytes at once took %s, want about %s: the cap is per connection", size, took, atLeast)
	}
}

func TestProxyKeepsHost(t *testing.T) {
	p := startTestProxy(t, backend(t, 0).Listener.Addr().String(), newLink(0, 0))
	c := &http.Client{}
	defer c.CloseIdleConnections()
	if _, body := get(t, c, http.MethodGet, "http://"+p.host+"/host", nil); string(body) != p.host {
		t.Errorf("the registry saw Host %q, want the proxy's %q", body, p.host)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.host+"/host", nil)
	req.Host = "registry.example:5000"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != req.Host {
		t.Errorf("the registry saw Host %q, want %q", body, req.Host)
	}
}

func TestQueueChunksHoldsAboutOneBandwidthDelayProduct(t *testing.T) {
	for _, tc := range []struct {
		rtt       time.Duration
		bandwidth float64
	}{{25 * time.Millisecond, 100e6}, {100 * time.Millisecond, 1e9}, {time.Millisecond, 1e6}} {
		bdp := tc.bandwidth / 8 * tc.rtt.Seconds()
		got := float64(queueChunks(tc.rtt, tc.bandwidth) * chunkSize)
		if got < bdp || got > max(bdp+2*chunkSize, 4*chunkSize) {
			t.Errorf("rtt %s, %g bit/s: a connection holds %.0f bytes, want about the product %.0f", tc.rtt, tc.bandwidth, got, bdp)
		}
	}
}

// TestLinkPushesBackWhenTheQueueIsFull writes to a connection whose server
// never reads: the link takes its queue's worth, then the writer waits
// (net.Pipe has no buffer of its own, so a write deadline shows it).
func TestLinkPushesBackWhenTheQueueIsFull(t *testing.T) {
	client, server := net.Pipe()
	lk := newLink(0, 0)
	lc := newLinkConn(server, lk)
	defer lc.Close()
	client.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
	piece := make([]byte, kib)
	written := 0
	for {
		n, err := client.Write(piece)
		written += n
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal(err)
			}
			break
		}
		if written > 1000*kib {
			t.Fatalf("the link took %d bytes without a reader", written)
		}
	}
	// The queue's pieces, and one more the pump holds while it waits.
	if max := (lk.queue + 1) * kib; written > max || written < lk.queue*kib {
		t.Errorf("the link took %d bytes before pushing back, want %d to %d", written, lk.queue*kib, max)
	}
}

func TestLinkReadHonoursDeadlineWithoutLosingBytes(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	lc := newLinkConn(server, newLink(testRTT, 0))
	defer lc.Close()
	buf := make([]byte, 16)
	// A deadline set while Read waits wakes it (net/http's server does
	// this to end its background read).
	done := make(chan error, 1)
	go func() { _, err := lc.Read(buf); done <- err }()
	lc.SetReadDeadline(time.Now().Add(-time.Second))
	select {
	case err := <-done:
		if !isTimeout(err) {
			t.Fatalf("Read woken by a deadline: %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read ignored a deadline set while it waited")
	}
	// Bytes on their way (due a handshake and a round trip later) stay
	// queued when a Read gives up on its deadline.
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Read(buf); !isTimeout(err) {
		t.Fatalf("Read past the deadline: %v, want a timeout", err)
	}
	lc.SetReadDeadline(time.Time{})
	n, err := lc.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Errorf("Read after the deadlines = %q, %v; want the bytes sent before", buf[:n], err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// An armed stall stops the first connection that sends past its mark,
// mid-body, with the connection open; the proxy's write returns once the
// client hangs up, and the next connection is served whole.
func TestLinkStall(t *testing.T) {
	const size, after = 3 << 20, 1 << 20
	lk := newLink(0, 0)
	p := startTestProxy(t, backend(t, size).Listener.Addr().String(), lk)
	lk.stall.arm(after)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + p.host + "/blob")
	if err != nil {
		t.Fatal(err)
	}
	// The mark counts the header too, and the link sends whole chunks:
	// all but the last chunk before the mark arrive.
	got, err := io.ReadFull(resp.Body, make([]byte, after-chunkSize))
	if err != nil {
		t.Fatalf("read %d bytes before the stall: %v", got, err)
	}
	// Nothing more arrives: a read waits until the deadline the test sets.
	more := make(chan int, 1)
	go func() {
		n, _ := io.ReadFull(resp.Body, make([]byte, 2*chunkSize+1))
		more <- n
	}()
	select {
	case n := <-more:
		t.Fatalf("%d more bytes after the stall", n)
	case <-time.After(200 * time.Millisecond): // an absence, seen over a while
	}
	resp.Body.Close()
	if !lk.stall.stalled() {
		t.Error("the link does not report the stall")
	}
	if _, b := get(t, &http.Client{Transport: &http.Transport{}}, "GET", "http://"+p.host+"/blob", nil); len(b) != size {
		t.Errorf("after the stall, a new connection got %d bytes", len(b))
	}
}
