//go:build linux

package main

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// proxy is a reverse proxy in front of one registry, listening through a
// link, that records every request it serves. The Host header reaches the
// registry as the client sent it, so that the upload locations the
// registry builds from it lead back through the proxy.
type proxy struct {
	host string // 127.0.0.1:PORT, what the tools are given
	srv  *http.Server
	tr   *http.Transport
	rec  recorder
}

// reqRecord is one request served by a proxy.
type reqRecord struct {
	sent   time.Time // when its first byte reached the proxy
	end    time.Time // when the proxy began writing the last of the response
	first  bool      // the first request on its connection
	opened time.Time // when its connection was accepted; zero: at sent
	// handshake is set on the chain criticalPath returns when the
	// request's handshake counted there.
	handshake bool
	method    string
	path      string
	status    int
}

type connKey struct{}

// startProxy serves target (HOST:PORT) through lk on a new loopback port.
func startProxy(target string, lk *link) (*proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &url.URL{Scheme: "http", Host: target}
	quiet := log.New(io.Discard, "", 0)
	p := &proxy{host: l.Addr().String(), tr: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 256}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
		},
		Transport:     p.tr,
		FlushInterval: -1,
		ErrorLog:      quiet,
	}
	p.srv = &http.Server{
		Handler:  p.record(rp),
		ErrorLog: quiet,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	go p.srv.Serve(lk.listen(l))
	return p, nil
}

// record wraps the proxy's handler: it notes when each request was sent,
// whether it opened its connection, and when its response was written.
func (p *proxy) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lc, _ := r.Context().Value(connKey{}).(*linkConn)
		if lc == nil {
			next.ServeHTTP(w, r)
			return
		}
		p.rec.begin()
		sent, first := lc.beginRequest()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK, sent: &p.rec.sent}
		next.ServeHTTP(sw, r)
		http.NewResponseController(w).Flush()
		end := lc.endRequest()
		p.rec.add(reqRecord{sent: sent, end: end, first: first, opened: lc.accepted, method: r.Method, path: r.URL.Path, status: sw.status})
	})
}

// openedAt is when r's connection was opened: opened, or sent when it is
// not known.
func (r reqRecord) openedAt() time.Time {
	if r.opened.IsZero() {
		return r.sent
	}
	return r.opened
}

func (p *proxy) close() {
	p.srv.Close()
	p.tr.CloseIdleConnections()
}

// statusWriter remembers the status of a response, and counts its body's
// bytes into sent.
type statusWriter struct {
	http.ResponseWriter
	status int
	sent   *atomic.Int64
}

func (w *statusWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.sent.Add(int64(n))
	return n, err
}

func (w *statusWriter) WriteHeader(code int) {
	if code >= 200 { // not 1xx
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recorder collects the requests served, and the response body bytes
// sent.
type recorder struct {
	sent     atomic.Int64
	mu       sync.Mutex
	done     *sync.Cond // signalled when a request in flight ends
	inflight int
	reqs     []reqRecord
}

// inflightWait bounds how long take waits for requests still being served.
const inflightWait = 5 * time.Second

func (r *recorder) begin() {
	r.mu.Lock()
	r.inflight++
	r.mu.Unlock()
}

func (r *recorder) add(x reqRecord) {
	r.mu.Lock()
	r.inflight--
	r.reqs = append(r.reqs, x)
	if r.done != nil {
		r.done.Broadcast()
	}
	r.mu.Unlock()
}

// take returns the requests recorded so far and forgets them. It first
// waits for the requests still being served: a client may have read its
// last response before the proxy noted that it had written it.
func (r *recorder) take() []reqRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done == nil {
		r.done = sync.NewCond(&r.mu)
	}
	timer := time.AfterFunc(inflightWait, func() {
		r.mu.Lock()
		r.done.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	for deadline := time.Now().Add(inflightWait); r.inflight > 0 && time.Now().Before(deadline); {
		r.done.Wait()
	}
	out := r.reqs
	r.reqs = nil
	return out
}
