// Package faults injects client-side network failures into tests: a
// Transport wraps an http.RoundTripper and, for the requests a rule
// matches, fails the connection before any response arrives or cuts the
// response body short, as a reset TCP connection would. It counts every
// round trip. Server-side faults (statuses, redirects, wrong bytes) are
// in internal/registrytest.
package faults
