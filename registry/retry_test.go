package registry_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/faults"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/registry"
)

func TestReliability30_RetryAfterHonoured(t *testing.T) {
	for _, ra := range []string{"2", time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)} {
		c, waits := testClient(&registry.Client{})
		srv, repo := serve(t, nil, c, "a/b")
		seed(t, srv, nil, "a/b", "v1", 10)
		srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/manifests/"), Times: 1, Status: 429, RetryAfter: ra})
		if _, err := repo.FetchManifest(t.Context(), "v1"); err != nil {
			t.Fatalf("Retry-After %q: %v", ra, err)
		}
		w := waits.all()
		if len(w) != 1 || w[0] < time.Second || w[0] > 3*time.Second {
			t.Fatalf("Retry-After %q: waited %v", ra, w)
		}
	}
}

func TestReliability30_LongRetryAfterFailsFast(t *testing.T) {
	c, waits := testClient(&registry.Client{})
	srv, repo := serve(t, nil, c, "a/b")
	seed(t, srv, nil, "a/b", "v1", 10)
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/manifests/"), Status: 429, RetryAfter: "3600"})
	_, err := repo.FetchManifest(t.Context(), "v1")
	if !errors.Is(err, registry.ErrTooManyRequests) || !strings.Contains(err.Error(), "retry after 1h0m0s") {
		t.Fatalf("err = %v", err)
	}
	if len(waits.all()) != 0 || srv.Log.Count(is("GET", "/manifests/")) != 1 {
		t.Fatalf("waited %v over %d requests; want a fast failure", waits.all(), srv.Log.Count(is("GET", "")))
	}
}

func TestReliability31_ServerErrorsRetriedBounded(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		c, waits := testClient(&registry.Client{})
		srv, repo := serve(t, nil, c, "a/b")
		seed(t, srv, nil, "a/b", "v1", 10)
		srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/manifests/"), Status: status})
		_, err := repo.FetchManifest(t.Context(), "v1")
		var re *registry.Error
		if !errors.As(err, &re) || re.Status != status {
			t.Fatalf("%d: err = %v", status, err)
		}
		if n := srv.Log.Count(is("GET", "/manifests/")); n != 5 {
			t.Fatalf("%d: %d tries, want 5", status, n)
		}
		w := waits.all()
		if len(w) != 4 || w[3] < w[0] {
			t.Fatalf("%d: backoff %v does not grow", status, w)
		}
	}
}

func TestReliability31_ClientErrorsNotRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404} {
		c, waits := testClient(&registry.Client{})
		srv, repo := serve(t, nil, c, "a/b")
		seed(t, srv, nil, "a/b", "v1", 10)
		srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/manifests/"), Status: status})
		if _, err := repo.FetchManifest(t.Context(), "v1"); err == nil {
			t.Fatalf("%d: no error", status)
		}
		if n := srv.Log.Count(is("GET", "/manifests/")); n != 1 || len(waits.all()) != 0 {
			t.Fatalf("%d: %d tries, waits %v; want exactly one", status, n, waits.all())
		}
	}
}

func TestReliability31_ResetBeforeHeadersRetried(t *testing.T) {
	ft := &faults.Transport{}
	c, _ := testClient(&registry.Client{Transport: ft.RoundTrip})
	srv, repo := serve(t, nil, c, "a/b")
	seed(t, srv, nil, "a/b", "v1", 10)
	ft.Add(faults.Rule{Match: func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/manifests/") }, Times: 2, Reset: true})
	if _, err := repo.FetchManifest(t.Context(), "v1"); err != nil {
		t.Fatal(err)
	}
	if n := srv.Log.Count(is("GET", "/manifests/")); n != 1 {
		t.Fatalf("%d manifest GETs reached the server, want 1 after 2 resets", n)
	}
}

func TestContextCancelStopsRetryWait(t *testing.T) {
	c := &registry.Client{} // real waits: the cancel must cut the 30 s one short
	srv, repo := serve(t, nil, c, "a/b")
	seed(t, srv, nil, "a/b", "v1", 10)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv.Faults.Add(registrytest.Fault{Status: 503, RetryAfter: "30",
		Match: func(r *http.Request) bool { cancel(); return strings.Contains(r.URL.Path, "/manifests/") }})
	start := time.Now()
	_, err := repo.FetchManifest(ctx, "v1")
	if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}
