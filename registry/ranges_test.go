package registry_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/tarball"
)

// blobServer answers GETs of one blob with handler h, given the blob and
// the Range header asked.
func blobServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(h))
	t.Cleanup(srv.Close)
	return srv
}

func rangedBlob(n int) ([]byte, manifest.Descriptor) {
	data := bytes.Repeat([]byte("0123456789abcdef"), n/16)
	return data, manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)
}

// TestFetchRange: a range is asked for with a bounded Range and comes
// back exactly; a cut body is continued with a bounded Range for the rest.
func TestFetchRange(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, nil, c, "a/b")
	im := seed(t, srv, nil, "a/b", "v1", 512<<10)
	layer := im.Manifest.Manifest.Layers[0]
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), Times: 1, CutAfter: 1000})
	rc, err := repo.FetchRange(t.Context(), layer, 100, 300000)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, im.Blobs[layer.Digest][100:300000]) {
		t.Fatalf("range: %v, %d bytes", err, len(got))
	}
	srv.Log.Await(t.Context(), 2)
	var ranges []string
	for _, r := range srv.Log.Requests() {
		ranges = append(ranges, r.Header.Get("Range"))
	}
	if want := []string{"bytes=100-299999", "bytes=1100-299999"}; fmt.Sprint(ranges) != fmt.Sprint(want) {
		t.Fatalf("Range headers %q, want %q: the cut continued with a bounded range", ranges, want)
	}
}

// TestFetchRangeAnswers: a 206 for exactly the bytes asked is taken; a
// 200 or a 206 for other bytes say that ranges are not served
// (errors.ErrUnsupported), after which none is asked for again; a 416, a
// Content-Range of another total and a short Content-Length are errors.
func TestFetchRangeAnswers(t *testing.T) {
	data, desc := rangedBlob(64 << 10)
	size := len(data)
	cases := []struct {
		name        string
		status      int
		cr          string // Content-Range; "" none
		unsupported bool
		fails       bool
	}{
		{"exact", 206, fmt.Sprintf("bytes 10-99/%d", size), false, false},
		{"unknown total", 206, "bytes 10-99/*", false, false},
		{"200, the whole blob", 200, "", true, true},
		{"206 to the end", 206, fmt.Sprintf("bytes 10-%d/%d", size-1, size), true, true},
		{"206 from elsewhere", 206, fmt.Sprintf("bytes 0-89/%d", size), true, true},
		{"206 without Content-Range", 206, "", true, true},
		{"another total", 206, fmt.Sprintf("bytes 10-99/%d", size+1), false, true},
		{"416", 416, fmt.Sprintf("bytes */%d", size), false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var gets int
			srv := blobServer(t, func(w http.ResponseWriter, r *http.Request) {
				gets++
				if tc.cr != "" {
					w.Header().Set("Content-Range", tc.cr)
				}
				body := data
				if tc.status == 206 {
					body = data[10:100]
				}
				if tc.status == 416 {
					body = nil
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(tc.status)
				w.Write(body)
			})
			repo := newRepo(t, &registry.Client{Retry: registry.RetryPolicy{Attempts: 1}}, srv, "a/b")
			rc, err := repo.FetchRange(t.Context(), desc, 10, 100)
			if err == nil {
				var got []byte
				got, err = io.ReadAll(rc)
				rc.Close()
				if err == nil && !bytes.Equal(got, data[10:100]) {
					err = errors.New("other bytes")
				}
			}
			if (err != nil) != tc.fails || errors.Is(err, errors.ErrUnsupported) != tc.unsupported {
				t.Fatalf("err = %v; want failure %v, unsupported %v", err, tc.fails, tc.unsupported)
			}
			if !tc.unsupported {
				return
			}
			if _, err := repo.FetchRange(t.Context(), desc, 10, 100); !errors.Is(err, errors.ErrUnsupported) || gets != 1 {
				t.Fatalf("the next range: %v after %d requests; want ErrUnsupported without asking", err, gets)
			}
		})
	}
}

// TestFetchRangeWhole: a 200 to a range from byte 0 is the whole blob,
// read once: the reader says so and yields all of it.
func TestFetchRangeWhole(t *testing.T) {
	data, desc := rangedBlob(64 << 10)
	gets := 0
	srv := blobServer(t, func(w http.ResponseWriter, r *http.Request) {
		gets++
		w.Write(data)
	})
	repo := newRepo(t, &registry.Client{}, srv, "a/b")
	rc, err := repo.FetchRange(t.Context(), desc, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	w, ok := rc.(interface{ Whole() bool })
	if err != nil || !bytes.Equal(got, data) || !ok || !w.Whole() {
		t.Fatalf("%v, %d bytes, whole %v", err, len(got), ok && w.Whole())
	}
	if _, err := repo.FetchRange(t.Context(), desc, 0, 1000); !errors.Is(err, errors.ErrUnsupported) || gets != 1 {
		t.Fatalf("the next range: %v after %d requests; want ErrUnsupported without asking", err, gets)
	}
}

// rangedPull pulls im's repository into a tarball with ranges from 1 MiB,
// and returns the file's path and error.
func rangedPull(t *testing.T, c *registry.Client, srv *registrytest.Server, im *testimage.Image, rangeMin int64) (string, error) {
	t.Helper()
	repo := repoOn(t, c, srv, "a/b")
	out := filepath.Join(t.TempDir(), "out.tar")
	imgs := []tarball.Entry{{Tags: []string{"a/b:v1"}, Manifest: im.Manifest, Fetcher: repo}}
	return out, tarball.WriteFile(t.Context(), out, imgs, &tarball.WriteOptions{RangeMin: rangeMin, Jobs: 4})
}

// pullOnce pulls im without ranges, for the bytes a ranged pull must give.
func pullOnce(t *testing.T, c *registry.Client, srv *registrytest.Server, im *testimage.Image) []byte {
	t.Helper()
	out, err := rangedPull(t, c, srv, im, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	srv.Log.Reset()
	return b
}

// bigLayer seeds an image whose one layer spans a few ranges.
func bigLayer(t *testing.T, srv *registrytest.Server, c *registry.Client) (*testimage.Image, manifest.Descriptor) {
	t.Helper()
	im := seed(t, srv, c, "a/b", "v1", 20<<20)
	return im, im.Manifest.Manifest.Layers[0]
}

// layerGETs are the logged GETs of layer, on any host.
func layerGETs(srv *registrytest.Server, layer manifest.Descriptor) []registrytest.Request {
	var out []registrytest.Request
	for _, r := range srv.Log.Requests() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/blobs/"+string(layer.Digest)) {
			out = append(out, r)
		}
	}
	return out
}

// slowHeads makes srv send a blob's one stream (a GET without Range) at
// headRate, slower than a reader on loopback takes it, even under the
// race detector: Fetch with Client.Ranges goes on in ranges.
func slowHeads(srv *registrytest.Server) {
	srv.Faults.Add(registrytest.Fault{Rate: headRate, Match: plainBlobGET})
}

const headRate = 4e6

func plainBlobGET(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") && r.Header.Get("Range") == ""
}

// headSlack is what a Fetch that went on in ranges may have been sent of
// its head beyond the bytes it read: what was on its way when it closed
// it, as the first range's answer came (5% of bigLayer, issue 29's bound
// on bytes fetched).
const headSlack = 1 << 20

// bounded reports whether a Range header names a first and a last byte.
func bounded(v string) bool {
	a, z, ok := strings.Cut(strings.TrimPrefix(v, "bytes="), "-")
	_, e1 := strconv.ParseInt(a, 10, 64)
	_, e2 := strconv.ParseInt(z, 10, 64)
	return strings.HasPrefix(v, "bytes=") && ok && e1 == nil && e2 == nil
}

// meeting holds the first ranged response of a layer until a second
// range of it is asked for: the pull must fetch ranges at once. It
// answers ranges as a registry behind a slow link does
// (registrytest.SlowRanges), past whose slow bytes the hold begins.
type meeting struct {
	digest string
	mu     sync.Mutex
	open   int
	most   int
	met    chan struct{}
}

func (m *meeting) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+m.digest) || r.Header.Get("Range") == "" {
			h.ServeHTTP(w, r)
			return
		}
		m.mu.Lock()
		m.open++
		m.most = max(m.most, m.open)
		first := m.open == 1 && m.most == 1
		if m.open == 2 {
			select {
			case <-m.met:
			default:
				close(m.met)
			}
		}
		m.mu.Unlock()
		defer func() { m.mu.Lock(); m.open--; m.mu.Unlock() }()
		slow := registrytest.SlowRanges(h)
		if first {
			slow.ServeHTTP(&heldWriter{ResponseWriter: w, met: m.met}, r)
			return
		}
		slow.ServeHTTP(w, r)
	})
}

// heldWriter writes the first SlowRangeBytes, then waits for the
// meeting.
type heldWriter struct {
	http.ResponseWriter
	met     chan struct{}
	written int
}

func (w *heldWriter) Write(p []byte) (int, error) {
	if w.written >= registrytest.SlowRangeBytes {
		http.NewResponseController(w.ResponseWriter).Flush()
		select {
		case <-w.met:
		case <-time.After(10 * time.Second):
			return 0, errors.New("no second range was asked for while the first was open")
		}
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += n
	return n, err
}

// TestRangedPullHonoursRanges: a large layer comes as several bounded
// ranges at once, every byte asked for once, and the tarball is the one
// a pull in one stream writes.
func TestRangedPullHonoursRanges(t *testing.T) {
	g := registrytest.New(nil)
	t.Cleanup(func() { g.Close() })
	m := &meeting{met: make(chan struct{})}
	hs := httptest.NewServer(m.wrap(g))
	t.Cleanup(hs.Close)
	srv := &registrytest.Server{Registry: g, URL: hs.URL, Host: strings.TrimPrefix(hs.URL, "http://")}
	im, layer := bigLayer(t, srv, nil)
	want := pullOnce(t, &registry.Client{}, srv, im)
	m.digest = string(layer.Digest)
	out, err := rangedPull(t, &registry.Client{}, srv, im, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Fatal("the ranged pull wrote another tarball")
	}
	if m.most < 2 {
		t.Errorf("at most %d range at once", m.most)
	}
	gets := layerGETs(srv, layer)
	var sent int64
	for _, r := range gets {
		if !bounded(r.Header.Get("Range")) || r.Status != http.StatusPartialContent {
			t.Errorf("a GET with Range %q answered %d", r.Header.Get("Range"), r.Status)
		}
		sent += r.BytesOut
	}
	if sent != layer.Size || len(gets) < 2 {
		t.Errorf("%d bytes in %d ranges for a layer of %d", sent, len(gets), layer.Size)
	}
}

// TestRangedPullIgnoredRanges: a registry that answers Range with the
// whole blob (200) gets one stream, and sends the blob about once.
func TestRangedPullIgnoredRanges(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im, layer := bigLayer(t, srv, nil)
	want := pullOnce(t, &registry.Client{}, srv, im)
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), NoRange: true})
	out, err := rangedPull(t, &registry.Client{}, srv, im, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Fatal("the pull wrote another tarball")
	}
	var sent int64
	gets := layerGETs(srv, layer)
	for _, r := range gets {
		sent += r.BytesOut
	}
	if sent > layer.Size+layer.Size/20 || len(gets) != 1 {
		t.Fatalf("%d bytes sent in %d GETs for a layer of %d: want one stream, not 5%% more", sent, len(gets), layer.Size)
	}
}

// TestRangedPullWrongContentRange: a registry whose 206s name other bytes
// than the bounded range asked gets one stream from where the bytes it
// has end.
func TestRangedPullWrongContentRange(t *testing.T) {
	g := registrytest.New(nil)
	t.Cleanup(func() { g.Close() })
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rg := r.Header.Get("Range"); bounded(rg) {
			w = &shiftedRange{ResponseWriter: w}
		}
		g.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	srv := &registrytest.Server{Registry: g, URL: hs.URL, Host: strings.TrimPrefix(hs.URL, "http://")}
	im, layer := bigLayer(t, srv, nil)
	want := pullOnce(t, &registry.Client{}, srv, im)
	out, err := rangedPull(t, &registry.Client{}, srv, im, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Fatal("the pull wrote another tarball")
	}
	if n := len(layerGETs(srv, layer)); n != 2 {
		t.Fatalf("%d GETs of the layer; want the refused range and one stream", n)
	}
}

// shiftedRange names the byte after the one it sends first in its
// Content-Range.
type shiftedRange struct{ http.ResponseWriter }

func (w *shiftedRange) WriteHeader(code int) {
	if cr := w.Header().Get("Content-Range"); code == http.StatusPartialContent {
		var a, z, total int64
		fmt.Sscanf(cr, "bytes %d-%d/%d", &a, &z, &total)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a+1, z, total))
	}
	w.ResponseWriter.WriteHeader(code)
}

// TestRangedPullCutMidRange: a range cut mid-body is continued with a
// bounded range for its rest, in a pull and through Fetch with
// Client.Ranges: every byte is sent once.
func TestRangedPullCutMidRange(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im, layer := bigLayer(t, srv, nil)
	want := pullOnce(t, &registry.Client{}, srv, im)
	// A slow registry (20 MB/s a connection), whose first two answers are cut.
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"+string(layer.Digest)), Times: 2, CutAfter: 3 << 20, Rate: 20e6})
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"+string(layer.Digest)), Rate: 20e6})
	out, err := rangedPull(t, &registry.Client{}, srv, im, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Fatal("the pull wrote another tarball")
	}
	var sent int64
	for _, r := range layerGETs(srv, layer) {
		if !bounded(r.Header.Get("Range")) {
			t.Errorf("a GET with Range %q", r.Header.Get("Range"))
		}
		sent += r.BytesOut
	}
	if sent != layer.Size {
		t.Fatalf("%d bytes sent for a layer of %d", sent, layer.Size)
	}
	srv.Log.Reset() // the same through Fetch, for a copy, from a slow head
	srv.Faults.Reset()
	slowHeads(srv)
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"+string(layer.Digest)), Times: 2, CutAfter: 1 << 20})
	c := &registry.Client{Ranges: &registry.Ranges{Min: 1 << 20}}
	if got, err := fetchAll(t, repoOn(t, c, srv, "a/b"), layer); err != nil || !bytes.Equal(got, im.Blobs[layer.Digest]) {
		t.Fatalf("Fetch: %v, %d bytes", err, len(got))
	}
	sent, cut := 0, 0
	for _, r := range layerGETs(srv, layer) {
		sent += r.BytesOut
		if r.BytesOut == 1<<20 && bounded(r.Header.Get("Range")) {
			cut++
		}
	}
	t.Logf("Fetch: %d bytes sent for a layer of %d", sent, layer.Size)
	if sent < layer.Size || sent > layer.Size+headSlack || cut < 2 {
		t.Fatalf("Fetch: %d bytes sent for a layer of %d, %d ranges cut (or their rests)", sent, layer.Size, cut)
	}
}

// TestRangedPullRedirectGetsNoCredentials: every range is redirected to a
// blob host, which refuses any Authorization (as S3 does) and gets none,
// while the registry needed a bearer token (RELIABILITY #19); in a pull,
// and through Fetch with Client.Ranges.
func TestRangedPullRedirectGetsNoCredentials(t *testing.T) {
	srv := registrytest.NewServer(t, bearer(map[string]string{"alice": "pw-alice"}, nil))
	c := &registry.Client{Keychain: auth.Static{srv.Host: {Username: "alice", Password: "pw-alice"}}}
	im, layer := bigLayer(t, srv, c)
	want := pullOnce(t, c, srv, im)
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "^/v2/.*/blobs/"), RedirectTo: srv.BlobURL})
	out, err := rangedPull(t, c, srv, im, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Fatal("the pull wrote another tarball")
	}
	blobHostGotNone(t, srv, layer, 2) // near: the range it measured with, then the rest in one
	srv.Log.Reset()
	slowHeads(srv)
	c.Ranges = &registry.Ranges{Min: 1 << 20} // the same through Fetch, for a copy, from a slow head
	if got, err := fetchAll(t, repoOn(t, c, srv, "a/b"), layer); err != nil || !bytes.Equal(got, im.Blobs[layer.Digest]) {
		t.Fatalf("Fetch: %v, %d bytes", err, len(got))
	}
	blobHostGotNone(t, srv, layer, 2)
}

// blobHostGotNone checks that at least least bounded ranges of layer
// reached the blob host, none with Authorization, nor the one stream a
// Fetch starts with.
func blobHostGotNone(t *testing.T, srv *registrytest.Server, layer manifest.Descriptor, least int) {
	t.Helper()
	hosted := 0
	for _, r := range layerGETs(srv, layer) {
		if r.Server != "blobs" {
			continue
		}
		rg := r.Header.Get("Range")
		if rg == "" && r.Header.Get("Authorization") == "" {
			continue // a head
		}
		hosted++
		if r.Header.Get("Authorization") != "" || r.Status != http.StatusPartialContent { // a near host: the rest after the first range in one stream
			t.Errorf("the blob host got Authorization %q, Range %q, answered %d", r.Header.Get("Authorization"), r.Header.Get("Range"), r.Status)
		}
	}
	if hosted < least {
		t.Fatalf("%d ranges reached the blob host", hosted)
	}
}

// TestRangedPullWrongBytesInOneRange: a registry that serves one range
// with a wrong byte fails the pull with a digest mismatch, and nothing is
// named as the output.
func TestRangedPullWrongBytesInOneRange(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im, layer := bigLayer(t, srv, nil)
	srv.Faults.Add(registrytest.Fault{Times: 1, WrongBytes: true, Match: func(r *http.Request) bool {
		return strings.HasSuffix(r.URL.Path, "/blobs/"+string(layer.Digest)) && strings.HasPrefix(r.Header.Get("Range"), "bytes=8388608-")
	}})
	out, err := rangedPull(t, &registry.Client{}, srv, im, 1<<20)
	if !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("got %v, want a digest mismatch", err)
	}
	if _, serr := os.Stat(out); !errors.Is(serr, os.ErrNotExist) {
		t.Fatalf("the output exists after a digest mismatch: %v", serr)
	}
}

// TestFetchRanges: with Client.Ranges, Fetch reads a large blob as
// bounded ranges, several at once, and yields it in order, verified: a
// copy uploads it as one stream.
func TestFetchRanges(t *testing.T) {
	g := registrytest.New(nil)
	t.Cleanup(func() { g.Close() })
	m := &meeting{met: make(chan struct{})}
	hs := httptest.NewServer(m.wrap(g))
	t.Cleanup(hs.Close)
	srv := &registrytest.Server{Registry: g, URL: hs.URL, Host: strings.TrimPrefix(hs.URL, "http://")}
	im, layer := bigLayer(t, srv, nil)
	m.digest = string(layer.Digest)
	slowHeads(srv)
	c := &registry.Client{Ranges: &registry.Ranges{Min: 1 << 20}}
	rc, err := repoOn(t, c, srv, "a/b").Fetch(t.Context(), layer)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := repoOn(t, c, srv, "c/d").Push(t.Context(), layer, rc); err != nil {
		t.Fatal(err)
	}
	if got, err := fetchAll(t, repoOn(t, &registry.Client{}, srv, "c/d"), layer); err != nil || !bytes.Equal(got, im.Blobs[layer.Digest]) {
		t.Fatalf("the copy: %v, %d bytes", err, len(got))
	}
	if m.most < 2 {
		t.Errorf("at most %d range at once", m.most)
	}
	heads := 0
	for _, r := range layerGETs(srv, layer) {
		switch rg := r.Header.Get("Range"); {
		case r.Path != "/v2/a/b/blobs/"+string(layer.Digest):
		case rg == "":
			heads++
		case !bounded(rg):
			t.Errorf("a GET with Range %q", rg)
		}
	}
	if heads != 1 {
		t.Errorf("%d GETs of the whole layer, want the head alone", heads)
	}
}

// TestFetchFastSourceNoRanges: with Client.Ranges, a registry that sends a
// large blob faster than its reader takes it (an upload as near as the
// source) is asked for no range: the one stream is all there is.
func TestFetchFastSourceNoRanges(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im, layer := bigLayer(t, srv, nil)
	c := &registry.Client{Ranges: &registry.Ranges{Min: 1 << 20}}
	rc, err := repoOn(t, c, srv, "a/b").Fetch(t.Context(), layer)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got bytes.Buffer
	for { // a reader that takes 64 KiB every 2 ms (32 MB/s at most), as an upload might: a loopback source outruns it even on a busy machine
		time.Sleep(2 * time.Millisecond)
		n, err := io.CopyN(&got, rc, 64<<10)
		if err == io.EOF && n == 0 {
			break
		}
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), im.Blobs[layer.Digest]) {
		t.Fatalf("%d bytes, not the layer's", got.Len())
	}
	for _, r := range layerGETs(srv, layer) {
		if r.Header.Get("Range") != "" {
			t.Fatalf("a source faster than its reader got Range %q", r.Header.Get("Range"))
		}
	}
}

// TestFetchRangesIgnored: with Client.Ranges, a registry that ignores
// Range, slow, sends a large blob once: the one stream it started with
// goes on to the end after the range it answered with 200; one that sends
// a wrong byte in a range fails the read with a digest mismatch.
func TestFetchRangesIgnored(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := seed(t, srv, nil, "a/b", "v1", 8<<20) // sent whole at headRate: two seconds
	layer := im.Manifest.Manifest.Layers[0]
	c := &registry.Client{Ranges: &registry.Ranges{Min: 1 << 20}}
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), NoRange: true, Rate: headRate})
	got, err := fetchAll(t, repoOn(t, c, srv, "a/b"), layer)
	if err != nil || !bytes.Equal(got, im.Blobs[layer.Digest]) {
		t.Fatalf("%v, %d bytes", err, len(got))
	}
	var sent int64
	ranged := 0
	for _, r := range layerGETs(srv, layer) {
		sent += r.BytesOut
		if r.Header.Get("Range") != "" {
			ranged++
		}
	}
	if sent > layer.Size+headSlack || ranged != 1 {
		t.Fatalf("%d bytes sent for a layer of %d, %d ranges asked: want one", sent, layer.Size, ranged)
	}
	// Every range has a wrong first byte, so whichever of them the reader
	// gets (a range fetched ahead is dropped when the rest goes back to one
	// stream) fails it. The layer is large enough that a head whose first
	// bytes came in a burst (its reader late to start on a busy machine)
	// still leaves room for ranges once it reads slow.
	srv.Faults.Reset()
	big := seed(t, srv, nil, "a/b", "v2", 32<<20).Manifest.Manifest.Layers[0]
	slowHeads(srv)
	srv.Faults.Add(registrytest.Fault{WrongBytes: true, Match: func(r *http.Request) bool {
		return bounded(r.Header.Get("Range"))
	}})
	if _, err := fetchAll(t, repoOn(t, &registry.Client{Ranges: &registry.Ranges{Min: 1 << 20}}, srv, "a/b"), big); !errors.Is(err, manifest.ErrDigestMismatch) {
		ranged := 0
		for _, r := range layerGETs(srv, big) {
			if bounded(r.Header.Get("Range")) {
				ranged++
			}
		}
		t.Fatalf("wrong bytes in every range (%d ranges asked): %v, want a digest mismatch", ranged, err)
	}
}

// TestRangesIgnoredMidway: a registry that honours the first range of a
// large layer, then answers the next bounded ones with the whole blob
// (200, as an edge of a CDN that ignores Range does) while it serves an
// open Range, gets one stream from the end of the bytes it has: no byte
// of the layer is sent twice, into a tarball (resume.Slot) or to a reader
// in order (Client.Ranges, resume.Stream), and the result is the layer.
func TestRangesIgnoredMidway(t *testing.T) {
	g := registrytest.New(nil)
	t.Cleanup(func() { g.Close() })
	var mu sync.Mutex
	var blob []byte
	var digest string
	honoured := false // the first bounded range of the layer was served
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rg := r.Header.Get("Range")
		mu.Lock()
		blob, digest := blob, digest
		layer := digest != "" && strings.HasSuffix(r.URL.Path, "/blobs/"+digest) && bounded(rg)
		first := layer && !honoured
		honoured = honoured || layer
		mu.Unlock()
		if !layer || first {
			g.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(blob)))
		w.Write(blob) // not logged: only what the registry sends counts
	}))
	t.Cleanup(hs.Close)
	srv := &registrytest.Server{Registry: g, URL: hs.URL, Host: strings.TrimPrefix(hs.URL, "http://")}
	im, layer := bigLayer(t, srv, nil)
	want := pullOnce(t, &registry.Client{}, srv, im)
	mu.Lock()
	blob, digest = im.Blobs[layer.Digest], string(layer.Digest)
	mu.Unlock()
	// check finds each byte sent once (but what was on its way of a head
	// closed, up to slack) and, after heads ones stream from byte 0, one
	// from past byte 0.
	check := func(name string, heads int, slack int64) {
		t.Helper()
		var sent int64
		var open []string
		for _, r := range layerGETs(srv, layer) {
			sent += r.BytesOut
			if rg := r.Header.Get("Range"); !bounded(rg) {
				open = append(open, rg)
			}
		}
		last := len(open) - 1
		if sent < layer.Size || sent > layer.Size+slack || len(open) != heads+1 || open[last] == "" || strings.HasPrefix(open[last], "bytes=0-") {
			t.Errorf("%s: %d bytes of a layer of %d sent, the streams asked with Range %q: want each byte once, a stream from past byte 0", name, sent, layer.Size, open)
		}
		srv.Log.Reset()
		mu.Lock()
		honoured = false
		mu.Unlock()
	}
	out, err := rangedPull(t, &registry.Client{}, srv, im, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Fatal("the pull wrote another tarball")
	}
	check("pull", 0, 0)
	slowHeads(srv) // Fetch goes on in ranges from its slow head
	got, err := fetchAll(t, repoOn(t, &registry.Client{Ranges: &registry.Ranges{Min: 1 << 20}}, srv, "a/b"), layer)
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("Fetch: %v, %d bytes", err, len(got))
	}
	check("Fetch", 1, headSlack)
}
