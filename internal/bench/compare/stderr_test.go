//go:build linux

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

func isTerminal(f *os.File) bool {
	var t syscall.Termios
	return control(f, func(fd uintptr) error { return ioctl(fd, syscall.TCGETS, unsafe.Pointer(&t)) }) == nil
}

func TestStderrSinks(t *testing.T) {
	for _, tc := range []struct {
		mode     stderrMode
		terminal bool
		want     string // what reading back gives
	}{
		{stderrTTY, true, "boom\r\n"}, // the terminal turns \n into \r\n
		{stderrPipe, false, "boom\n"},
		{stderrNull, false, ""},
	} {
		s, err := openStderr(tc.mode, 1024)
		if err != nil {
			t.Fatalf("%s: %v", tc.mode, err)
		}
		if got := isTerminal(s.child); got != tc.terminal {
			t.Errorf("%s: the child's stderr is a terminal: %v, want %v", tc.mode, got, tc.terminal)
		}
		if _, err := s.child.WriteString("boom\n"); err != nil {
			t.Errorf("%s: writing: %v", tc.mode, err)
		}
		s.started()
		if got := s.finish(); got != tc.want {
			t.Errorf("%s: read back %q, want %q", tc.mode, got, tc.want)
		}
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{max: 10}
	for _, s := range []string{"0123456789", "abcdefghij", "ABCDEFGHIJ", "xyz"} {
		b.Write([]byte(s))
	}
	if got := b.String(); got != "…DEFGHIJxyz" {
		t.Errorf("tail = %q, want the last 10 bytes after an ellipsis", got)
	}
	short := &tailBuffer{max: 10}
	short.Write([]byte("abc"))
	if got := short.String(); got != "abc" {
		t.Errorf("tail = %q, want all of it", got)
	}
}

// testRunner builds the rusage helper and returns a runner using it.
func testRunner(t *testing.T, mode stderrMode) *runner {
	t.Helper()
	dir := t.TempDir()
	helper := filepath.Join(dir, "rusage")
	cmd := exec.Command("go", "build", "-o", helper, "../rusage")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the rusage helper: %v\n%s", err, out)
	}
	r, err := newRunner(dir, helper, mode)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRunnerStderrModes runs a shell that reports what its stderr is, then
// fails: the failure must carry what it wrote, read back from the terminal
// or the pipe.
func TestRunnerStderrModes(t *testing.T) {
	r := testRunner(t, stderrTTY)
	script := `if [ -t 2 ]; then echo "a terminal of $(stty size <&2), TERM=$TERM" >&2; else echo "no terminal" >&2; fi; exit 3`
	for _, tc := range []struct {
		mode stderrMode
		want string
	}{
		{stderrTTY, "a terminal of 40 120, TERM=xterm"},
		{stderrPipe, "no terminal"},
		{stderrNull, "(stderr went to /dev/null)"},
	} {
		_, _, err := r.run(context.Background(), invocation{path: "/bin/sh", args: []string{"-c", script}, stderr: tc.mode})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "exit status 3") {
			t.Errorf("%s: error %v, want one saying %q", tc.mode, err, tc.want)
		}
	}
}

func TestRunnerMeasuresCPU(t *testing.T) {
	r := testRunner(t, stderrPipe)
	s, err := r.measure(context.Background(), "/bin/sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
	if err != nil {
		t.Fatal(err)
	}
	if s.user <= 0 || s.cpu() > s.wall+s.wall/10 || s.rss <= 0 {
		t.Errorf("a busy shell measured wall %s, user %s, system %s, RSS %d: want user CPU above zero, CPU no more than the wall time", s.wall, s.user, s.sys, s.rss)
	}
}
