package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

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

// insecureAdvice says, for a registry that answered HTTPS in plain HTTP,
// the flag that does what the library's advice (Client.Insecure) says.
func insecureAdvice(err error, msg string) string {
	if !errors.Is(err, registry.ErrPlainHTTP) {
		return msg
	}
	return strings.Replace(msg, "list it in Client.Insecure", "pass --insecure", 1)
}
