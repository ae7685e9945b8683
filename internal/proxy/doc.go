// Package proxy serves one image to another process over HTTP/1.1, in the
// shape containers-image-proxy's clients expect, without handing them the
// upstream registry, its URLs or its credentials:
//
//	GET  /manifest          the image's manifest in OCI form; an index is
//	                        resolved to one platform first. The
//	                        Manifest-Digest header carries the digest of the
//	                        manifest as stored upstream.
//	GET  /blobs/<digest>    a config or layer of the image, as stored
//	                        (never decompressed), streamed and verified:
//	                        when the upstream bytes do not match the digest,
//	                        the response is cut short of its Content-Length,
//	                        so the client sees an error (RELIABILITY #36).
//	                        Digests the image does not reference get 404,
//	                        malformed ones 400 (#37).
//	POST /quit              answers 200 and calls Options.OnQuit, so the
//	                        server can shut down gracefully.
//
// Nothing is cached: every blob request is a fresh upstream fetch.
package proxy
