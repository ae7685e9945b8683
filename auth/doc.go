// Package auth authenticates skiff to OCI registries.
//
// It parses WWW-Authenticate challenges (RFC 7235 section 4.1, with the
// Bearer scheme of RFC 6750 and the Basic scheme of RFC 7617), obtains
// bearer tokens from a registry's token server, finds credentials in
// docker's config.json, credential helpers, containers' auth.json and the
// ACCESS_TOKEN and REFRESH_TOKEN environment variables, and provides an
// [http.RoundTripper], [Transport], that answers 401 responses.
//
// The package imports nothing else of skiff: it works on host names
// ("ghcr.io", "localhost:5000") and scope strings
// ("repository:library/alpine:pull").
//
// # Specifications
//
//   - Token authentication: https://distribution.github.io/distribution/spec/auth/token/
//   - OAuth2 token requests (refresh tokens): https://distribution.github.io/distribution/spec/auth/oauth/
//   - Token scopes: https://distribution.github.io/distribution/spec/auth/scope/
//   - HTTP authentication framework: https://www.rfc-editor.org/rfc/rfc7235
//   - Bearer token usage: https://www.rfc-editor.org/rfc/rfc6750
//   - Credential helpers: https://github.com/docker/docker-credential-helpers
//   - containers auth.json: https://github.com/containers/image/blob/main/docs/containers-auth.json.5.md
//
// # Where credentials go
//
// A [Transport] sends stored credentials only to hosts it has been told are
// registries, with [Transport.AddHost] or [Transport.AddScope], and only to
// the exact host and port they were looked up for. A redirect to any other
// host (blob storage, a CDN, a sibling subdomain) is sent without them, and
// a 401 from such a host is returned as it is. A bearer realm on plain HTTP
// for a registry reached over HTTPS is refused before anything is sent.
//
// # Secrets
//
// Errors from this package never contain passwords, tokens or
// Authorization values. [Redact] and [RedactURL] remove such values from
// strings and URLs for callers that print requests or errors.
package auth
