package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
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
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "internal" || rel == "cmd" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && p != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		if hasExample(t, p) {
			found++
			checkExampleImports(t, p, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 5 {
		t.Fatalf("only %d files with examples found; is the walk rooted right?", found)
	}
}

func hasExample(t *testing.T, file string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Errorf("%s: %v", file, err)
		return false
	}
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
