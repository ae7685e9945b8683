package manifest

import (
	"context"
	"io"
)

// ObserveFetcher returns a Fetcher that reports every blob read through it
// to fn: StateStart when it is opened, StateProgress as bytes arrive, and
// StateDone when its reader reaches a verified end. Manifests and indexes
// are not reported. A Verifier of the readers it returns reuses the hash
// of the wrapped verifying reader, so watching a transfer never hashes
// its bytes a second time. fn may be called from several goroutines and
// must be cheap: it runs on every Read.
func ObserveFetcher(f Fetcher, fn func(Event)) Fetcher {
	return &observedFetcher{f: f, fn: fn}
}

type observedFetcher struct {
	f  Fetcher
	fn func(Event)
}

func (o *observedFetcher) Fetch(ctx context.Context, desc Descriptor) (io.ReadCloser, error) {
	rc, err := o.f.Fetch(ctx, desc)
	if err != nil || IsIndex(desc.MediaType) || IsManifest(desc.MediaType) {
		return rc, err
	}
	o.fn(Event{Desc: desc, State: StateStart})
	return &progressReader{r: rc, c: rc, desc: desc, fn: o.fn, done: true}, nil
}

// FetchFrom makes the observed Fetcher a RangeFetcher whatever it wraps
// (see the function FetchFrom); bytes are counted from offset.
func (o *observedFetcher) FetchFrom(ctx context.Context, desc Descriptor, offset int64) (io.ReadCloser, error) {
	if offset == 0 {
		return o.Fetch(ctx, desc)
	}
	rc, err := FetchFrom(ctx, o.f, desc, offset)
	if err != nil {
		return nil, err
	}
	o.fn(Event{Desc: desc, State: StateStart, Bytes: offset})
	return &progressReader{r: rc, c: rc, desc: desc, fn: o.fn, n: offset, done: true}, nil
}

// ObserveReader returns a reader of rc's bytes, the content of desc from
// offset on, that reports StateProgress events for desc to fn as they are
// read, counting from offset; a Verifier of it reuses the hash of rc when
// rc verifies, so a store hashes the bytes once.
func ObserveReader(rc io.ReadCloser, desc Descriptor, offset int64, fn func(Event)) io.ReadCloser {
	return &progressReader{r: rc, c: rc, desc: desc, fn: fn, n: offset}
}

// progressReader reports the bytes read through it, and with done its
// verified end.
type progressReader struct {
	r    io.Reader
	c    io.Closer // nil when the caller closes the source itself
	desc Descriptor
	fn   func(Event)
	n    int64
	done bool // report StateDone at io.EOF
}

// hashing passes on the verifier of the reader it counts, so that a
// store's Verifier does not hash the stream a second time.
func (p *progressReader) hashing() *verifier { return hashingOf(p.r) }

// hashState passes on the hash state of the reader it counts.
func (p *progressReader) hashState() (int64, []byte, bool) {
	return HashState(p.r)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.n += int64(n)
		p.fn(Event{Desc: p.desc, State: StateProgress, Bytes: p.n})
	}
	if err == io.EOF && p.done {
		p.done = false
		p.fn(Event{Desc: p.desc, State: StateDone, Bytes: p.n})
	}
	return n, err
}

// Close closes the reader it counts, when it owns it.
func (p *progressReader) Close() error {
	if p.c == nil {
		return nil
	}
	return p.c.Close()
}
