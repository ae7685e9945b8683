package server_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// statuses collects unexpected answers from goroutines.
type statuses struct {
	mu  sync.Mutex
	bad []string
}

// expect records r unless its status is one of ok.
func (st *statuses) expect(what string, r reply, err error, ok ...int) {
	if err == nil && slices.Contains(ok, r.StatusCode) {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err != nil {
		st.bad = append(st.bad, fmt.Sprintf("%s: %v", what, err))
		return
	}
	st.bad = append(st.bad, fmt.Sprintf("%s: %d %s", what, r.StatusCode, r.body))
}

// pushAll pushes an image with raw HTTP, recording unexpected answers; the
// manifest PUT may find a blob deleted under it (400).
func (s *testServer) pushAll(st *statuses, repo, ref string, im image) {
	for _, b := range [][]byte{im.config, im.layer} {
		d := manifest.FromBytes(b)
		r, err := s.try("POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(d), b)
		st.expect("blob POST", r, err, 201)
	}
	r, err := s.try("PUT", "/v2/"+repo+"/manifests/"+ref, im.raw, "Content-Type", manifest.MediaTypeOCIManifest)
	st.expect("manifest PUT", r, err, 201, 400)
}

// TestConcurrentPushesOfOneTag: clients pushing different images under
// one tag at once leave a valid layout: index.json whole, every image
// present with all its blobs, the tag naming one of them.
func TestConcurrentPushesOfOneTag(t *testing.T) {
	s := start(t, nil)
	const clients = 8
	var st statuses
	var wg sync.WaitGroup
	var pushed []manifest.Digest
	for i := range clients {
		im := newImage(fmt.Sprintf("client%d", i), 1000+i, nil)
		pushed = append(pushed, im.desc.Digest)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				s.pushAll(&st, "race/app", "v1", im)
			}
		}()
	}
	wg.Wait()
	if len(st.bad) > 0 {
		t.Fatalf("unexpected answers: %v", st.bad)
	}
	idx := checkLayout(t, s.root, "race/app")
	var tagged []manifest.Digest
	present := map[manifest.Digest]bool{}
	for _, d := range idx.Manifests {
		present[d.Digest] = true
		if d.Annotations["org.opencontainers.image.ref.name"] == "v1" {
			tagged = append(tagged, d.Digest)
		}
	}
	if len(tagged) != 1 || !slices.Contains(pushed, tagged[0]) {
		t.Fatalf("tag v1 names %v", tagged)
	}
	for _, d := range pushed {
		if !present[d] {
			t.Errorf("image %s is not in index.json", d)
		}
	}
}

// TestPushRacingDelete: a client pushing an image while another deletes
// it, its tag and its blobs leaves a valid layout whatever the order:
// index.json whole, and every manifest it names complete. A blob a
// manifest still references is refused (405), never half-deleted.
func TestPushRacingDelete(t *testing.T) {
	s := start(t, nil)
	im := newImage("contested", 4000, nil)
	var st statuses
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range 40 {
			s.pushAll(&st, "race/app", "v1", im)
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 40 {
			r, err := s.try("DELETE", "/v2/race/app/manifests/"+string(im.desc.Digest), nil)
			st.expect("manifest DELETE", r, err, 202, 404)
			if i%3 == 0 {
				r, err = s.try("DELETE", "/v2/race/app/manifests/v1", nil)
				st.expect("tag DELETE", r, err, 202, 404)
			}
			for _, b := range [][]byte{im.layer, im.config} {
				r, err = s.try("DELETE", "/v2/race/app/blobs/"+string(manifest.FromBytes(b)), nil)
				st.expect("blob DELETE", r, err, 202, 404, 405)
			}
		}
	}()
	wg.Wait()
	if len(st.bad) > 0 {
		t.Fatalf("unexpected answers: %v", st.bad)
	}
	checkLayout(t, s.root, "race/app")
}

// TestDeleteReferencedRefused: a layer, config or child manifest that a
// manifest of the repository references cannot be deleted (405 DENIED);
// the subject of a referrer can; once the referencing manifest is gone,
// so can the rest.
func TestDeleteReferencedRefused(t *testing.T) {
	s := start(t, nil)
	im := newImage("img", 100, nil)
	s.push("a", "v1", im)
	sig := newImage("sig", 10, map[string]any{"subject": im.desc})
	s.push("a", string(sig.desc.Digest), sig)
	idx := `{"schemaVersion":2,"mediaType":"` + manifest.MediaTypeOCIIndex + `","manifests":[` + string(mustJSON(im.desc)) + `]}`
	s.do("PUT", "/v2/a/manifests/list", []byte(idx), "Content-Type", manifest.MediaTypeOCIIndex).want(t, 201)

	layer := "/v2/a/blobs/" + string(im.layerDigest())
	s.do("DELETE", layer, nil).wantError(t, 405, server.CodeDenied)
	s.do("DELETE", "/v2/a/blobs/"+string(manifest.FromBytes(im.config)), nil).wantError(t, 405, server.CodeDenied)
	s.do("DELETE", "/v2/a/manifests/"+string(im.desc.Digest), nil).wantError(t, 405, server.CodeDenied)
	s.do("GET", layer, nil).want(t, 200)
	s.do("DELETE", "/v2/a/manifests/list", nil).want(t, 202) // the tag: the index stays, by digest
	list := manifest.FromBytes([]byte(idx))
	s.do("DELETE", "/v2/a/manifests/"+string(list), nil).want(t, 202)
	s.do("DELETE", "/v2/a/manifests/"+string(im.desc.Digest), nil).want(t, 202) // the subject of sig: allowed
	s.do("DELETE", layer, nil).want(t, 202)
	checkLayout(t, s.root, "a")
}

func mustJSON(d manifest.Descriptor) []byte {
	b, _ := json.Marshal(d)
	return b
}
