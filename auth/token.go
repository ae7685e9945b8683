package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MinTokenLifetime is the lifetime assumed for a token whose response has
// no expires_in, or a shorter one, as docker does.
const MinTokenLifetime = 60 * time.Second

// maxTokenLifetime keeps expiry arithmetic far from overflow.
const maxTokenLifetime = 365 * 24 * time.Hour

// tokenRequest is one request to a token server.
type tokenRequest struct {
	realm    *url.URL
	service  string
	scopes   []string
	cred     Credential
	clientID string
}

// tokenResponse is a token server's answer, as the distribution token and
// OAuth2 specifications define it.
type tokenResponse struct {
	Token        string  `json:"token"`
	AccessToken  string  `json:"access_token"`
	ExpiresIn    float64 `json:"expires_in"`
	IssuedAt     string  `json:"issued_at"`
	RefreshToken string  `json:"refresh_token"`
}

func (r tokenResponse) value() string {
	if r.Token != "" {
		return r.Token
	}
	return r.AccessToken
}

// lifetime is expires_in, at least MinTokenLifetime. issued_at is not
// used: the local clock measures the lifetime, so a server whose clock is
// off does not make every token look expired.
func (r tokenResponse) lifetime() time.Duration {
	if r.ExpiresIn*float64(time.Second) >= float64(maxTokenLifetime) {
		return maxTokenLifetime
	}
	return max(time.Duration(r.ExpiresIn*float64(time.Second)), MinTokenLifetime)
}

// checkRealm parses a challenge's realm and refuses one that would expose
// credentials: plain HTTP when the registry was reached over HTTPS, any
// scheme but http and https, user information.
func checkRealm(realm, registryScheme string) (*url.URL, error) {
	u, err := url.Parse(realm)
	if err != nil || realm == "" || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%w %q", ErrBadRealm, Redact(realm))
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u, nil
	case "http":
		if strings.EqualFold(registryScheme, "https") {
			return nil, fmt.Errorf("%w: %s", ErrInsecureRealm, RedactURL(u))
		}
		return u, nil
	}
	return nil, fmt.Errorf("%w %s: scheme %q", ErrBadRealm, RedactURL(u), u.Scheme)
}

// fetchToken asks the token server of tr for a token: with the OAuth2
// refresh-token grant when the credential has an identity token, else with
// a GET, sending basic credentials if there are any.
func fetchToken(ctx context.Context, do RoundTripFunc, tr tokenRequest) (tokenResponse, error) {
	if tr.cred.IdentityToken == "" {
		return doToken(do, tr, newGetTokenRequest(ctx, tr))
	}
	resp, err := doToken(do, tr, newPostTokenRequest(ctx, tr))
	var te *TokenError
	if errors.As(err, &te) && (te.StatusCode == http.StatusNotFound || te.StatusCode == http.StatusMethodNotAllowed) &&
		tr.cred.Username != "" && tr.cred.Password != "" {
		return doToken(do, tr, newGetTokenRequest(ctx, tr))
	}
	return resp, err
}

func newGetTokenRequest(ctx context.Context, tr tokenRequest) *http.Request {
	u := *tr.realm
	q := u.Query()
	if tr.service != "" {
		q.Set("service", tr.service)
	}
	for _, s := range tr.scopes {
		q.Add("scope", s)
	}
	if tr.cred.Username != "" {
		q.Set("account", tr.cred.Username)
	}
	u.RawQuery = q.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if tr.cred.Username != "" || tr.cred.Password != "" {
		req.SetBasicAuth(tr.cred.Username, tr.cred.Password)
	}
	return req
}

func newPostTokenRequest(ctx context.Context, tr tokenRequest) *http.Request {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {tr.cred.IdentityToken},
		"client_id":     {tr.clientID},
	}
	if tr.service != "" {
		form.Set("service", tr.service)
	}
	if len(tr.scopes) > 0 {
		form.Set("scope", strings.Join(tr.scopes, " "))
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tr.realm.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// doToken sends a token request and reads the bounded response.
func doToken(do RoundTripFunc, tr tokenRequest, req *http.Request) (tokenResponse, error) {
	realm := RedactURL(tr.realm)
	resp, err := do(req)
	if err != nil {
		return tokenResponse{}, fmt.Errorf("auth: token request to %s: %w", realm, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxTokenBytes+1))
	if err != nil {
		return tokenResponse{}, fmt.Errorf("auth: token response from %s: %w", realm, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := serverMessage(body, tr.cred.Password, tr.cred.IdentityToken, tr.cred.RegistryToken)
		return tokenResponse{}, &TokenError{Realm: realm, StatusCode: resp.StatusCode, Message: msg}
	}
	if len(body) > MaxTokenBytes {
		return tokenResponse{}, &LimitError{What: "token response from " + realm, Limit: MaxTokenBytes}
	}
	var tok tokenResponse
	if err := json.Unmarshal(body, &tok); err != nil {
		return tokenResponse{}, &TokenError{Realm: realm, Message: "response is not a token: " + jsonProblem(err)}
	}
	if tok.value() == "" {
		return tokenResponse{}, &TokenError{Realm: realm, Message: "response has no token"}
	}
	return tok, nil
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// jsonProblem describes a JSON error without quoting the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	return "invalid JSON"
}

// serverMessage extracts the explanation from a token server's error body,
// in the distribution or the OAuth2 form, redacted, without the secrets
// sent to it should it echo them, and shortened.
func serverMessage(body []byte, secrets ...string) string {
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Details     string `json:"details"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	var parts []string
	for _, x := range e.Errors {
		parts = append(parts, strings.TrimSpace(x.Code+" "+x.Message))
	}
	for _, s := range []string{e.Error, e.Description, e.Details} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	msg := strings.Join(parts, "; ")
	for _, sec := range secrets {
		if sec != "" {
			msg = strings.ReplaceAll(msg, sec, redacted)
		}
	}
	msg = Redact(msg)
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "…"
	}
	return msg
}
