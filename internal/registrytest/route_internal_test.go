package registrytest

import (
	"regexp"
	"testing"
)

// TestPathMatchAgreesWithRegexp: for the patterns tests use, Route's
// matcher says what a regular expression would.
func TestPathMatchAgreesWithRegexp(t *testing.T) {
	patterns := []string{"/blobs/", "/manifests/", "^/v2/.*/blobs/", "/blobs/uploads/", "", "^/v2/", "^/token$", "^/blobs/", "/tags/list$", "^/v2/.*/tags/list$"}
	paths := []string{"", "/", "/v2/", "/v2/a/b/blobs/sha256:1", "/v2/a/blobs/uploads/x", "/token", "/token/x", "/x/token",
		"/blobs/sha256:1", "/v2/a/tags/list", "/v2/a/tags/list/x", "/v2/a/manifests/v1", "/v3/a/blobs/", "/v2/blobs/", "/v2//blobs/"}
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		for _, path := range paths {
			if got, want := pathMatch(p, path), re.MatchString(path); got != want {
				t.Errorf("pathMatch(%q, %q) = %v, regexp says %v", p, path, got, want)
			}
		}
	}
}
