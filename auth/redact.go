package auth

import (
	"net/url"
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

// Redact returns s with secrets replaced by REDACTED: the value of an
// Authorization header, the credential after "Bearer" or "Basic", the
// user information of URLs, and the values of query parameters, form
// fields and JSON strings whose names mark secrets (see IsSensitiveParam).
// It is meant for error messages and request traces; it may redact more
// than necessary, never on purpose less.
//
// It is written without the regexp package (a quarter of a MiB of skiff's
// binary); each pass below scans for what its comment's pattern matches,
// as Go's regexp would, leftmost first and without overlaps, folding
// ASCII case only.
func Redact(s string) string {
	s = redactAuthHeaders(s)
	s = redactSchemeCreds(s)
	s = redactUserinfo(s)
	s = redactParams(s)
	return redactJSON(s)
}

// splicer builds a copy of s with some spans replaced, in order.
type splicer struct {
	s    string
	b    strings.Builder
	last int // s[:last] is in b already
}

// replace puts with in place of s[from:to].
func (sp *splicer) replace(from, to int, with string) {
	sp.b.WriteString(sp.s[sp.last:from])
	sp.b.WriteString(with)
	sp.last = to
}

func (sp *splicer) String() string {
	if sp.last == 0 {
		return sp.s
	}
	sp.b.WriteString(sp.s[sp.last:])
	return sp.b.String()
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// wordStart reports whether a \b holds before s[i] when s[i] is a word byte.
func wordStart(s string, i int) bool { return i == 0 || !isWordByte(s[i-1]) }

func skipSpace(s string, i int) int {
	for i < len(s) && isSpaceByte(s[i]) {
		i++
	}
	return i
}

// hasFoldPrefix reports whether s[i:] starts with word, ignoring ASCII case.
func hasFoldPrefix(s string, i int, word string) bool {
	return len(s)-i >= len(word) && strings.EqualFold(s[i:i+len(word)], word)
}

// redactAuthHeaders: (?i)(\bauthorization"?\s*[:=]\s*)[^\r\n]* becomes
// its first group and REDACTED.
func redactAuthHeaders(s string) string {
	sp := &splicer{s: s}
	for i := 0; i < len(s); i++ {
		if !wordStart(s, i) || !hasFoldPrefix(s, i, "authorization") {
			continue
		}
		j := i + len("authorization")
		if j < len(s) && s[j] == '"' {
			j++
		}
		j = skipSpace(s, j)
		if j == len(s) || s[j] != ':' && s[j] != '=' {
			continue
		}
		j = skipSpace(s, j+1)
		end := j
		for end < len(s) && s[end] != '\r' && s[end] != '\n' {
			end++
		}
		sp.replace(j, end, redacted)
		i = end - 1
	}
	return sp.String()
}

func isCredByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._~+/-", c) >= 0
}

// redactSchemeCreds replaces the credential after Bearer or Basic,
// (?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/-]+=*), but not a parameter
// such as the realm in `Basic realm="x"`: a word ending in "=" and
// followed by more is a name, not a credential.
func redactSchemeCreds(s string) string {
	sp := &splicer{s: s}
	for i := 0; i < len(s); i++ {
		if !wordStart(s, i) {
			continue
		}
		var j int
		switch {
		case hasFoldPrefix(s, i, "bearer"):
			j = i + len("bearer")
		case hasFoldPrefix(s, i, "basic"):
			j = i + len("basic")
		default:
			continue
		}
		credStart := skipSpace(s, j)
		if credStart == j {
			continue
		}
		end := credStart
		for end < len(s) && isCredByte(s[end]) {
			end++
		}
		if end == credStart {
			continue
		}
		for end < len(s) && s[end] == '=' {
			end++
		}
		cred := s[credStart:end]
		i = end - 1
		isParam := strings.HasSuffix(cred, "=") && end < len(s) && !strings.ContainsRune(" \t\r\n,;", rune(s[end]))
		if isParam || cred == redacted {
			continue
		}
		sp.replace(credStart, end, redacted)
	}
	return sp.String()
}

func isLetterByte(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// redactUserinfo: (?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s"']+@ becomes the
// scheme, REDACTED and "@".
func redactUserinfo(s string) string {
	sp := &splicer{s: s}
	for i := 0; i < len(s); i++ {
		if !isLetterByte(s[i]) || !wordStart(s, i) {
			continue
		}
		j := i + 1
		for j < len(s) && (isLetterByte(s[j]) || '0' <= s[j] && s[j] <= '9' || s[j] == '+' || s[j] == '.' || s[j] == '-') {
			j++
		}
		if !strings.HasPrefix(s[j:], "://") {
			continue
		}
		j += 3
		end := j
		for end < len(s) && !isSpaceByte(s[end]) && strings.IndexByte("/?#@\"'", s[end]) < 0 {
			end++
		}
		if end == j || end == len(s) || s[end] != '@' {
			continue
		}
		sp.replace(j, end+1, redacted+"@")
		i = end
	}
	return sp.String()
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

// redactParams: in ([A-Za-z0-9_.\-]+)(=)("?)([^&\s"',;]*), the value of a
// sensitive name becomes REDACTED.
func redactParams(s string) string {
	sp := &splicer{s: s}
	for i := 0; i < len(s); {
		if !isNameByte(s[i]) {
			i++
			continue
		}
		nameEnd := i
		for nameEnd < len(s) && isNameByte(s[nameEnd]) {
			nameEnd++
		}
		if nameEnd == len(s) || s[nameEnd] != '=' {
			i = nameEnd
			continue
		}
		valStart := nameEnd + 1
		if valStart < len(s) && s[valStart] == '"' {
			valStart++
		}
		end := valStart
		for end < len(s) && !isSpaceByte(s[end]) && strings.IndexByte("&\"',;", s[end]) < 0 {
			end++
		}
		if val := s[valStart:end]; IsSensitiveParam(s[i:nameEnd]) && val != "" && val != redacted {
			sp.replace(valStart, end, redacted)
		}
		i = end
	}
	return sp.String()
}

// redactJSON: in ("([A-Za-z0-9_.\-]+)"\s*:\s*")((?:[^"\\]|\\.)*)("), the
// string value of a sensitive key becomes REDACTED.
func redactJSON(s string) string {
	sp := &splicer{s: s}
	for i := 0; i < len(s); i++ {
		if s[i] != '"' {
			continue
		}
		keyEnd := i + 1
		for keyEnd < len(s) && isNameByte(s[keyEnd]) {
			keyEnd++
		}
		if keyEnd == i+1 || keyEnd == len(s) || s[keyEnd] != '"' {
			continue
		}
		j := skipSpace(s, keyEnd+1)
		if j == len(s) || s[j] != ':' {
			continue
		}
		j = skipSpace(s, j+1)
		if j == len(s) || s[j] != '"' {
			continue
		}
		valStart := j + 1
		end, ok := valStart, false
		for end < len(s) {
			if s[end] == '"' {
				ok = true
				break
			}
			if s[end] == '\\' {
				if end+1 == len(s) || s[end+1] == '\n' {
					break
				}
				end += 2
				continue
			}
			end++
		}
		if !ok {
			continue
		}
		if IsSensitiveParam(s[i+1:keyEnd]) && end > valStart {
			sp.replace(valStart, end, redacted)
		}
		i = end
	}
	return sp.String()
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
