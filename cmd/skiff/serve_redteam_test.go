package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// RT-P2. `skiff registry serve` listens on 127.0.0.1:5000 by default,
// without authentication: the loopback address is its only guard. A web
// page the user opens gets past it by DNS rebinding (a name of the
// attacker's resolving to 127.0.0.1; the browser then sends "Host:
// attacker.example:5000" and treats the answers as the page's own): it
// can list the repositories, read every image, and delete tags. Without
// --htpasswd, a server on a loopback address should answer only requests
// whose Host is a loopback name or address (or a name the operator
// lists).
func TestRedteamServeAnswersRebindingHost(t *testing.T) {
	host := startServe(t, "--root", t.TempDir())
	im, err := testimage.New(testimage.Options{LayerSizes: []int{1000}})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := reference.Parse(host + "/app:1")
	if err := testimage.Push(t.Context(), (&registry.Client{}).Repository(ref), im, ref.Tag); err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(host, ":")
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/v2/_catalog"},
		{http.MethodGet, "/v2/app/manifests/1"},
		{http.MethodDelete, "/v2/app/manifests/1"},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+host+tc.path, nil)
		req.Host = "attacker.example:" + port
		req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 300 {
			t.Errorf("%s %s for Host %s: %s %.80s", tc.method, tc.path, req.Host, resp.Status, body)
		}
	}
}

// A name given with --allow-host is answered as a loopback one is; a
// request that a web page of another origin sends (an Origin header) is
// refused whatever its Host, with the spec's DENIED error.
func TestServeAllowHostAndOrigin(t *testing.T) {
	host := startServe(t, "--root", t.TempDir(), "--allow-host", "Mirror.Lan")
	_, port, _ := strings.Cut(host, ":")
	for _, tc := range []struct {
		host, origin string
		want         int
	}{
		{host, "", http.StatusOK},
		{"localhost:" + port, "", http.StatusOK},
		{"mirror.lan:" + port, "", http.StatusOK},
		{"mirror.lan", "http://mirror.lan:" + port, http.StatusOK},
		{"other.lan:" + port, "", http.StatusForbidden},
		{host, "https://attacker.example", http.StatusForbidden},
		{host, "null", http.StatusForbidden},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/", nil)
		req.Host = tc.host
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Host %q, Origin %q: %s %.120s; want %d", tc.host, tc.origin, resp.Status, body, tc.want)
		}
		if tc.want == http.StatusForbidden && !strings.Contains(string(body), `"code":"DENIED"`) {
			t.Errorf("Host %q, Origin %q: the refusal %q is not a DENIED error", tc.host, tc.origin, body)
		}
	}
}
