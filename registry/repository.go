package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/manifest"
)

// Repository is one repository on one registry, such as
// ghcr.io/owner/name. It implements manifest's content interfaces
// (Fetcher, Pusher, Exister, Resolver, Tagger) over the Distribution API.
type Repository struct {
	client *Client
	host   string // the API host: registry-1.docker.io for docker.io
	name   string
	// sources, if set, are where pulls go (see Client.Mirrors).
	sources *sources
	// recent holds the last manifests FetchManifest read, by digest, so
	// that fetching one again by digest costs no request.
	recent recentDocs
	// prepared holds upload sessions opened ahead (PrepareUploads).
	prepared prepared
	// noRanges is set once the registry, or where it redirects blobs,
	// answered a bounded Range request with anything but its bytes.
	noRanges atomic.Bool
	// pushing is set by WillPush: Preconnect then opens connections to
	// host, where pushes go, not to a mirror.
	pushing atomic.Bool
}

// recentDocs keeps the raw bytes of the last few manifests fetched: its
// own copy, so that what the caller does with the document it got does
// not change what Fetch serves.
type recentDocs struct {
	mu   sync.Mutex
	docs []recentDoc
}

type recentDoc struct {
	digest manifest.Digest
	raw    []byte
}

// maxRecentDocs bounds recentDocs (manifests are at most 4 MiB each, and
// usually a few KiB).
const maxRecentDocs = 4

func (c *recentDocs) add(doc *manifest.Document) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.docs = append(c.docs, recentDoc{doc.Digest, bytes.Clone(doc.Raw)})
	if len(c.docs) > maxRecentDocs {
		c.docs = c.docs[1:]
	}
}

// get returns the manifest of digest d, if it is one of the recent ones.
func (c *recentDocs) get(d manifest.Digest) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, doc := range c.docs {
		if doc.digest == d {
			return doc.raw, true
		}
	}
	return nil, false
}

// Compile-time checks that Repository is a content store.
var (
	_ manifest.ReadOnlyStore = (*Repository)(nil)
	_ manifest.Store         = (*Repository)(nil)
	_ manifest.RangeFetcher  = (*Repository)(nil)
)

// Host returns the host the repository's API is reached at.
func (r *Repository) Host() string { return r.host }

// Name returns the repository's name, such as "library/alpine".
func (r *Repository) Name() string { return r.name }

// url returns the URL of /v2/<name>/<path>; path may carry a query.
func (r *Repository) url(ctx context.Context, path string) (*url.URL, error) {
	base, err := r.client.baseURL(ctx, r.host)
	if err != nil {
		return nil, err
	}
	rest, query, _ := strings.Cut(path, "?")
	u := base.JoinPath("v2", r.name, rest)
	u.RawQuery = query
	return u, nil
}

// newRequest builds a request for /v2/<name>/<path>.
func (r *Repository) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	u, err := r.url(ctx, path)
	if err != nil {
		var qe *requestError
		if errors.As(err, &qe) && qe.method == "" { // the host was not reached: name the request that needed it
			err = &requestError{method: method, url: auth.Redact(r.host + "/v2/" + r.name + "/" + path), err: fmt.Errorf("cannot reach %s: %w", r.host, qe.err)}
		}
		return nil, err
	}
	return http.NewRequestWithContext(ctx, method, u.String(), body)
}

// send does req and returns the response when its status is one of ok;
// any other status becomes an *Error.
func (r *Repository) send(req *http.Request, ok ...int) (*http.Response, error) {
	resp, err := r.client.do(req)
	if err != nil {
		return nil, err
	}
	for _, code := range ok {
		if resp.StatusCode == code {
			return resp, nil
		}
	}
	defer resp.Body.Close()
	return nil, newError(resp)
}

// closeBody drains a little of body, so the connection can be reused, and
// closes it.
func closeBody(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
}

// isManifestDesc reports whether desc is fetched from /manifests/ rather
// than /blobs/.
func isManifestDesc(desc manifest.Descriptor) bool {
	return manifest.IsIndex(desc.MediaType) || manifest.IsManifest(desc.MediaType)
}

// Holds reports whether src is this same repository (on the same host,
// under the same name), which then holds every blob src has: an edited
// image written back to its own repository skips checking its base's
// layers.
func (r *Repository) Holds(src manifest.Fetcher) bool {
	s, ok := src.(*Repository)
	return ok && s.host == r.host && s.name == r.name
}

// WillPush declares that r is about to receive a push, so that the first
// request already asks for a token that can push and pull: one token then
// serves the whole push instead of a pull token followed by a push token.
func (r *Repository) WillPush() {
	r.pushing.Store(true)
	r.client.authT.AddScope(r.host, "repository:"+r.name+":pull,push")
}
