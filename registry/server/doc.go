// Package server is the registry behind "skiff registry serve": an
// http.Handler implementing the OCI distribution spec v1.1
// (https://github.com/opencontainers/distribution-spec/blob/main/spec.md)
// and, where the spec is silent, what the CNCF distribution registry does.
// It is strict on purpose, so that a client tested against it works
// against the registries users run.
//
// A test starts one in memory in one line, and stops it with the test:
//
//	srv := httptest.NewServer(server.New(nil))
//	defer srv.Close()
//	// push and pull through srv.URL ("http://127.0.0.1:port")
//
// Over a directory, as "skiff registry serve --root DIR" serves it:
//
//	srv := httptest.NewServer(server.New(&server.Options{Storage: server.NewLayoutStorage(dir)}))
//
// skiff's own tests run this same handler, with faults, token servers and
// clocks wrapped around it from outside (Options.Wrap).
//
// # Endpoints
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
// mounted into. Upload Locations carry a _state query parameter that must
// come back. PATCH Content-Range must continue the upload exactly (416) and
// match the body (400 SIZE_INVALID). Manifests must parse, match their
// Content-Type, reference only blobs (children, for an index) the
// repository holds with the sizes they say, and hash to the digest they
// are put by. A blob or manifest that a manifest of the repository still
// references cannot be deleted (405 DENIED, as zot answers): delete the
// manifest first, so that every repository stays a valid image layout.
//
// # Memory and limits
//
// No request body is held in memory but a manifest's (at most 4 MiB).
// Upload bytes stream to a file in Options.UploadDir while they are hashed;
// a finished upload whose digest verifies is renamed into the storage (or,
// for the memory storage, read into it once).
// Blob GETs stream from the storage with Range support. Upload sessions
// expire after Options.UploadIdleTimeout without a request; their number
// is capped by Options.MaxUploadSessions (429 TOOMANYREQUESTS with
// Retry-After beyond it) and a blob's size by Options.MaxBlobSize (413
// SIZE_INVALID).
//
// A write that fails for lack of space answers 507 Insufficient Storage
// with "no space left on the registry's disk" (the spec names no status
// for a full disk) and removes the upload session it was for, with its
// file, so that the next push has the room; every answer of 500 or 507 is
// logged on Options.ErrorLog.
//
// # Storage
//
// NewMemoryStorage, the default, keeps everything in memory for as long as
// the Server lives. NewLayoutStorage keeps every repository as an OCI image layout under a
// root directory, with each blob stored once and hard-linked into the
// layouts that hold it. LockRoot keeps two processes from serving or
// collecting one root at once, RemoveTemporary deletes what a crashed
// server left, and GC removes the blobs no manifest references; GC walks
// exactly the repositories the storage serves and its catalog lists.
//
// Other local users may be able to write in the root. So every file
// under it is opened through the root as an os.Root (internal/safefile),
// never following a link in its last element; new files are created with
// O_EXCL and reach their final names by a link or a rename, which never
// writes through what is there; a stored blob, hard-linked into layouts,
// is never written again; an upload session only ever reopens the file it
// created. A repository name with a component that is one of a layout's
// own names (blobs, index.json, oci-layout) is refused (400 NAME_INVALID,
// through the NameChecker interface), as is a new repository reached
// through a link.
package server
