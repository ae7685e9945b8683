package auth

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/skiffoci/skiff/internal/h1client"
)

// RoundTripFunc sends one HTTP request and returns its response, as an
// http.RoundTripper's RoundTrip method does; pass rt.RoundTrip to use an
// http.RoundTripper rt. skiff chains transports with functions, never
// calling RoundTrip through the interface, so that its binary does not
// carry net/http's Transport: skiff sends requests with an HTTP/1.1
// client of its own.
type RoundTripFunc func(*http.Request) (*http.Response, error)

// Transport is an http.RoundTripper that authenticates requests to
// registry hosts. Its zero value is ready to use, authenticates nothing,
// and sends every request with skiff's HTTP/1.1 client.
//
// Only hosts declared with AddHost or AddScope are authenticated, and only
// with the credential found for that exact host. Requests to any other
// host, such as the blob storage a registry redirects to, are sent as they
// are, and their 401 responses are returned untouched. A redirect hop
// (a request whose Response field is set) to another scheme, host or port
// than the hop before it is sent with no Authorization at all, whoever
// set it. A request that already carries an Authorization header is sent
// as it is.
//
// Credentials are kept for CredentialTTL; a 401 to a request sent with a
// kept credential asks the Keychain again before anything else.
//
// For a registry host, a Transport answers a 401 once per request: with
// basic credentials for a Basic challenge, or with a token from the realm
// of a Bearer challenge. Tokens are cached per host and scope set and
// attached to later requests that need the same scopes, so only the first
// request for a scope sees a 401. A 401 to a request that carried a cached
// token drops that token and fetches a new one once; an
// error="insufficient_scope" naming more scopes leads to one more token
// with the combined scopes. Any other 401 is returned.
//
// To retry after a 401, a request with a body must have GetBody (as
// http.NewRequest sets for bytes and strings readers); without it the 401
// is returned. Streaming uploads should follow a request that already
// obtained the token, such as the POST that starts the upload.
//
// The scopes a request needs are derived from its method and path
// (/v2/<name>/manifests/…, /blobs/…, /tags/…, /referrers/…, _catalog, and
// the from= repository of a mount), widened by AddScope and by the scopes
// challenges name.
//
// A Transport must not be copied after first use, and its exported fields
// must not change once it is in use.
type Transport struct {
	// Base sends the requests; nil means skiff's HTTP/1.1 client, with
	// proxies from the environment. Token requests go through Base as
	// well.
	Base RoundTripFunc
	// Credentials finds the credential of a registry host. Nil means
	// anonymous. What it answers is used for CredentialTTL, then asked
	// again; and a 401 to a request authorized with a credential from
	// before this request asks it again at once, so that a credential
	// helper's rotated secrets reach a long-lived Transport.
	Credentials Keychain
	// CredentialTTL is how long a credential found by Credentials is
	// used before Credentials is asked again; zero means
	// DefaultCredentialTTL, a negative value asks for every request. A
	// refresh token the token server rotated keeps replacing the one
	// Credentials still answers.
	CredentialTTL time.Duration
	// Now is the clock tokens expire by; nil means time.Now.
	Now func() time.Time
	// ClientID is sent as client_id in OAuth2 token requests; "" means
	// "skiff".
	ClientID string

	mu         sync.Mutex
	hosts      map[string]bool
	scopes     map[string]scopeSet
	challenges map[string]Challenge
	creds      map[string]*flight[cachedCredential]
	rotated    map[string]rotation
	tokens     map[string]*flight[token]
}

// DefaultCredentialTTL is how long a Transport uses a credential before
// it asks its Keychain again, unless CredentialTTL says otherwise.
const DefaultCredentialTTL = 5 * time.Minute

// AddHost declares host (a host name and optional port, or a server URL)
// to be a registry: requests to it are authenticated with its credential.
func (t *Transport) AddHost(host string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	t.hosts[NormalizeHost(host)] = true
}

// AddScope declares host a registry, like AddHost, and widens the scopes
// of every later request to it that touches the resource a scope names:
// after AddScope(h, "repository:a/b:push,pull"), pulls from a/b ask for a
// token that can also push, so one token serves a whole push. Strings not
// of the form type:name:actions are ignored; one string may hold several
// scopes separated by spaces.
func (t *Transport) AddScope(host string, scopes ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	h := NormalizeHost(host)
	t.hosts[h] = true
	t.declaredLocked(h).add(scopes...)
}

func (t *Transport) init() {
	if t.hosts == nil {
		t.hosts = map[string]bool{}
		t.scopes = map[string]scopeSet{}
		t.challenges = map[string]Challenge{}
		t.creds = map[string]*flight[cachedCredential]{}
		t.rotated = map[string]rotation{}
		t.tokens = map[string]*flight[token]{}
	}
}

func (t *Transport) declaredLocked(host string) scopeSet {
	s := t.scopes[host]
	if s == nil {
		s = scopeSet{}
		t.scopes[host] = s
	}
	return s
}

// defaultClient sends the requests of Transports without a Base.
var defaultClient = &h1client.Transport{}

func (t *Transport) base() RoundTripFunc {
	if t.Base != nil {
		return t.Base
	}
	return defaultClient.RoundTrip
}

func (t *Transport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Transport) isRegistry(host string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hosts[host]
}

// attempt is the authentication state of one RoundTrip.
type attempt struct {
	host    string     // normalized registry host
	urlHost string     // the request's host, as the Keychain is asked
	scheme  string     // scheme of the registry request
	scopes  scopeSet   // scopes the request needs
	authz   string     // Authorization value last sent, "" if none
	token   string     // bearer token last sent, "" if none
	fresh   bool       // token was fetched, not taken from the cache
	cred    Credential // the credential authz came from
	cached  bool       // cred came from the cache, not from this request's Keychain lookup
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if redirectedAway(req) {
		r := req.Clone(req.Context())
		r.Header.Del("Authorization")
		return t.base()(r)
	}
	host := NormalizeHost(req.URL.Host)
	if req.Header.Get("Authorization") != "" || !t.isRegistry(host) {
		return t.base()(req)
	}
	a := &attempt{host: host, urlHost: req.URL.Host, scheme: req.URL.Scheme, scopes: requestScopes(req)}
	t.mu.Lock()
	a.scopes.mergeKnown(t.scopes[host])
	t.mu.Unlock()
	if err := t.authorize(req.Context(), a); err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.send(req, a.authz, false)
	for n := 0; err == nil && resp.StatusCode == http.StatusUnauthorized && n < 2; n++ {
		var again bool
		if again, err = t.reauthorize(req.Context(), a, resp); err != nil || !again || !replayable(req) {
			break
		}
		drain(resp)
		resp, err = t.send(req, a.authz, true)
	}
	if err != nil && resp != nil {
		drain(resp)
		resp = nil
	}
	return resp, err
}

// redirectedAway reports a redirect hop to another scheme, host or port,
// or from https to http: such a hop gets no credentials at all.
func redirectedAway(req *http.Request) bool {
	if req.Response == nil || req.Response.Request == nil || req.Response.Request.URL == nil {
		return false
	}
	prev := req.Response.Request.URL
	return !sameOrigin(prev, req.URL)
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// drain reads a little of a response it discards, so that its connection
// can be reused, and closes it.
func drain(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// send sends a copy of req with authz as its Authorization header,
// with a fresh body when the request is sent again.
func (t *Transport) send(req *http.Request, authz string, again bool) (*http.Response, error) {
	r := req.Clone(req.Context())
	if again && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return t.base()(r)
}

// authorize chooses the Authorization of a request before it is first
// sent: the registry token, or what the host's last challenge asked for.
func (t *Transport) authorize(ctx context.Context, a *attempt) error {
	if err := t.credential(ctx, a); err != nil {
		return err
	}
	cred := a.cred
	if cred.RegistryToken != "" {
		a.authz, a.token = "Bearer "+cred.RegistryToken, cred.RegistryToken
		return nil
	}
	t.mu.Lock()
	ch, ok := t.challenges[a.host]
	t.mu.Unlock()
	switch {
	case !ok || ch.Scheme == "bearer" && ch.Params["realm"] == "":
		return nil
	case ch.Scheme == "basic":
		a.authz = basicAuth(cred)
		return nil
	}
	tok, fetched, err := t.token(ctx, a, ch)
	if err != nil {
		return err
	}
	a.authz, a.token, a.fresh = "Bearer "+tok, tok, fetched
	return nil
}

// reauthorize answers the 401 resp. It reports whether the request should
// be sent again with a.authz. A 401 to credentials from the cache asks
// the Keychain again first: they may be what expired.
func (t *Transport) reauthorize(ctx context.Context, a *attempt, resp *http.Response) (bool, error) {
	ch, ok, err := pickChallenge(resp.Header)
	if err != nil || !ok {
		return false, err
	}
	t.mu.Lock()
	t.challenges[a.host] = ch
	t.mu.Unlock()
	sent := a.cred
	if a.authz != "" && a.cached {
		t.forgetCredential(a.host, sent)
	}
	if err := t.credential(ctx, a); err != nil {
		return false, err
	}
	cred := a.cred
	switch {
	case ch.Scheme == "basic":
		authz := basicAuth(cred)
		again := authz != "" && authz != a.authz
		a.authz = authz
		return again, nil
	case cred.RegistryToken != "":
		again := cred.RegistryToken != a.token
		a.authz, a.token = "Bearer "+cred.RegistryToken, cred.RegistryToken
		return again, nil
	case ch.Params["realm"] == "":
		return false, nil // nowhere to exchange the credential
	}
	return t.rebearer(ctx, a, ch, cred != sent)
}

// rebearer gets a token for a Bearer challenge to a request: a new one
// when the token sent was cached or the credential changed and the
// scopes are the same, one with the combined scopes when the challenge
// names more.
func (t *Transport) rebearer(ctx context.Context, a *attempt, ch Challenge, newCred bool) (bool, error) {
	grown := a.scopes.clone()
	grown.add(ch.Params["scope"])
	same := grown.key() == a.scopes.key()
	if a.fresh && same && !newCred {
		return false, nil
	}
	t.mu.Lock()
	t.declaredLocked(a.host).add(ch.Params["scope"])
	if same && a.token != "" {
		t.dropTokenLocked(t.tokenKey(a), a.token)
	}
	t.mu.Unlock()
	a.scopes = grown
	tok, _, err := t.token(ctx, a, ch)
	if err != nil {
		return false, err
	}
	a.authz, a.token, a.fresh = "Bearer "+tok, tok, true
	return true, nil
}

// pickChallenge returns the Bearer challenge of a 401, else its Basic one.
// An oversized header is an error; one that does not parse is ignored,
// and the 401 returned as it is.
func pickChallenge(h http.Header) (Challenge, bool, error) {
	chs, err := ParseHeader(h)
	var le *LimitError
	if errors.As(err, &le) {
		return Challenge{}, false, err
	}
	for _, scheme := range []string{"bearer", "basic"} {
		for _, c := range chs {
			if c.Scheme == scheme {
				return c, true, nil
			}
		}
	}
	return Challenge{}, false, nil
}

func basicAuth(c Credential) string {
	if c.Username == "" && c.Password == "" {
		return ""
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
}

// cachedCredential is a Keychain's answer and when it stops being used.
type cachedCredential struct {
	cred    Credential
	expires time.Time
}

// rotation is a refresh token the token server replaced: from, as the
// Keychain answers it, is sent as to.
type rotation struct{ from, to string }

// credential sets a.cred to the credential of a's host: the cached one
// while it is younger than CredentialTTL, else the Keychain's answer.
func (t *Transport) credential(ctx context.Context, a *attempt) error {
	if t.Credentials == nil {
		return nil
	}
	ttl := cmp.Or(t.CredentialTTL, DefaultCredentialTTL)
	valid := func(c cachedCredential) bool { return t.now().Before(c.expires) }
	c, fetched, err := share(ctx, &t.mu, t.creds, a.host, valid, func() (cachedCredential, error) {
		start := t.now()
		cred, err := t.Credentials.Get(ctx, strings.ToLower(a.urlHost))
		if err != nil {
			return cachedCredential{}, err
		}
		t.mu.Lock()
		if r, ok := t.rotated[a.host]; ok && cred.IdentityToken == r.from {
			cred.IdentityToken = r.to
		}
		t.mu.Unlock()
		return cachedCredential{cred: cred, expires: start.Add(ttl)}, nil
	})
	if err != nil {
		return err
	}
	a.cred, a.cached = c.cred, !fetched
	return nil
}

// forgetCredential drops host's cached credential if it is still sent,
// so that the next lookup asks the Keychain.
func (t *Transport) forgetCredential(host string, sent Credential) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.creds[host]; f != nil && isDone(f.done) && f.err == nil && f.val.cred == sent {
		delete(t.creds, host)
	}
}

func (t *Transport) tokenKey(a *attempt) string { return a.host + " " + a.scopes.key() }

func (t *Transport) dropTokenLocked(key, value string) {
	if f := t.tokens[key]; f != nil && isDone(f.done) && f.val.value == value {
		delete(t.tokens, key)
	}
}

// token returns a valid token for a's host and scopes, from the cache or
// from the challenge's realm. When the token server refuses a credential
// from the cache with a 401, the Keychain is asked again and, if its
// answer changed, the token asked for once more.
func (t *Transport) token(ctx context.Context, a *attempt, ch Challenge) (string, bool, error) {
	tok, fetched, err := t.tokenWith(ctx, a, ch, a.cred)
	var te *TokenError
	if err == nil || !a.cached || !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
		return tok, fetched, err
	}
	sent := a.cred
	t.forgetCredential(a.host, sent)
	if cerr := t.credential(ctx, a); cerr != nil || a.cred == sent {
		return tok, fetched, err
	}
	return t.tokenWith(ctx, a, ch, a.cred)
}

// tokenWith is token with the credential cred.
func (t *Transport) tokenWith(ctx context.Context, a *attempt, ch Challenge, cred Credential) (string, bool, error) {
	realm, err := checkRealm(ch.Params["realm"], a.scheme)
	if err != nil {
		return "", false, err
	}
	tr := tokenRequest{realm: realm, service: ch.Params["service"], scopes: a.scopes.list(), cred: cred, clientID: t.ClientID}
	if tr.clientID == "" {
		tr.clientID = "skiff"
	}
	valid := func(tok token) bool { return t.now().Before(tok.expires) }
	t.sweepTokens()
	tok, fetched, err := share(ctx, &t.mu, t.tokens, t.tokenKey(a), valid, func() (token, error) {
		start := t.now()
		resp, err := fetchToken(ctx, t.tokenDo, tr)
		if err != nil {
			return token{}, err
		}
		if resp.RefreshToken != "" && cred.IdentityToken != "" {
			t.rotateRefreshToken(a.host, cred.IdentityToken, resp.RefreshToken)
		}
		return newToken(resp.value(), start, resp.lifetime()), nil
	})
	return tok.value, fetched, err
}

// maxCachedTokens is how many tokens a Transport keeps before it starts
// forgetting expired ones.
const maxCachedTokens = 256

// sweepTokens forgets expired tokens once there are many, so that a
// long-lived Transport serving many repositories stays small.
func (t *Transport) sweepTokens() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.tokens) < maxCachedTokens {
		return
	}
	now := t.now()
	for k, f := range t.tokens {
		if isDone(f.done) && (f.err != nil || !now.Before(f.val.expires)) {
			delete(t.tokens, k)
		}
	}
}

// rotateRefreshToken keeps the refresh token a token server sent back,
// in place of sent, for the next token request to the same host, and for
// as long as the Keychain answers the token it replaced.
func (t *Transport) rotateRefreshToken(host, sent, refresh string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	from := sent
	if r, ok := t.rotated[host]; ok && r.to == sent {
		from = r.from
	}
	t.rotated[host] = rotation{from: from, to: refresh}
	if f := t.creds[host]; f != nil && isDone(f.done) && f.err == nil && f.val.cred.IdentityToken == sent {
		c := f.val
		c.cred.IdentityToken = refresh
		t.creds[host] = &flight[cachedCredential]{done: f.done, val: c}
	}
}

// tokenDo sends a token request through Base, following the token
// server's redirects, but never from https to http, and never with the
// body (a refresh token) to another host.
func (t *Transport) tokenDo(req *http.Request) (*http.Response, error) {
	return h1client.Do(t.base(), req, func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("auth: too many token server redirects")
		}
		if strings.EqualFold(via[0].URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
			return errors.New("auth: token server redirected from https to http")
		}
		if req.Body != nil && req.Body != http.NoBody && !sameOrigin(via[0].URL, req.URL) {
			return fmt.Errorf("auth: token server redirected a refresh-token request to %s, another host", RedactURL(req.URL))
		}
		return nil
	})
}
