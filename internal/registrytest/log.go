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
// the order they finished. A request is logged when its handler returns,
// which can be after the client has the whole response; so every method
// that reads or resets the log first waits for the handlers of the
// requests that arrived before it was called (Settle). It is safe for
// concurrent use, but not from within a request's handler, which would
// wait for itself.
type Log struct {
	mu      sync.Mutex
	reqs    []Request
	added   chan struct{}   // closed and replaced by every add
	next    uint64          // the number of the next request to arrive
	running map[uint64]bool // the numbers of the requests whose handlers run
}

// Settle returns once the handler of every request that arrived before
// the call has returned and its entry is logged. A test calls it (every
// read of the log does) so that what it reads does not depend on how
// soon the server's goroutines ran after the client had its answer.
func (l *Log) Settle() {
	l.mu.Lock()
	arrived := l.next
	for l.runningBefore(arrived) {
		added := l.addedChan()
		l.mu.Unlock()
		<-added
		l.mu.Lock()
	}
	l.mu.Unlock()
}

// runningBefore reports whether a request numbered below n is still
// being handled; the caller holds mu.
func (l *Log) runningBefore(n uint64) bool {
	for seq := range l.running {
		if seq < n {
			return true
		}
	}
	return false
}

// addedChan returns the channel the next add closes; the caller holds mu.
func (l *Log) addedChan() chan struct{} {
	if l.added == nil {
		l.added = make(chan struct{})
	}
	return l.added
}

// Requests returns a copy of the entries so far, once settled.
func (l *Log) Requests() []Request {
	l.Settle()
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

// Reset forgets every entry, once settled: a request that arrived before
// is not logged after.
func (l *Log) Reset() {
	l.Settle()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = nil
}

// arrive numbers a request whose handler starts.
func (l *Log) arrive() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running == nil {
		l.running = map[uint64]bool{}
	}
	seq := l.next
	l.next++
	l.running[seq] = true
	return seq
}

// add logs the request numbered seq, whose handler returned.
func (l *Log) add(seq uint64, r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.running, seq)
	l.reqs = append(l.reqs, r)
	if l.added != nil {
		close(l.added)
		l.added = nil
	}
}

// Await returns once at least n entries are logged, or ctx ends: for a
// request the client gave up on, which may reach its handler after the
// client is done, so that Settle does not wait for it.
func (l *Log) Await(ctx context.Context, n int) error {
	for {
		l.mu.Lock()
		if len(l.reqs) >= n {
			l.mu.Unlock()
			return nil
		}
		added := l.addedChan()
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
		seq := l.arrive() // before any byte of the answer: Settle waits for it
		rec := &recorder{ResponseWriter: w, server: server}
		body := &countingBody{ReadCloser: r.Body}
		header := r.Header.Clone()
		r.Body = body
		defer func() {
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			l.add(seq, Request{Server: rec.server, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
				Header: header, Status: rec.status, ResponseHeader: w.Header().Clone(),
				BytesIn: body.n, BytesOut: rec.out, Fault: rec.fault})
		}()
		h(rec, r)
	}
}
