package registry_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
)

// TestFaultMatrix pulls and copies a multi-layer image 100 times through a
// registry that cuts every blob at a random offset and sprinkles 429s and
// 503s with Retry-After and token expiry. Every run must end with every
// digest verified, and the bytes sent again must stay under 5% of the
// image: cut downloads resume, they do not restart. The seed is printed
// on failure; SKIFF_FAULT_SEED is not needed to reproduce, as run i uses
// seed i.
func TestFaultMatrix(t *testing.T) {
	clock := testtool.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	opts := &registrytest.Options{Now: clock.Now, Auth: registrytest.Auth{Mode: registrytest.AuthBearer,
		Users: map[string]string{"ci": "pw-ci"}, TokenTTL: time.Minute}}
	src := registrytest.NewServer(t, opts)
	// The destination keeps its own clock: only the source's tokens expire
	// mid-run, once, so a 401 the client cannot recover from is a bug and
	// not two expiries racing a single re-authentication.
	dstOpts := *opts
	dstOpts.Now = testtool.NewClock(clock.Now()).Now
	dst := registrytest.NewServer(t, &dstOpts)
	creds := auth.Static{src.Host: {Username: "ci", Password: "pw-ci"}, dst.Host: {Username: "ci", Password: "pw-ci"}}
	im, err := testimage.New(testimage.Options{LayerSizes: []int{300 << 10, 200 << 10, 120 << 10, 64 << 10}, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	seedClient, _ := testClient(&registry.Client{Keychain: creds})
	if err := testimage.Push(t.Context(), repoOn(t, seedClient, src, "matrix/app"), im, "v1"); err != nil {
		t.Fatal(err)
	}
	var imageSize int64
	for _, l := range im.Layers {
		imageSize += int64(len(l))
	}
	for run := range 100 {
		if err := faultRun(t, run, clock, src, dst, creds, im, imageSize); err != nil {
			t.Fatalf("run %d (seed %d): %v", run, run, err)
		}
	}
}

// faultRun programs one run's faults and performs a pull (even runs) or a
// copy (odd runs).
func faultRun(t *testing.T, run int, clock *testtool.Clock, src, dst *registrytest.Server, creds auth.Static, im *testimage.Image, size int64) error {
	rng := rand.New(rand.NewPCG(uint64(run), 0x5eed))
	src.Faults.Reset()
	src.Log.Reset()
	for _, l := range im.Manifest.Manifest.Layers {
		cut := 1 + rng.Int64N(l.Size-1)
		src.Faults.Add(registrytest.Fault{Match: blobGet(l.Digest), Times: 1, CutAfter: cut})
		if rng.IntN(3) == 0 {
			status := []int{429, 503}[rng.IntN(2)]
			src.Faults.Add(registrytest.Fault{Match: blobGet(l.Digest), Times: 1, Status: status, RetryAfter: "1"})
		}
	}
	if rng.IntN(2) == 0 { // the token expires while the first layer streams
		first := im.Manifest.Manifest.Layers[0].Digest
		var once sync.Once
		src.Faults.Add(registrytest.Fault{Match: func(r *http.Request) bool {
			if blobGet(first)(r) {
				once.Do(func() { clock.Advance(2 * time.Minute) })
			}
			return false
		}})
	}
	// The log can still receive the last requests of the run before: the
	// client has all the bytes it asked for before the server's handler
	// returns and logs. Each run counts only its own requests.
	ua := fmt.Sprintf("skiff-fault-run-%d", run)
	mine := func(r registrytest.Request) bool { return r.Header.Get("User-Agent") == ua }
	c, _ := testClient(&registry.Client{Keychain: creds, UserAgent: ua})
	from := repoOn(t, c, src, "matrix/app")
	var to manifest.Store
	var fetchBack manifest.Fetcher
	if run%2 == 0 {
		l, err := layout.Create(t.TempDir())
		if err != nil {
			return err
		}
		to, fetchBack = l, l
	} else {
		repo := repoOn(t, c, dst, fmt.Sprintf("matrix/copy%d", run))
		repo.WillPush()
		to, fetchBack = repo, repo
	}
	if _, err := images.CopyDescriptor(t.Context(), to, from, im.Manifest.Descriptor(), &images.CopyOptions{Tag: "v1"}); err != nil {
		return err
	}
	if err := verifyAll(t, fetchBack, im); err != nil {
		return err
	}
	cuts := src.Log.Count(func(r registrytest.Request) bool { return mine(r) && r.Fault && r.Method == "GET" && r.Status == 200 })
	if cuts < len(im.Layers) {
		return fmt.Errorf("only %d of %d layers were cut: the run proves nothing", cuts, len(im.Layers))
	}
	sent := src.Log.BytesOut(func(r registrytest.Request) bool {
		return mine(r) && r.Method == "GET" && strings.Contains(r.Path, "/blobs/")
	})
	if again := sent - size - int64(len(im.Config)); again > size/20 {
		return fmt.Errorf("%d bytes sent again for a %d-byte image: more than 5%%", again, size)
	}
	return nil
}

func blobGet(d manifest.Digest) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+string(d))
	}
}

// verifyAll reads every blob of im back from f, verified.
func verifyAll(t *testing.T, f manifest.Fetcher, im *testimage.Image) error {
	descs := append([]manifest.Descriptor{im.Manifest.Descriptor(), im.Manifest.Manifest.Config}, im.Manifest.Manifest.Layers...)
	for _, d := range descs {
		rc, err := f.Fetch(t.Context(), d)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("reading back %s: %w", d.Digest, err)
		}
	}
	return nil
}
