package auth

import (
	"context"
	"errors"
	"sync"
	"time"
)

// flight is one lookup shared by every request that needs its result
// while it runs, and kept afterwards when it succeeded.
type flight[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// share returns the value stored under key in m when it is usable, else
// computes it with fetch, once for all concurrent callers. fetched reports
// that the value was computed during this call rather than taken from m.
// Failed lookups are not kept. mu guards m and is not held while fetch
// runs.
func share[T any](ctx context.Context, mu *sync.Mutex, m map[string]*flight[T], key string,
	usable func(T) bool, fetch func() (T, error)) (val T, fetched bool, err error) {
	for {
		mu.Lock()
		f := m[key]
		if f != nil && isDone(f.done) && (f.err != nil || !usable(f.val)) {
			f = nil
		}
		if f == nil {
			f = &flight[T]{done: make(chan struct{})}
			m[key] = f
			mu.Unlock()
			return runFlight(mu, m, key, f, fetch)
		}
		if isDone(f.done) {
			mu.Unlock()
			return f.val, false, nil
		}
		mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return val, false, ctx.Err()
		}
		if isContextErr(f.err) && ctx.Err() == nil {
			continue // the leader gave up; this caller has not
		}
		return f.val, true, f.err
	}
}

func runFlight[T any](mu *sync.Mutex, m map[string]*flight[T], key string, f *flight[T],
	fetch func() (T, error)) (T, bool, error) {
	f.val, f.err = fetch()
	mu.Lock()
	if f.err != nil && m[key] == f {
		delete(m, key)
	}
	close(f.done)
	mu.Unlock()
	return f.val, true, f.err
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// token is a bearer token and the moment it stops being used.
type token struct {
	value   string
	expires time.Time
}

// expiryMargin is how long before its expiry a token is replaced, so that
// it does not expire on the way to the registry.
const expiryMargin = 10 * time.Second

func newToken(value string, issued time.Time, lifetime time.Duration) token {
	margin := min(expiryMargin, lifetime/2)
	return token{value: value, expires: issued.Add(lifetime - margin)}
}
