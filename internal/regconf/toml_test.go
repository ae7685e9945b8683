package regconf_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/regconf"
)

func TestParse(t *testing.T) {
	got, err := regconf.Parse([]byte("# c\r\na = \"x\\ty\\u00e9\\U0001F600\\\"\" # trailing\r\n" +
		"'quoted key' = 'C:\\raw'\nb.c = true\n[t.u]\nd = false\ne = [ ]\n" +
		"[[arr]]\nx = \"1\"\n[[arr]]\nx = \"2\"\n[[arr.sub]]\ny = [\n  \"p\", # one\n  'q',\n]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a":          "x\tyé😀\"",
		"quoted key": `C:\raw`,
		"b":          map[string]any{"c": true},
		"t":          map[string]any{"u": map[string]any{"d": false, "e": []string{}}},
		"arr": []map[string]any{
			{"x": "1"},
			{"x": "2", "sub": []map[string]any{{"y": []string{"p", "q"}}}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse =\n%#v\nwant\n%#v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"a = 1", "line 1: unsupported value"},
		{"\n\na = 1979-05-27", "line 3: unsupported value"},
		{"a = { b = \"c\" }", "unsupported value"},
		{"a = \"\"\"x\"\"\"", "multi-line strings"},
		{"a = [1, 2]", "unsupported array item"},
		{"a = [[\"x\"]]", "unsupported array item"},
		{"a = \"x\"\na = \"y\"", "line 2: key a defined twice"},
		{"a = \"x\" b", "unexpected"},
		{"a = \"unclosed", "string not closed"},
		{"a = \"bad \\q escape\"", "invalid escape"},
		{"a = \"\\uD800\"", "invalid escape"},
		{"a = [\"x\"", "array not closed"},
		{"[t", "not closed"},
		{"[[t]\n", "not closed"},
		{"= \"x\"", "expected a key"},
		{"a \"x\"", "expected ="},
		{"a = \"x\"\n[a]", "already a value"},
		{"[t]\n[[t]]", "is a table"},
		{"[[t]]\n[t]", "array of tables"},
		{"a = \"x\"\n[a.b]", "a value, not a table"},
		{"a = truex", "unsupported value"},
		{"a = \"tab\tok\"\nb = \"nul\x00\"", "line 2: control character"},
		{"\xff = \"x\"", "not UTF-8"},
	}
	for _, tt := range tests {
		_, err := regconf.Parse([]byte(tt.in))
		var se *regconf.SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError with %q", tt.in, err, tt.msg)
		}
	}
	big := strings.Repeat("# padding\n", regconf.MaxSize/10+1)
	if _, err := regconf.Parse([]byte(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized input: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.conf"))
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a = \"\\u00e9\"\n[[x.y]]\nb = ['c', \"d\",]\n[t]\n'k'.\"l\" = true"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tbl, err := regconf.Parse(data)
		if err != nil {
			var se *regconf.SyntaxError
			if !errors.As(err, &se) || se.Line < 1 {
				t.Fatalf("error %v is not a SyntaxError with a line", err)
			}
			return
		}
		if tbl == nil {
			t.Fatal("nil table without an error")
		}
		regconf.Decode(data) // must not panic either
	})
}
