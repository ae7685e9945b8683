package regconf

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxSize is the largest configuration file Parse accepts.
const MaxSize = 1 << 20

// SyntaxError reports TOML that Parse does not accept, with the line it
// is on.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("regconf: line %d: %s", e.Line, e.Msg) }

// Parse reads the subset of TOML that registries.conf uses: comments,
// key = value lines with bare or quoted (and dotted) keys, basic and
// literal strings, booleans, arrays of strings, [tables] and
// [[arrays.of.tables]]. It returns the top-level table, whose values are
// string, bool, []string, map[string]any and []map[string]any. Anything
// else (numbers, dates, inline tables, multi-line strings) is a
// *SyntaxError naming its line.
func Parse(data []byte) (map[string]any, error) {
	if len(data) > MaxSize {
		return nil, &SyntaxError{Line: 1, Msg: fmt.Sprintf("file larger than %d bytes", MaxSize)}
	}
	if !utf8.Valid(data) {
		return nil, &SyntaxError{Line: 1, Msg: "not UTF-8"}
	}
	p := &parser{s: string(data), line: 1, root: map[string]any{}}
	p.cur = p.root
	for {
		p.skipBlank()
		if p.eof() {
			return p.root, nil
		}
		if err := p.statement(); err != nil {
			return nil, err
		}
	}
}

type parser struct {
	s    string
	pos  int
	line int
	root map[string]any
	cur  map[string]any // the table key = value lines go to
}

func (p *parser) eof() bool  { return p.pos >= len(p.s) }
func (p *parser) peek() byte { return p.s[p.pos] }

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// skipSpace skips spaces and tabs.
func (p *parser) skipSpace() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.pos++
	}
}

// skipComment skips a comment up to, not including, the end of the line.
func (p *parser) skipComment() {
	if p.eof() || p.peek() != '#' {
		return
	}
	for !p.eof() && p.peek() != '\n' {
		p.pos++
	}
}

// skipBlank skips whitespace, comments and newlines.
func (p *parser) skipBlank() {
	for {
		p.skipSpace()
		p.skipComment()
		if p.eof() {
			return
		}
		switch {
		case p.peek() == '\n':
			p.line++
			p.pos++
		case strings.HasPrefix(p.s[p.pos:], "\r\n"):
			p.line++
			p.pos += 2
		default:
			return
		}
	}
}

// endOfLine expects only spaces and a comment before the line ends.
func (p *parser) endOfLine() error {
	p.skipSpace()
	p.skipComment()
	if p.eof() || p.peek() == '\n' || strings.HasPrefix(p.s[p.pos:], "\r\n") {
		return nil
	}
	return p.errorf("unexpected %q after the value", p.rest())
}

// rest returns a short quote of the input from pos, for messages.
func (p *parser) rest() string {
	r := p.s[p.pos:]
	if i := strings.IndexAny(r, "\r\n"); i >= 0 {
		r = r[:i]
	}
	if len(r) > 20 {
		r = r[:20]
	}
	return r
}

func (p *parser) statement() error {
	if p.peek() != '[' {
		return p.keyValue()
	}
	array := strings.HasPrefix(p.s[p.pos:], "[[")
	if array {
		p.pos += 2
	} else {
		p.pos++
	}
	p.skipSpace()
	path, err := p.key()
	if err != nil {
		return err
	}
	closing := "]"
	if array {
		closing = "]]"
	}
	if !strings.HasPrefix(p.s[p.pos:], closing) {
		return p.errorf("table header not closed with %s", closing)
	}
	p.pos += len(closing)
	if err := p.endOfLine(); err != nil {
		return err
	}
	return p.openTable(path, array)
}

// openTable makes [path] or [[path]] the current table.
func (p *parser) openTable(path []string, array bool) error {
	t, err := p.walk(p.root, path[:len(path)-1])
	if err != nil {
		return err
	}
	last := path[len(path)-1]
	switch v := t[last].(type) {
	case nil:
		p.cur = map[string]any{}
		if array {
			t[last] = []map[string]any{p.cur}
		} else {
			t[last] = p.cur
		}
	case map[string]any:
		if array {
			return p.errorf("%s is a table, not an array of tables", strings.Join(path, "."))
		}
		p.cur = v
	case []map[string]any:
		if !array {
			return p.errorf("%s is an array of tables", strings.Join(path, "."))
		}
		p.cur = map[string]any{}
		t[last] = append(v, p.cur)
	default:
		return p.errorf("%s is already a value", strings.Join(path, "."))
	}
	return nil
}

// walk descends from t through path, creating tables as needed; an array
// of tables stands for its last element.
func (p *parser) walk(t map[string]any, path []string) (map[string]any, error) {
	for i, k := range path {
		switch v := t[k].(type) {
		case nil:
			n := map[string]any{}
			t[k], t = n, n
		case map[string]any:
			t = v
		case []map[string]any:
			t = v[len(v)-1]
		default:
			return nil, p.errorf("%s is a value, not a table", strings.Join(path[:i+1], "."))
		}
	}
	return t, nil
}

func (p *parser) keyValue() error {
	path, err := p.key()
	if err != nil {
		return err
	}
	if p.eof() || p.peek() != '=' {
		return p.errorf("expected = after key %s", strings.Join(path, "."))
	}
	p.pos++
	p.skipSpace()
	line := p.line
	v, err := p.value()
	if err != nil {
		return err
	}
	t, err := p.walk(p.cur, path[:len(path)-1])
	if err != nil {
		return err
	}
	last := path[len(path)-1]
	if _, dup := t[last]; dup {
		return &SyntaxError{Line: line, Msg: fmt.Sprintf("key %s defined twice", strings.Join(path, "."))}
	}
	t[last] = v
	return p.endOfLine()
}

// key reads a dotted key of bare and quoted parts, and the spaces after.
func (p *parser) key() ([]string, error) {
	var path []string
	for {
		p.skipSpace()
		part, err := p.keyPart()
		if err != nil {
			return nil, err
		}
		path = append(path, part)
		p.skipSpace()
		if p.eof() || p.peek() != '.' {
			return path, nil
		}
		p.pos++
	}
}

func (p *parser) keyPart() (string, error) {
	if p.eof() {
		return "", p.errorf("expected a key")
	}
	switch p.peek() {
	case '"':
		return p.basicString()
	case '\'':
		return p.literalString()
	}
	start := p.pos
	for !p.eof() && isBare(p.peek()) {
		p.pos++
	}
	if p.pos == start {
		return "", p.errorf("expected a key, found %q", p.rest())
	}
	return p.s[start:p.pos], nil
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func (p *parser) value() (any, error) {
	if p.eof() {
		return nil, p.errorf("missing value")
	}
	switch r := p.s[p.pos:]; {
	case strings.HasPrefix(r, `"""`), strings.HasPrefix(r, "'''"):
		return nil, p.errorf("multi-line strings are not supported")
	case r[0] == '"':
		return p.basicString()
	case r[0] == '\'':
		return p.literalString()
	case r[0] == '[':
		return p.array()
	case strings.HasPrefix(r, "true") && !continuesBare(r, 4):
		p.pos += 4
		return true, nil
	case strings.HasPrefix(r, "false") && !continuesBare(r, 5):
		p.pos += 5
		return false, nil
	}
	return nil, p.errorf("unsupported value %q (only strings, booleans and arrays of strings)", p.rest())
}

func continuesBare(s string, n int) bool { return len(s) > n && isBare(s[n]) }

// array reads [ "a", 'b', ] across lines, with comments between items.
func (p *parser) array() ([]string, error) {
	p.pos++ // [
	out := []string{}
	for {
		p.skipBlank()
		if p.eof() {
			return nil, p.errorf("array not closed")
		}
		if p.peek() == ']' {
			p.pos++
			return out, nil
		}
		var s string
		var err error
		switch p.peek() {
		case '"':
			s, err = p.basicString()
		case '\'':
			s, err = p.literalString()
		default:
			err = p.errorf("unsupported array item %q (only strings)", p.rest())
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		p.skipBlank()
		if p.eof() {
			return nil, p.errorf("array not closed")
		}
		if p.peek() == ',' {
			p.pos++
		} else if p.peek() != ']' {
			return nil, p.errorf("expected , or ] in array")
		}
	}
}

func (p *parser) literalString() (string, error) {
	p.pos++ // '
	start := p.pos
	for !p.eof() && p.peek() != '\'' {
		if c := p.peek(); c == '\n' || c < ' ' && c != '\t' || c == 0x7f {
			return "", p.errorf("control character in string")
		}
		p.pos++
	}
	if p.eof() {
		return "", p.errorf("string not closed")
	}
	p.pos++
	return p.s[start : p.pos-1], nil
}

func (p *parser) basicString() (string, error) {
	p.pos++ // "
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.errorf("string not closed")
		}
		c := p.peek()
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c == '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		case c == '\n' || c < ' ' && c != '\t' || c == 0x7f:
			return "", p.errorf("control character in string")
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
}

var escapes = map[byte]byte{'b': '\b', 't': '\t', 'n': '\n', 'f': '\f', 'r': '\r', '"': '"', '\\': '\\'}

// escape reads one backslash escape of a basic string into b.
func (p *parser) escape(b *strings.Builder) error {
	p.pos++ // backslash
	if p.eof() {
		return p.errorf("string not closed")
	}
	c := p.peek()
	p.pos++
	if r, ok := escapes[c]; ok {
		b.WriteByte(r)
		return nil
	}
	n := map[byte]int{'u': 4, 'U': 8}[c]
	if n == 0 || p.pos+n > len(p.s) {
		return p.errorf("invalid escape \\%c", c)
	}
	v, err := strconv.ParseUint(p.s[p.pos:p.pos+n], 16, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return p.errorf("invalid escape \\%c%s", c, p.s[p.pos:p.pos+n])
	}
	p.pos += n
	b.WriteRune(rune(v))
	return nil
}
