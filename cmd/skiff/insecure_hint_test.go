package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/registry"
)

// The library's advice for a registry that speaks plain HTTP (pinned by
// registry's TestErrPlainHTTP) becomes the CLI's flag.
func TestInsecureAdvice(t *testing.T) {
	err := fmt.Errorf("registry: HEAD https://r.test/v2/a/manifests/b: r.test answered in plain HTTP, not HTTPS; to reach it over HTTP, list it in Client.Insecure (%w)", registry.ErrPlainHTTP)
	got := insecureAdvice(err, err.Error())
	if !strings.Contains(got, "pass --insecure") || strings.Contains(got, "Client.Insecure") {
		t.Errorf("message %q does not point at --insecure", got)
	}
	other := fmt.Errorf("list it in Client.Insecure")
	if got := insecureAdvice(other, other.Error()); got != other.Error() {
		t.Errorf("an unrelated error was rewritten: %q", got)
	}
}
