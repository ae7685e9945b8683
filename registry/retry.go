package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/skiffoci/skiff/internal/h1client"
	"github.com/skiffoci/skiff/manifest"
)

// RetryPolicy says how often and how long a Client retries requests that
// failed for reasons that may pass: network errors, 408, 429, 500, 502,
// 503 and 504. Other statuses are never retried. A request whose body
// cannot be replayed is not retried once the body was sent.
type RetryPolicy struct {
	Attempts      int           // total tries; 0 means 5, 1 means no retry
	MinBackoff    time.Duration // first backoff; 0 means 200ms
	MaxBackoff    time.Duration // backoff cap; 0 means 10s
	MaxRetryAfter time.Duration // longest Retry-After honoured; 0 means 60s
}

func (p RetryPolicy) attempts() int { return cmpOr(p.Attempts, 5) }

func (p RetryPolicy) backoff(attempt int) time.Duration {
	lo, hi := cmpOr(p.MinBackoff, 200*time.Millisecond), cmpOr(p.MaxBackoff, 10*time.Second)
	d := lo << min(attempt, 20)
	if d > hi || d <= 0 {
		d = hi
	}
	return d/2 + rand.N(d/2+1) // jitter: between half and all of d
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableError reports whether a transport error may pass: a reset, an
// unexpected EOF or a body that stalled. TLS and certificate errors,
// refused connections, a server that never answered within its bound,
// redirect refusals and auth errors do not.
func retryableError(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || neverAnswered(err) {
		return false
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	return isTimeout(err)
}

// isTimeout reports whether any error in err's chain is a timeout. (A
// *url.Error is a net.Error whose Timeout looks only one level down, so
// errors.As would stop at it.)
func isTimeout(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if t, ok := err.(interface{ Timeout() bool }); ok && t.Timeout() {
			return true
		}
	}
	return false
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, 1<<31)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// do sends req, retrying as the policy allows. It returns the response
// of the last try whatever its status, or the transport error, which
// names the request (a *requestError).
func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.retry(req)
	if err != nil {
		return nil, newRequestError(req, err)
	}
	return resp, nil
}

// retry is do without the naming of errors.
func (c *Client) retry(req *http.Request) (*http.Response, error) {
	c.init()
	req.Header.Set("User-Agent", c.userAgent())
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		resp, err := h1client.Do(c.authT.RoundTrip, req, c.checkRedirect)
		if err == nil && !retryableStatus(resp.StatusCode) {
			return resp, nil
		}
		if err != nil && !retryableError(err) || attempt >= c.Retry.attempts() || !replayable(req) {
			return resp, err
		}
		wait := c.Retry.backoff(attempt - 1)
		if resp != nil && rateLimitSpent(resp) {
			e := newError(resp)
			resp.Body.Close()
			return nil, fmt.Errorf("%w (rate limit used up: RateLimit-Remaining %s; retrying would not help before the window ends)",
				e, truncate(resp.Header.Get("RateLimit-Remaining"), 40))
		}
		if resp != nil {
			if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				if limit := cmpOr(c.Retry.MaxRetryAfter, 60*time.Second); ra > limit {
					e := newError(resp)
					resp.Body.Close()
					return nil, fmt.Errorf("%w (the registry asks to retry after %v, more than the %v this client waits)", e, ra, limit)
				}
				wait = ra
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
		if err := rewind(req); err != nil {
			return nil, err
		}
	}
}

// rateLimitSpent reports whether a 429 says, as Docker Hub's pull limit
// does, that no request is left in a window of hours (RateLimit-Remaining
// "0;w=21600", no Retry-After): retrying within seconds only adds to it.
func rateLimitSpent(resp *http.Response) bool {
	remaining, _, _ := strings.Cut(resp.Header.Get("RateLimit-Remaining"), ";")
	return resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" &&
		strings.TrimSpace(remaining) == "0"
}

// sendOK does req and returns its response if it is a 200; any other
// status becomes an *Error.
func (c *Client) sendOK(req *http.Request) (*http.Response, error) {
	resp, err := c.do(req)
	if err != nil || resp.StatusCode == http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	return nil, newError(resp)
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func rewind(req *http.Request) error {
	if req.GetBody == nil {
		return nil
	}
	body, err := req.GetBody()
	if err != nil {
		return err
	}
	req.Body = body
	return nil
}

// readBody sends req with send, which returns only the responses it
// accepts, and reads the body whole, up to limit bytes (what names it in
// a *manifest.LimitError). A body that breaks off or stalls mid-way (a
// reset, a cut, nothing for Timeouts.Body) is asked for again, as the
// retry policy allows a failed request; req must have no body.
func (c *Client) readBody(req *http.Request, send func(*http.Request) (*http.Response, error), limit int64, what string) (*http.Response, []byte, error) {
	for attempt := 1; ; attempt++ {
		resp, err := send(req)
		if err != nil {
			return nil, nil, err
		}
		raw, err := manifest.ReadLimited(resp.Body, limit, what)
		resp.Body.Close()
		if err == nil || !retryableError(err) || attempt >= c.Retry.attempts() {
			return resp, raw, newRequestError(answered(resp, req), err)
		}
		if err := c.sleep(req.Context(), c.Retry.backoff(attempt-1)); err != nil {
			return nil, nil, newRequestError(req, err)
		}
	}
}

// answered returns the request resp answers: the last hop of req.
func answered(resp *http.Response, req *http.Request) *http.Request {
	if resp != nil && resp.Request != nil && resp.Request.URL != nil {
		return resp.Request
	}
	return req
}
