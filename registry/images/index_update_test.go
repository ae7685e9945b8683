package images_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// addEdit adds src's image to an index, replacing its platform.
func addEdit(src *images.Index) func(*images.Index) (*images.Index, error) {
	return func(ix *images.Index) (*images.Index, error) { return ix.AddIndex(src, nil) }
}

// platformsOf lists the platforms of the index at location, sorted.
func platformsOf(t *testing.T, location string) string {
	t.Helper()
	ix, err := images.OpenIndex(t.Context(), location, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	var ps []string
	for _, d := range ix.Manifests() {
		ps = append(ps, d.Platform.String())
	}
	return strings.Join(ps, " ")
}

// TestUpdateIndexCreatesAndReplaces: a missing tag becomes an index, an
// image of a platform already there replaces its entry, and an edit that
// needs an entry of a missing tag says that the tag does not exist.
func TestUpdateIndexCreatesAndReplaces(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ctx := t.Context()
	seedPlatform(t, srv.Host, "up/amd:1", linuxAMD64, 1, false)
	seedPlatform(t, srv.Host, "up/amd:2", linuxAMD64, 2, false)
	seedPlatform(t, srv.Host, "up/arm:1", linuxARM64, 3, false)
	dst := srv.Host + "/up/multi:1"
	for _, src := range []string{"up/amd:1", "up/arm:1", "up/amd:2"} {
		add, err := images.NewIndexFrom(ctx, []string{srv.Host + "/" + src}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := images.UpdateIndex(ctx, dst, addEdit(add), nil); err != nil {
			t.Fatalf("adding %s: %v", src, err)
		}
	}
	ix, err := images.OpenIndex(ctx, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	amd2, _ := images.Open(ctx, srv.Host+"/up/amd:2", nil)
	want, _ := amd2.Descriptor()
	if m := ix.Manifests(); len(m) != 2 || m[0].Digest != want.Digest || m[1].Platform.Architecture != "arm64" {
		t.Errorf("entries %v, want up/amd:2's in linux/amd64's place and linux/arm64", m)
	}
	_, err = images.UpdateIndex(ctx, srv.Host+"/up/none:1", func(ix *images.Index) (*images.Index, error) { return ix.Remove(linuxAMD64) }, nil)
	if !errors.Is(err, manifest.ErrNotFound) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("removing from a missing tag: %v", err)
	}
	if _, err := images.UpdateIndex(ctx, srv.Host+"/up/multi@"+string(want.Digest), addEdit(ix), nil); err == nil {
		t.Error("an index named by digest was updated")
	}
}

// TestReliability52_RacingWritersConverge runs three UpdateIndex at
// once, each adding its platform to one tag of the in-process registry
// (and of a layout): the tag ends with all three. Run it many times
// (-count): a lost update shows as a missing platform.
func TestReliability52_RacingWritersConverge(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ctx := t.Context()
	platforms := []manifest.Platform{linuxAMD64, linuxARM64, linuxARMv7}
	var srcs []*images.Index
	for i, p := range platforms {
		seedPlatform(t, srv.Host, fmt.Sprintf("race/src:%d", i), p, uint64(i), false)
		ix, err := images.NewIndexFrom(ctx, []string{fmt.Sprintf("%s/race/src:%d", srv.Host, i)}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, ix)
	}
	dir := filepath.Join(t.TempDir(), "lay")
	if _, err := images.CreateLayout(dir, nil); err != nil { // layout.Create itself is not safe to race
		t.Fatal(err)
	}
	for _, dst := range []string{srv.Host + "/race/multi:1", "oci:" + dir + ":multi"} {
		errs := make([]error, len(srcs))
		var wg sync.WaitGroup
		for i, src := range srcs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = images.UpdateIndex(ctx, dst, addEdit(src), nil)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if got := platformsOf(t, dst); len(strings.Fields(got)) != 3 {
			t.Errorf("%s holds %s, want all three platforms", dst, got)
		}
	}
}

// rival is a registry that, after the first `n` pushes of one tag by the
// client, pushes its own index there at once, as another writer who read
// the tag before would: the client's update is lost unless it reads back.
type rival struct {
	inner http.Handler
	path  string // /v2/NAME/manifests/TAG
	doc   *manifest.Document
	n     int32
	puts  atomic.Int32
}

func (rv *rival) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rv.inner.ServeHTTP(w, r)
	if r.Method != http.MethodPut || r.URL.Path != rv.path {
		return
	}
	if rv.puts.Add(1) > rv.n {
		return
	}
	req := httptest.NewRequest(http.MethodPut, rv.path, bytes.NewReader(rv.doc.Raw))
	req.Header.Set("Content-Type", rv.doc.MediaType)
	rec := httptest.NewRecorder()
	rv.inner.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		panic(fmt.Sprintf("the rival's push: %d %s", rec.Code, rec.Body))
	}
}

// newRival serves a registry whose rival pushes, after each of the
// client's first n pushes of race/multi:1, an index of linux/s390x.
func newRival(t *testing.T, n int32) (string, *rival) {
	t.Helper()
	rv := &rival{inner: registrytest.New(nil), path: "/v2/race/multi/manifests/1", n: n}
	srv := httptest.NewServer(rv)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	s390x := seedPlatform(t, host, "race/multi:s390x", manifest.Platform{OS: "linux", Architecture: "s390x"}, 7, false)
	doc, err := testimage.Index(false, s390x)
	if err != nil {
		t.Fatal(err)
	}
	rv.doc = doc
	seedPlatform(t, host, "race/src:amd", linuxAMD64, 1, false)
	return host, rv
}

// TestUpdateIndexMergesALostUpdate: a rival's push right after skiff's
// replaces it; skiff reads the tag back, sees its change gone, merges it
// into the rival's index and pushes again.
func TestUpdateIndexMergesALostUpdate(t *testing.T) {
	host, rv := newRival(t, 1)
	ctx := t.Context()
	src, err := images.NewIndexFrom(ctx, []string{host + "/race/src:amd"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.UpdateIndex(ctx, host+"/race/multi:1", addEdit(src), nil); err != nil {
		t.Fatal(err)
	}
	if got := platformsOf(t, host+"/race/multi:1"); got != "linux/s390x linux/amd64" {
		t.Errorf("the tag holds %q, want the rival's linux/s390x and skiff's linux/amd64", got)
	}
	if n := rv.puts.Load(); n != 2 {
		t.Errorf("skiff pushed %d times, want 2: once lost, once merged", n)
	}
}

// TestUpdateIndexGivesUp: a rival that replaces every push wins after
// UpdateAttempts tries, and the error says so.
func TestUpdateIndexGivesUp(t *testing.T) {
	host, rv := newRival(t, 1000)
	ctx := t.Context()
	src, err := images.NewIndexFrom(ctx, []string{host + "/race/src:amd"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = images.UpdateIndex(ctx, host+"/race/multi:1", addEdit(src), nil)
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("against a rival that always wins: %v", err)
	}
	if n := rv.puts.Load(); n != images.UpdateAttempts {
		t.Errorf("skiff pushed %d times, want %d", n, images.UpdateAttempts)
	}
}
