package h1server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// aLongTimeAgo is a deadline in the past: it interrupts a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// errContinueNotSent is what a handler's read of the body returns when
// it answered before reading: the client was never told to send it.
var errContinueNotSent = errors.New("h1server: the response was sent before the body was read, so the client was never asked for it")

// badRequest returns the status line for a request net/http's server
// refuses before any handler sees it, or "": one whose Expect header asks
// for anything but 100-continue.
func badRequest(req *http.Request) string {
	if e := req.Header.Get("Expect"); e != "" && !strings.EqualFold(e, "100-continue") {
		return "417 Expectation Failed"
	}
	return ""
}

// requestBody is a request's body as the handler sees it. Before its first
// read it sends "100 Continue" if the client waits for one; each read gets
// BodyReadTimeout to make progress; once it is read to its end, watching
// the connection begins, so that the request's context ends if the client
// goes away.
type requestBody struct {
	rc     io.ReadCloser
	nc     net.Conn
	w      *response
	wait   time.Duration // BodyReadTimeout
	owed   bool          // 100 Continue is owed before the first read
	sawEOF bool
	watch  *watch
}

func (b *requestBody) Read(p []byte) (int, error) {
	if b.owed {
		if b.w.wroteHeader {
			return 0, errContinueNotSent
		}
		b.owed = false
		b.w.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := b.w.bw.Flush(); err != nil {
			return 0, err
		}
	}
	if b.wait > 0 && !b.sawEOF {
		b.nc.SetReadDeadline(time.Now().Add(b.wait))
	}
	n, err := b.rc.Read(p)
	if err == io.EOF && !b.sawEOF {
		b.sawEOF = true
		b.watch.start()
	}
	return n, err
}

func (b *requestBody) Close() error { return b.rc.Close() }

// watch reads the connection while a handler runs, once the request has
// been read: an error means the client closed or reset the connection,
// and cancels the request, as net/http's background read does. The bytes
// of a pipelined request stay buffered for the next one.
type watch struct {
	nc      net.Conn
	br      *bufio.Reader
	cancel  context.CancelFunc
	done    chan struct{}
	stopped atomic.Bool
}

func (w *watch) start() {
	w.nc.SetReadDeadline(time.Time{}) // BodyReadTimeout's last one
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		if _, err := w.br.Peek(1); err != nil && !w.stopped.Load() {
			w.cancel()
		}
	}()
}

// stop ends the watch, if it began, and leaves the connection ready for
// the next request: what the watch read stays in br, and an error it saw
// (the client gone) comes back to the next read.
func (w *watch) stop() {
	if w.done == nil {
		return
	}
	w.stopped.Store(true)
	w.nc.SetReadDeadline(aLongTimeAgo)
	<-w.done
	w.nc.SetReadDeadline(time.Time{})
}
