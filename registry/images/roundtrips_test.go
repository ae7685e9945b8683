package images_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
)

// linkDelay is the round trip the slowLink simulates: far longer than
// the time the test's own work takes between requests, so requests sent
// together overlap, and one sent after another ended is sequential,
// however the goroutines are scheduled.
const linkDelay = 40 * time.Millisecond

// bulkDelay is how long a large blob takes to cross the link: as in the
// harness, whose 8 MiB layers take 80 round trips of its link's
// bandwidth, a large move holds its slot while many round trips pass.
const bulkDelay = 10 * linkDelay

// slowLink is a transport that delays every request by linkDelay, and
// the body of a blob of more than 1 MiB by bulkDelay, as a long link
// would, and records when each was sent and when its response
// was read, to find the copy's sequential round trips as the harness
// (internal/bench/compare) does.
type slowLink struct {
	base *http.Transport
	mu   sync.Mutex
	reqs []linkRequest
}

type linkRequest struct {
	what      string
	sent, end time.Time
}

func newSlowLink(t *testing.T) *slowLink {
	l := &slowLink{base: &http.Transport{}}
	t.Cleanup(l.base.CloseIdleConnections)
	return l
}

func (l *slowLink) RoundTrip(req *http.Request) (*http.Response, error) {
	sent := time.Now()
	time.Sleep(linkDelay) // the link's latency, not a synchronization
	resp, err := l.base.RoundTrip(req)
	what := req.Method + " " + shortPath(req.URL.Path)
	if err != nil {
		l.record(linkRequest{what, sent, time.Now()})
		return nil, err
	}
	what += fmt.Sprint(" ", resp.StatusCode)
	if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/") && resp.ContentLength > 1<<20 {
		resp.Body = &bulkBody{ReadCloser: resp.Body}
	}
	resp.Body = &endBody{ReadCloser: resp.Body, done: func() { l.record(linkRequest{what, sent, time.Now()}) }}
	return resp, nil
}

func (l *slowLink) record(r linkRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
}

// depth returns the longest chain of requests each sent after the one
// before had ended, and the chain.
func (l *slowLink) depth() (int, string) {
	l.mu.Lock()
	s := slices.Clone(l.reqs)
	l.mu.Unlock()
	slices.SortFunc(s, func(a, b linkRequest) int { return a.sent.Compare(b.sent) })
	depth, prev := make([]int, len(s)), make([]int, len(s))
	best := -1
	for i := range s {
		prev[i] = -1
		for j := range i {
			if s[j].end.Before(s[i].sent) && (prev[i] < 0 || depth[j] > depth[prev[i]]) {
				prev[i] = j
			}
		}
		depth[i] = 1
		if prev[i] >= 0 {
			depth[i] += depth[prev[i]]
		}
		if best < 0 || depth[i] > depth[best] {
			best = i
		}
	}
	var chain []string
	for i := best; i >= 0; i = prev[i] {
		chain = append(chain, s[i].what)
	}
	slices.Reverse(chain)
	return len(chain), strings.Join(chain, " → ")
}

// bulkBody is a large blob's body: its bytes arrive bulkDelay after the
// headers.
type bulkBody struct {
	io.ReadCloser
	once sync.Once
}

func (b *bulkBody) Read(p []byte) (int, error) {
	b.once.Do(func() { time.Sleep(bulkDelay) }) // the link's bandwidth, not a synchronization
	return b.ReadCloser.Read(p)
}

// endBody calls done once, when the response body is closed.
type endBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *endBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

func shortPath(p string) string {
	for _, sep := range []string{"/blobs/", "/manifests/"} {
		if i := strings.LastIndex(p, sep); i >= 0 {
			p = p[i+1:]
		}
	}
	if i := strings.Index(p, "sha256:"); i >= 0 {
		p = p[:i+7] + "…"
	}
	if i := strings.Index(p, "uploads/"); i >= 0 && len(p) > i+8 {
		p = p[:i+8] + "…"
	}
	return p
}

// pushThreePlatforms stores at host/repo:1 an index of three images, each
// of a 2 MiB layer and a small one, as the harness's index is shaped.
func pushThreePlatforms(t *testing.T, host, repo string) {
	t.Helper()
	var imgs []*images.Image
	for i, arch := range []string{"amd64", "arm64", "s390x"} {
		im, err := imagestest.Random(2<<20, 1, &imagestest.Options{Seed: uint64(i), Platform: manifest.Platform{OS: "linux", Architecture: arch}})
		if err != nil {
			t.Fatal(err)
		}
		small, err := imagestest.Layer(1<<10, uint64(100+i))
		if err != nil {
			t.Fatal(err)
		}
		if im, err = im.AppendLayer(small, manifest.History{}); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, im)
	}
	ix, err := images.NewIndex(imgs...)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := reference.Parse(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	dst := (&registry.Client{}).Repository(ref)
	if _, err := ix.Write(t.Context(), dst, "1", nil); err != nil {
		t.Fatal(err)
	}
}

// TestCopyIndexRoundTrips: copying a three-platform index (nine blobs,
// three of them larger than a request's worth) over a link with a long
// round trip takes at most the sequential round trips the checks ahead of
// the moves, the sessions opened while the source opens and the
// manifests pushed at once allow. Between registries: the index, the
// manifests, a HEAD, a source GET beside the session's POST, and the PUT;
// the small blobs (and the checks) pass while the large ones move; then
// the manifests and the index. Before, each blob's HEAD, POST, GET and
// PUT followed each other, one blob after another in each of the four
// slots: 20 and more. Within one registry every blob is mounted (HEAD,
// then the mount: see copier.skip for why not the mount alone).
func TestCopyIndexRoundTrips(t *testing.T) {
	cases := []struct {
		name      string
		sameHost  bool
		resumeDir bool
		max       int
	}{
		{"across registries, resumable (the CLI's)", false, true, 14},
		{"across registries", false, false, 14},
		{"within one registry", true, true, 11},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := registrytest.NewServer(t, &registrytest.Options{NoSinglePOST: true})
			dst := src
			if !tc.sameHost {
				dst = registrytest.NewServer(t, &registrytest.Options{NoSinglePOST: true})
			}
			pushThreePlatforms(t, src.Host, "src/multi")
			link := newSlowLink(t)
			c := &registry.Client{Transport: link.RoundTrip}
			if tc.resumeDir {
				c.ResumeDir = t.TempDir()
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if _, err := images.Copy(ctx, src.Host+"/src/multi:1", dst.Host+"/dst/multi:1", &images.Options{Client: c}); err != nil {
				t.Fatal(err)
			}
			n, chain := link.depth()
			t.Logf("%d sequential round trips: %s", n, chain)
			if n > tc.max {
				t.Errorf("%d sequential round trips, want at most %d: %s", n, tc.max, chain)
			}
			mounts := dst.Log.Count(func(r registrytest.Request) bool { return strings.Contains(r.RawQuery, "mount=") })
			if tc.sameHost && mounts != 9 || !tc.sameHost && mounts != 0 {
				t.Errorf("%d mounts", mounts)
			}
		})
	}
}
