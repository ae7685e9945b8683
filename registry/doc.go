// Package registry is a client for registries that implement the OCI
// Distribution Specification (and Docker's Registry HTTP API V2, its
// origin).
//
// A [Client] holds what is shared between requests: the HTTP transport
// with keep-alive (and connections opened ahead of need:
// [Repository.Preconnect]), credentials and cached bearer tokens, the hosts
// that may use plain HTTP, the retry policy. [Client.Repository] returns a
// [Repository], which implements the content interfaces of package
// manifest (Fetcher, Pusher, Exister, Resolver, Tagger), so copy code never
// knows it is talking HTTP.
//
// Everything fetched is verified: manifests against the digest asked for
// or, for tags, the Docker-Content-Digest header; blobs against their
// descriptor as they stream. A blob download cut short, or stalled past
// [Timeouts].Body, resumes with a Range request. Every read from a
// registry is bounded before it is buffered: response headers (1 MiB),
// manifests, tokens, error bodies, listings; every wait is bounded by
// [Client.Timeouts]. Failures that may pass (resets, 429, 5xx) are retried with
// backoff, honouring Retry-After up to a limit; other errors are returned
// at once as an [*Error], which errors.Is matches against [ErrNotFound],
// [ErrUnauthorized], [ErrDenied], [ErrTooManyRequests] and [ErrUnsupported].
// [ErrNotFound] is manifest.ErrNotFound, which every store wraps for what
// it lacks. A request that got no answer (a refused or timed-out
// connection, no route, a failed TLS handshake or certificate) matches
// [ErrUnreachable]; one cancelled or past its deadline still matches
// context.Canceled or context.DeadlineExceeded. Either way the error
// names the method and the URL, without its secrets.
//
// Plain HTTP is used only for loopback registries that do not speak TLS
// and for hosts listed in [Client.Insecure]; there is no fallback from
// HTTPS to HTTP after a TLS failure. A registry that answers HTTPS in
// plain HTTP gives an error matching [ErrPlainHTTP] that says so.
//
// Specifications:
//   - https://github.com/opencontainers/distribution-spec/blob/main/spec.md
//     (pull: end-2, end-3, end-10; push: end-4a/4b, end-5, end-6, end-7,
//     end-11 for mounts; tags: end-8a/8b; referrers: end-12a/12b;
//     delete: end-9, end-10; error codes)
//   - Docker Registry HTTP API V2 (catalog):
//     https://distribution.github.io/distribution/spec/api/
package registry
