package auth_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/skiffoci/skiff/auth"
)

func ExampleParseChallenges() {
	cs, err := auth.ParseChallenges(`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"`)
	if err != nil {
		panic(err)
	}
	fmt.Println(cs[0].Scheme, cs[0].Params["realm"], cs[0].Params["scope"])
	// Output: bearer https://auth.docker.io/token repository:library/alpine:pull
}

func ExampleRedact() {
	fmt.Println(auth.Redact("GET https://user:pw@r.example.com/token?service=r&access_token=abc"))
	fmt.Println(auth.Redact("Authorization: Bearer eyJhbGciOi"))
	// Output:
	// GET https://REDACTED@r.example.com/token?service=r&access_token=REDACTED
	// Authorization: REDACTED
}

// A registry client shares one Transport, declares the hosts it talks to
// and, before a push, the scopes it will need.
func ExampleTransport() {
	// A registry that wants a token from its own token server.
	var tokens int
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		tokens++
		fmt.Fprintf(w, `{"token":"t-%s","expires_in":300}`, strings.ReplaceAll(r.URL.Query().Get("scope"), ":", "-"))
	})
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t-repository-app-pull,push" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="example"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok")
	})
	host := strings.TrimPrefix(srv.URL, "http://")

	t := &auth.Transport{Credentials: auth.Static{}} // or auth.FromEnvironment()
	t.AddScope(host, "repository:app:push,pull")
	client := &http.Client{Transport: t}
	for _, path := range []string{"/v2/app/blobs/sha256:1", "/v2/app/manifests/v1"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			fmt.Println(auth.Redact(err.Error()))
			return
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	fmt.Println("token requests:", tokens)
	// Output:
	// 200
	// 200
	// token requests: 1
}
