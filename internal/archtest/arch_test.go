package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/skiffoci/skiff"

// allowed lists, for each package of the design, the packages of ours its
// non-test files may import. Imports point only down DESIGN.md's list.
var allowed = map[string][]string{
	"reference": nil,
	"manifest":  nil,
	"auth":      nil,
	"registry":  {"reference", "manifest", "auth"},
	"layout":    {"reference", "manifest"},
	"tarball":   {"reference", "manifest"},
	// The registry server stores repositories as OCI layouts.
	"registry/server": {"reference", "manifest", "layout"},
	// The front door opens images wherever they are: it sits on every
	// store, and on nothing above them.
	"registry/images": {"reference", "manifest", "auth", "registry", "layout", "tarball"},
	"registry/mirror": {"reference", "manifest", "registry", "registry/images"},
	"registry/cosign": {"reference", "manifest", "registry", "registry/images"},
	// Test images are images: made in memory, opened through the front door.
	"registry/images/imagestest": {"manifest", "registry/images"},
	// Artifacts are files pushed and pulled through the front door.
	"registry/artifact": {"reference", "manifest", "registry", "layout", "tarball", "registry/images"},
}

// testOnly are internal packages that product code must never import.
var testOnly = []string{"internal/registrytest", "internal/faults", "internal/bench", "internal/archtest", "internal/grammartest",
	"internal/testtool", "internal/traptest", "internal/testimage", "internal/distribution"}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found: %v", err)
	}
	return root
}

func TestGoModHasNoRequire(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?m)^\s*require\b`).Match(b) {
		t.Fatal("go.mod has a require line: skiff uses the standard library only")
	}
	if !strings.Contains(string(b), "module "+module+"\n") {
		t.Fatalf("go.mod does not declare module %s", module)
	}
}

func TestTopLevelEntries(t *testing.T) {
	want := []string{".ci", ".git", ".gitignore", "LICENSE", "README.md", "auth", "cmd", "go.mod", "internal",
		"layout", "manifest", "reference", "registry", "tarball", "testdata",
		"skiff"} // the binary "go build ./cmd/skiff" leaves, ignored by git
	entries, err := os.ReadDir(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(want, e.Name()) {
			t.Errorf("top-level entry %q is not in DESIGN.md's list; move it under internal/", e.Name())
		}
	}
}

func TestImports(t *testing.T) {
	root := repoRoot(t)
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		files++
		rel, _ := filepath.Rel(root, p)
		checkFile(t, p, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 10 {
		t.Fatalf("only %d Go files found; is the walk rooted right?", files)
	}
}

func checkFile(t *testing.T, file, rel string) {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
	if err != nil {
		t.Errorf("%s: %v", rel, err)
		return
	}
	pkg := path.Dir(rel)
	isTest := strings.HasSuffix(rel, "_test.go")
	for _, imp := range f.Imports {
		ip, _ := strconv.Unquote(imp.Path.Value)
		if msg := importProblem(pkg, ip, isTest); msg != "" {
			t.Errorf("%s imports %q: %s", rel, ip, msg)
		}
	}
}

// importProblem says what is wrong with package pkg importing ip, or "".
func importProblem(pkg, ip string, isTest bool) string {
	first, _, _ := strings.Cut(ip, "/")
	if !strings.Contains(first, ".") {
		return "" // the standard library
	}
	if ip != module && !strings.HasPrefix(ip, module+"/") {
		return "outside the standard library and this module"
	}
	ours := strings.TrimPrefix(strings.TrimPrefix(ip, module), "/")
	if ours == "cmd/skiff" || strings.HasPrefix(ours, "cmd/") {
		return "nothing imports a command"
	}
	if isTest || pkg == "cmd/skiff" {
		return ""
	}
	top, _, _ := strings.Cut(pkg, "/")
	if top == "internal" {
		return ""
	}
	if strings.HasPrefix(ours, "internal/") {
		for _, p := range testOnly {
			if ours == p || strings.HasPrefix(ours, p+"/") {
				return "test-only packages are not for product code"
			}
		}
		return ""
	}
	deps, known := allowed[pkg] // a sub-package with a place of its own
	if !known {
		if deps, known = allowed[top]; !known {
			return "package " + pkg + " is not in DESIGN.md's list"
		}
		if pkg != top { // a sub-package sits on its parent: it may import it too
			deps = append(slices.Clone(deps), top)
		}
	}
	if !slices.Contains(deps, ours) {
		return "against the direction in DESIGN.md (" + top + " may import only " + strings.Join(deps, ", ") + ")"
	}
	return ""
}

func TestImportProblem(t *testing.T) {
	bad := []struct{ pkg, ip string }{
		{"registry", module + "/layout"},
		{"layout", module + "/registry"},
		{"tarball", module + "/layout"},
		{"manifest", module + "/reference"},
		{"auth", module + "/registry"},
		{"registry", module + "/internal/registrytest"},
		{"registry", "golang.org/x/net/http2"},
		{"internal/x", module + "/cmd/skiff"},
		{"registry/images", module + "/cmd/skiff"},
		{"manifest", module + "/registry/images"},
		{"registry", module + "/registry/images"},
		{"layout", module + "/registry/images"},
		{"registry/server", module + "/registry"},
		{"registry/images/imagestest", module + "/registry"},
		{"registry/images", module + "/internal/testimage"},
		{"registry/server", module + "/internal/distribution"},
	}
	for _, b := range bad {
		if importProblem(b.pkg, b.ip, false) == "" {
			t.Errorf("%s importing %s was allowed", b.pkg, b.ip)
		}
	}
	good := []struct{ pkg, ip string }{
		{"registry", module + "/auth"},
		{"layout", module + "/manifest"},
		{"cmd/skiff", module + "/registry"},
		{"tarball", "archive/tar"},
		{"tarball", module + "/internal/pgzip"},
		{"registry/images", module + "/manifest"},
		{"registry/images", module + "/layout"},
		{"registry/images", module + "/registry"},
		{"registry/mirror", module + "/registry/images"},
		{"registry/server", module + "/layout"},
		{"registry/images/imagestest", module + "/registry/images"},
	}
	for _, g := range good {
		if p := importProblem(g.pkg, g.ip, false); p != "" {
			t.Errorf("%s importing %s refused: %s", g.pkg, g.ip, p)
		}
	}
}
