// Package h1client sends HTTP/1.1 requests: the client every request of
// skiff goes through, as h1server is the server of its servers.
//
// It exists for size. A program in which anything calls an
// http.RoundTripper's RoundTrip through the interface links net/http's
// whole Transport with its HTTP/2 client, about 600 KiB, because
// http.DefaultTransport is always made. skiff speaks HTTP/1.1 to
// registries (a connection per blob in flight moves blobs faster than
// HTTP/2's flow-controlled streams), so it sends requests with this small
// transport and never calls RoundTrip through an interface.
//
// What it does: a pool of keep-alive connections per scheme, host and
// proxy (idle ones watched, so that one the server closed is dropped
// before it is reused); TLS with per-host settings; proxies from
// HTTPS_PROXY, HTTP_PROXY and NO_PROXY (CONNECT tunnels for https, with the
// proxy URL's user as Proxy-Authorization); the request written while the
// response is read, so an early answer such as 401 or 413 to an upload is
// seen; 1xx responses skipped; a response-header timeout that starts once
// the request is written; the request's context cancelling a dial, a
// handshake or a body read at once; one retry on a fresh connection when
// a reused one turns out to be closed before it answered. Do follows
// redirects as net/http's Client does. Preconnect opens connections to a
// host ahead of the requests that will need them (as browsers
// preconnect), so a wave of requests at once does not wait for as many
// handshakes.
//
// # Bounds
//
// Replacing net/http's Transport means inheriting its bounds: whatever a
// server sends is bounded before it is buffered, and every wait on a
// server is bounded. A response past a byte bound fails with a
// *LimitError, a wait past a time bound with a *TimeoutError; both name
// the host, and the connection is closed, never pooled.
//
//	bound                          net/http's Transport             h1client
//	status lines and headers       MaxResponseHeaderBytes, 10 MiB   MaxResponseHeaderBytes, 1 MiB
//	  (1xx responses included)       (1 MiB is its Server's)          (1xx included, as net/http)
//	proxy's CONNECT answer         the same bound                   the same bound
//	chunk-size line                4096 bytes                       4096 bytes (net/http's chunked reader)
//	chunk lines outgrowing data    16 KiB past 16 B + 2x the data   the same (net/http's chunked reader)
//	trailers                       its read buffer, 4 KiB           its read buffer, 64 KiB
//	redirect body read to reuse    2 KiB, then closed               2 KiB, then closed (Do)
//	connect                        DefaultTransport: 30 s           Dial; nil: 30 s
//	TLS handshake                  DefaultTransport: 10 s           TLSHandshakeTimeout; zero: 10 s
//	request the server takes none  none                             BodyWriteTimeout, none
//	  of, before it answers
//	response header                ResponseHeaderTimeout, none      ResponseHeaderTimeout, none; for a
//	                                                                request without a body
//	                                                                QueryHeaderTimeout if set
//	body sending nothing           none (Client.Timeout: the whole) BodyReadTimeout, none
//	body sending too little        none (Client.Timeout: the whole) BodyMinBytes per BodyReadTimeout
//	                                                                spent waiting in reads, none
//	idle pooled connection         IdleConnTimeout, 90 s            IdleTimeout, 90 s
//	idle connections per host      MaxIdleConnsPerHost, 2           MaxIdlePerHost, 32
//	Expect: 100-continue wait      ExpectContinueTimeout, 1 s       never sent: the body goes while the answer is read
//	request written, before reuse  50 ms                            50 ms
//
// Package registry sets a 2-minute response-header bound, a 30-second
// bound on bodies both ways and a least rate of 4 KiB per 30 s on
// response bodies (registry.Timeouts). What the callers read from a body is
// bounded by them: manifests, tokens, error bodies and listings each have
// a limit of their own.
package h1client
