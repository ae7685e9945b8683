package h1client

import (
	"context"
	"net/http"
	"net/url"
	"sync"
)

// Preconnect opens connections to scheme://host ahead of the requests
// that will need them, as browsers preconnect: the next requests to host
// find them idle in the pool and skip the connection's round trips (TCP,
// and TLS for https). It opens n less those idle or being opened for host
// already, and never so many that the idle ones would pass
// MaxIdlePerHost; several calls at once share that count.
//
// A connection is opened exactly as a request to host opens one: through
// the proxy Proxy names for it, with the TLS settings, certificate
// verification and timeouts of a request. Nothing is sent on it until a
// request takes it, so no credential goes anywhere early. A connection
// that cannot be opened is dropped without a word: the request that would
// have used it opens its own, and reports what goes wrong. One that no
// request takes is closed after IdleTimeout, as any idle connection.
//
// Preconnect returns once every connection it opens is in the pool or
// has failed, or ctx ends; run it on its own goroutine to go on meanwhile.
// Requests never wait for it.
func (t *Transport) Preconnect(ctx context.Context, scheme, host string, n int) {
	if n <= 0 || host == "" || (scheme != "http" && scheme != "https") {
		return
	}
	u := &url.URL{Scheme: scheme, Host: host}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return
	}
	proxy, err := t.proxyFor(req)
	if err != nil {
		return
	}
	key := connKey(u, proxy)
	var wg sync.WaitGroup
	for range t.reserve(key, n) {
		wg.Go(func() {
			c, err := t.dialConn(ctx, u, proxy)
			if err != nil {
				t.mu.Lock()
				t.unreserveLocked(key)
				t.mu.Unlock()
				return
			}
			c.key, c.reserved = key, true
			t.put(c) // counts it idle as it stops counting it dialled
		})
	}
	wg.Wait()
}

// reserve counts up to n dials for key, less the connections idle or
// being opened for it, within MaxIdlePerHost; it returns how many it
// counted, which the caller unreserves as each dial ends.
func (t *Transport) reserve(key string, n int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := min(n, t.maxIdle()) - len(t.idle[key]) - t.dialing[key]
	if k <= 0 {
		return 0
	}
	if t.dialing == nil {
		t.dialing = map[string]int{}
	}
	t.dialing[key] += k
	return k
}

// unreserveLocked ends one dial reserve counted; t.mu is held.
func (t *Transport) unreserveLocked(key string) {
	if t.dialing[key]--; t.dialing[key] <= 0 {
		delete(t.dialing, key)
	}
}
