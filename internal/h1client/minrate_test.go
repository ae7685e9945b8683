package h1client_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/h1client"
	"github.com/skiffoci/skiff/internal/testtool"
)

// A body that sends a byte now and then, each well inside
// BodyReadTimeout, never stalls; BodyMinBytes cuts it once its reads have
// waited BodyReadTimeout for fewer bytes than that, with a *TimeoutError
// naming the host, the window and the least it had to bring, and the
// connection is closed.
func TestBodyMinBytes(t *testing.T) {
	const wait, every = 100 * time.Millisecond, 10 * time.Millisecond
	ctx := t.Context()
	closed := make(chan struct{})
	srv := newRawServer(t, nil, func(n int, c net.Conn) {
		if _, _, err := readRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
		tick := time.NewTicker(every) // the drip is the feature under test
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := c.Write([]byte{'x'}); err != nil {
				close(closed)
				return
			}
		}
	})
	tr := newTransport(t, &h1client.Transport{BodyReadTimeout: wait, BodyMinBytes: 1000})
	resp, err := tr.RoundTrip(newRequest(t, context.Background(), http.MethodGet, "http://"+srv.addr+"/", nil))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	var te *h1client.TimeoutError
	if !errors.As(err, &te) || te.What != h1client.WaitBody || te.Host != srv.addr || te.Wait != wait || te.Min != 1000 || !isTimeout(err) {
		t.Fatalf("after %d bytes: err = %v, want a *TimeoutError for a body of %s slower than 1000 bytes per %v", len(got), err, srv.addr, wait)
	}
	if !strings.Contains(err.Error(), "less than 1000 bytes") {
		t.Errorf("the error %q does not say how little the body sent", err)
	}
	if len(got) == 0 || len(got) >= 1000 {
		t.Errorf("read %d bytes before the cut, want some, fewer than 1000", len(got))
	}
	testtool.Await(t, closed, "the client to close the connection")
}

// Only the time the reads wait counts toward BodyMinBytes's window: a
// caller that reads slowly (a disk behind it, a tarball written in order)
// does not make a prompt server look slow.
func TestBodyMinBytesCountsOnlyWaiting(t *testing.T) {
	const wait = 100 * time.Millisecond
	ctx := t.Context()
	more := make(chan struct{})
	srv := newRawServer(t, nil, func(n int, c net.Conn) {
		if _, _, err := readRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
		select {
		case <-more:
			io.WriteString(c, "world")
		case <-ctx.Done():
		}
		<-ctx.Done()
	})
	tr := newTransport(t, &h1client.Transport{BodyReadTimeout: wait, BodyMinBytes: 1000})
	resp, err := tr.RoundTrip(newRequest(t, context.Background(), http.MethodGet, "http://"+srv.addr+"/", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	// The caller is busy for three windows; a test cannot stand for a
	// slow caller without the time passing, and this is the bound's own
	// timescale.
	<-time.After(3 * wait)
	close(more)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "world" {
		t.Fatalf("after a slow caller: %q, %v; want the rest of the body", buf, err)
	}
}
