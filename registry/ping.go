package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/skiffoci/skiff/auth"
)

// Ping checks that host speaks the distribution API and accepts the
// client's credentials for it, with GET /v2/ (end-1), as docker login
// does. A registry or token server that refuses the credentials gives an
// error matching ErrUnauthorized. When the registry answers without asking
// for credentials, a user name and password are sent once more as basic
// credentials, so that a registry that allows anonymous reads still gets
// to refuse them; a registry that ignores them cannot be checked, and Ping
// succeeds. Docker Hub ("docker.io") is reached at registry-1.docker.io.
func (c *Client) Ping(ctx context.Context, host string) error {
	host = apiHost(host)
	c.init()
	c.authT.AddHost(host)
	base, err := c.baseURL(ctx, host)
	if err != nil {
		return err
	}
	u := base.JoinPath("v2/").String()
	anonymous, err := c.ping(ctx, host, u, auth.Credential{})
	if err != nil || !anonymous || c.Keychain == nil {
		return err
	}
	cred, err := c.Keychain.Get(ctx, host)
	if err != nil || cred.Username == "" || cred.Password == "" {
		return err
	}
	_, err = c.ping(ctx, host, u, cred)
	return err
}

// ping GETs u, with basic credentials when cred has them, and reports
// whether a 200 came without any credentials.
func (c *Client) ping(ctx context.Context, host, u string, cred auth.Credential) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	if cred.Username != "" {
		req.SetBasicAuth(cred.Username, cred.Password)
	}
	resp, err := c.do(req)
	var te *auth.TokenError
	switch {
	case errors.As(err, &te) && te.StatusCode == http.StatusUnauthorized:
		return false, fmt.Errorf("registry: %s: %w: %w", host, ErrUnauthorized, err)
	case err != nil:
		return false, err
	}
	defer closeBody(resp)
	switch {
	case resp.StatusCode == http.StatusOK:
		return resp.Request.Header.Get("Authorization") == "", nil
	case cred.Username != "" && !basicChallenge(resp.Header):
		return false, nil // refused for the scheme, not for the credentials
	}
	return false, newError(resp)
}

// basicChallenge reports whether h asks for basic credentials.
func basicChallenge(h http.Header) bool {
	chs, _ := auth.ParseHeader(h)
	for _, ch := range chs {
		if strings.EqualFold(ch.Scheme, "basic") {
			return true
		}
	}
	return false
}
