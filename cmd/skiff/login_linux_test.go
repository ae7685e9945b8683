//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadPasswordRefusesNonTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "not-a-tty"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := loginReadPassword(f); err == nil || !strings.Contains(err.Error(), "--password-stdin") {
		t.Fatalf("reading a password from a file: %v", err)
	}
}
