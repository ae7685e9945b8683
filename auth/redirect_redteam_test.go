package auth_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/auth"
)

// bodyRecorder keeps the bodies and Authorization headers of the
// requests it gets, and answers each 404.
type bodyRecorder struct {
	*httptest.Server
	mu  sync.Mutex
	got []string
}

func newBodyRecorder(t *testing.T) *bodyRecorder {
	rec := &bodyRecorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.got = append(rec.got, r.Method+" "+r.URL.String()+" "+r.Header.Get("Authorization")+" "+string(b))
		rec.mu.Unlock()
		http.NotFound(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *bodyRecorder) seen() string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return strings.Join(rec.got, "\n")
}

// RT-N1. A token realm that answers the OAuth2 refresh-token POST with a
// 307 or 308 to another host: h1client.Do sends the same body again, so
// the refresh token (a long-lived credential, what `skiff login` keeps)
// reaches the redirect target. README's Security section promises that
// credentials are never sent to a redirect target; Authorization is
// dropped on a change of host, but the form body is not.
func TestRedteamRealmRedirectKeepsRefreshToken(t *testing.T) {
	const refresh = "refresh-SECRET-redteam"
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			elsewhere := newBodyRecorder(t)
			realm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, elsewhere.URL+"/token", code)
			}))
			t.Cleanup(realm.Close)
			ts := newTokenServer(t, false)
			reg := newRegistry(t, ts, false)
			reg.Challenge = func(*http.Request, string, bool) string {
				return `Bearer realm="` + realm.URL + `/token",service="test-registry"`
			}
			tr, _ := newTransport(reg, auth.Credential{IdentityToken: refresh}, nil)
			req, _ := http.NewRequest(http.MethodGet, reg.URL+"/v2/app/manifests/v1", nil)
			if resp, err := tr.RoundTrip(req); err == nil {
				resp.Body.Close()
			}
			if got := elsewhere.seen(); strings.Contains(got, refresh) {
				t.Errorf("the redirect target got the refresh token:\n%s", got)
			}
		})
	}
}

// A realm that redirects the basic-credentials GET to another host: the
// target gets no Authorization (this holds today; kept as coverage).
func TestRedteamRealmRedirectDropsBasic(t *testing.T) {
	const password = "pw-SECRET-redteam"
	elsewhere := newBodyRecorder(t)
	realm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/token", http.StatusFound)
	}))
	t.Cleanup(realm.Close)
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	reg.Challenge = func(*http.Request, string, bool) string {
		return `Bearer realm="` + realm.URL + `/token",service="test-registry"`
	}
	tr, _ := newTransport(reg, auth.Credential{Username: "alice", Password: password}, nil)
	req, _ := http.NewRequest(http.MethodGet, reg.URL+"/v2/app/manifests/v1", nil)
	if resp, err := tr.RoundTrip(req); err == nil {
		resp.Body.Close()
	}
	got := elsewhere.seen()
	if got == "" {
		t.Fatal("the redirect was not followed; the test proves nothing")
	}
	if strings.Contains(got, "Basic ") {
		t.Errorf("the redirect target got basic credentials:\n%s", got)
	}
}
