package manifest

import (
	"errors"
	"fmt"
	"io"
)

// ErrUnverified is wrapped by the errors of Verified.Check: a store was
// asked to commit content that no Verifier proved.
var ErrUnverified = errors.New("content not verified")

// Verified is proof that a Verifier yielded some content whole, from its
// first byte (or from a prefix whose hash the caller supplied) to its end,
// and that the content had a descriptor's size and digest. Only a Verifier
// makes one, at that end; the zero Verified proves nothing.
//
// A store requires one before it commits a blob under its digest:
// renames it into place, sends the request that names the digest, counts
// a tarball's slot complete. It proves what one Verifier returned, so a
// store takes it from the Verifier its bytes came through.
type Verified struct {
	digest Digest
	size   int64
}

// Digest returns the digest of the content v proves, or "" for the zero
// Verified.
func (v Verified) Digest() Digest { return v.digest }

// Size returns the size of the content v proves.
func (v Verified) Size() int64 { return v.size }

// Check returns nil when v proves the content desc names, with the same
// digest and size, and otherwise an error wrapping ErrUnverified.
func (v Verified) Check(desc Descriptor) error {
	switch {
	case v.digest == "":
		return fmt.Errorf("manifest: %s: %w", desc.Digest, ErrUnverified)
	case v.digest != desc.Digest || v.size != desc.Size:
		return fmt.Errorf("manifest: %s of %d bytes: %w: the proof is for %s of %d bytes", desc.Digest, desc.Size, ErrUnverified, v.digest, v.size)
	}
	return nil
}

// A Verifier is the reader through which a store takes in a blob: it
// yields the content desc names and checks its size and digest, as a
// reader from NewVerifyingReader does, and at a matching end it yields a
// Verified. It holds back the content's last byte until the whole content
// has verified, so that a consumer which counts on the length (a request
// with a Content-Length, a response, a tarball slot) never gets all of
// content that does not verify.
//
// A Verifier counts the bytes it returns itself: content that was partly
// read before it got it, resumed from another offset, or longer or
// shorter than desc says, never yields a Verified.
type Verifier struct {
	src    io.Reader // what Read reads: h, or the source h is inside
	h      *verifier // hashes and checks every byte from the first
	desc   Descriptor
	from   int64 // the offset of the first byte src yields
	n      int64 // bytes Read returned
	reused bool  // h is the source's own: the bytes are hashed once
	proof  Verified
	err    error // sticky: io.EOF after the proof, or why there is none
}

// NewVerifier returns a Verifier of r, which must yield desc's content
// from its first byte. When r is a verifying reader of desc
// (NewVerifyingReader, VerifyReadCloser, also through ObserveFetcher's
// readers) that nothing has read yet, its hash is used, and the bytes are
// hashed once however many stores they pass through.
func NewVerifier(r io.Reader, desc Descriptor) *Verifier {
	v := &Verifier{src: r, desc: desc}
	if desc.Size < 0 {
		v.err = fmt.Errorf("manifest: verifying %s: the descriptor has no size", desc.Digest)
		return v
	}
	if h := hashingOf(r); h != nil && h.err == nil && h.from == 0 && h.n == 0 && h.want == desc.Digest && h.size == desc.Size {
		v.h, v.reused = h, true
		return v
	}
	v.h = NewVerifyingReader(r, desc).(*verifier)
	v.src, v.err = v.h, v.h.err
	return v
}

// NewResumedVerifier returns a Verifier of r, which yields desc's content
// from byte offset on; prefix holds the hash of the bytes before offset,
// which the caller already has (see RangeFetcher). The Verified it yields
// proves the whole content: the prefix and what came through r.
func NewResumedVerifier(r io.Reader, desc Descriptor, prefix *Digester, offset int64) *Verifier {
	h := newResumedVerifier(r, desc, prefix, offset)
	v := &Verifier{src: h, h: h, desc: desc, from: offset, err: h.err}
	if desc.Size < 0 {
		v.err = fmt.Errorf("manifest: verifying %s: the descriptor has no size", desc.Digest)
	}
	return v
}

// Read reads the content. The read that returns the last byte returns
// io.EOF with it, once the content verified; content that does not
// verify fails with an error wrapping ErrSizeMismatch or
// ErrDigestMismatch instead, before its last byte.
func (v *Verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	left := v.desc.Size - v.from - v.n
	if left > int64(len(p)) {
		n, err := v.src.Read(p)
		v.n += int64(n)
		if err != nil {
			v.err = v.early(err)
			return n, v.err
		}
		return n, nil
	}
	if k, err := io.ReadFull(v.src, p[:left]); err != nil {
		v.n += int64(k) // short of the last byte: they may go
		v.err = v.early(err)
		return k, v.err
	}
	if v.err = v.end(); v.err != io.EOF {
		return 0, v.err
	}
	v.n += left
	return int(left), io.EOF
}

// early is the error for a source that ended or failed before the
// content's last byte.
func (v *Verifier) early(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("manifest: %w for %s: expected %d bytes, got %d", ErrSizeMismatch, v.desc.Digest, v.desc.Size, v.from+v.n)
	}
	return err
}

// end reads the verdict once the last byte has arrived, and makes the
// proof when the content verified and every byte of it came through v.
func (v *Verifier) end() error {
	_, err := v.src.Read(make([]byte, 1)) // the source has nothing more: its verdict
	switch {
	case err == nil:
		return io.ErrNoProgress
	case err != io.EOF:
		return err
	case !v.h.ok:
		return fmt.Errorf("manifest: %s: the source ended without verifying it: %w", v.desc.Digest, ErrUnverified)
	case v.h.from != v.from || v.h.n != v.desc.Size:
		return fmt.Errorf("manifest: %w for %s: %d of its %d bytes came through this reader", ErrSizeMismatch, v.desc.Digest, v.desc.Size-v.from, v.desc.Size)
	}
	v.proof = Verified{digest: v.desc.Digest, size: v.desc.Size}
	return io.EOF
}

// Verified returns the proof of the content once Read has returned
// io.EOF, and otherwise the zero Verified and why there is none.
func (v *Verifier) Verified() (Verified, error) {
	switch v.err {
	case io.EOF:
		return v.proof, nil
	case nil:
		return Verified{}, fmt.Errorf("manifest: %s: %w: read to its end first", v.desc.Digest, ErrUnverified)
	}
	return Verified{}, v.err
}

// hashing makes a Verifier a source another store's Verifier can reuse.
func (v *Verifier) hashing() *verifier {
	if v.h == nil || v.h.n != v.from+v.n {
		return nil
	}
	return v.h
}

// hashState is that of the bytes v returned, as HashState says.
func (v *Verifier) hashState() (int64, []byte, bool) {
	if v.hashing() == nil {
		return 0, nil, false
	}
	return v.h.hashState()
}

// hashingOf returns the verifier that hashes what r yields, when r is one
// or one of this package's readers that pass on what they read from one.
func hashingOf(r io.Reader) *verifier {
	if h, ok := r.(interface{ hashing() *verifier }); ok {
		return h.hashing()
	}
	return nil
}

// Reused reports whether v hashes with its source's verifier (a verifying
// reader nothing had read yet), so that the bytes are hashed once on
// their way from one store to another.
func (v *Verifier) Reused() bool { return v.reused }
