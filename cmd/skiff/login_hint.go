package main

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/skiffoci/skiff/registry"
)

// loginHint says how to give credentials when a registry answered 401:
// none were found for it, or it refused those skiff sent.
func loginHint(err error) string {
	var re *registry.Error
	if !errors.Is(err, registry.ErrUnauthorized) || !errors.As(err, &re) {
		return ""
	}
	host := "HOST"
	if u, perr := url.Parse(re.URL); perr == nil && u.Host != "" {
		host = u.Host
	}
	return fmt.Sprintf(" (%s asks for credentials: none were found for it, or it refused those sent; run \"skiff login %s\" or pass --user USER --password-stdin)", host, host)
}
