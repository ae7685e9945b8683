//go:build linux

package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestByteCounter: the counting proxy passes responses through, counts
// their bytes, and calls its function once the threshold is reached.
func TestByteCounter(t *testing.T) {
	body := strings.Repeat("x", 100<<10)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	defer backend.Close()
	c, err := startByteCounter(strings.TrimPrefix(backend.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	var hits atomic.Int32
	c.arm(150<<10, func() { hits.Add(1) })
	for range 3 {
		resp, err := http.Get("http://" + c.host + "/x")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != body {
			t.Fatalf("the proxy changed the body: %d bytes", len(got))
		}
	}
	if n := c.take(); n != 300<<10 || hits.Load() != 1 {
		t.Fatalf("counted %d bytes, hit %d times", n, hits.Load())
	}
}
