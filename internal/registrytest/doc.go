// Package registrytest is a strict in-process registry for tests: it
// implements the OCI distribution spec v1.1
// (https://github.com/opencontainers/distribution-spec/blob/main/spec.md)
// and, where the spec is silent, does what the CNCF distribution registry
// 2.8 does. It is strict on purpose: a lenient fake hides client bugs.
//
// The registry is the production handler of "skiff registry serve"
// (package registry/server), wrapped from outside with what only
// tests need: a memory storage by default, a token endpoint for bearer
// authentication, the quirks of other registries (Options.NoSinglePOST,
// NoReferrers, IgnoreAccept, RelativeLocations, StaleUploadCheck, and the
// catalogue of real registries' departures from the spec in
// Options.Quirks), faults, a request log and a replaceable clock. Tests and the served registry
// run the same request handling; none of this package ships in skiff's
// binary.
//
// Start one per test with NewServer, or mount New's handler yourself:
//
//	srv := registrytest.NewServer(t, &registrytest.Options{
//		Auth: registrytest.Auth{Mode: registrytest.AuthBearer, Users: map[string]string{"u": "p"}},
//	})
//	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), Times: 1, Status: 503})
//	... run the client against srv.URL ...
//	n := srv.Log.Count(func(r registrytest.Request) bool { return r.Method == "GET" })
//
// # Endpoints
//
// The endpoints, as registry/server serves them:
//
//	end-1     GET  /v2/                                  200, Docker-Distribution-API-Version
//	end-2     GET/HEAD /v2/<name>/blobs/<digest>         200, 206 with Range, 416
//	end-3     GET/HEAD /v2/<name>/manifests/<ref>        200 after Accept negotiation
//	end-4a/b  POST /v2/<name>/blobs/uploads/[?digest=]   202 session, 201 single POST
//	end-5     PATCH <location>                           202; 416 out of order
//	end-6     PUT <location>?digest=                     201; 400 DIGEST_INVALID
//	end-7     PUT /v2/<name>/manifests/<ref>             201, OCI-Subject
//	end-8a/b  GET /v2/<name>/tags/list[?n=&last=]        200, Link
//	end-9     DELETE /v2/<name>/manifests/<ref>          202
//	end-10    DELETE /v2/<name>/blobs/<digest>           202
//	end-11    POST /v2/<name>/blobs/uploads/?mount=&from= 201, or 202 session
//	end-12a/b GET /v2/<name>/referrers/<digest>          200 OCI index, OCI-Filters-Applied
//	end-13    GET <location>                             204 with Range
//	end-14    DELETE <location>                          204
//	          GET /v2/_catalog[?n=&last=]                200, Link
//
// # Strictness
//
// Repository names, tags and digests are validated before anything else
// (400 NAME_INVALID, TAG_INVALID, DIGEST_INVALID; only sha256 and sha512 in
// lower-case hex). A blob is visible only in repositories it was pushed or
// mounted into. Upload Locations carry a _state query parameter that
// must come back. PATCH Content-Range must continue the upload exactly
// (416) and match the body (400 SIZE_INVALID); PATCH Content-Type must be
// application/octet-stream or absent. Manifests must parse, match their
// Content-Type, reference only blobs (children, for an index) the
// repository holds with the sizes they say, and hash to the digest they
// are put by.
//
// Manifest GETs negotiate as distribution 2.8 does: an OCI manifest or
// index is served only when Accept lists its type (else 404
// MANIFEST_UNKNOWN); by tag, a Docker manifest needs its type in Accept
// (else 400: distribution would convert to schema 1), and a Docker
// manifest list is replaced by its linux/amd64 manifest for a client that
// accepts Docker manifests only. By digest, Docker types are served as
// stored. Options.IgnoreAccept turns negotiation off.
//
// # Authentication
//
// Auth.Mode selects none, basic (every request carries credentials) or
// bearer: a 401 challenge `Bearer realm="…/token",service="registrytest",
// scope="repository:NAME:pull"` names the token endpoint, which issues
// opaque tokens for GET (basic credentials or anonymous) and OAuth2 POST
// (grant_type=password or refresh_token). Tokens carry the scopes asked
// for and allowed, expire after Auth.TokenTTL by Options.Now, and a token
// lacking a scope gets 401 with error="insufficient_scope".
//
// # Quirks of real registries
//
// Options.Quirks switches on named ways in which ECR, Docker Hub, GHCR,
// GCR, ACR, Quay, GitLab, Harbor, Artifactory, Nexus, zot, proxies and
// Red Hat's registry depart from the spec, each as its users or other
// clients' issue trackers recorded it (the Quirk constants name the
// source; Catalogue lists them). Each is emulated at the HTTP level around
// the strict registry: statuses, error codes and messages, headers left
// out, redirects to signed storage URLs, pagination, refused media types,
// mounts and uploads. Registry.QuirkHits counts the requests a quirk
// changed, so that a test can tell it was met. Redirecting quirks need the
// blob host NewServer starts.
//
// # Faults and the request log
//
// Registry.Faults programs misbehaviour per request: error statuses with
// Retry-After, connections cut mid-body, flipped bytes, ignored Range,
// redirects of blob GETs to a second host, endless manifests. Registry.Log
// records each request with its status, headers and bytes moved; since a
// handler may still be running when the client has its whole answer, every
// read of the log (and QuirkHits) first waits for the handlers of the
// requests that arrived before it (Log.Settle), never for time. The
// client-side counterpart, a RoundTripper that fails connections, is
// package internal/faults.
package registrytest
