package faults_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/skiffoci/skiff/internal/faults"
)

func server(t *testing.T) (*httptest.Server, *atomic.Int32) {
	hits := new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Write(bytes.Repeat([]byte("x"), 1000))
	}))
	t.Cleanup(srv.Close)
	return srv, hits
}

func TestResetBeforeResponse(t *testing.T) {
	srv, hits := server(t)
	tr := &faults.Transport{}
	tr.Add(faults.Rule{Match: faults.Route("GET", "^/blobs/"), Times: 2, Reset: true})
	c := &http.Client{Transport: tr}
	for i := range 2 {
		_, err := c.Get(srv.URL + "/blobs/x")
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("attempt %d: %v, want a connection reset", i, err)
		}
	}
	resp, err := c.Get(srv.URL + "/blobs/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hits.Load() != 1 || tr.RoundTrips() != 3 {
		t.Fatalf("%d requests reached the server, %d round trips", hits.Load(), tr.RoundTrips())
	}
}

// A reset closes the request body, as a RoundTripper must.
func TestResetClosesBody(t *testing.T) {
	srv, _ := server(t)
	tr := &faults.Transport{}
	tr.Add(faults.Rule{Reset: true, Err: io.ErrClosedPipe})
	body := &closeRecorder{Reader: strings.NewReader("data")}
	req, _ := http.NewRequest("PUT", srv.URL+"/x", body)
	if _, err := tr.RoundTrip(req); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("error %v, want the rule's", err)
	}
	if !body.closed {
		t.Fatal("request body not closed")
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestCutAfter(t *testing.T) {
	srv, _ := server(t)
	tr := &faults.Transport{}
	tr.Add(faults.Rule{Times: 1, CutAfter: 600})
	c := &http.Client{Transport: tr}
	resp, err := c.Get(srv.URL + "/a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) != 600 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %d bytes, err %v", len(b), err)
	}
	resp, _ = c.Get(srv.URL + "/a")
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) != 1000 || err != nil {
		t.Fatalf("after the rule: %d bytes, err %v", len(b), err)
	}
}

func TestCutWithReset(t *testing.T) {
	srv, _ := server(t)
	tr := &faults.Transport{}
	tr.Add(faults.Rule{CutAfter: 10, Err: faults.ErrReset})
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("error %v", err)
	}
}

// A cut beyond the body's end changes nothing.
func TestCutBeyondEnd(t *testing.T) {
	srv, _ := server(t)
	tr := &faults.Transport{}
	tr.Add(faults.Rule{CutAfter: 5000})
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); len(b) != 1000 || err != nil {
		t.Fatalf("%d bytes, err %v", len(b), err)
	}
}

func TestResetRules(t *testing.T) {
	srv, _ := server(t)
	tr := &faults.Transport{Base: http.DefaultTransport}
	tr.Add(faults.Rule{Reset: true})
	tr.Reset()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatalf("a disarmed rule applied: %v", err)
	}
	resp.Body.Close()
}
