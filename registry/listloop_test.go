package registry_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// TestReliability45_LinkLoops: a Link header that leads back to a page
// already read is an error naming the loop, after that one page; pages
// without end stop at the page limit.
func TestReliability45_LinkLoops(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path == "/v2/" {
			return
		}
		page := r.URL.Query().Get("last")
		switch {
		case strings.HasPrefix(r.URL.Path, "/v2/loop/"): // page 2 links back to page 1
			if page == "" {
				w.Header().Set("Link", `</v2/loop/tags/list?last=a&n=1>; rel="next"`)
			} else {
				w.Header().Set("Link", `</v2/loop/tags/list>; rel="next"`)
			}
		case strings.HasPrefix(r.URL.Path, "/v2/endless/"): // every page a new one
			w.Header().Set("Link", fmt.Sprintf(`</v2/endless/tags/list?last=%s0>; rel="next"`, page))
		}
		fmt.Fprintf(w, `{"name":"x","tags":["t%s"]}`, page)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c := &registry.Client{}
	tags := func(name string) error {
		ref, _ := reference.Parse(u.Host + "/" + name)
		_, err := c.Repository(ref).Tags(t.Context())
		return err
	}
	requests.Store(0)
	if err := tags("loop"); err == nil || !strings.Contains(err.Error(), "loops: page 3 links back to page 1") || requests.Load() > 4 {
		t.Fatalf("a loop: %v after %d requests", err, requests.Load())
	}
	requests.Store(0)
	if err := tags("endless"); err == nil || !strings.Contains(err.Error(), "more than 1000 pages") || requests.Load() > 1002 {
		t.Fatalf("pages without end: %v after %d requests", err, requests.Load())
	}
}
