package auth

import "testing"

// FuzzParseConfig feeds arbitrary config.json contents to the parser and
// the lookups: they must not panic, and a key that does not normalize to
// the host asked must never match.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"}},"credHelpers":{"gcr.io":"gcloud"},"credsStore":"desktop"}`), "docker.io")
	f.Add([]byte(`{"auths":{"registry.example.com":{"username":"u","password":"p","identitytoken":"i"}}}`), "registry.example.com.evil")
	f.Add([]byte(`{"auths":null}`), "")
	f.Fuzz(func(t *testing.T, data []byte, host string) {
		c, err := parseConfig(data)
		if err != nil {
			return
		}
		c.helperFor(host)
		cred, ok, err := c.lookup(host)
		if err != nil || !ok {
			return
		}
		for k, e := range c.Auths {
			if got, _ := e.credential(); got == cred && NormalizeHost(k) == NormalizeHost(host) {
				return
			}
		}
		t.Fatalf("lookup(%q) returned %v, which no matching key holds", host, cred)
	})
}
