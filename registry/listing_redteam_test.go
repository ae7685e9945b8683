package registry_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// RT-N3. Each page of a tag listing is bounded (8 MiB) and so is their
// number (1000), but not what they add up to: a registry whose pages
// never end, each with a new Link, makes Tags (and Catalog) keep every
// name of up to 1000 pages of 8 MiB in memory, 8 GB of JSON, several
// times that as Go strings, before the page bound stops it. Here the
// registry serves pages of 4,000 distinct 128-character tags (half a MiB)
// and gives up itself after 200 pages, 100 MiB: skiff should have
// stopped at a bound of its own long before (the largest real listings
// are a few MiB). Fixed: the pages of one listing together are bounded
// at 64 MiB.
func TestRedteamEndlessTagPagesAddUp(t *testing.T) {
	const perPage, lastPage = 4000, 200
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if n >= lastPage {
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"the test registry gave up"}]}`, http.StatusNotFound)
			return
		}
		tags := make([]string, perPage)
		for i := range tags {
			tags[i] = fmt.Sprintf("%q", fmt.Sprintf("p%05dt%05d", n, i)+strings.Repeat("x", 116))
		}
		body := `{"name":"a/b","tags":[` + strings.Join(tags, ",") + `]}`
		served.Add(int64(len(body)))
		w.Header().Set("Link", fmt.Sprintf(`</v2/a/b/tags/list?page=%d>; rel="next"`, n+1))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, _ := testClient(&registry.Client{})
	host := strings.TrimPrefix(srv.URL, "http://")
	tags, err := c.Repository(mustParse(t, host+"/a/b")).Tags(t.Context())
	var le *manifest.LimitError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), host) {
		t.Fatalf("skiff took in %d MiB of tag listings (%d tags) with no bound of its own; err = %v",
			served.Load()>>20, len(tags), err)
	}
	if got := served.Load(); got > 72<<20 {
		t.Errorf("the registry served %d MiB before skiff stopped", got>>20)
	}
}
