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
// SIZE_INVALID). At the cap, a session that received no byte and has been
// idle for a minute gives its room to a new one: clients open sessions
// ahead of need, and some never use them.
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
// under it is opened through the root as an os.Root, never following a
// link in its last element; new files are created with
// O_EXCL and reach their final names by a link or a rename, which never
// writes through what is there; a stored blob, hard-linked into layouts,
// is never written again; an upload session only ever reopens the file it
// created. A repository name with a component that is one of a layout's
// own names (blobs, index.json, oci-layout) is refused (400 NAME_INVALID,
// through the NameChecker interface), as is a new repository reached
// through a link.
//
// # index.json as repositories grow
//
// A repository's index.json is what skopeo (oci:ROOT/REPO:TAG), umoci and
// every other reader of its layout read, and they read nothing else. So
// every edit (a tag pushed, moved or deleted, a manifest pushed or
// deleted) replaces index.json before the server answers: whole, by a
// rename, so that a reader sees the old file or the new one, and only
// after the blobs of what it lists are linked and flushed. The server
// reads index.json once and keeps it parsed, with each entry's JSON: an
// edit changes one entry and writes the file again from those pieces,
// parsing and encoding nothing else, and the file is read again only when
// it is not the file the server wrote (another tool replaced it). A push
// by tag lists its manifest with one entry, the tag's; servers before
// wrote two, an unnamed one and the tag's, and such layouts are served as
// they are. index.json may hold up to 64 MiB, some 300,000 tags, the
// most the server reads back: an edit that would grow it past that is
// refused (403 DENIED, naming index.json) and changes nothing, while
// edits that shrink it always go through.
//
// Rewriting index.json is the cost that grows with the repository, some
// 190 bytes a tag; flushing it too on every edit would make each push
// wait for the whole file to reach the disk. Instead each edit is
// appended, flushed, to the repository's journal, ROOT/.meta/REPO/.journal,
// and then index.json is replaced, not flushed. The journal's first line
// holds index.json as it was when the journal began (written flushed),
// each further line one edit and the CRC-32C of the index.json it makes;
// after 1,024 edits, or before it would grow past four times the bound
// of index.json, it begins again. When the server, or GC, first reads
// a repository it compares index.json with its journal. index.json that
// the journal's last edit made is used as it is. index.json that is an
// earlier version the journal made (a power cut lost the replacements
// since), or that is missing or unreadable (a power cut on a file system
// that does not order a rename after the data it names), is written again
// from the journal, flushed, and logged. Any other index.json was written
// by another tool: it is used as it is, and the journal begins again at
// the next edit. So a killed server leaves a valid layout at every point
// (a rename is atomic and the page cache outlives the process), and after
// a power cut every edit the server answered is in the journal, and the
// layout is made current when the server next opens the repository;
// until then readers see an earlier version of it on file systems that
// order renames, as ext4 does by default. A journal line cut short was
// never answered and is left out; an edit the journal took that
// index.json could not (the disk filled up) is cut out of the journal
// before the error is answered.
//
// The referrers API and deletes ask which of a repository's manifests
// refer to a digest. Rather than read every manifest, a layout storage
// keeps the facts of each (its subject, the descriptor the referrers API
// lists, the digests it references as config, layer or child) in
// ROOT/.meta/REPO/.manifests, one JSON line per manifest, learnt when the
// manifest is pushed (ReferenceIndex). Facts are about content named by
// its digest, so they are never stale, only missing: what the file lacks
// (a layout another tool wrote; lines lost in a crash, as it is not
// flushed) is learnt from the manifests once, when a query first needs
// it. Other storages get the scan.
package server
