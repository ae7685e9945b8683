package registrytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A handler may run on after its client has the whole answer; the log's
// reads wait for it, so a test reading the log right after its client
// is done sees the request, with every byte it was sent.
func TestLogReadsWaitForHandlers(t *testing.T) {
	l := &Log{}
	release := make(chan struct{})
	srv := httptest.NewServer(l.logged("registry", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
		http.NewResponseController(w).Flush() // the client has it all
		<-release
	}))
	defer srv.Close()
	for _, read := range []struct {
		name string
		read func() int64
	}{
		{"Count", func() int64 { return int64(l.Count(nil)) }},
		{"BytesOut", func() int64 { return l.BytesOut(nil) }},
		{"Requests", func() int64 { return int64(len(l.Requests())) }},
	} {
		l.Reset()
		release = make(chan struct{})
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		got := make(chan int64, 1)
		go func() { got <- read.read() }()
		select {
		case n := <-got:
			t.Fatalf("%s returned %d while the handler ran", read.name, n)
		default:
		}
		close(release)
		want := int64(1)
		if read.name == "BytesOut" {
			want = 5
		}
		if n := <-got; n != want {
			t.Fatalf("%s = %d once the handler returned, want %d", read.name, n, want)
		}
	}
}

// Reset waits for the handlers of requests that arrived before it, so
// that none of them is logged after it.
func TestLogResetWaitsForHandlers(t *testing.T) {
	l := &Log{}
	release := make(chan struct{})
	srv := httptest.NewServer(l.logged("registry", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "0")
		http.NewResponseController(w).Flush()
		<-release
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reset := make(chan struct{})
	go func() { l.Reset(); close(reset) }()
	close(release)
	<-reset
	if n := l.Count(nil); n != 0 {
		t.Fatalf("%d requests logged after Reset", n)
	}
}
