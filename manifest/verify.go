package manifest

import (
	"errors"
	"fmt"
	"io"
)

// Errors reported when content does not match its descriptor.
var (
	ErrDigestMismatch = errors.New("digest mismatch")
	ErrSizeMismatch   = errors.New("size mismatch")
)

// SizeUnknown, as a Descriptor's Size, tells NewVerifyingReader to check
// only the digest. Callers must then bound the read themselves.
const SizeUnknown = -1

// NewVerifyingReader returns a reader that yields r's bytes and checks them
// against desc's size and digest. It never reads more than desc.Size bytes
// from r (plus a one-byte probe that detects excess data, which is never
// returned). The read that reaches the end returns io.EOF only when both
// size and digest match; otherwise it returns an error wrapping
// ErrSizeMismatch or ErrDigestMismatch that names what was expected and what
// arrived. A consumer that stops reading early (say, at a tar end-of-archive
// marker) must drain the reader to EOF to learn the verdict.
func NewVerifyingReader(r io.Reader, desc Descriptor) io.Reader {
	v := &verifier{r: r, want: desc.Digest, size: desc.Size}
	if err := desc.Digest.Validate(); err != nil {
		v.err = err
		return v
	}
	v.d = NewDigester(desc.Digest.Algorithm())
	return v
}

// newResumedVerifier is a verifier for content whose first offset bytes
// the caller already holds and has written to prefix: r yields the bytes
// from offset on, and the end is checked against desc as if all of them
// had come through r.
func newResumedVerifier(r io.Reader, desc Descriptor, prefix *Digester, offset int64) *verifier {
	v := &verifier{r: r, want: desc.Digest, size: desc.Size, n: offset, from: offset, d: prefix}
	switch {
	case desc.Digest.Validate() != nil:
		v.err, v.d = desc.Digest.Validate(), nil
	case prefix == nil || prefix.alg != desc.Digest.Algorithm():
		v.err, v.d = fmt.Errorf("manifest: resuming %s: no %s hash of the first %d bytes", desc.Digest, desc.Digest.Algorithm(), offset), nil
	case offset < 0 || desc.Size >= 0 && offset > desc.Size:
		v.err, v.d = fmt.Errorf("manifest: resuming %s at byte %d: %w: it has %d", desc.Digest, offset, ErrSizeMismatch, desc.Size), nil
	}
	return v
}

// HashState returns how many bytes the verifying reader r (from
// NewVerifyingReader, VerifyReadCloser, NewVerifier or NewResumedVerifier,
// seen through the readers of ObserveFetcher) has returned so far, and the hash
// state of those bytes (Digester.MarshalBinary). A transfer that writes
// every byte it reads saves the pair as a checkpoint between reads. ok is
// false when r is no such reader.
func HashState(r io.Reader) (n int64, state []byte, ok bool) {
	h, isHS := r.(interface{ hashState() (int64, []byte, bool) })
	if !isHS {
		return 0, nil, false
	}
	return h.hashState()
}

func (v *verifier) hashState() (int64, []byte, bool) {
	if v.d == nil {
		return 0, nil, false
	}
	state, err := v.d.MarshalBinary()
	return v.n, state, err == nil
}

// VerifyReadCloser is NewVerifyingReader for an io.ReadCloser; Close closes rc.
func VerifyReadCloser(rc io.ReadCloser, desc Descriptor) io.ReadCloser {
	return &verifyingReadCloser{NewVerifyingReader(rc, desc).(*verifier), rc}
}

type verifyingReadCloser struct {
	*verifier
	io.Closer
}

// hashing is the verifier itself, for a Verifier to reuse.
func (v *verifier) hashing() *verifier { return v }

type verifier struct {
	r    io.Reader
	want Digest
	size int64
	from int64 // the offset of r's first byte
	n    int64 // the offset of the next byte
	d    *Digester
	ok   bool  // the content verified
	err  error // sticky: a verdict or a read error
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.size >= 0 && v.n == v.size {
		v.err = v.probeEnd()
		return 0, v.err
	}
	if rest := v.size - v.n; v.size >= 0 && int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.d.Write(p[:n])
	if err == io.EOF {
		err = v.finish()
	}
	if err != nil {
		v.err = err
	}
	return n, err
}

// probeEnd is called once size bytes have arrived: r must have nothing more.
func (v *verifier) probeEnd() error {
	var one [1]byte
	for range 100 {
		n, err := v.r.Read(one[:])
		if n > 0 {
			return fmt.Errorf("manifest: %w for %s: more than the expected %d bytes", ErrSizeMismatch, v.want, v.size)
		}
		if err == io.EOF {
			return v.finish()
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

func (v *verifier) finish() error {
	if v.size >= 0 && v.n != v.size {
		return fmt.Errorf("manifest: %w for %s: expected %d bytes, got %d", ErrSizeMismatch, v.want, v.size, v.n)
	}
	if got := v.d.Digest(); got != v.want {
		return fmt.Errorf("manifest: %w: expected %s, got %s", ErrDigestMismatch, v.want, got)
	}
	v.ok = true
	return io.EOF
}

// LimitError reports content that exceeded a size limit.
type LimitError struct {
	What  string // what was being read, such as "manifest"
	Limit int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("manifest: %s exceeds the %d-byte limit", e.What, e.Limit)
}

// ReadLimited reads all of r, or fails with a *LimitError once more than
// limit bytes arrive. It reads at most limit+1 bytes.
func ReadLimited(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &LimitError{What: what, Limit: limit}
	}
	return b, nil
}

// ReadAllVerified reads the content desc describes from r, bounded by limit,
// and verifies it. It suits manifests and configs, which are small.
func ReadAllVerified(r io.Reader, desc Descriptor, limit int64) ([]byte, error) {
	if desc.Size > limit {
		return nil, &LimitError{What: "content " + string(desc.Digest), Limit: limit}
	}
	return ReadLimited(NewVerifyingReader(r, desc), limit, "content "+string(desc.Digest))
}
