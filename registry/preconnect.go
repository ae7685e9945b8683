package registry

import "context"

// Preconnect opens up to n connections to r's registry in the background,
// so that the next n requests there at once (the manifests of an index's
// platforms, the blobs of an image, the checks and uploads of a copy) find
// them ready instead of each waiting for a handshake: a round trip for
// TCP and one or two for TLS, which over a long link is most of what a
// small request costs. Call it one request ahead of need, while the
// request that tells what comes next is in flight.
//
// The connections go to the host r's requests go to: its own once WillPush
// declared r a push destination, else the first of the sources its pulls
// go to (Client.Mirrors), else its own. They are opened as a request's
// are, with its proxy, TLS settings and certificate checks, and nothing is
// sent on them until a request takes one: no credential goes anywhere
// early. Connections idle already count toward n; a failure is dropped,
// for the request that would have used the connection to report; those
// no request takes are closed after the transport's idle timeout. It
// returns at once, and does nothing for a Client with its own Transport.
func (r *Repository) Preconnect(ctx context.Context, n int) {
	t := r.client.h1
	host, ok := r.connectHost()
	if t == nil || n <= 0 || !ok {
		return
	}
	go func() {
		u, err := r.client.baseURL(ctx, host)
		if err != nil {
			return
		}
		t.Preconnect(ctx, u.Scheme, u.Host, n)
	}()
}

// connectHost is the host r's next requests go to, and false when they
// go nowhere (every pull fails).
func (r *Repository) connectHost() (string, bool) {
	s := r.sources
	switch {
	case r.pushing.Load() || s == nil:
		return r.host, true
	case s.err != nil || len(s.list) == 0:
		return "", false
	}
	return s.list[0].repo.host, true
}
