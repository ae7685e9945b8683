package registrytest

import (
	"context"
	"io"
	"net/http"
	"sync"
)

// Request is one entry of a [Log]: what arrived and what was answered.
type Request struct {
	// Server is "registry", "token" (the token endpoint) or "blobs" (the
	// host blob GETs are redirected to).
	Server         string
	Method         string
	Path           string
	RawQuery       string
	Header         http.Header // as received
	Status         int
	ResponseHeader http.Header
	BytesIn        int64 // request body bytes read by the server
	BytesOut       int64 // response body bytes written
	Fault          bool  // a programmed fault applied to the request
}

// Log records every request a Registry and its helper servers answer, in
// the order they finished. It is safe for concurrent use.
type Log struct {
	mu    sync.Mutex
	reqs  []Request
	added chan struct{} // closed and replaced by every add
}

// Requests returns a copy of the entries so far.
func (l *Log) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.reqs...)
}

// Count returns how many entries match; a nil match counts all.
func (l *Log) Count(match func(Request) bool) int {
	n := 0
	for _, r := range l.Requests() {
		if match == nil || match(r) {
			n++
		}
	}
	return n
}

// BytesOut returns the response body bytes of the matching entries.
func (l *Log) BytesOut(match func(Request) bool) int64 {
	var n int64
	for _, r := range l.Requests() {
		if match == nil || match(r) {
			n += r.BytesOut
		}
	}
	return n
}

// Reset forgets every entry.
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = nil
}

func (l *Log) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
	if l.added != nil {
		close(l.added)
		l.added = nil
	}
}

// Await returns once at least n entries are logged, or ctx ends: a
// request is logged when its handler returns, which can be after the
// client read the whole response.
func (l *Log) Await(ctx context.Context, n int) error {
	for {
		l.mu.Lock()
		if len(l.reqs) >= n {
			l.mu.Unlock()
			return nil
		}
		if l.added == nil {
			l.added = make(chan struct{})
		}
		added := l.added
		l.mu.Unlock()
		select {
		case <-added:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// recorder is the ResponseWriter a logged request is served through.
type recorder struct {
	http.ResponseWriter
	server string
	status int
	out    int64
	fault  bool
}

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.out += int64(n)
	return n, err
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts the request body bytes the handler reads.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// logged serves r with h and records it in l as served by server, also
// when h aborts the connection by panicking.
func (l *Log) logged(server string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, server: server}
		body := &countingBody{ReadCloser: r.Body}
		header := r.Header.Clone()
		r.Body = body
		defer func() {
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			l.add(Request{Server: rec.server, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
				Header: header, Status: rec.status, ResponseHeader: w.Header().Clone(),
				BytesIn: body.n, BytesOut: rec.out, Fault: rec.fault})
		}()
		h(rec, r)
	}
}
