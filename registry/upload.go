package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

// smallBlob is the size up to which a blob is sent in one POST, with the
// body buffered so a retry can replay it.
const smallBlob = 1 << 20

// Push stores the content desc names, read from body: a manifest or
// index with PUT, a blob with an upload session. The registry checks the
// digest; body is additionally verified while it streams, so a source that
// lies fails the upload.
func (r *Repository) Push(ctx context.Context, desc manifest.Descriptor, body io.Reader) error {
	if err := desc.Validate(); err != nil {
		return err
	}
	if isManifestDesc(desc) {
		return r.pushManifestDesc(ctx, desc, body)
	}
	return r.pushBlobOrAgain(ctx, desc, body, nil)
}

// pushBlobOrAgain pushes a blob through the session a opens, if not nil,
// and pushes it again, once, when the registry forgot the session
// (RELIABILITY #35) and the source can be read again from the start.
func (r *Repository) pushBlobOrAgain(ctx context.Context, desc manifest.Descriptor, body io.Reader, a *ahead) error {
	err := r.pushBlob(ctx, desc, body, a)
	if seeker, ok := body.(io.Seeker); ok && errors.Is(err, ErrNotFound) && isUploadLost(err) {
		if _, serr := seeker.Seek(0, io.SeekStart); serr == nil {
			err = r.pushBlob(ctx, desc, body, nil)
		}
	}
	return err
}

// pushBlob sends desc's blob, read from body, through the session a
// opens; a nil a means one is opened here when the push needs one. The
// session opens before body is touched: a source still fetching
// (images.Copy's) arrives meanwhile.
func (r *Repository) pushBlob(ctx context.Context, desc manifest.Descriptor, body io.Reader, a *ahead) error {
	if a == nil && r.needsSession(desc) {
		a = r.openAhead(ctx)
	}
	defer r.releaseAhead(ctx, a) // a push that failed before taking it
	chunked := r.client.ChunkSize > 0 && desc.Size > r.client.ChunkSize
	if desc.Size <= smallBlob && !chunked {
		return r.pushSmall(ctx, desc, manifest.NewVerifier(body, desc), a)
	}
	s, err := a.take()
	if err != nil {
		return err
	}
	v := manifest.NewVerifier(body, desc)
	if chunked {
		err = r.putChunked(ctx, s.loc, desc, v, s.minLen)
	} else {
		err = r.putUpload(ctx, s.loc, desc, v, v, desc.Size)
	}
	if err != nil {
		r.abandonUpload(ctx, s.loc) // nothing continues it: a retry opens its own
	}
	return err
}

// needsSession reports whether pushing the blob desc takes an upload
// session opened first: every blob but a small one, which goes in a
// single POST, unless the registry was seen to refuse those.
func (r *Repository) needsSession(desc manifest.Descriptor) bool {
	chunked := r.client.ChunkSize > 0 && desc.Size > r.client.ChunkSize
	return desc.Size > smallBlob || chunked || r.client.refusesSinglePOST(r.host)
}

// isUploadLost reports whether err is a registry forgetting an upload
// session: a 404 on a PATCH or PUT to the session.
func isUploadLost(err error) bool {
	var re *Error
	return errors.As(err, &re) && (re.Method == http.MethodPatch || re.Method == http.MethodPut) &&
		(re.Status == http.StatusNotFound || re.hasCode("BLOB_UPLOAD_UNKNOWN"))
}

// PushStream uploads a blob whose digest is not known in advance: the
// body streams in one PATCH while it is hashed, and the closing PUT names
// the digest. It returns the blob's descriptor, of media type mediaType.
// It suits layers built on the fly; nothing is buffered.
func (r *Repository) PushStream(ctx context.Context, mediaType string, body io.Reader) (manifest.Descriptor, error) {
	loc, _, err := r.startUpload(ctx, "")
	if err != nil {
		return manifest.Descriptor{}, err
	}
	desc, err := r.streamUpload(ctx, loc, mediaType, body)
	if err != nil {
		r.abandonUpload(ctx, loc)
	}
	return desc, err
}

// streamUpload is PushStream's upload through the session at loc.
func (r *Repository) streamUpload(ctx context.Context, loc *url.URL, mediaType string, body io.Reader) (manifest.Descriptor, error) {
	d := manifest.NewDigester(manifest.SHA256)
	counter := &countingReader{r: io.TeeReader(body, d)}
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, loc.String(), counter)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := r.send(req, http.StatusAccepted, http.StatusNoContent, http.StatusCreated)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	closeBody(resp)
	next := loc
	if resp.Header.Get("Location") != "" {
		if next, err = location(resp); err != nil {
			return manifest.Descriptor{}, err
		}
	}
	desc := manifest.Descriptor{MediaType: mediaType, Digest: d.Digest(), Size: counter.n}
	// The proof that the session holds desc's content: every byte sent
	// was hashed, from the first, and nothing is left to read.
	v := manifest.NewResumedVerifier(http.NoBody, desc, d, counter.n)
	io.Copy(io.Discard, v)
	return desc, r.putUpload(ctx, next, desc, v, http.NoBody, 0)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// pushSmall sends a small blob in one monolithic POST ?digest=, once v
// has proved it; a registry that does not take that answers 202 and gets
// the same bytes in a PUT, and from then on small blobs to its host go
// through a session opened while their bytes arrive (a, when not nil), as
// those with a session opened ahead (PrepareUploads) do.
func (r *Repository) pushSmall(ctx context.Context, desc manifest.Descriptor, v *manifest.Verifier, a *ahead) error {
	data, err := io.ReadAll(v)
	if err != nil {
		return err
	}
	if err := proven(v, desc); err != nil {
		return err
	}
	if a != nil {
		s, err := a.take()
		if err != nil {
			return err
		}
		return r.putOrAbandon(ctx, s.loc, desc, v, data)
	}
	if s, ok := r.prepared.take(ctx); ok && s.err == nil {
		return r.putOrAbandon(ctx, s.loc, desc, v, data)
	}
	req, err := r.newRequest(ctx, http.MethodPost, "blobs/uploads/?digest="+url.QueryEscape(string(desc.Digest)), bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := r.send(req, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return err
	}
	closeBody(resp)
	if resp.StatusCode == http.StatusCreated {
		return nil
	}
	r.client.refuseSinglePOST(r.host)
	loc, err := location(resp)
	if err != nil {
		return err
	}
	return r.putOrAbandon(ctx, loc, desc, v, data)
}

// putOrAbandon closes the session at loc with the PUT of data, desc's
// bytes that v proved, and abandons the session when that fails.
func (r *Repository) putOrAbandon(ctx context.Context, loc *url.URL, desc manifest.Descriptor, v *manifest.Verifier, data []byte) error {
	err := r.putUpload(ctx, loc, desc, v, bytes.NewReader(data), desc.Size)
	if err != nil {
		r.abandonUpload(ctx, loc)
	}
	return err
}

// startUpload opens an upload session (query may ask for a mount). It
// returns the session's location, or nil when a mount made a session
// unnecessary, and the registry's OCI-Chunk-Min-Length.
func (r *Repository) startUpload(ctx context.Context, query string) (*url.URL, int64, error) {
	if query == "" {
		if s, ok := r.prepared.take(ctx); ok && s.err == nil {
			return s.loc, s.minLen, nil
		}
	}
	return r.openUpload(ctx, query)
}

// openUpload sends the POST that opens an upload session.
func (r *Repository) openUpload(ctx context.Context, query string) (*url.URL, int64, error) {
	req, err := r.newRequest(ctx, http.MethodPost, "blobs/uploads/"+query, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := r.send(req, http.StatusAccepted, http.StatusCreated)
	if err != nil {
		return nil, 0, err
	}
	closeBody(resp)
	if resp.StatusCode == http.StatusCreated {
		return nil, 0, nil
	}
	loc, err := location(resp)
	return loc, chunkMinLength(resp), err
}

// location resolves a response's Location against its request's URL. The
// session URL may lead to another host only over the same scheme.
func location(resp *http.Response) (*url.URL, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("registry: %s %s: upload response without Location", resp.Request.Method, resp.Request.URL.Redacted())
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("registry: bad upload Location: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || resp.Request.URL.Scheme == "https" && u.Scheme != "https" {
		return nil, fmt.Errorf("registry: refusing upload Location with scheme %q", u.Scheme)
	}
	return u, nil
}

// putUpload closes the session at loc with the PUT ?digest= that commits
// desc's blob, carrying its last n bytes (all of it, or none after
// chunks), read from body: v, a reader of v, or bytes v proved. The
// registry gets the whole request only with v's proof for desc (see
// sealBody).
func (r *Repository) putUpload(ctx context.Context, loc *url.URL, desc manifest.Descriptor, v *manifest.Verifier, body io.Reader, n int64) error {
	body, err := sealBody(v, desc, body, n)
	if err != nil {
		return fmt.Errorf("registry: uploading %s: %w", desc.Digest, err)
	}
	u := *loc
	q := u.Query()
	q.Set("digest", string(desc.Digest))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), body)
	if err != nil {
		return err
	}
	req.ContentLength = n
	if n == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := r.send(req, http.StatusCreated, http.StatusNoContent, http.StatusAccepted)
	if err != nil {
		return fmt.Errorf("registry: uploading %s: %w", desc.Digest, err)
	}
	closeBody(resp)
	return nil
}

// sealBody returns what the request that commits desc's blob sends: body
// as it is once v has proved desc's content, and otherwise, when the
// request carries the blob's last bytes, a reader of body that ends only
// with that proof. v holds back the blob's last byte until it verifies,
// so a request whose body fails is abandoned short of its Content-Length
// and commits nothing. A request without a body needs the proof first.
func sealBody(v *manifest.Verifier, desc manifest.Descriptor, body io.Reader, n int64) (io.Reader, error) {
	proof, err := v.Verified()
	switch {
	case err == nil:
		return body, proof.Check(desc)
	case n == 0:
		return nil, err
	}
	return &provenBody{r: body, v: v, desc: desc}, nil
}

// provenBody is a request body that ends only with its Verifier's proof.
type provenBody struct {
	r    io.Reader
	v    *manifest.Verifier
	desc manifest.Descriptor
}

func (b *provenBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		if perr := proven(b.v, b.desc); perr != nil {
			return 0, perr
		}
	}
	return n, err
}

// proven returns nil when v has proved desc's content.
func proven(v *manifest.Verifier, desc manifest.Descriptor) error {
	proof, err := v.Verified()
	if err != nil {
		return err
	}
	return proof.Check(desc)
}

// Mount asks the registry to make the blob desc, stored in repository
// from on the same registry, part of r without sending its bytes. It
// reports whether the mount happened; when it did not, nothing was
// uploaded and the caller should push the blob. A mount refused outright
// (401, 403 or 404, as Harbor answers for a source project it does not
// have) did not happen either, and is no error.
func (r *Repository) Mount(ctx context.Context, desc manifest.Descriptor, from string) (bool, error) {
	if err := desc.Digest.Validate(); err != nil {
		return false, err
	}
	if !reference.ValidRepository(from) {
		return false, fmt.Errorf("registry: invalid repository name %q", truncate(from, 140))
	}
	q := "?mount=" + url.QueryEscape(string(desc.Digest)) + "&from=" + url.QueryEscape(from)
	loc, _, err := r.startUpload(ctx, q)
	if err != nil {
		return false, mountRefused(err)
	}
	if loc == nil {
		return true, nil
	}
	r.cancelUpload(ctx, loc)
	return false, nil
}

// abandonTimeout bounds the DELETE that closes a session a push gives
// up, sent even when the push's context is cancelled.
const abandonTimeout = 5 * time.Second

// abandonUpload closes the session at loc, which a push opened and will
// not finish: left open, it would count against the registry's limit of
// sessions until it expired (skiff's own server answers 429 beyond its
// --max-upload-sessions). Failures only leave it to expire.
func (r *Repository) abandonUpload(ctx context.Context, loc *url.URL) {
	if loc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abandonTimeout)
	defer cancel()
	r.cancelUpload(ctx, loc)
}

// cancelUpload abandons a session; failures only leave it to expire.
func (r *Repository) cancelUpload(ctx context.Context, loc *url.URL) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc.String(), nil)
	if err != nil {
		return
	}
	if resp, err := r.client.do(req); err == nil {
		closeBody(resp)
	}
}

// MountFrom mounts desc from src when src is another repository on the
// same registry host; otherwise it reports false and does nothing. It
// implements manifest.Mounter, so images.Copy moves no layer bytes
// within one registry.
func (r *Repository) MountFrom(ctx context.Context, desc manifest.Descriptor, src manifest.Fetcher) (bool, error) {
	s, ok := src.(*Repository)
	if !ok || s.host != r.host || s.name == r.name {
		return false, nil
	}
	return r.Mount(ctx, desc, s.name)
}

// PushReference stores the manifest desc, read from body, under tag in a
// single PUT. It implements manifest.ReferencePusher.
func (r *Repository) PushReference(ctx context.Context, desc manifest.Descriptor, body io.Reader, tag string) error {
	raw, err := manifest.ReadAllVerified(body, desc, manifest.MaxManifestSize)
	if err != nil {
		return err
	}
	_, err = r.PushManifest(ctx, raw, desc.MediaType, tag)
	return err
}
