package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// bounded is a Server over a layout storage in root whose index.json may
// hold at most limit bytes, called straight through its handler.
type bounded struct {
	t    *testing.T
	root string
	srv  *Server
	log  *bytes.Buffer
}

func startBounded(t *testing.T, root string, limit int64) *bounded {
	st := NewLayoutStorage(root).(*layoutStorage)
	st.maxIndex = limit
	var logged bytes.Buffer
	srv := New(&Options{Storage: st, UploadDir: filepath.Join(root, UploadsDir), ErrorLog: log.New(&logged, "", 0)})
	t.Cleanup(func() { srv.Close() })
	return &bounded{t: t, root: root, srv: srv, log: &logged}
}

func (b *bounded) do(method, path string, body []byte, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	b.srv.ServeHTTP(w, req)
	return w
}

func (b *bounded) want(w *httptest.ResponseRecorder, status int, what string) {
	b.t.Helper()
	if w.Code != status {
		b.t.Fatalf("%s: %d %s, want %d", what, w.Code, w.Body, status)
	}
}

// The blobs every manifest of these tests shares.
var (
	sharedConfig = []byte(`{"architecture":"amd64","os":"linux"}`)
	sharedLayer  = []byte("a layer")
)

func (b *bounded) pushBlobs(repo string) {
	b.t.Helper()
	for _, blob := range [][]byte{sharedConfig, sharedLayer} {
		w := b.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(manifest.FromBytes(blob)), blob)
		b.want(w, 201, "blob POST")
	}
}

// image returns a manifest over the shared blobs, with annotations and
// the fields of extra.
func image(annotations map[string]string, extra map[string]any) ([]byte, manifest.Descriptor) {
	m := map[string]any{"schemaVersion": 2, "mediaType": manifest.MediaTypeOCIManifest,
		"config":      manifest.DescriptorFor(manifest.MediaTypeOCIConfig, sharedConfig),
		"layers":      []manifest.Descriptor{manifest.DescriptorFor(manifest.MediaTypeOCILayer, sharedLayer)},
		"annotations": annotations}
	for k, v := range extra {
		m[k] = v
	}
	raw, _ := json.Marshal(m)
	return raw, manifest.DescriptorFor(manifest.MediaTypeOCIManifest, raw)
}

// numbered is the image n, of the same size whatever n (below 1,000).
func numbered(n int) ([]byte, manifest.Descriptor) {
	return image(map[string]string{"n": fmt.Sprintf("%03d", n)}, nil)
}

func (b *bounded) put(repo, ref string, raw []byte) *httptest.ResponseRecorder {
	return b.do("PUT", "/v2/"+repo+"/manifests/"+ref, raw, "Content-Type", manifest.MediaTypeOCIManifest)
}

// entrySize is what an entry listing desc, named tag unless tag is "",
// adds to index.json: its JSON, and a comma unless index.json lists
// nothing yet.
func entrySize(index []byte, desc manifest.Descriptor, tag string) int {
	if tag != "" {
		desc.Annotations = map[string]string{layout.RefNameAnnotation: tag}
	}
	e, _ := json.Marshal(desc)
	if bytes.Contains(index, []byte(`"manifests":[]`)) {
		return len(e)
	}
	return len(e) + 1
}

// fill pushes numbered images from n on, by tag (v000, v001 …) or by
// digest, for as long as each fits within limit, checking that
// index.json grows by its entry; it returns the first n that would not
// fit.
func (b *bounded) fill(repo string, n int, limit int64, byTag bool) int {
	b.t.Helper()
	index := filepath.Join(b.root, filepath.FromSlash(repo), layout.IndexFile)
	for ; ; n++ {
		before := readBytes(b.t, index)
		raw, desc := numbered(n)
		tag, ref := "", string(desc.Digest)
		if byTag {
			tag = fmt.Sprintf("v%03d", n)
			ref = tag
		}
		want := len(before) + entrySize(before, desc, tag)
		if int64(want) > limit {
			return n
		}
		b.want(b.put(repo, ref, raw), 201, "PUT "+ref)
		if got := len(readBytes(b.t, index)); got != want {
			b.t.Fatalf("after %s index.json has %d bytes, want %d", tag, got, want)
		}
	}
}

func readBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var accept = []string{"Accept", manifest.MediaTypeOCIManifest}

// wantAbsent checks that the manifest desc of a refused push is not
// served, nor linked into the layout.
func (b *bounded) wantAbsent(repo string, desc manifest.Descriptor) {
	b.t.Helper()
	b.want(b.do("GET", "/v2/"+repo+"/manifests/"+string(desc.Digest), nil, accept...), 404, "GET the refused manifest")
	if _, err := os.Lstat(filepath.Join(b.root, filepath.FromSlash(repo), layout.BlobsDir, "sha256", desc.Digest.Hex())); err == nil {
		b.t.Fatal("the refused manifest was linked into the layout")
	}
}

// wantFull checks a push refused for growing index.json past limit.
func (b *bounded) wantFull(w *httptest.ResponseRecorder, repo string, limit int64) {
	b.t.Helper()
	var eb struct {
		Errors []struct{ Code, Message string }
	}
	json.Unmarshal(w.Body.Bytes(), &eb)
	if w.Code != http.StatusForbidden || len(eb.Errors) != 1 || eb.Errors[0].Code != CodeDenied {
		b.t.Fatalf("a push past the bound: %d %s, want 403 DENIED", w.Code, w.Body)
	}
	msg := eb.Errors[0].Message
	for _, part := range []string{"repository " + repo + ":", "index.json", fmt.Sprintf("%d bytes", limit)} {
		if !strings.Contains(msg, part) {
			b.t.Errorf("the message %q does not say %q", msg, part)
		}
	}
	if lines := strings.Split(strings.TrimSpace(b.log.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "index.json") {
		b.t.Errorf("logged %q, want one line naming index.json", b.log)
	}
	b.log.Reset()
}

// TestRedteam2IndexWrittenPastWhatLoads: no edit may make index.json
// larger than the server reads back; before, a pusher with many tags grew
// it past that, and once the journal was gone (a copy of the layouts, a
// journal of another version) the repository could not be read. RT2-S2.
// With a bound of 4 KiB: pushes fill index.json to it; the next is
// refused, 403 DENIED naming index.json, and changes nothing (the tag is
// not served, index.json and the journal are byte for byte as they were);
// index.json loads after a restart without the journal; at the bound a
// tag and a manifest can be deleted, and the push then goes through.
func TestRedteam2IndexWrittenPastWhatLoads(t *testing.T) {
	const repo, limit = "team/app", 4096
	root := t.TempDir()
	b := startBounded(t, root, limit)
	b.pushBlobs(repo)
	next := b.fill(repo, 0, limit, true)
	if next < 10 {
		t.Fatalf("only %d tags fit in %d bytes", next, limit)
	}
	index := filepath.Join(root, "team", "app", layout.IndexFile)
	journal := filepath.Join(root, metaDir, "team", "app", journalFile)
	indexBefore, journalBefore := readBytes(t, index), readBytes(t, journal)

	raw, desc := numbered(next)
	tag := fmt.Sprintf("v%03d", next)
	b.wantFull(b.put(repo, tag, raw), repo, limit)
	b.want(b.do("GET", "/v2/"+repo+"/manifests/"+tag, nil, accept...), 404, "GET the refused tag")
	b.wantAbsent(repo, desc)
	if !bytes.Equal(readBytes(t, index), indexBefore) || !bytes.Equal(readBytes(t, journal), journalBefore) {
		t.Fatal("a refused push changed index.json or the journal")
	}

	b.srv.Close()
	if err := os.Remove(journal); err != nil {
		t.Fatal(err)
	}
	b = startBounded(t, root, limit)
	var list struct{ Tags []string }
	w := b.do("GET", "/v2/"+repo+"/tags/list", nil)
	if json.Unmarshal(w.Body.Bytes(), &list); w.Code != 200 || len(list.Tags) != next {
		t.Fatalf("without its journal the repository lists %d tags (%d %s), want %d", len(list.Tags), w.Code, w.Body, next)
	}

	b.want(b.do("DELETE", "/v2/"+repo+"/manifests/v000", nil), 202, "DELETE a tag at the bound")
	_, first := numbered(1)
	b.want(b.do("DELETE", "/v2/"+repo+"/manifests/"+string(first.Digest), nil), 202, "DELETE a manifest at the bound")
	b.want(b.put(repo, tag, raw), 201, "PUT once room was made")
	b.want(b.do("GET", "/v2/"+repo+"/manifests/"+tag, nil, accept...), 200, "GET the tag pushed")
	if n := len(readBytes(t, index)); n > limit {
		t.Fatalf("index.json has %d bytes, past %d", n, limit)
	}
}

// TestIndexLimitReferrers: a referrer's annotations are not copied into
// index.json (the facts file keeps them, for the referrers API), so a
// referrer with annotations twice the bound goes in, as one small entry;
// a referrer pushed once index.json is full is refused like any push.
func TestIndexLimitReferrers(t *testing.T) {
	const repo, limit = "sig/app", 4096
	root := t.TempDir()
	b := startBounded(t, root, limit)
	b.pushBlobs(repo)
	subjectRaw, subject := numbered(999)
	b.want(b.put(repo, "subject", subjectRaw), 201, "PUT the subject")
	index := filepath.Join(root, "sig", "app", layout.IndexFile)
	before := readBytes(t, index)

	big := strings.Repeat("x", 2*limit)
	refRaw, ref := image(map[string]string{"big": big}, map[string]any{"subject": subject, "artifactType": "application/vnd.example.sig"})
	b.want(b.put(repo, string(ref.Digest), refRaw), 201, "PUT a referrer with large annotations")
	after := readBytes(t, index)
	if grown := len(after) - len(before); grown > 200 || bytes.Contains(after, []byte(big)) {
		t.Fatalf("the referrer grew index.json by %d bytes", grown)
	}
	w := b.do("GET", "/v2/"+repo+"/referrers/"+string(subject.Digest), nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), big) {
		t.Fatalf("the referrers API lacks the referrer's annotations: %d %.200s", w.Code, w.Body)
	}

	b.fill(repo, b.fill(repo, 0, limit, true), limit, false)
	full := readBytes(t, index)
	refRaw, ref = image(map[string]string{"n": "2"}, map[string]any{"subject": subject})
	if len(full)+entrySize(full, ref, "") <= limit {
		t.Fatalf("the referrer would fit: %d bytes and its entry's %d", len(full), entrySize(full, ref, ""))
	}
	b.wantFull(b.put(repo, string(ref.Digest), refRaw), repo, limit)
	if !bytes.Equal(readBytes(t, index), full) {
		t.Fatal("a refused referrer changed index.json")
	}
	b.wantAbsent(repo, ref)
	if w := b.do("GET", "/v2/"+repo+"/referrers/"+string(subject.Digest), nil); strings.Contains(w.Body.String(), string(ref.Digest)) {
		t.Fatalf("the refused referrer is listed: %s", w.Body)
	}
}

// TestJournalWithinItsBound: a journal the server writes is one it reads
// back: with index.json bounded at 4 KiB (the journal at 16 KiB), 300
// moves of a tag, more than 16 KiB of edits, begin the journal again
// rather than grow it past its bound, and index.json, lost, is recovered
// from it with the tag where the last move put it.
func TestJournalWithinItsBound(t *testing.T) {
	const repo, limit = "moves", 4096
	root := t.TempDir()
	b := startBounded(t, root, limit)
	b.pushBlobs(repo)
	var raws [2][]byte
	for i := range raws {
		raws[i], _ = numbered(i)
	}
	const moves = 300
	for i := range moves {
		b.want(b.put(repo, "v", raws[i%2]), 201, "PUT v")
	}
	journal := filepath.Join(root, metaDir, repo, journalFile)
	if n := len(readBytes(t, journal)); n > 4*limit {
		t.Fatalf("the journal has %d bytes, past %d", n, 4*limit)
	}
	b.srv.Close()
	if err := os.Remove(filepath.Join(root, repo, layout.IndexFile)); err != nil {
		t.Fatal(err)
	}
	b = startBounded(t, root, limit)
	_, last := numbered((moves - 1) % 2)
	w := b.do("HEAD", "/v2/"+repo+"/manifests/v", nil, "Accept", manifest.MediaTypeOCIManifest)
	if w.Code != 200 || w.Header().Get("Docker-Content-Digest") != string(last.Digest) {
		t.Fatalf("after index.json was lost: %d %q, want 200 %s", w.Code, w.Header().Get("Docker-Content-Digest"), last.Digest)
	}
}

// TestIndexLimitShrinksFromAbove: a repository whose index.json is past
// the bound already (written by a server with a larger one, or before the
// bound was kept) is served, from its journal; an edit that shrinks it
// goes through though it stays past the bound, and one that grows it is
// refused.
func TestIndexLimitShrinksFromAbove(t *testing.T) {
	const repo, limit = "old", 4096
	root := t.TempDir()
	b := startBounded(t, root, limit)
	b.pushBlobs(repo)
	next := b.fill(repo, 0, limit, true)
	b.srv.Close()
	b = startBounded(t, root, limit/2)
	index := filepath.Join(root, repo, layout.IndexFile)
	b.want(b.do("DELETE", "/v2/"+repo+"/manifests/v000", nil), 202, "DELETE a tag past the bound")
	if n := len(readBytes(t, index)); n <= limit/2 {
		t.Fatalf("index.json has %d bytes: the test needs it past %d", n, limit/2)
	}
	if !strings.Contains(b.log.String(), "recovered from its journal") {
		t.Fatalf("logged %q, want index.json recovered from the journal", b.log)
	}
	b.log.Reset()
	raw, desc := numbered(next)
	b.wantFull(b.put(repo, "new", raw), repo, limit/2)
	b.wantAbsent(repo, desc)
}

// TestFactsPastTheirBoundRewritten: a facts file too large to read back
// (referrers' annotations are kept there, not in index.json) is written
// anew from what is learnt again, not appended to: it must not grow at
// every start.
func TestFactsPastTheirBoundRewritten(t *testing.T) {
	const repo, limit = "sig/many", 4096 // facts are read up to 16 KiB
	root := t.TempDir()
	b := startBounded(t, root, limit)
	b.pushBlobs(repo)
	subjectRaw, subject := numbered(999)
	b.want(b.put(repo, "subject", subjectRaw), 201, "PUT the subject")
	big := strings.Repeat("x", 3*limit)
	var refs []manifest.Digest
	for i := range 3 {
		raw, ref := image(map[string]string{"big": big, "i": fmt.Sprint(i)}, map[string]any{"subject": subject})
		b.want(b.put(repo, string(ref.Digest), raw), 201, "PUT a referrer")
		refs = append(refs, ref.Digest)
	}
	facts := filepath.Join(root, metaDir, filepath.FromSlash(repo), factsFile)
	var sizes []int
	for start := range 3 {
		b := startBounded(t, root, limit)
		w := b.do("GET", "/v2/"+repo+"/referrers/"+string(subject.Digest), nil)
		for _, d := range refs {
			if w.Code != 200 || !strings.Contains(w.Body.String(), string(d)) {
				t.Fatalf("start %d: the referrers API lacks %s: %d %.200s", start, d.Short(), w.Code, w.Body)
			}
		}
		sizes = append(sizes, len(readBytes(t, facts)))
	}
	if sizes[0] <= 4*limit {
		t.Fatalf("the facts file has %d bytes, not past its bound of %d: the test proves nothing", sizes[0], 4*limit)
	}
	if sizes[1] != sizes[0] || sizes[2] != sizes[0] {
		t.Errorf("the facts file grew from start to start: %v bytes", sizes)
	}
}
