package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/progress"
	"github.com/skiffoci/skiff/internal/registrytest"
)

// TestIsTerminalSaysNo: /dev/null is a character device but no terminal,
// and neither are pipes, regular files or buffers.
func TestIsTerminalSaysNo(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var nilFile *os.File
	for name, w := range map[string]any{"/dev/null": null, "pipe writer": w, "pipe reader": r, "regular file": file, "buffer": &strings.Builder{}, "nil file": nilFile} {
		if isTerminal(w) {
			t.Errorf("isTerminal(%s) = true", name)
		}
	}
}

// TestBlobToDevNull: "skiff blob REF - > /dev/null" runs, as cat does.
func TestBlobToDevNull(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := seedImage(t, srv, "demo/app:1", 50000)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	var stderr strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: null, stderr: &stderr, getenv: func(string) string { return "" }}
	ref := srv.Host + "/demo/app@" + string(im.Manifest.Manifest.Layers[0].Digest)
	if code := e.run(t.Context(), []string{"blob", ref, "-"}); code != exitOK {
		t.Fatalf("skiff blob %s - > /dev/null: exit %d, %s", ref, code, stderr.String())
	}
}

// TestProgressAutoOffForDevNull: a cron job's 2>/dev/null gets no
// progress, as with a pipe.
func TestProgressAutoOffForDevNull(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	o := options{progress: "auto"}
	d, err := o.display(&env{stderr: null})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Mode() != progress.Off {
		t.Fatalf("--progress auto with stderr on /dev/null: mode %v, want off", d.Mode())
	}
}
