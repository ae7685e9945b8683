package h1client

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Do sends req with send and follows redirects as net/http's Client does:
// 301, 302 and 303 go on with a GET (a HEAD stays a HEAD) and no body;
// 307 and 308 send the same method and body again (from GetBody; without
// it the redirect is returned as the response). Each hop carries the
// first request's header, less Authorization and Cookie once the host
// changes, and has the previous response as its Response. check, if not
// nil, vets each hop before it is sent (via holds the requests sent so
// far, oldest first) and its error ends Do; nil allows 10 redirects.
// Errors are *url.Error, naming the method and the URL without its
// password, as net/http's Client returns them.
func Do(send func(*http.Request) (*http.Response, error), req *http.Request, check func(req *http.Request, via []*http.Request) error) (*http.Response, error) {
	if check == nil {
		check = tenRedirects
	}
	var via []*http.Request
	for {
		resp, err := send(req)
		if err != nil {
			return nil, urlError(req, err)
		}
		next, err := redirect(req, resp, via)
		if err != nil || next == nil {
			if err != nil {
				discard(resp)
				return nil, urlError(req, err)
			}
			return resp, nil
		}
		via = append(via, req)
		if err := check(next, via); err != nil {
			discard(resp)
			return nil, urlError(next, err)
		}
		discard(resp)
		req = next
	}
}

func tenRedirects(_ *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// redirect returns the request that follows resp, the answer to req, or
// nil when resp is not a redirect to follow.
func redirect(req *http.Request, resp *http.Response, via []*http.Request) (*http.Request, error) {
	method, keepBody := req.Method, false
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		if method != http.MethodGet && method != http.MethodHead {
			method = http.MethodGet
		}
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		keepBody = req.Body != nil && req.Body != http.NoBody
		if keepBody && req.GetBody == nil {
			return nil, nil // the body cannot be sent again: the caller gets the redirect
		}
	default:
		return nil, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, nil
	}
	u, err := req.URL.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("failed to parse Location header %q: %v", loc, err)
	}
	first := req
	if len(via) > 0 {
		first = via[0]
	}
	next := &http.Request{
		Method:   method,
		URL:      u,
		Header:   make(http.Header),
		Host:     "",
		Response: resp,
	}
	next = next.WithContext(req.Context())
	sameHost := strings.EqualFold(u.Host, first.URL.Host)
	for k, vs := range first.Header {
		if !sameHost && (k == "Authorization" || k == "Www-Authenticate" || k == "Cookie" || k == "Cookie2") {
			continue
		}
		next.Header[k] = append([]string(nil), vs...)
	}
	if keepBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		next.Body, next.GetBody, next.ContentLength = body, req.GetBody, req.ContentLength
	}
	return next, nil
}

// discard reads a little of a response it drops, so that a small one
// leaves its connection reusable, and closes it.
func discard(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 2<<10)
	resp.Body.Close()
}

func urlError(req *http.Request, err error) error {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	u := req.URL.String()
	if _, has := req.URL.User.Password(); has {
		// As net/http does: url.UserPassword would escape the stars.
		u = strings.Replace(u, req.URL.User.String()+"@", req.URL.User.Username()+":***@", 1)
	}
	return &url.Error{Op: method[:1] + strings.ToLower(method[1:]), URL: u, Err: err}
}
