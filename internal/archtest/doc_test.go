package archtest

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryExportedNameDocumented checks the packages users import: each
// has a doc.go, and every exported name has a doc comment.
func TestEveryExportedNameDocumented(t *testing.T) {
	root := repoRoot(t)
	for pkg := range allowed {
		dir := filepath.Join(root, pkg)
		if _, err := os.Stat(filepath.Join(dir, "doc.go")); err != nil {
			t.Errorf("%s has no doc.go", pkg)
		}
		for _, name := range undocumented(t, dir) {
			t.Errorf("%s.%s has no doc comment", pkg, name)
		}
	}
}

// undocumented lists the exported names in dir without a doc comment.
func undocumented(t *testing.T, dir string) []string {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, p := range pkgs {
		d := doc.New(p, "", 0)
		for _, f := range d.Funcs {
			missing = appendIf(missing, f.Doc == "", f.Name)
		}
		for _, ty := range d.Types {
			missing = appendIf(missing, ty.Doc == "", ty.Name)
			for _, f := range append(ty.Funcs, ty.Methods...) {
				missing = appendIf(missing, f.Doc == "" && ast.IsExported(f.Name) && !implementsStd(f.Name), ty.Name+"."+f.Name)
			}
			missing = append(missing, undocumentedValues(ty.Consts, ty.Vars)...)
		}
		missing = append(missing, undocumentedValues(d.Consts, d.Vars)...)
	}
	return missing
}

// implementsStd names methods whose meaning the standard library's
// interfaces document (Error, Read, …).
func implementsStd(name string) bool {
	switch name {
	case "Error", "Unwrap", "Is", "String", "GoString", "Read", "Write", "Close", "Seek", "ReadAt", "WriteAt", "RoundTrip", "ServeHTTP":
		return true
	}
	return false
}

func undocumentedValues(groups ...[]*doc.Value) []string {
	var missing []string
	for _, g := range groups {
		for _, v := range g {
			if v.Doc != "" {
				continue // the group's comment covers its names
			}
			for _, spec := range v.Decl.Specs {
				vs := spec.(*ast.ValueSpec)
				for _, n := range vs.Names {
					missing = appendIf(missing, n.IsExported() && vs.Doc == nil && vs.Comment == nil, n.Name)
				}
			}
		}
	}
	return missing
}

func appendIf(list []string, cond bool, name string) []string {
	if cond {
		return append(list, name)
	}
	return list
}
