package auth

import (
	"net/url"
	"regexp"
	"strings"
)

// redacted replaces every secret Redact and RedactURL remove.
const redacted = "REDACTED"

// sensitiveWords mark a query parameter, form field or JSON key whose
// value is a secret: access_token, refresh_token, password, client_secret,
// X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, sig (Azure
// SAS), identitytoken, auth, ...
var sensitiveWords = []string{"token", "secret", "passw", "sig", "credential", "auth", "key", "code"}

// IsSensitiveParam reports whether a query parameter or form field named
// name carries a secret, by the words its name contains.
func IsSensitiveParam(name string) bool {
	n := strings.ToLower(name)
	for _, w := range sensitiveWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

var (
	// "Authorization: anything" up to the end of the line.
	reAuthHeader = regexp.MustCompile(`(?i)(\bauthorization"?\s*[:=]\s*)[^\r\n]*`)
	// "Bearer xyz", "Basic xyz": a credential after an auth scheme.
	reSchemeCred = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/-]+=*)`)
	// "scheme://user:password@" in any URL.
	reUserinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s"']+@`)
	// name=value in queries, forms and headers.
	reParam = regexp.MustCompile(`([A-Za-z0-9_.\-]+)(=)("?)([^&\s"',;]*)`)
	// "name": "value" in JSON.
	reJSON = regexp.MustCompile(`("([A-Za-z0-9_.\-]+)"\s*:\s*")((?:[^"\\]|\\.)*)(")`)
)

// Redact returns s with secrets replaced by REDACTED: the value of an
// Authorization header, the credential after "Bearer" or "Basic", the
// user information of URLs, and the values of query parameters, form
// fields and JSON strings whose names mark secrets (see IsSensitiveParam).
// It is meant for error messages and request traces; it may redact more
// than necessary, never on purpose less.
func Redact(s string) string {
	s = reAuthHeader.ReplaceAllString(s, "${1}"+redacted)
	s = redactSchemeCreds(s)
	s = reUserinfo.ReplaceAllString(s, "${1}"+redacted+"@")
	s = reParam.ReplaceAllStringFunc(s, func(m string) string {
		sub := reParam.FindStringSubmatch(m)
		if !IsSensitiveParam(sub[1]) || sub[4] == "" || sub[4] == redacted {
			return m
		}
		return sub[1] + sub[2] + sub[3] + redacted
	})
	return reJSON.ReplaceAllStringFunc(s, func(m string) string {
		sub := reJSON.FindStringSubmatch(m)
		if !IsSensitiveParam(sub[2]) || sub[3] == "" {
			return m
		}
		return sub[1] + redacted + sub[4]
	})
}

// redactSchemeCreds replaces the credential after Bearer or Basic, but not
// a parameter such as the realm in `Basic realm="x"`: a word ending in "="
// and followed by more is a name, not a credential.
func redactSchemeCreds(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range reSchemeCred.FindAllStringSubmatchIndex(s, -1) {
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

// RedactURL returns u as a string without secrets: user information is
// replaced, and so are the values of sensitive query parameters (see
// IsSensitiveParam), such as the signatures of pre-signed blob URLs. A nil
// URL gives "".
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User(redacted)
	}
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			c.RawQuery = Redact(c.RawQuery)
		} else {
			for k, vs := range q {
				if IsSensitiveParam(k) {
					for i := range vs {
						vs[i] = redacted
					}
				}
			}
			c.RawQuery = q.Encode()
		}
	}
	return c.String()
}
