package registry_test

import (
	"net"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/registry"
)

// TestLocalhostNamesNeedNoResolver: localhost and any *.localhost name
// reach the loopback registry (RFC 6761), even where no resolver or
// /etc/hosts knows the name, and over plain HTTP as loopback may.
func TestLocalhostNamesNeedNoResolver(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	_, port, _ := net.SplitHostPort(srv.Host)
	for _, name := range []string{"localhost", "skiff-test.localhost", "Registry.Localhost."} {
		if err := (&registry.Client{}).Ping(t.Context(), net.JoinHostPort(name, port)); err != nil {
			t.Errorf("Ping %s:%s: %v", name, port, err)
		}
	}
	// A look-alike that is not under localhost is not loopback.
	if _, err := net.LookupHost("localhost.invalid"); err == nil {
		t.Skip("this resolver answers for .invalid")
	}
	if err := (&registry.Client{}).Ping(t.Context(), net.JoinHostPort("localhost.invalid", port)); err == nil {
		t.Error("localhost.invalid was treated as loopback")
	}
}
