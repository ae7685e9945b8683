package archtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestReliabilityMap checks internal/registrytest/RELIABILITY.md: every
// line of RELIABILITY.md has a row, and every test a row names exists.
func TestReliabilityMap(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "internal", "registrytest", "RELIABILITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| (\\d+) \\|[^|]*\\| (.*) \\|$").FindAllStringSubmatch(string(raw), -1)
	seen := map[int]bool{}
	for _, row := range rows {
		n, _ := strconv.Atoi(row[1])
		seen[n] = true
		tests := regexp.MustCompile("`([a-z0-9/]+)\\.((?:Test|Fuzz)\\w+)`").FindAllStringSubmatch(row[2], -1)
		if len(tests) == 0 && !strings.HasPrefix(row[2], "pending:") {
			t.Errorf("line %d names no test and is not marked pending", n)
		}
		for _, tt := range tests {
			if !testExists(t, filepath.Join(root, tt[1]), tt[2]) {
				t.Errorf("line %d names %s.%s, which does not exist", n, tt[1], tt[2])
			}
		}
	}
	for n := 1; n <= 52; n++ {
		if !seen[n] {
			t.Errorf("RELIABILITY.md line %d has no row in the map", n)
		}
	}
}

// testExists reports whether a _test.go file in dir declares func name.
func testExists(t *testing.T, dir, name string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	decl := regexp.MustCompile(`(?m)^func ` + name + `\(`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if decl.Match(b) {
			return true
		}
	}
	return false
}
