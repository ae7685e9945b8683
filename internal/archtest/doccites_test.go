package archtest

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// citesInside matches what a user's go doc must not point at: the
// numbered lines of RELIABILITY.md, packages they cannot import, and
// source files (which move and split).
var citesInside = regexp.MustCompile(`RELIABILITY|\binternal/|\b[a-z0-9_]+\.go\b`)

// TestDocsCiteNothingInternal checks what go doc shows of the packages
// users import: package docs, the docs of exported names and the comments
// inside exported declarations.
func TestDocsCiteNothingInternal(t *testing.T) {
	root := repoRoot(t)
	for pkg := range allowed {
		for _, text := range exportedDocs(t, filepath.Join(root, pkg)) {
			for _, line := range strings.Split(text, "\n") {
				if citesInside.MatchString(line) {
					t.Errorf("%s: go doc cites something a user cannot see: %q", pkg, strings.TrimSpace(line))
				}
			}
		}
	}
}

// exportedDocs returns the doc text go doc shows for the package in dir.
func exportedDocs(t *testing.T, dir string) []string {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pkgs {
		d := doc.New(p, "", 0) // exported names only
		out = append(out, d.Doc)
		values := append(d.Consts, d.Vars...)
		for _, f := range d.Funcs {
			out = append(out, f.Doc)
		}
		for _, ty := range d.Types {
			out = append(out, ty.Doc, declComments(ty.Decl))
			for _, f := range append(ty.Funcs, ty.Methods...) {
				out = append(out, f.Doc)
			}
			values = append(values, append(ty.Consts, ty.Vars...)...)
		}
		for _, v := range values {
			out = append(out, v.Doc, declComments(v.Decl))
		}
	}
	return out
}

// declComments returns the comments inside decl that go doc prints with
// it: those of fields, methods and values.
func declComments(decl *ast.GenDecl) string {
	var b strings.Builder
	ast.Inspect(decl, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			if len(n.Names) == 0 || n.Names[0].IsExported() {
				b.WriteString(n.Doc.Text() + n.Comment.Text())
			}
		case *ast.ValueSpec:
			b.WriteString(n.Doc.Text() + n.Comment.Text())
		}
		return true
	})
	return b.String()
}
