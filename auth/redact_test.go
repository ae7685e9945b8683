package auth_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/auth"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"GET https://r.example.com/token?service=s&access_token=abc123&scope=x",
			"GET https://r.example.com/token?service=s&access_token=REDACTED&scope=x"},
		{"refresh_token=abc&grant_type=refresh_token&password=hunter2",
			"refresh_token=REDACTED&grant_type=refresh_token&password=REDACTED"},
		{"https://user:pa55@r.example.com/v2/", "https://REDACTED@r.example.com/v2/"},
		{"Authorization: Bearer eyJhbGciOi.x.y", "Authorization: REDACTED"},
		{`"Authorization": "Basic dTpw"`, `"Authorization": REDACTED`},
		{"sent Bearer eyJhbGciOi.x.y to host", "sent Bearer REDACTED to host"},
		{"basic dXNlcjpwYXNz", "basic REDACTED"},
		{`{"token":"abc","access_token":"def","expires_in":60,"refresh_token":"g\"h"}`,
			`{"token":"REDACTED","access_token":"REDACTED","expires_in":60,"refresh_token":"REDACTED"}`},
		{`{"identitytoken": "x", "registrytoken": "y", "auth": "z", "email": "e"}`,
			`{"identitytoken": "REDACTED", "registrytoken": "REDACTED", "auth": "REDACTED", "email": "e"}`},
		{"https://s3/x?X-Amz-Credential=AK%2F1&X-Amz-Signature=ff&X-Amz-Security-Token=q&partNumber=1",
			"https://s3/x?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED&partNumber=1"},
		{"https://blob.core.windows.net/c/b?sv=2020&sig=abc%3D", "https://blob.core.windows.net/c/b?sv=2020&sig=REDACTED"},
		// Things that are not secrets stay.
		{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a:pull"`,
			`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a:pull"`},
		{`Basic realm="Registry Realm"`, `Basic realm="Registry Realm"`},
		{"GET https://r.example.com/v2/a/blobs/sha256:abc?digest=sha256:abc", "GET https://r.example.com/v2/a/blobs/sha256:abc?digest=sha256:abc"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := auth.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if got := auth.Redact(auth.Redact(tc.in)); got != tc.want {
			t.Errorf("Redact is not idempotent on %q: %q", tc.in, got)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@r.example.com/v2/?access_token=a&n=1":        "https://REDACTED@r.example.com/v2/?access_token=REDACTED&n=1",
		"https://r.example.com/v2/a/blobs/uploads/x?_state=abc":   "https://r.example.com/v2/a/blobs/uploads/x?_state=abc",
		"https://s3.example.com/b?X-Amz-Signature=f&X-Amz-Date=1": "https://s3.example.com/b?X-Amz-Date=1&X-Amz-Signature=REDACTED",
	} {
		u, err := url.Parse(in)
		noErr(t, err)
		if got := auth.RedactURL(u); got != want {
			t.Errorf("RedactURL(%s) = %s, want %s", in, got, want)
		}
		if u.String() != in {
			t.Errorf("RedactURL changed its argument to %s", u)
		}
	}
	if auth.RedactURL(nil) != "" {
		t.Error("RedactURL(nil) should be empty")
	}
}

func TestIsSensitiveParam(t *testing.T) {
	for name, want := range map[string]bool{
		"access_token": true, "Refresh_Token": true, "password": true, "X-Amz-Signature": true,
		"sig": true, "client_secret": true, "service": false, "scope": false, "digest": false, "mount": false, "from": false,
	} {
		if got := auth.IsSensitiveParam(name); got != want {
			t.Errorf("IsSensitiveParam(%q) = %v, want %v", name, got, want)
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("Authorization: Bearer abc", "abc")
	f.Add("https://u:p@h/?token=t", "p")
	f.Add("Bearer", "abc")
	f.Fuzz(func(t *testing.T, prefix, s string) {
		// A value after a sensitive name never survives, whatever
		// unquoted text comes before it.
		if s == "" || strings.ContainsAny(s, "&\"', ;\\\t\n\r\v\f=") || strings.ContainsAny(prefix, "\"\\\n\r") {
			return
		}
		for _, tc := range []struct{ form, end string }{
			{"access_token=" + s, "REDACTED"},
			{`"refresh_token": "` + s + `"`, `REDACTED"`},
		} {
			in := prefix + " " + tc.form
			if out := auth.Redact(in); !strings.HasSuffix(out, tc.end) && !strings.HasSuffix(out, "REDACTED") {
				t.Fatalf("Redact(%q) = %q keeps the value", in, out)
			}
		}
	})
}
