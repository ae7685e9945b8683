package registry_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

func TestErrorIs(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   []error
	}{
		{404, ``, []error{registry.ErrNotFound, manifest.ErrNotFound}},
		{400, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}`, []error{registry.ErrNotFound}},
		{403, `{"errors":[{"code":"NAME_UNKNOWN"}]}`, []error{registry.ErrNotFound, registry.ErrDenied}},
		{401, `{"errors":[{"code":"UNAUTHORIZED"}]}`, []error{registry.ErrUnauthorized}},
		{429, `{"errors":[{"code":"TOOMANYREQUESTS"}]}`, []error{registry.ErrTooManyRequests}},
		{405, `{"errors":[{"code":"UNSUPPORTED"}]}`, []error{registry.ErrUnsupported}},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, tt.body, tt.status)
		}))
		repo := newRepo(t, &registry.Client{Retry: registry.RetryPolicy{Attempts: 1}}, srv, "a/b")
		_, err := repo.FetchManifest(t.Context(), "latest")
		srv.Close()
		var re *registry.Error
		if !errors.As(err, &re) || re.Status != tt.status {
			t.Fatalf("%d: err = %v", tt.status, err)
		}
		for _, w := range tt.want {
			if !errors.Is(err, w) {
				t.Errorf("%d %s: errors.Is(%v) = false", tt.status, tt.body, w)
			}
		}
		if !strings.Contains(err.Error(), "GET http://127.0.0.1") || !strings.Contains(err.Error(), "/v2/a/b/manifests/latest") {
			t.Errorf("error %q does not name the request", err)
		}
	}
}

func TestErrorBodyCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		w.Write([]byte(strings.Repeat("x", 10<<20)))
	}))
	defer srv.Close()
	repo := newRepo(t, &registry.Client{Retry: registry.RetryPolicy{Attempts: 1}}, srv, "a/b")
	_, err := repo.FetchManifest(t.Context(), "latest")
	var re *registry.Error
	if !errors.As(err, &re) || len(re.Body) > registry.MaxErrorBody || len(err.Error()) > 1000 {
		t.Fatalf("error body not capped: %d bytes, message %d bytes", len(re.Body), len(err.Error()))
	}
}
