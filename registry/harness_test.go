package registry_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// sleeps records the waits a client asked for instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// testClient makes c record its retry waits instead of waiting.
func testClient(c *registry.Client) (*registry.Client, *sleeps) {
	s := &sleeps{}
	registry.SetSleep(c, s.sleep)
	return c, s
}

// serve starts a registrytest server and returns c's repository name on it.
func serve(t *testing.T, opts *registrytest.Options, c *registry.Client, name string) (*registrytest.Server, *registry.Repository) {
	t.Helper()
	srv := registrytest.NewServer(t, opts)
	return srv, repoOn(t, c, srv, name)
}

func repoOn(t *testing.T, c *registry.Client, srv *registrytest.Server, name string) *registry.Repository {
	t.Helper()
	ref, err := reference.Parse(srv.Host + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return c.Repository(ref)
}

// seed pushes a generated image to name:tag with client c (a plain one when
// nil), then clears the server's log.
func seed(t *testing.T, srv *registrytest.Server, c *registry.Client, name, tag string, sizes ...int) *testimage.Image {
	t.Helper()
	im, err := testimage.New(testimage.Options{LayerSizes: sizes, Seed: uint64(len(sizes))})
	if err != nil {
		t.Fatal(err)
	}
	if c == nil {
		c = &registry.Client{}
	}
	if err := testimage.Push(t.Context(), repoOn(t, c, srv, name), im, tag); err != nil {
		t.Fatal(err)
	}
	srv.Log.Reset()
	return im
}

// is matches logged requests by method and a part of the path.
func is(method, pathPart string) func(registrytest.Request) bool {
	return func(r registrytest.Request) bool {
		return (method == "" || r.Method == method) && strings.Contains(r.Path, pathPart)
	}
}
