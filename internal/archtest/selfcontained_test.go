package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestExamplesSelfContained checks that every Example of a public package
// reads alone: it lives in an external test package (package x_test, so
// it sees only what a user sees) and names no package-level identifier
// declared in a test file (no TestMain-seeded registry, no helper, no
// shared variable) and reads no file under testdata. Its body, copied from pkg.go.dev into a user's test,
// then compiles with skiff's public packages and the standard library;
// TestExamplesUsePublicAPI keeps internal/ out of its imports.
func TestExamplesSelfContained(t *testing.T) {
	examples := 0
	for dir, files := range publicTestFiles(t) {
		examples += checkExamplesSelfContained(t, dir, files)
	}
	if examples < 20 {
		t.Fatalf("only %d examples found; is the walk rooted right?", examples)
	}
}

// testPackage is the _test.go files of one directory with one package name.
type testPackage struct {
	name  string
	files map[string]*ast.File // by path relative to the root
}

// publicTestFiles parses the _test.go files of every package outside
// internal/, cmd/ and testdata, grouped by directory.
func publicTestFiles(t *testing.T) map[string][]*testPackage {
	root := repoRoot(t)
	byDir := map[string][]*testPackage{}
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
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		pkg := findPackage(byDir, dir, f.Name.Name)
		pkg.files[rel] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return byDir
}

func findPackage(byDir map[string][]*testPackage, dir, name string) *testPackage {
	for _, p := range byDir[dir] {
		if p.name == name {
			return p
		}
	}
	p := &testPackage{name: name, files: map[string]*ast.File{}}
	byDir[dir] = append(byDir[dir], p)
	return p
}

// checkExamplesSelfContained reports every Example in dir's test packages
// that is not self-contained, and returns how many examples it saw.
func checkExamplesSelfContained(t *testing.T, dir string, pkgs []*testPackage) int {
	n := 0
	for _, pkg := range pkgs {
		declared := packageLevelNames(pkg)
		for _, rel := range sortedKeys(pkg.files) {
			for _, fn := range exampleFuncs(pkg.files[rel]) {
				n++
				if !strings.HasSuffix(pkg.name, "_test") {
					t.Errorf("%s: %s is in package %s; put it in %s_test, where it sees only what a user sees", rel, fn.Name.Name, pkg.name, pkg.name)
				}
				for _, name := range testNamesUsed(pkg.files[rel], fn, declared) {
					t.Errorf("%s: %s uses %s, declared in %s: start what it needs in its body (server.New, imagestest, os.MkdirTemp)",
						rel, fn.Name.Name, name, declared[name])
				}
				if lit := testdataPath(fn); lit != "" {
					t.Errorf("%s: %s reads %s, which a user does not have: make the file in the example", rel, fn.Name.Name, lit)
				}
			}
		}
	}
	return n
}

// packageLevelNames maps each package-level name the test files of pkg
// declare to the file declaring it.
func packageLevelNames(pkg *testPackage) map[string]string {
	names := map[string]string{}
	for rel, f := range pkg.files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					names[d.Name.Name] = rel
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						names[s.Name.Name] = rel
					case *ast.ValueSpec:
						for _, id := range s.Names {
							names[id.Name] = rel
						}
					}
				}
			}
		}
	}
	delete(names, "_")
	return names
}

func exampleFuncs(f *ast.File) []*ast.FuncDecl {
	var fns []*ast.FuncDecl
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Example") {
			fns = append(fns, fn)
		}
	}
	return fns
}

// testNamesUsed returns the names of declared that fn's body refers to.
// An identifier counts when the parser resolved it to a package-level
// object of its own file or left it unresolved (declared in another file,
// or predeclared); field and method names after a dot, and the keys of
// composite literals, are not references.
func testNamesUsed(f *ast.File, fn *ast.FuncDecl, declared map[string]string) []string {
	skip := map[*ast.Ident]bool{}
	seen := map[string]bool{}
	var used []string
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			skip[n.Sel] = true
		case *ast.CompositeLit:
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if id, ok := kv.Key.(*ast.Ident); ok {
						skip[id] = true
					}
				}
			}
		case *ast.Ident:
			if skip[n] || seen[n.Name] || declared[n.Name] == "" {
				return true
			}
			if n.Obj == nil || f.Scope.Lookup(n.Name) == n.Obj {
				seen[n.Name] = true
				used = append(used, n.Name)
			}
		}
		return true
	})
	return used
}

// testdataPath returns the first string literal in fn's body naming a
// testdata directory, or "".
func testdataPath(fn *ast.FuncDecl) string {
	found := ""
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && found == "" && strings.Contains(lit.Value, "testdata") {
			found = lit.Value
		}
		return found == ""
	})
	return found
}

func sortedKeys(m map[string]*ast.File) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
