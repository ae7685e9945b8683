package manifest

import (
	"context"
	"fmt"
	"io"
)

// FetchAsync starts fetching desc from f and returns at once a reader of
// it, so that the fetch's round trip overlaps whatever the caller does
// before reading (a registry upload opens a session first). The first
// Read waits for the fetch and fails with its error. When observe is set
// it receives StateProgress events as ObserveReader sends them. A
// Verifier of the reader reuses the fetched reader's hashing, so a store
// hashes the bytes once. Close ends a fetch nobody read.
func FetchAsync(ctx context.Context, f Fetcher, desc Descriptor, observe func(Event)) *AsyncReader {
	ctx, cancel := context.WithCancel(ctx)
	a := &AsyncReader{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(a.done)
		rc, err := f.Fetch(ctx, desc)
		if err != nil {
			a.err = fmt.Errorf("manifest: fetching %s: %w", desc.Digest, err)
			return
		}
		if observe != nil {
			rc = ObserveReader(rc, desc, 0, observe)
		}
		a.rc = rc
	}()
	return a
}

// AsyncReader is the reader FetchAsync returns.
type AsyncReader struct {
	done   chan struct{}
	cancel context.CancelFunc
	rc     io.ReadCloser
	err    error
}

// Wait waits for the fetch and returns its error.
func (a *AsyncReader) Wait() error {
	<-a.done
	return a.err
}

func (a *AsyncReader) Read(p []byte) (int, error) {
	if err := a.Wait(); err != nil {
		return 0, err
	}
	return a.rc.Read(p)
}

// Close cancels the fetch if it is still under way and closes what it
// fetched, without waiting for either.
func (a *AsyncReader) Close() error {
	a.cancel()
	go func() {
		if a.Wait() == nil {
			a.rc.Close()
		}
	}()
	return nil
}

func (a *AsyncReader) hashing() *verifier {
	if a.Wait() != nil {
		return nil
	}
	return hashingOf(a.rc)
}

func (a *AsyncReader) hashState() (int64, []byte, bool) {
	if a.Wait() != nil {
		return 0, nil, false
	}
	return HashState(a.rc)
}
