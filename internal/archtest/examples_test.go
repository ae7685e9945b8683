package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestExamplesUsePublicAPI checks that every file holding an Example of a
// public package imports nothing under internal/: a user copies examples
// into their own code, where internal packages cannot be imported;
// registry/server and registry/images/imagestest are what a test registry
// and test images are made with. TestExamplesSelfContained checks that
// each example's body needs nothing else of its test files.
func TestExamplesUsePublicAPI(t *testing.T) {
	root := repoRoot(t)
	found := 0
	for _, pkgs := range publicTestFiles(t) {
		for _, pkg := range pkgs {
			for rel, f := range pkg.files {
				if declaresExample(f) {
					found++
					checkExampleImports(t, filepath.Join(root, filepath.FromSlash(rel)), rel)
				}
			}
		}
	}
	if found < 5 {
		t.Fatalf("only %d files with examples found; is the walk rooted right?", found)
	}
}

// declaresExample reports whether f declares an Example function.
func declaresExample(f *ast.File) bool {
	for name := range f.Scope.Objects {
		if strings.HasPrefix(name, "Example") {
			return true
		}
	}
	return false
}

func checkExampleImports(t *testing.T, file, rel string) {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
	if err != nil {
		t.Errorf("%s: %v", rel, err)
		return
	}
	for _, imp := range f.Imports {
		ip, _ := strconv.Unquote(imp.Path.Value)
		if strings.HasPrefix(ip, module+"/internal/") {
			t.Errorf("%s: examples import %s, which a user cannot: use registry/server and registry/images/imagestest", rel, ip)
		}
	}
}
