package server

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// appendChunk streams the request body into the session. A Content-Range
// must be the spec's "<start>-<end>", start at the session's size (else
// 416) and agree with the body's length (else 400 SIZE_INVALID); a request
// without one appends its body, as distribution allows. A chunk longer
// than MaxChunkLength, or one that would grow the blob past MaxBlobSize,
// is refused with 413 SIZE_INVALID and leaves nothing behind.
func (s *Server) appendChunk(w http.ResponseWriter, r *http.Request, up *session) bool {
	start := up.size
	want, ok := s.checkRange(w, r, start)
	if !ok {
		return false
	}
	limit, ok := s.chunkLimit(w, start, max(want, r.ContentLength))
	if !ok {
		return false
	}
	body := io.Reader(bodyReader{r.Body})
	if want >= 0 && (limit < 0 || want < limit) {
		limit = want
	}
	if limit >= 0 {
		body = io.LimitReader(body, limit+1) // one more byte tells a body too long
	}
	size, state := up.mark()
	n, err := up.append(body)
	if diskFull(err) {
		// The session cannot go on, and its file holds room that later
		// pushes need: remove both now, not at the idle timeout.
		s.sessions.remove(up)
	}
	if err != nil {
		s.blobError(w, "", err) // what arrived stays, unless the disk is full
		return false
	}
	return s.checkChunk(w, up, size, state, n, want)
}

// chunkLimit returns how many bytes a chunk starting at start may have
// (-1: any number), or answers 413 when the length it announces, if
// known (>= 0), is over it.
func (s *Server) chunkLimit(w http.ResponseWriter, start, announced int64) (int64, bool) {
	limit := int64(-1)
	if s.opts.MaxChunkLength > 0 {
		limit = s.opts.MaxChunkLength
	}
	if announced > limit && limit >= 0 {
		writeError(w, http.StatusRequestEntityTooLarge, CodeSizeInvalid, "chunk longer than the registry accepts")
		return 0, false
	}
	if max := s.maxBlobSize(); max >= 0 {
		if start+announced > max {
			writeError(w, http.StatusRequestEntityTooLarge, CodeSizeInvalid, tooBig(max))
			return 0, false
		}
		if limit < 0 || max-start < limit {
			limit = max - start
		}
	}
	return limit, true
}

// checkChunk refuses, and takes back out of the session, a chunk longer
// than the limits or of another length than its Content-Range said.
func (s *Server) checkChunk(w http.ResponseWriter, up *session, start int64, state []byte, n, want int64) bool {
	status, msg := 0, ""
	switch max := s.maxBlobSize(); {
	case want >= 0 && n != want:
		status, msg = http.StatusBadRequest, fmt.Sprintf("Content-Range says %d bytes, body has %d", want, n)
	case s.opts.MaxChunkLength > 0 && n > s.opts.MaxChunkLength:
		status, msg = http.StatusRequestEntityTooLarge, "chunk longer than the registry accepts"
	case max >= 0 && start+n > max:
		status, msg = http.StatusRequestEntityTooLarge, tooBig(max)
	}
	if status != 0 {
		if err := up.undo(start, state); err != nil {
			s.internalError(w, err)
			return false
		}
		writeError(w, status, CodeSizeInvalid, msg)
		return false
	}
	if n > 0 {
		up.chunks = append(up.chunks, n)
	}
	return true
}

// checkRange validates Content-Range against the session's size and
// returns the chunk length it announces, or -1 without one.
func (s *Server) checkRange(w http.ResponseWriter, r *http.Request, size int64) (int64, bool) {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return -1, true
	}
	first, last, ok := parseContentRange(cr)
	if !ok {
		writeError(w, http.StatusBadRequest, CodeBlobUploadInvalid, "Content-Range must be <start>-<end>")
		return 0, false
	}
	a, err1 := strconv.ParseInt(first, 10, 64)
	b, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || a != size || b < a || b-a+1 <= 0 { // b-a+1 overflows for b = 2^63-1
		writeError(w, http.StatusRequestedRangeNotSatisfiable, CodeBlobUploadInvalid,
			fmt.Sprintf("range %s does not continue the upload, which has %d bytes", cr, size))
		return 0, false
	}
	if r.ContentLength >= 0 && r.ContentLength != b-a+1 {
		writeError(w, http.StatusBadRequest, CodeSizeInvalid, "Content-Length disagrees with Content-Range")
		return 0, false
	}
	return b - a + 1, true
}

// parseContentRange splits the spec's "<start>-<end>" into its decimal
// numbers; ok is false for anything else.
func parseContentRange(s string) (start, end string, ok bool) {
	start, end, ok = strings.Cut(s, "-")
	return start, end, ok && allDigits(start) && allDigits(end)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// commit proves a session's bytes to be the blob d and stores them, on
// stable storage, as the blob d of the session's repository.
func (s *Server) commit(up *session, d manifest.Digest) error {
	// A refused chunk whose truncation failed may have left bytes past
	// the session's size: they must not become part of the blob.
	if err := up.truncate(up.size); err != nil {
		return err
	}
	proof, err := up.proof(d)
	if err != nil {
		return err
	}
	if err := up.sync(); err != nil {
		return err
	}
	return s.storeFile(up.repo, proof, up.path)
}

// proof returns the proof that the session's bytes are the blob d: from
// the running hash for sha256, by reading the file again for another
// algorithm.
func (up *session) proof(d manifest.Digest) (manifest.Verified, error) {
	desc := manifest.Descriptor{Digest: d, Size: up.size}
	var v *manifest.Verifier
	if d.Algorithm() == manifest.SHA256 {
		_, state := up.mark()
		prefix := manifest.NewDigester(manifest.SHA256)
		if err := prefix.UnmarshalBinary(state); err != nil {
			return manifest.Verified{}, err
		}
		v = manifest.NewResumedVerifier(http.NoBody, desc, prefix, up.size)
	} else {
		f, err := up.open(os.O_RDONLY)
		if err != nil {
			return manifest.Verified{}, err
		}
		defer f.Close()
		v = manifest.NewVerifier(f, desc)
	}
	if _, err := io.Copy(io.Discard, v); err != nil {
		return manifest.Verified{}, err
	}
	return v.Verified()
}

// receiveBlob streams body, the whole blob desc, into a file of the upload
// directory through a Verifier, and stores it, on stable storage, as the
// blob of repo once the Verifier proved it.
func (s *Server) receiveBlob(repo string, desc manifest.Descriptor, body io.Reader) error {
	dir, path, err := s.sessions.hold()
	if err != nil {
		return err
	}
	defer s.sessions.drop()
	f, name, err := dir.CreateTemp("post-*")
	if err != nil {
		return err
	}
	defer dir.Remove(name)
	v := manifest.NewVerifier(bodyReader{body}, desc)
	_, err = io.Copy(f, v)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	proof, err := v.Verified()
	if err != nil {
		return err
	}
	return s.storeFile(repo, proof, filepath.Join(path, name))
}

// storeFile makes the file at path, which proof proves to be a blob, that
// blob: moved into the storage when it can take files, and linked into
// repo.
func (s *Server) storeFile(repo string, proof manifest.Verified, path string) error {
	d := proof.Digest()
	if d == "" {
		return fmt.Errorf("server: storing %s: %w", path, manifest.ErrUnverified)
	}
	var err error
	if a, ok := s.store.(BlobAdopter); ok {
		err = a.AdoptBlob(proof, path)
	} else {
		err = s.putFile(d, path)
	}
	if err != nil {
		return err
	}
	return s.store.Link(repo, Link{Kind: KindBlob, Name: string(d), Digest: d})
}

// putFile copies the verified file at path, in the upload directory, into
// a storage that cannot adopt files, and removes it.
func (s *Server) putFile(d manifest.Digest, path string) error {
	dir, _, err := s.sessions.hold()
	if err != nil {
		return err
	}
	defer s.sessions.drop()
	name := filepath.Base(path)
	defer dir.Remove(name)
	f, err := dir.OpenFile(name, os.O_RDONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.store.PutBlob(d, f)
	return err
}

// bodyError is a failure to read a request body: the client's doing.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// bodyReader marks its reader's errors as bodyErrors.
type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &bodyError{err}
	}
	return n, err
}
