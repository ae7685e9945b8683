package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
)

var _ manifest.ResumingPusher = (*Repository)(nil)

// Upload checkpoints: one every checkpointEvery bytes read from the
// source, the last maxCheckpoints of them kept with the one at byte 0.
const (
	checkpointEvery = 1 << 20
	maxCheckpoints  = 64
)

// errCannotResume means the saved upload session is of no use: the
// registry forgot it, or no checkpoint lies at or before its offset.
var errCannotResume = errors.New("the upload cannot be continued")

// uploadState is what an interrupted upload keeps in Client.ResumeDir.
type uploadState struct {
	Location    string       `json:"location"`
	Checkpoints []checkpoint `json:"checkpoints"`
}

// checkpoint is the hash state of the first N bytes of the blob.
type checkpoint struct {
	N     int64  `json:"n"`
	State []byte `json:"state"`
}

// PushResumable stores the blob desc names as Push does, reading it from
// open(0), and, with Client.ResumeDir set, keeps its upload session and
// checkpoints there until it completes. When an earlier push of the same
// blob to this repository was interrupted, it asks the registry where
// that session stands (a GET on it, as the spec allows) and continues
// from there: the source is read again from the nearest checkpoint before
// that offset (hashed, not sent) and only the rest is sent. A registry
// that forgot the session, or discards a session whose last request was
// cut (distribution does), gets a new upload. Manifests, small blobs and
// chunked uploads are pushed as Push does.
func (r *Repository) PushResumable(ctx context.Context, desc manifest.Descriptor, open func(int64) (io.ReadCloser, error)) error {
	if err := desc.Validate(); err != nil {
		return err
	}
	if isManifestDesc(desc) {
		rc, err := open(0)
		if err != nil {
			return err
		}
		defer rc.Close()
		return r.pushManifestDesc(ctx, desc, rc)
	}
	if r.client.ResumeDir == "" || desc.Size <= smallBlob || r.client.ChunkSize > 0 {
		return r.pushOpened(ctx, desc, open)
	}
	path := r.uploadStatePath(desc)
	if st, ok := loadUploadState(path); ok {
		// A registry that refuses the continuation (distribution answers
		// the status but then 404s a PATCH at a cut session) gets a new
		// upload, as one that forgot the session does.
		err := r.continueUpload(ctx, desc, open, st, path)
		if !errors.Is(err, errCannotResume) && !refused(err) {
			return r.finishState(path, err)
		}
		if loc, perr := url.Parse(st.Location); perr == nil {
			r.abandonUpload(ctx, loc) // the new upload replaces it
		}
	}
	return r.finishState(path, r.freshUpload(ctx, desc, open, path))
}

// refused reports whether err is a registry's refusal: a 4xx other than
// 408 and 429, such as 404 BLOB_UPLOAD_UNKNOWN or 400 DIGEST_INVALID.
func refused(err error) bool {
	var re *Error
	return errors.As(err, &re) && re.Status >= 400 && re.Status < 500 &&
		re.Status != http.StatusRequestTimeout && re.Status != http.StatusTooManyRequests
}

// finishState removes the state file unless err leaves something to
// continue from (see continuable), and returns err.
func (r *Repository) finishState(path string, err error) error {
	if !continuable(err) {
		os.Remove(path)
	}
	return err
}

// continuable reports whether an upload that failed with err may be
// continued: wrong content or a refusal leaves nothing to continue; only
// a cut, a timeout or a server error may be.
func continuable(err error) bool {
	return err != nil && !refused(err) && !errors.Is(err, manifest.ErrDigestMismatch) && !errors.Is(err, manifest.ErrSizeMismatch)
}

// uploadStatePath names the state of desc's upload to this repository.
func (r *Repository) uploadStatePath(desc manifest.Descriptor) string {
	sum := sha256.Sum256([]byte(r.host + "/" + r.name + "@" + string(desc.Digest)))
	return filepath.Join(r.client.ResumeDir, hex.EncodeToString(sum[:16])+".upload")
}

// loadUploadState reads the state at path, a file of the user's own:
// anything else there is removed, never followed (safefile.ReadOwn).
func loadUploadState(path string) (*uploadState, bool) {
	raw, err := safefile.ReadOwn(path, 64<<10)
	if err != nil {
		return nil, false
	}
	var st uploadState
	if json.Unmarshal(raw, &st) != nil || st.Location == "" {
		return nil, false
	}
	return &st, true
}

// save writes the state, replacing the file at path in one rename, from a
// temporary file of its own: processes saving at once never share one. Its
// directory is private (0700) and refused when another user owns it or
// can write it.
func (st *uploadState) save(path string) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := safefile.MkdirPrivate(filepath.Dir(path)); err != nil {
		return err
	}
	return safefile.WriteFile(path, raw, 0o600, false)
}

// add records a checkpoint, keeping the first and the latest ones.
func (st *uploadState) add(c checkpoint) {
	st.Checkpoints = append(st.Checkpoints, c)
	if len(st.Checkpoints) > maxCheckpoints {
		st.Checkpoints = append(st.Checkpoints[:1], st.Checkpoints[2:]...)
	}
}

// freshUpload opens a session, saves it, and sends the whole blob in
// one PUT, checkpointing as the source is read.
// A session no state names, or whose upload cannot be continued, is
// abandoned when the upload fails.
// The session opens while the source does: one round trip for both.
func (r *Repository) freshUpload(ctx context.Context, desc manifest.Descriptor, open func(int64) (io.ReadCloser, error), path string) error {
	a := r.openAhead(ctx)
	rc, err := open(0)
	if err != nil {
		r.releaseAhead(ctx, a)
		return err
	}
	defer rc.Close()
	s, err := a.take()
	if err != nil {
		return err
	}
	kept, err := r.sendFresh(ctx, desc, rc, path, s.loc, s.minLen)
	if err != nil && (!kept || !continuable(err)) {
		r.abandonUpload(ctx, s.loc)
	}
	return err
}

// pushOpened pushes the blob desc as Push does, read from open(0), with
// its upload session (when it needs one) opened while the source opens.
func (r *Repository) pushOpened(ctx context.Context, desc manifest.Descriptor, open func(int64) (io.ReadCloser, error)) error {
	var a *ahead
	if r.needsSession(desc) {
		a = r.openAhead(ctx)
	}
	rc, err := open(0)
	if err != nil {
		r.releaseAhead(ctx, a)
		return err
	}
	defer rc.Close()
	return r.pushBlobOrAgain(ctx, desc, rc, a)
}

// sendFresh sends the blob, read from rc, through the new session at loc;
// kept says whether the state names the session, for a later run to
// continue it.
func (r *Repository) sendFresh(ctx context.Context, desc manifest.Descriptor, rc io.Reader, path string, loc *url.URL, minLen int64) (kept bool, err error) {
	v := manifest.NewVerifier(rc, desc)
	if minLen > 0 {
		return false, r.putChunked(ctx, loc, desc, v, minLen)
	}
	st := &uploadState{Location: loc.String()}
	if _, state, ok := manifest.HashState(v); ok {
		st.add(checkpoint{0, state})
	}
	if err := st.save(path); err != nil {
		return false, fmt.Errorf("registry: saving the upload's state: %w", err)
	}
	return true, r.putUpload(ctx, loc, desc, v, &checkpointer{r: v, st: st, path: path}, desc.Size)
}

// continueUpload asks where the saved session stands and sends the rest.
func (r *Repository) continueUpload(ctx context.Context, desc manifest.Descriptor, open func(int64) (io.ReadCloser, error), st *uploadState, path string) error {
	loc, err := url.Parse(st.Location)
	if err != nil {
		return errCannotResume
	}
	next, at, err := r.uploadStatus(ctx, loc)
	if err != nil || at < 0 || at > desc.Size {
		return errCannotResume
	}
	from, ok := st.before(at)
	if !ok {
		return errCannotResume
	}
	v, rc, err := resumedBody(open, desc, from)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.CopyN(io.Discard, v, at-from.N); err != nil { // hashed, not sent
		return err
	}
	if at < desc.Size {
		ck := &checkpointer{r: v, st: st, path: path}
		resp, err := r.patchStream(ctx, next, ck, at, desc.Size-at)
		if err != nil {
			return err
		}
		var got int64
		if next, got, err = r.afterPatch(ctx, next, resp, at, desc.Size-at); err != nil {
			return err
		}
		if got != desc.Size {
			// The session was not where its status said (a cut request
			// the registry was still storing): the bytes sent did not
			// land, so the upload starts over.
			return errCannotResume
		}
	}
	return r.putUpload(ctx, next, desc, v, http.NoBody, 0)
}

// before returns the last checkpoint at or before byte at.
func (st *uploadState) before(at int64) (checkpoint, bool) {
	var best checkpoint
	found := false
	for _, c := range st.Checkpoints {
		if c.N <= at && (!found || c.N > best.N) {
			best, found = c, true
		}
	}
	return best, found
}

// resumedBody reads desc's content from checkpoint c on, verifying it
// together with the bytes before c: it returns the Verifier to read and
// the source, to close.
func resumedBody(open func(int64) (io.ReadCloser, error), desc manifest.Descriptor, c checkpoint) (*manifest.Verifier, io.ReadCloser, error) {
	rc, err := open(c.N)
	if err != nil {
		return nil, nil, err
	}
	if c.N == 0 {
		return manifest.NewVerifier(rc, desc), rc, nil
	}
	prefix := manifest.NewDigester(desc.Digest.Algorithm())
	if err := prefix.UnmarshalBinary(c.State); err != nil {
		rc.Close()
		return nil, nil, errCannotResume
	}
	return manifest.NewResumedVerifier(rc, desc, prefix, c.N), rc, nil
}

// checkpointer saves a checkpoint every checkpointEvery bytes read
// through it; saving is best effort and never fails the upload.
type checkpointer struct {
	r     *manifest.Verifier
	st    *uploadState
	path  string
	saved int64
}

func (c *checkpointer) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if at, state, ok := manifest.HashState(c.r); ok && at-c.saved >= checkpointEvery {
		c.st.add(checkpoint{at, state})
		c.st.save(c.path)
		c.saved = at
	}
	return n, err
}
