package h1client

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fuzzConn is a connection whose server sends data, then repeat over and
// over (nothing more when repeat is empty): an endless sender is one
// input away. It gives up after fuzzServed bytes, so that a bound that
// does not hold fails the check instead of growing without end.
type fuzzConn struct {
	net.Conn // nil: only Read and the deadlines are used
	data     []byte
	repeat   []byte
	at       int
	served   int
}

const fuzzServed = 16 << 20

var errFuzzServed = errors.New("fuzzConn: 16 MiB served")

func (c *fuzzConn) Read(p []byte) (int, error) {
	if c.served >= fuzzServed {
		return 0, errFuzzServed
	}
	p = p[:min(len(p), fuzzServed-c.served)]
	n, err := c.read(p)
	c.served += n
	return n, err
}

func (c *fuzzConn) read(p []byte) (int, error) {
	if len(c.data) > 0 {
		n := copy(p, c.data)
		c.data = c.data[n:]
		return n, nil
	}
	if len(c.repeat) == 0 {
		return 0, io.EOF
	}
	for i := range p {
		p[i] = c.repeat[c.at]
		c.at = (c.at + 1) % len(c.repeat)
	}
	return len(p), nil
}

func (c *fuzzConn) SetReadDeadline(time.Time) error { return nil }
func (c *fuzzConn) SetDeadline(time.Time) error     { return nil }

// FuzzReadResponse feeds h1client's response parsing what a server may
// send, endless senders included, and checks the bounds: the header never
// takes more than its limit from the connection, and reading the body
// never takes more beyond the data it delivers than net/http's chunked
// bounds (16 KiB plus 16 bytes and twice the data of each chunk, a line,
// a trailer, a read buffer). Every error that reports a bound names the
// host.
func FuzzReadResponse(f *testing.F) {
	for _, seed := range []struct{ data, repeat string }{
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", ""},
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", ""},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: v\r\n\r\n", ""},
		{"HTTP/1.0 200 OK\r\n\r\n", "body"},
		{"HTTP/1.1 200 OK\r\nX-Big: ", "A"},
		{"HTTP/1.1 200 OK\r\n", "X-Many: v\r\n"},
		{"", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "1"},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "1;" + strings.Repeat("e", 300) + "\r\nx\r\n"},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n", "X-T: v\r\n"},
	} {
		f.Add([]byte(seed.data), []byte(seed.repeat))
	}
	f.Fuzz(func(t *testing.T, data, repeat []byte) {
		const limit, maxData = 16 << 10, 256 << 10
		c := newConn(&fuzzConn{data: data, repeat: repeat})
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "http", Host: "fuzz.test:80"}, Header: http.Header{}}
		resp, err := c.readHeader(req, limit)
		if c.read > limit {
			t.Fatalf("the header took %d bytes, more than its %d", c.read, limit)
		}
		if err != nil {
			var le *LimitError
			if errors.As(err, &le) && (le.Host != "fuzz.test:80" || le.Limit != limit) {
				t.Fatalf("limit error %v does not name the host and the limit", err)
			}
			return
		}
		header := c.read
		c.headerArrived(0, 0)
		defer resp.Body.Close()
		delivered := int64(0)
		buf := make([]byte, 8<<10)
		for delivered < maxData {
			n, err := resp.Body.Read(buf)
			delivered += int64(n)
			if err != nil {
				if le, ok := bodyLimit("fuzz.test:80", err).(*LimitError); ok && le.Host != "fuzz.test:80" {
					t.Fatalf("limit error %v does not name the host", le)
				}
				break
			}
		}
		overhead := c.read - header - delivered
		if bound := maxChunkOverhead + 20*delivered + maxChunkLine + 3*bufSize; overhead > bound {
			t.Fatalf("reading %d bytes of body took %d more from the connection, more than %d", delivered, overhead, bound)
		}
	})
}
