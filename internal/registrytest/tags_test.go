package registrytest_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

func tagList(t *testing.T, r reply) []string {
	t.Helper()
	var v struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(r.body, &v); err != nil || v.Tags == nil {
		t.Fatalf("tags body %s: %v", r.body, err)
	}
	return v.Tags
}

func TestTagsList(t *testing.T) {
	_, c := start(t, nil)
	img := c.pushImage("a/b", "v1", "1")
	for _, tag := range []string{"b", "A", "latest", "a", "v10", "v2"} {
		c.pushManifest("a/b", tag, manifest.MediaTypeOCIManifest, img.manifest).want(t, 201)
	}
	all := []string{"A", "a", "b", "latest", "v1", "v10", "v2"}
	r := c.do("GET", "/v2/a/b/tags/list", nil).want(t, 200).header(t, "Link", "")
	if got := tagList(t, r); !slices.Equal(got, all) {
		t.Fatalf("tags %q, want %q", got, all)
	}
	tests := []struct {
		query, link string
		want        []string
	}{
		{"n=2", `</v2/a/b/tags/list?last=a&n=2>; rel="next"`, all[:2]},
		{"n=2&last=a", `</v2/a/b/tags/list?last=latest&n=2>; rel="next"`, all[2:4]},
		{"n=3&last=latest", "", all[4:]},
		{"n=10", "", all},
		{"last=v1", "", all[5:]},
		{"last=c", "", all[3:]},
		{"n=2&last=v2", "", []string{}},
		{"n=0", "", []string{}},
	}
	for _, tt := range tests {
		r := c.do("GET", "/v2/a/b/tags/list?"+tt.query, nil).want(t, 200).header(t, "Link", tt.link)
		if got := tagList(t, r); !slices.Equal(got, tt.want) {
			t.Errorf("?%s: tags %q, want %q", tt.query, got, tt.want)
		}
	}
}

func TestTagsErrors(t *testing.T) {
	_, c := start(t, nil)
	c.pushImage("a", "v1", "1")
	c.do("GET", "/v2/nope/tags/list", nil).wantError(t, 404, "NAME_UNKNOWN")
	c.do("GET", "/v2/a/tags/list?n=x", nil).wantError(t, 400, "PAGINATION_NUMBER_INVALID")
	c.do("GET", "/v2/a/tags/list?n=-1", nil).wantError(t, 400, "PAGINATION_NUMBER_INVALID")
}

// A repository with blobs but no tags lists an empty array, not null.
func TestTagsEmpty(t *testing.T) {
	_, c := start(t, nil)
	c.pushBlob("a", []byte("x"))
	r := c.do("GET", "/v2/a/tags/list", nil).want(t, 200)
	if string(r.body) != `{"name":"a","tags":[]}` {
		t.Fatalf("body %s", r.body)
	}
}

func TestCatalog(t *testing.T) {
	_, c := start(t, nil)
	repos := []string{"a", "a/b", "b", "c/d/e"}
	for _, r := range repos {
		c.pushBlob(r, []byte(r))
	}
	list := func(r reply) []string {
		var v struct{ Repositories []string }
		if err := json.Unmarshal(r.body, &v); err != nil || v.Repositories == nil {
			t.Fatalf("catalog body %s: %v", r.body, err)
		}
		return v.Repositories
	}
	if got := list(c.do("GET", "/v2/_catalog", nil).want(t, 200).header(t, "Link", "")); !slices.Equal(got, repos) {
		t.Fatalf("catalog %q", got)
	}
	r := c.do("GET", "/v2/_catalog?n=2", nil).want(t, 200).header(t, "Link", `</v2/_catalog?last=a%2Fb&n=2>; rel="next"`)
	if got := list(r); !slices.Equal(got, repos[:2]) {
		t.Fatalf("first page %q", got)
	}
	r = c.do("GET", "/v2/_catalog?n=2&last=a%2Fb", nil).want(t, 200).header(t, "Link", "")
	if got := list(r); !slices.Equal(got, repos[2:]) {
		t.Fatalf("second page %q", got)
	}
	c.do("GET", "/v2/_catalog?n=1001", nil).wantError(t, 400, "PAGINATION_NUMBER_INVALID")
}

// The catalog answers 100 repositories unless asked for more, with a Link
// to the rest.
func TestCatalogDefaultPage(t *testing.T) {
	_, c := start(t, nil)
	for i := range 101 {
		c.pushBlob(sprintf("r%03d", i), []byte("x"))
	}
	c.do("GET", "/v2/_catalog", nil).want(t, 200).header(t, "Link", `</v2/_catalog?last=r099&n=100>; rel="next"`)
	c.do("GET", "/v2/_catalog?n=200", nil).want(t, 200).header(t, "Link", "")
}
