package h1client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/internal/h1client"
)

// seenRequest is what a handler saw of a request.
type seenRequest struct {
	method string
	body   string
	length int64
	header http.Header
}

// redirectServer answers /start with code and a Location of loc (when
// not empty), and records what reaches /end.
type redirectServer struct {
	*httptest.Server
	mu   sync.Mutex
	ends []seenRequest
}

func newRedirectServer(t *testing.T, code int, loc string) *redirectServer {
	t.Helper()
	s := &redirectServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if loc != "" {
			w.Header().Set("Location", loc)
		}
		w.WriteHeader(code)
		io.WriteString(w, "redirecting")
	})
	mux.HandleFunc("/end", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.ends = append(s.ends, seenRequest{r.Method, string(body), r.ContentLength, r.Header.Clone()})
		s.mu.Unlock()
		io.WriteString(w, "done")
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// seen is what reached /end.
func (s *redirectServer) seen() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRequest(nil), s.ends...)
}

// do sends req through Do and reads the whole final response.
func do(t *testing.T, req *http.Request, check func(*http.Request, []*http.Request) error) (*http.Response, string) {
	t.Helper()
	tr := newTransport(t, &h1client.Transport{})
	resp, err := h1client.Do(tr.RoundTrip, req, check)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestRedirectBecomesGet(t *testing.T) {
	for _, tc := range []struct {
		code         int
		method, want string
	}{
		{code: http.StatusMovedPermanently, method: http.MethodPost, want: http.MethodGet},
		{code: http.StatusFound, method: http.MethodPost, want: http.MethodGet},
		{code: http.StatusSeeOther, method: http.MethodPost, want: http.MethodGet},
		{code: http.StatusSeeOther, method: http.MethodPut, want: http.MethodGet},
		{code: http.StatusFound, method: http.MethodHead, want: http.MethodHead},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.code, tc.method), func(t *testing.T) {
			srv := newRedirectServer(t, tc.code, "/end")
			var body io.Reader
			if tc.method != http.MethodHead {
				body = strings.NewReader("payload")
			}
			req := newRequest(t, context.Background(), tc.method, srv.URL+"/start", body)
			resp, got := do(t, req, nil)
			wantBody := "done"
			if tc.method == http.MethodHead {
				wantBody = ""
			}
			if resp.StatusCode != http.StatusOK || got != wantBody {
				t.Errorf("got %s %q", resp.Status, got)
			}
			ends := srv.seen()
			if len(ends) != 1 {
				t.Fatalf("/end got %d requests, want 1", len(ends))
			}
			if e := ends[0]; e.method != tc.want || e.body != "" || e.length != 0 {
				t.Errorf("/end got %s with body %q (length %d), want %s without a body", e.method, e.body, e.length, tc.want)
			}
			if resp.Request == nil || resp.Request.URL.Path != "/end" ||
				resp.Request.Response == nil || resp.Request.Response.StatusCode != tc.code {
				t.Errorf("the last request does not carry the %d it followed", tc.code)
			}
		})
	}
}

func TestRedirectKeepsMethodAndBody(t *testing.T) {
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			srv := newRedirectServer(t, code, "/end")
			req := newRequest(t, context.Background(), http.MethodPost, srv.URL+"/start", strings.NewReader("payload"))
			req.Header.Set("Content-Type", "text/plain")
			resp, got := do(t, req, nil)
			if resp.StatusCode != http.StatusOK || got != "done" {
				t.Errorf("got %s %q", resp.Status, got)
			}
			ends := srv.seen()
			if len(ends) != 1 {
				t.Fatalf("/end got %d requests, want 1", len(ends))
			}
			e := ends[0]
			if e.method != http.MethodPost || e.body != "payload" || e.length != int64(len("payload")) {
				t.Errorf("/end got %s %q (length %d), want POST \"payload\"", e.method, e.body, e.length)
			}
			if ct := e.header.Get("Content-Type"); ct != "text/plain" {
				t.Errorf("/end got Content-Type %q", ct)
			}
		})
	}
}

// A 307 for a body that cannot be had again is the answer itself.
func TestRedirectBodyWithoutGetBody(t *testing.T) {
	srv := newRedirectServer(t, http.StatusTemporaryRedirect, "/end")
	req := newRequest(t, context.Background(), http.MethodPost, srv.URL+"/start", nil)
	req.Body = io.NopCloser(strings.NewReader("payload"))
	req.ContentLength = int64(len("payload"))
	resp, got := do(t, req, nil)
	if resp.StatusCode != http.StatusTemporaryRedirect || got != "redirecting" || resp.Header.Get("Location") != "/end" {
		t.Errorf("got %s %q, want the 307 itself", resp.Status, got)
	}
	if n := len(srv.seen()); n != 0 {
		t.Errorf("/end got %d requests, want none", n)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int
		loc  string
	}{
		{"302 without Location", http.StatusFound, ""},
		{"300", http.StatusMultipleChoices, "/end"},
		{"304", http.StatusNotModified, "/end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRedirectServer(t, tc.code, tc.loc)
			resp, _ := do(t, newRequest(t, context.Background(), http.MethodGet, srv.URL+"/start", nil), nil)
			if resp.StatusCode != tc.code {
				t.Errorf("got %s, want %d", resp.Status, tc.code)
			}
			if n := len(srv.seen()); n != 0 {
				t.Errorf("/end got %d requests, want none", n)
			}
		})
	}
}

// Credentials go with a redirect on the first request's host only; other
// headers go everywhere. Two servers on one address differ by port, which
// is part of the host compared.
func TestRedirectCredentials(t *testing.T) {
	other := newRedirectServer(t, http.StatusOK, "")
	for _, tc := range []struct {
		name      string
		loc       string
		sameHost  bool
		reachedAt func(first *redirectServer) *redirectServer
	}{
		{"same host", "/end", true, func(first *redirectServer) *redirectServer { return first }},
		{"other host", other.URL + "/end", false, func(*redirectServer) *redirectServer { return other }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := newRedirectServer(t, http.StatusFound, tc.loc)
			target := tc.reachedAt(first)
			before := len(target.seen())
			req := newRequest(t, context.Background(), http.MethodGet, first.URL+"/start", nil)
			req.Header.Set("Authorization", "Bearer token")
			req.Header.Set("Cookie", "session=1")
			req.Header.Set("X-Trace", "abc")
			do(t, req, nil)
			ends := target.seen()
			if len(ends) != before+1 {
				t.Fatalf("/end got %d requests, want 1", len(ends)-before)
			}
			h := ends[before].header
			if h.Get("X-Trace") != "abc" {
				t.Errorf("X-Trace = %q, want it kept", h.Get("X-Trace"))
			}
			for _, k := range []string{"Authorization", "Cookie"} {
				if kept := h.Get(k) != ""; kept != tc.sameHost {
					t.Errorf("%s kept = %v, want %v", k, kept, tc.sameHost)
				}
			}
			if req.Header.Get("Authorization") == "" {
				t.Error("the caller's request lost its Authorization")
			}
		})
	}
}

type ctxKey struct{}

func TestRedirectCheck(t *testing.T) {
	srv := newRedirectServer(t, http.StatusFound, "/end")
	errStop := errors.New("no redirects today")
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	req := newRequest(t, ctx, http.MethodGet, srv.URL+"/start", nil)
	var calls int
	check := func(next *http.Request, via []*http.Request) error {
		calls++
		if next.URL.String() != srv.URL+"/end" {
			t.Errorf("check got %s, want %s/end", next.URL, srv.URL)
		}
		if len(via) != 1 || via[0] != req {
			t.Errorf("check got via %v, want the first request", via)
		}
		if next.Context().Value(ctxKey{}) != "v" {
			t.Error("the next request does not carry the first one's context")
		}
		return errStop
	}
	tr := newTransport(t, &h1client.Transport{})
	resp, err := h1client.Do(tr.RoundTrip, req, check)
	if err == nil {
		resp.Body.Close()
		t.Fatal("Do succeeded")
	}
	var ue *url.Error
	if !errors.As(err, &ue) || !errors.Is(err, errStop) {
		t.Fatalf("err = %#v, want a *url.Error wrapping the check's error", err)
	}
	if ue.Op != "Get" || ue.URL != srv.URL+"/end" {
		t.Errorf("url.Error names %s %s, want Get %s/end", ue.Op, ue.URL, srv.URL)
	}
	if calls != 1 || len(srv.seen()) != 0 {
		t.Errorf("check called %d times, /end reached %d times; want 1 and 0", calls, len(srv.seen()))
	}
}

// With no check Do follows redirects until ten requests have been
// answered with one, as net/http's Client does; a check can allow more.
func TestRedirectLimit(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		if r.URL.Path == "/stop-at-12" && n > 12 {
			io.WriteString(w, "done")
			return
		}
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	tr := newTransport(t, &h1client.Transport{})

	resp, err := h1client.Do(tr.RoundTrip, newRequest(t, context.Background(), http.MethodGet, srv.URL+"/loop", nil), nil)
	if err == nil {
		resp.Body.Close()
		t.Fatal("Do followed redirects for ever")
	}
	var ue *url.Error
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "stopped after 10 redirects") {
		t.Errorf("err = %v, want a *url.Error saying it stopped after 10 redirects", err)
	}
	if n := requests.Load(); n != 10 {
		t.Errorf("server got %d requests, want 10", n)
	}

	requests.Store(0)
	allowAll := func(*http.Request, []*http.Request) error { return nil }
	resp, body := do(t, newRequest(t, context.Background(), http.MethodGet, srv.URL+"/stop-at-12", nil), allowAll)
	if resp.StatusCode != http.StatusOK || body != "done" {
		t.Errorf("with a check allowing all: %s %q", resp.Status, body)
	}
}

func TestRedirectErrors(t *testing.T) {
	errSend := errors.New("network down")
	t.Run("password redacted", func(t *testing.T) {
		req := newRequest(t, context.Background(), http.MethodPut, "http://user:hunter2@127.0.0.1:1/path", nil)
		send := func(*http.Request) (*http.Response, error) { return nil, errSend }
		_, err := h1client.Do(send, req, nil)
		var ue *url.Error
		if !errors.As(err, &ue) || !errors.Is(err, errSend) {
			t.Fatalf("err = %#v, want a *url.Error wrapping the send error", err)
		}
		if ue.Op != "Put" || ue.URL != "http://user:***@127.0.0.1:1/path" {
			t.Errorf("url.Error names %s %q, want Put with the password as ***", ue.Op, ue.URL)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("err = %q shows the password", err)
		}
		if req.URL.User.String() != "user:hunter2" {
			t.Errorf("the caller's URL was changed to %s", req.URL)
		}
	})
	t.Run("bad Location", func(t *testing.T) {
		srv := newRedirectServer(t, http.StatusFound, "http://[::1")
		tr := newTransport(t, &h1client.Transport{})
		resp, err := h1client.Do(tr.RoundTrip, newRequest(t, context.Background(), http.MethodGet, srv.URL+"/start", nil), nil)
		if err == nil {
			resp.Body.Close()
			t.Fatal("Do succeeded")
		}
		var ue *url.Error
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "Location") || ue.URL != srv.URL+"/start" {
			t.Errorf("err = %v, want a *url.Error for /start about its Location", err)
		}
	})
}
