package auth

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The regular expressions Redact was first written with, kept as the
// oracle its scanners must agree with.
var (
	// "Authorization: anything" up to the end of the line.
	oAuthHeader = regexp.MustCompile(`(?i)(\bauthorization"?\s*[:=]\s*)[^\r\n]*`)
	// "Bearer xyz", "Basic xyz": a credential after an auth scheme.
	oSchemeCred = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/-]+=*)`)
	// "scheme://user:password@" in any URL.
	oUserinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s"']+@`)
	// name=value in queries, forms and headers.
	oParam = regexp.MustCompile(`([A-Za-z0-9_.\-]+)(=)("?)([^&\s"',;]*)`)
	// "name": "value" in JSON.
	oJSON = regexp.MustCompile(`("([A-Za-z0-9_.\-]+)"\s*:\s*")((?:[^"\\]|\\.)*)(")`)
)

// Redact returns s with secrets replaced by REDACTED: the value of an
// Authorization header, the credential after "Bearer" or "Basic", the
// user information of URLs, and the values of query parameters, form
// fields and JSON strings whose names mark secrets (see IsSensitiveParam).
// It is meant for error messages and request traces; it may redact more
// than necessary, never on purpose less.
func oracleRedact(s string) string {
	s = oAuthHeader.ReplaceAllString(s, "${1}"+redacted)
	s = oracleSchemeCreds(s)
	s = oUserinfo.ReplaceAllString(s, "${1}"+redacted+"@")
	s = oParam.ReplaceAllStringFunc(s, func(m string) string {
		sub := oParam.FindStringSubmatch(m)
		if !IsSensitiveParam(sub[1]) || sub[4] == "" || sub[4] == redacted {
			return m
		}
		return sub[1] + sub[2] + sub[3] + redacted
	})
	return oJSON.ReplaceAllStringFunc(s, func(m string) string {
		sub := oJSON.FindStringSubmatch(m)
		if !IsSensitiveParam(sub[2]) || sub[3] == "" {
			return m
		}
		return sub[1] + redacted + sub[4]
	})
}

// redactSchemeCreds replaces the credential after Bearer or Basic, but not
// a parameter such as the realm in `Basic realm="x"`: a word ending in "="
// and followed by more is a name, not a credential.
func oracleSchemeCreds(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range oSchemeCred.FindAllStringSubmatchIndex(s, -1) {
		cred, end := s[m[6]:m[7]], m[1]
		isParam := strings.HasSuffix(cred, "=") && end < len(s) && !strings.ContainsRune(" \t\r\n,;", rune(s[end]))
		if isParam || cred == redacted {
			continue
		}
		b.WriteString(s[last:m[6]])
		b.WriteString(redacted)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// TestRedactAgreesWithRegexps compares Redact with its regexp oracle on
// strings assembled from the pieces its passes look for.
func TestRedactAgreesWithRegexps(t *testing.T) {
	pieces := []string{"Authorization", "authorization", "AUTHORIZATION", "\"", ":", "=", " ", "\t", "\r\n", "\n",
		"Bearer", "bearer", "Basic", "basic", "abc", "x9", "tok.en", "a/b+c", "==", "=", "realm", ",", ";", "&", "'",
		"https://", "http://", "oci+tls://", "user", ":pw", "@", "/", "?", "#", "host",
		"access_token", "password", "sig", "name", "\"password\"", "\"name\"", "\\", "\\\"", "{", "}", "REDACTED", "ü", "_", "-", "."}
	rng := rand.New(rand.NewPCG(7, 7))
	for range 200000 {
		var b strings.Builder
		for range 1 + rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		checkRedact(t, b.String())
	}
}

func checkRedact(t *testing.T, s string) {
	t.Helper()
	if got, want := Redact(s), oracleRedact(s); got != want {
		t.Fatalf("Redact(%q)\n = %q\nregexps give %q", s, got, want)
	}
}

// FuzzRedactAgreesWithRegexps is the same comparison under the fuzzer,
// on valid UTF-8 without the two non-ASCII letters that fold to ASCII
// ones (ſ and the Kelvin sign), which the scanners do not fold.
func FuzzRedactAgreesWithRegexps(f *testing.F) {
	f.Add("Authorization: Bearer abc.def")
	f.Add(`{"password": "x\"y", "user": "u"} https://u:p@h/x?access_token=1&a=2`)
	f.Add(`WWW-Authenticate: Basic realm="r", Bearer realm="https://a/t",service="s"`)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\u017f\u212a") {
			return
		}
		checkRedact(t, s)
	})
}
