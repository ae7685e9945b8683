package auth_test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/auth"
)

type params = map[string]string

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   []auth.Challenge
	}{
		{"docker hub",
			`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"`,
			[]auth.Challenge{{"bearer", params{"realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/alpine:pull"}}}},
		{"ghcr",
			`Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull"`,
			[]auth.Challenge{{"bearer", params{"realm": "https://ghcr.io/token", "service": "ghcr.io", "scope": "repository:user/image:pull"}}}},
		{"acr",
			`Bearer realm="https://x.azurecr.io/oauth2/token",service="x.azurecr.io",scope="repository:app:pull,push",error="insufficient_scope"`,
			[]auth.Challenge{{"bearer", params{"realm": "https://x.azurecr.io/oauth2/token", "service": "x.azurecr.io", "scope": "repository:app:pull,push", "error": "insufficient_scope"}}}},
		{"quay",
			`Bearer realm="https://quay.io/v2/auth",service="quay.io"`,
			[]auth.Challenge{{"bearer", params{"realm": "https://quay.io/v2/auth", "service": "quay.io"}}}},
		{"harbor",
			`Bearer realm="https://harbor.example.com/service/token",service="harbor-registry",scope="repository:lib/nginx:pull,push"`,
			[]auth.Challenge{{"bearer", params{"realm": "https://harbor.example.com/service/token", "service": "harbor-registry", "scope": "repository:lib/nginx:pull,push"}}}},
		{"ecr basic",
			`Basic realm="https://123.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"`,
			[]auth.Challenge{{"basic", params{"realm": "https://123.dkr.ecr.us-east-1.amazonaws.com/", "service": "ecr.amazonaws.com"}}}},
		{"basic alone", `Basic`, []auth.Challenge{{"basic", params{}}}},
		{"scheme case", `BEARER Realm="r"`, []auth.Challenge{{"bearer", params{"realm": "r"}}}},
		{"two challenges",
			`Basic realm="reg", Bearer realm="https://t/token", scope="a:b:pull,push"`,
			[]auth.Challenge{{"basic", params{"realm": "reg"}}, {"bearer", params{"realm": "https://t/token", "scope": "a:b:pull,push"}}}},
		{"empty elements and whitespace",
			" ,  Bearer   realm = \"x\" ,, \t service=\"y\" , ",
			[]auth.Challenge{{"bearer", params{"realm": "x", "service": "y"}}}},
		{"escapes", `Bearer realm="a\"b\\c\d"`, []auth.Challenge{{"bearer", params{"realm": `a"b\cd`}}}},
		{"unquoted values", `Bearer realm=https://t/token,service=reg`, []auth.Challenge{{"bearer", params{"realm": "https://t/token", "service": "reg"}}}},
		{"several scopes", `Bearer scope="repository:a:pull repository:b:push,pull"`, []auth.Challenge{{"bearer", params{"scope": "repository:a:pull repository:b:push,pull"}}}},
		{"token68", `Negotiate YII+/abc==, Basic realm="r"`, []auth.Challenge{{"negotiate", params{}}, {"basic", params{"realm": "r"}}}},
		{"no params then more", `Basic, Bearer realm="r"`, []auth.Challenge{{"basic", params{}}, {"bearer", params{"realm": "r"}}}},
		{"empty", ``, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.ParseChallenges(tc.header)
			noErr(t, err)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseChallenges(%q)\n got %v\nwant %v", tc.header, got, tc.want)
			}
		})
	}
}

func TestParseChallengesErrors(t *testing.T) {
	for _, h := range []string{
		`Bearer realm="unterminated`,
		`Bearer realm="x", @`,
		`"quoted scheme"`,
		`=value`,
		`Bearer realm="x\`,
		"Bearer \x00",
	} {
		_, err := auth.ParseChallenges(h)
		var se *auth.SyntaxError
		if !errors.As(wantErr(t, err), &se) {
			t.Errorf("ParseChallenges(%q): error %v is not a *SyntaxError", h, err)
		}
		if !strings.HasPrefix(err.Error(), "auth: ") {
			t.Errorf("error %q lacks the auth: prefix", err)
		}
	}
}

func TestParseChallengesLimit(t *testing.T) {
	long := `Bearer realm="` + strings.Repeat("a", auth.MaxHeaderBytes) + `"`
	_, err := auth.ParseChallenges(long)
	var le *auth.LimitError
	if !errors.As(wantErr(t, err), &le) {
		t.Fatalf("error %v is not a *LimitError", err)
	}
	ok := `Bearer realm="` + strings.Repeat("a", auth.MaxHeaderBytes-20) + `"`
	_, err = auth.ParseChallenges(ok)
	noErr(t, err)

	h := http.Header{}
	for range 3 {
		h.Add("WWW-Authenticate", ok[:auth.MaxHeaderBytes/2])
	}
	_, err = auth.ParseHeader(h)
	if !errors.As(wantErr(t, err), &le) {
		t.Fatalf("ParseHeader over the limit in total: %v, want *LimitError", err)
	}
}

func TestParseHeaderSeveralLines(t *testing.T) {
	h := http.Header{}
	h.Add("WWW-Authenticate", `Basic realm="r"`)
	h.Add("WWW-Authenticate", `Bearer realm="https://t/token",scope="repository:a:pull,push"`)
	got, err := auth.ParseHeader(h)
	noErr(t, err)
	want := []auth.Challenge{
		{"basic", params{"realm": "r"}},
		{"bearer", params{"realm": "https://t/token", "scope": "repository:a:pull,push"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestChallengeString(t *testing.T) {
	c := auth.Challenge{Scheme: "bearer", Params: params{"scope": "a:b:pull,push", "realm": `q"\`}}
	want := `bearer realm="q\"\\", scope="a:b:pull,push"`
	if got := c.String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	back, err := auth.ParseChallenges(c.String())
	noErr(t, err)
	if !reflect.DeepEqual(back, []auth.Challenge{c}) {
		t.Errorf("reparsed %v, want %v", back, c)
	}
}

func joinChallenges(cs []auth.Challenge) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, ", ")
}

func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{
		`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"`,
		`Basic realm="reg", Bearer realm="https://t/token", scope="a:b:pull,push"`,
		`Bearer realm="a\"b\\c"`,
		`Negotiate YII+/abc==, Basic`,
		` ,, Bearer realm = x ,`,
		`Bearer realm="unterminated`,
		`a b c=d, e`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		cs, err := auth.ParseChallenges(h)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.Scheme == "" || c.Scheme != strings.ToLower(c.Scheme) || c.Params == nil {
				t.Fatalf("bad challenge %#v from %q", c, h)
			}
			for k := range c.Params {
				if k == "" || k != strings.ToLower(k) {
					t.Fatalf("bad param name %q from %q", k, h)
				}
			}
		}
		joined := joinChallenges(cs)
		if len(joined) > auth.MaxHeaderBytes {
			return // escaping can make the canonical form longer than the limit
		}
		again, err := auth.ParseChallenges(joined)
		if err != nil {
			t.Fatalf("reparse of %q (%q): %v", joined, h, err)
		}
		if len(cs) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(again, cs) {
			t.Fatalf("unstable: %q\nfirst  %v\nsecond %v", h, cs, again)
		}
	})
}
