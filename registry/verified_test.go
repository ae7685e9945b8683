package registry_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// unprovenReaders returns readers of data that must never be committed
// under desc's digest: partly read before the push (6 bytes gone), the
// rest from byte 6 as a ranged fetch gives it, one byte short, and one
// byte long (whose first bytes are the whole blob).
func unprovenReaders(data []byte, desc manifest.Descriptor) map[string]func() io.Reader {
	return map[string]func() io.Reader{
		"partly read": func() io.Reader {
			r := manifest.NewVerifyingReader(bytes.NewReader(data), desc)
			io.ReadFull(r, make([]byte, 6))
			return r
		},
		"resumed from byte 6": func() io.Reader { return bytes.NewReader(data[6:]) },
		"one byte short":      func() io.Reader { return bytes.NewReader(data[:len(data)-1]) },
		"one byte long":       func() io.Reader { return bytes.NewReader(append(bytes.Clone(data), 'x')) },
	}
}

// tracedClient is a test client whose trace counts the requests sent.
func tracedClient(c *registry.Client) (*registry.Client, *syncBuffer) {
	trace := &syncBuffer{}
	c.Trace = trace
	c, _ = testClient(c)
	return c, trace
}

// syncBuffer is a client's trace.
type syncBuffer struct{ testtool.SyncBuffer }

// sent is the number of requests the trace shows.
func (s *syncBuffer) sent() int { return strings.Count(s.String(), "--> ") }

// awaitSent waits until the registry logged every request the trace
// shows since the log was last empty. A request the client gave up on
// reaches its handler whenever the server gets to it, which can be after
// the client is done: Log.Settle cannot wait for a handler that has not
// started, and the next request could overtake it.
func awaitSent(t *testing.T, srv *registrytest.Server, trace *syncBuffer, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := srv.Log.Await(ctx, trace.sent()); err != nil {
		t.Fatalf("%s: %d requests sent, %d logged", what, trace.sent(), len(srv.Log.Requests()))
	}
}

// checkNoCommit fails unless the registry holds no desc and never got a
// whole request naming its digest: what commits an upload.
func checkNoCommit(t *testing.T, srv *registrytest.Server, repo *registry.Repository, trace *syncBuffer, desc manifest.Descriptor, what string) {
	t.Helper()
	awaitSent(t, srv, trace, what)
	for _, r := range srv.Log.Requests() {
		if !strings.Contains(r.RawQuery, "digest=") {
			continue
		}
		length, _ := strconv.ParseInt(r.Header.Get("Content-Length"), 10, 64)
		if r.BytesIn == length {
			t.Errorf("%s: the registry got a whole %s ?digest= of %d bytes (status %d)", what, r.Method, length, r.Status)
		}
	}
	if ok, err := repo.Exists(context.Background(), desc); ok || err != nil {
		t.Errorf("%s: the registry holds the blob (%v)", what, err)
	}
}

// TestPushRefusesUnprovenReaders: in one POST (small blobs), one PUT, or
// chunks, a push of a reader that is not the whole blob from its first
// byte fails, and the registry never gets the request that would commit
// it.
func TestPushRefusesUnprovenReaders(t *testing.T) {
	for _, mode := range []struct {
		name  string
		size  int
		chunk int64
	}{{"monolithic", 28, 0}, {"one PUT", 2<<20 + 28, 0}, {"chunked", 2<<20 + 28, 1 << 20}} {
		src := newUploadSource(mode.size)
		for name, r := range unprovenReaders(src.data, src.desc) {
			c, trace := tracedClient(&registry.Client{ChunkSize: mode.chunk})
			srv, repo := serve(t, nil, c, "a/b")
			what := mode.name + ", " + name
			if err := repo.Push(t.Context(), src.desc, r()); err == nil {
				t.Errorf("%s: pushed", what)
			}
			checkNoCommit(t, srv, repo, trace, src.desc, what)
		}
	}
}

// TestPushResumableRefusesUnprovenReaders: continuing an upload cut after
// 3 MiB, a source that hands over bytes from another offset than asked,
// or one byte too few, fails the push before the registry gets the
// request that commits it.
func TestPushResumableRefusesUnprovenReaders(t *testing.T) {
	cases := map[string]func(src *uploadSource) func(int64) (io.ReadCloser, error){
		"bytes from 0 at the offset": func(src *uploadSource) func(int64) (io.ReadCloser, error) {
			return func(int64) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(src.data)), nil }
		},
		"bytes from 6 past the offset": func(src *uploadSource) func(int64) (io.ReadCloser, error) {
			return func(off int64) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(src.data[off+6:])), nil }
		},
		"one byte short": func(src *uploadSource) func(int64) (io.ReadCloser, error) {
			return func(off int64) (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(src.data[off : len(src.data)-1])), nil
			}
		},
	}
	for name, open := range cases {
		c, trace := tracedClient(&registry.Client{ResumeDir: t.TempDir()})
		srv, repo := serve(t, nil, c, "a/b")
		src := newUploadSource(6 << 20)
		ctx, cancel := context.WithCancel(t.Context())
		src.limit, src.cancel = 3<<20, cancel
		if err := repo.PushResumable(ctx, src.desc, src.open); err == nil {
			t.Fatalf("%s: the cut push succeeded", name)
		}
		awaitSent(t, srv, trace, name) // the cut PATCH has stored what it got
		var asked []int64
		err := repo.PushResumable(t.Context(), src.desc, func(off int64) (io.ReadCloser, error) {
			asked = append(asked, off)
			return open(src)(off)
		})
		if err == nil || len(asked) == 0 || asked[0] == 0 {
			t.Errorf("%s: pushed (%v), opening the source at %v", name, err, asked)
		}
		checkNoCommit(t, srv, repo, trace, src.desc, name)
		continued := srv.Log.Count(func(r registrytest.Request) bool {
			return r.Method == http.MethodPatch && !strings.HasPrefix(r.Header.Get("Content-Range"), "0-")
		})
		if continued != 1 {
			t.Errorf("%s: %d PATCHes continued the upload", name, continued)
		}
	}
}
