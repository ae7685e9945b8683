//go:build linux || darwin || freebsd || netbsd || openbsd

package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
)

// RT-P1. `skiff proxy --listen 127.0.0.1:PORT` serves, without
// authentication, an image it fetched with the user's credentials. A web
// page the same user opens can reach it: through DNS rebinding (a name
// of the attacker's that resolves to 127.0.0.1) the browser sends
// "Host: attacker.example:PORT" and lets the page read the manifest and
// every layer; and with no rebinding at all, a form posted to
// http://127.0.0.1:PORT/quit (a simple request, no preflight) stops it.
// A loopback server should answer only requests whose Host is a
// loopback name or address, and refuse requests that carry a browser's
// Origin from elsewhere. Fixed: a TCP listener serves only those.
func TestRedteamProxyServesRebindingHost(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	pushImage(t, srv.Host+"/app:1", 1000)
	done, stderr := runProxyInProcess(t, nil, "--listen", "127.0.0.1:0", srv.Host+"/app:1")
	addr := waitForAddr(t, stderr)
	_, port, _ := strings.Cut(addr, ":")

	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/manifest", nil)
	req.Host = "attacker.example:" + port
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("a request for Host %s got the manifest (%d bytes)", req.Host, len(body))
	}

	req, _ = http.NewRequest(http.MethodPost, "http://"+addr+"/quit", strings.NewReader(""))
	req.Header.Set("Origin", "http://attacker.example")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("a cross-site POST /quit was obeyed")
	}
	req, _ = http.NewRequest(http.MethodPost, "http://"+addr+"/quit", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the proxy's own client could not stop it: %v %v", resp, err)
	}
	<-done
}
