package auth

import (
	"net/http"
	"slices"
	"strings"
)

// A Challenge is one authentication challenge of a WWW-Authenticate
// header, such as
//
//	Bearer realm="https://auth.docker.io/token",service="registry.docker.io"
//
// Scheme and parameter names are lower case. Params is never nil; of a
// parameter given twice, the last value is kept. A token68 (as in
// "Negotiate YII...") is not kept.
type Challenge struct {
	Scheme string
	Params map[string]string
}

// String formats c as a WWW-Authenticate challenge, parameters sorted by
// name and every value quoted; ParseChallenges(c.String()) returns c.
func (c Challenge) String() string {
	var b strings.Builder
	b.WriteString(c.Scheme)
	keys := make([]string, 0, len(c.Params))
	for k := range c.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteString(", ")
		}
		b.WriteString(k + `="`)
		v := c.Params[k]
		for j := 0; j < len(v); j++ {
			if v[j] == '"' || v[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[j])
		}
		b.WriteByte('"')
	}
	return b.String()
}

// ParseHeader parses every WWW-Authenticate line of h, in order. The lines
// together may not exceed MaxHeaderBytes.
func ParseHeader(h http.Header) ([]Challenge, error) {
	lines := h.Values("WWW-Authenticate")
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	if n > MaxHeaderBytes {
		return nil, &LimitError{What: "WWW-Authenticate header", Limit: MaxHeaderBytes}
	}
	var out []Challenge
	for _, l := range lines {
		cs, err := ParseChallenges(l)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// ParseChallenges parses a WWW-Authenticate header value holding one or
// more comma-separated challenges (RFC 7235 section 4.1). It accepts
// quoted values with backslash escapes, unquoted values, empty list
// elements and extra whitespace. A header longer than MaxHeaderBytes is
// refused with a *LimitError; malformed input gives a *SyntaxError.
func ParseChallenges(header string) ([]Challenge, error) {
	if len(header) > MaxHeaderBytes {
		return nil, &LimitError{What: "WWW-Authenticate header", Limit: MaxHeaderBytes}
	}
	p := &challengeParser{s: header}
	var out []Challenge
	for {
		p.skipSeparators()
		if p.eof() {
			return out, nil
		}
		scheme := p.token()
		if scheme == "" {
			return nil, p.unexpected()
		}
		c := Challenge{Scheme: strings.ToLower(scheme), Params: map[string]string{}}
		if err := p.params(c.Params); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

type challengeParser struct {
	s string
	i int
}

func (p *challengeParser) eof() bool { return p.i >= len(p.s) }

func (p *challengeParser) peek(c byte) bool { return p.i < len(p.s) && p.s[p.i] == c }

func (p *challengeParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *challengeParser) skipSeparators() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == ',') {
		p.i++
	}
}

func (p *challengeParser) unexpected() error {
	return &SyntaxError{Offset: p.i, Msg: "unexpected character " + quoteByte(p.s[p.i])}
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	const hex = "0123456789abcdef"
	return `'\x` + string(hex[c>>4]) + string(hex[c&15]) + "'"
}

// token reads an RFC 7230 token.
func (p *challengeParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// params reads the auth-params after a scheme into m. It stops before the
// next challenge's scheme, which is a token not followed by "=".
func (p *challengeParser) params(m map[string]string) error {
	p.skipToken68()
	for {
		p.skipSeparators()
		if p.eof() {
			return nil
		}
		start := p.i
		name := p.token()
		if name == "" {
			return p.unexpected()
		}
		p.skipSpace()
		if !p.peek('=') {
			p.i = start // the next challenge
			return nil
		}
		p.i++
		p.skipSpace()
		v, err := p.value()
		if err != nil {
			return err
		}
		m[strings.ToLower(name)] = v
	}
}

// skipToken68 skips a token68 that follows the scheme after whitespace
// and ends the challenge (RFC 7235 section 2.1).
func (p *challengeParser) skipToken68() {
	j := p.i
	for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
		j++
	}
	if j == p.i {
		return
	}
	k := j
	for k < len(p.s) && isToken68Char(p.s[k]) {
		k++
	}
	if k == j {
		return
	}
	for k < len(p.s) && p.s[k] == '=' {
		k++
	}
	end := k
	for end < len(p.s) && (p.s[end] == ' ' || p.s[end] == '\t') {
		end++
	}
	if end == len(p.s) || p.s[end] == ',' {
		p.i = end
	}
}

func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}

// value reads a quoted-string or, tolerantly, any run of characters up to
// a comma or whitespace.
func (p *challengeParser) value() (string, error) {
	if !p.peek('"') {
		start := p.i
		for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != ' ' && p.s[p.i] != '\t' {
			p.i++
		}
		return p.s[start:p.i], nil
	}
	start := p.i
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '"':
			return b.String(), nil
		case c == '\\' && p.i < len(p.s):
			b.WriteByte(p.s[p.i])
			p.i++
		default:
			b.WriteByte(c)
		}
	}
	return "", &SyntaxError{Offset: start, Msg: "unterminated quoted string"}
}
