package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/testtool"
)

// changingKeychain is a credential helper whose answer changes, as one
// does when the secrets it hands out expire; it counts the questions.
type changingKeychain struct {
	mu   sync.Mutex
	cred auth.Credential
	asks int
}

func (k *changingKeychain) Get(context.Context, string) (auth.Credential, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.asks++
	return k.cred, nil
}

func (k *changingKeychain) set(c auth.Credential) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cred = c
}

func (k *changingKeychain) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.asks
}

// basicRegistry accepts the basic credential its accept field holds and
// records the Authorization of every request.
type basicRegistry struct {
	*httptest.Server
	mu     sync.Mutex
	accept string
	authzs []string
}

func newBasicRegistry(t *testing.T, user, pass string) *basicRegistry {
	b := &basicRegistry{accept: "Basic " + basicSecret(user, pass)}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		defer b.mu.Unlock()
		authz := r.Header.Get("Authorization")
		b.authzs = append(b.authzs, authz)
		if authz != b.accept {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *basicRegistry) rotate(user, pass string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.accept = "Basic " + basicSecret(user, pass)
}

// last returns the Authorization of the last request.
func (b *basicRegistry) last() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.authzs[len(b.authzs)-1]
}

func (b *basicRegistry) host() string { return strings.TrimPrefix(b.URL, "http://") }

// A credential is used for CredentialTTL, then the Keychain is asked
// again and its new answer sent on the first try.
func TestCredentialExpires(t *testing.T) {
	pw1, pw2 := secret("pw-SECRET-ttl-1"), secret("pw-SECRET-ttl-2")
	reg := newBasicRegistry(t, "u", pw1)
	kc := &changingKeychain{cred: auth.Credential{Username: "u", Password: pw1}}
	clk := testtool.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	tr := &auth.Transport{Credentials: kc, Now: clk.Now}
	tr.AddHost(reg.host())
	c := &http.Client{Transport: tr}
	for range 3 {
		if code, _ := do(t, c, "GET", reg.URL+"/v2/a/manifests/1", nil); code != 200 {
			t.Fatalf("status %d, want 200", code)
		}
	}
	clk.Advance(auth.DefaultCredentialTTL - time.Second)
	do(t, c, "GET", reg.URL+"/v2/a/manifests/1", nil)
	if n := kc.count(); n != 1 {
		t.Fatalf("keychain asked %d times within the TTL, want 1", n)
	}
	// The helper's secret expires; the registry takes the new one.
	kc.set(auth.Credential{Username: "u", Password: pw2})
	reg.rotate("u", pw2)
	clk.Advance(2 * time.Second)
	if code, _ := do(t, c, "GET", reg.URL+"/v2/a/manifests/1", nil); code != 200 {
		t.Fatalf("after the TTL: status %d, want 200", code)
	}
	if n := kc.count(); n != 2 {
		t.Errorf("keychain asked %d times, want 2: once more after the TTL", n)
	}
	if want := "Basic " + basicSecret("u", pw2); reg.last() != want {
		t.Errorf("the request after the TTL was not sent with the new credential")
	}
}

// CredentialTTL replaces the default.
func TestCredentialTTLField(t *testing.T) {
	pw := secret("pw-SECRET-ttlfield")
	reg := newBasicRegistry(t, "u", pw)
	kc := &changingKeychain{cred: auth.Credential{Username: "u", Password: pw}}
	clk := testtool.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	tr := &auth.Transport{Credentials: kc, Now: clk.Now, CredentialTTL: time.Minute}
	tr.AddHost(reg.host())
	c := &http.Client{Transport: tr}
	do(t, c, "GET", reg.URL+"/v2/a/manifests/1", nil)
	clk.Advance(61 * time.Second)
	do(t, c, "GET", reg.URL+"/v2/a/manifests/1", nil)
	if n := kc.count(); n != 2 {
		t.Errorf("keychain asked %d times, want 2 with a one-minute TTL", n)
	}
}

// A 401 to a cached basic credential asks the Keychain again at once,
// well within the TTL; an answer that did not change is not sent again.
func TestCredentialReaskedAfter401(t *testing.T) {
	pw1, pw2 := secret("pw-SECRET-401-1"), secret("pw-SECRET-401-2")
	reg := newBasicRegistry(t, "u", pw1)
	kc := &changingKeychain{cred: auth.Credential{Username: "u", Password: pw1}}
	clk := testtool.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	tr := &auth.Transport{Credentials: kc, Now: clk.Now}
	tr.AddHost(reg.host())
	c := &http.Client{Transport: tr}
	do(t, c, "GET", reg.URL+"/v2/a/manifests/1", nil)

	reg.rotate("u", pw2)
	kc.set(auth.Credential{Username: "u", Password: pw2})
	if code, _ := do(t, c, "GET", reg.URL+"/v2/a/manifests/1", nil); code != 200 {
		t.Fatalf("after the secret changed: status %d, want 200", code)
	}
	if n := kc.count(); n != 2 {
		t.Errorf("keychain asked %d times, want 2", n)
	}

	// The registry changes again but the helper does not (yet): the 401
	// is returned after one more question, without a loop.
	reg.rotate("u", secret("pw-SECRET-401-3"))
	if code, _ := do(t, c, "GET", reg.URL+"/v2/a/manifests/1", nil); code != http.StatusUnauthorized {
		t.Fatalf("status %d, want the 401", code)
	}
	if n := kc.count(); n != 3 {
		t.Errorf("keychain asked %d times, want 3", n)
	}
}

// A token server that refuses a cached credential makes the Transport
// ask the Keychain again and fetch the token with its new answer.
func TestCredentialReaskedAfterTokenServer401(t *testing.T) {
	pw1, pw2 := secret("pw-SECRET-tok-1"), secret("pw-SECRET-tok-2")
	ts := newTokenServer(t, false)
	ts.User, ts.Pass, ts.ExpiresIn = "alice", pw1, 60
	reg := newRegistry(t, ts, false)
	kc := &changingKeychain{cred: auth.Credential{Username: "alice", Password: pw1}}
	clk := testtool.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	tr := &auth.Transport{Credentials: kc, Now: clk.Now}
	tr.AddHost(reg.Host())
	c := &http.Client{Transport: tr}
	if code, _ := do(t, c, "GET", reg.URL+"/v2/a/manifests/1", nil); code != 200 {
		t.Fatalf("status %d, want 200", code)
	}
	ts.mu.Lock()
	ts.Pass = pw2
	ts.mu.Unlock()
	kc.set(auth.Credential{Username: "alice", Password: pw2})
	clk.Advance(2 * time.Minute) // the token expired; the credential is in its TTL
	if code, _ := do(t, c, "GET", reg.URL+"/v2/a/manifests/1", nil); code != 200 {
		t.Fatalf("after the password changed: status %d, want 200", code)
	}
	if n := kc.count(); n != 2 {
		t.Errorf("keychain asked %d times, want 2", n)
	}
	reqs := ts.Requests()
	if last := reqs[len(reqs)-1]; last.Pass != pw2 {
		t.Errorf("the last token request did not carry the new password")
	}
}

// A registry token (ACCESS_TOKEN) that the registry stops accepting is
// asked for again after the 401.
func TestRegistryTokenReaskedAfter401(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	reg.Accept = secret("access-SECRET-rt-1")
	kc := &changingKeychain{cred: auth.Credential{RegistryToken: reg.Accept}}
	tr := &auth.Transport{Credentials: kc, Now: testtool.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)).Now}
	tr.AddHost(reg.Host())
	c := &http.Client{Transport: tr}
	do(t, c, "GET", reg.URL+"/v2/a/manifests/1", nil)
	next := secret("access-SECRET-rt-2")
	reg.mu.Lock()
	reg.Accept = next
	reg.mu.Unlock()
	kc.set(auth.Credential{RegistryToken: next})
	if code, _ := do(t, c, "GET", reg.URL+"/v2/a/manifests/1", nil); code != 200 {
		t.Fatalf("after the token changed: status %d, want 200", code)
	}
	if n := kc.count(); n != 2 {
		t.Errorf("keychain asked %d times, want 2", n)
	}
}
