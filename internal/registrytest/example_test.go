package registrytest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/skiffoci/skiff/internal/registrytest"
)

// A registry with bearer tokens, a programmed fault and the request log.
func Example() {
	reg := registrytest.New(&registrytest.Options{Auth: registrytest.Auth{
		Mode:  registrytest.AuthBearer,
		Users: map[string]string{"alice": "secret"},
	}})
	srv := httptest.NewServer(reg)
	defer srv.Close()

	resp, _ := http.Get(srv.URL + "/v2/library/alpine/tags/list")
	resp.Body.Close()
	challenge := resp.Header.Get("WWW-Authenticate")
	fmt.Println(resp.StatusCode, strings.Replace(challenge, srv.URL, "URL", 1))

	req, _ := http.NewRequest("GET", srv.URL+"/token?service=registrytest&scope=repository:library/alpine:pull", nil)
	req.SetBasicAuth("alice", "secret")
	resp, _ = http.DefaultClient.Do(req)
	var tok struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	reg.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/tags/list$"), Times: 1, Status: 503})
	for range 2 {
		req, _ = http.NewRequest("GET", srv.URL+"/v2/library/alpine/tags/list", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, _ = http.DefaultClient.Do(req)
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	fmt.Println(reg.Log.Count(func(r registrytest.Request) bool { return r.Server == "registry" }), "registry requests")
	// Output:
	// 401 Bearer realm="URL/token",service="registrytest",scope="repository:library/alpine:pull"
	// 503
	// 404
	// 3 registry requests
}
