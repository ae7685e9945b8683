//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// stderrMode is where a tool's stderr goes, as users run tools: on a
// terminal, thrown away (cron: 2>/dev/null), or into a pipe (CI logs).
type stderrMode string

const (
	stderrTTY  stderrMode = "tty"  // a pseudo-terminal the harness drains
	stderrNull stderrMode = "null" // /dev/null
	stderrPipe stderrMode = "pipe" // a pipe the harness drains
)

var stderrModes = []stderrMode{stderrTTY, stderrNull, stderrPipe}

// describe says where stderr went, for the report.
func (m stderrMode) describe() string {
	switch m {
	case stderrTTY:
		return "a terminal (pty)"
	case stderrNull:
		return "/dev/null"
	case stderrPipe:
		return "a pipe"
	}
	return string(m)
}

func parseStderrMode(s string) (stderrMode, error) {
	for _, m := range stderrModes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("-stderr %q: want tty, null or pipe", s)
}

// Window size of the harness's terminal.
const ttyRows, ttyCols = 40, 120

// drainWait bounds the wait for a drained stderr to reach its end after the
// child exited: only a grandchild that kept the descriptor could delay it.
const drainWait = 10 * time.Second

// stderrSink is one child's stderr: the file the child gets and, for a
// terminal or a pipe, the harness's end, drained into a bounded buffer by a
// goroutine so that the child never blocks on a full terminal or pipe.
type stderrSink struct {
	child  *os.File // given to the child; closed in the harness once started
	reader *os.File // the harness's end, or nil for /dev/null
	buf    *tailBuffer
	done   chan struct{}
}

// openStderr makes the sink for mode; keep is how many bytes of the end of
// what the child writes are kept.
func openStderr(mode stderrMode, keep int) (*stderrSink, error) {
	s := &stderrSink{buf: &tailBuffer{max: keep}, done: make(chan struct{})}
	var err error
	switch mode {
	case stderrNull:
		s.child, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		close(s.done)
		return s, err
	case stderrPipe:
		s.reader, s.child, err = os.Pipe()
	case stderrTTY:
		s.reader, s.child, err = openPTY(ttyRows, ttyCols)
	default:
		err = fmt.Errorf("unknown stderr mode %q", mode)
	}
	if err != nil {
		return nil, err
	}
	go s.drain()
	return s, nil
}

// drain copies the harness's end into the buffer until the last writer is
// gone: EOF for a pipe, EIO for a terminal's master.
func (s *stderrSink) drain() {
	defer close(s.done)
	io.Copy(s.buf, s.reader)
}

// started closes the harness's copy of the child's end, so that the drain
// ends when the child's copies are gone.
func (s *stderrSink) started() {
	s.child.Close()
}

// finish waits for the drain and returns what the child wrote (its tail).
func (s *stderrSink) finish() string {
	s.child.Close()
	select {
	case <-s.done:
	case <-time.After(drainWait):
	}
	if s.reader != nil {
		s.reader.Close()
		<-s.done
	}
	return s.buf.String()
}

// openPTY allocates a pseudo-terminal of rows × cols and returns its
// master and slave.
func openPTY(rows, cols uint16) (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening a terminal: %w", err)
	}
	var n uint32
	unlock := int32(0)
	ws := struct{ row, col, x, y uint16 }{rows, cols, 0, 0}
	err = control(master, func(fd uintptr) error {
		if err := ioctl(fd, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
			return fmt.Errorf("TIOCSPTLCK: %w", err)
		}
		if err := ioctl(fd, syscall.TIOCSWINSZ, unsafe.Pointer(&ws)); err != nil {
			return fmt.Errorf("TIOCSWINSZ: %w", err)
		}
		if err := ioctl(fd, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
			return fmt.Errorf("TIOCGPTN: %w", err)
		}
		return nil
	})
	if err == nil {
		slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	}
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("opening a terminal: %w", err)
	}
	return master, slave, nil
}

func control(f *os.File, do func(fd uintptr) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var derr error
	if err := rc.Control(func(fd uintptr) { derr = do(fd) }); err != nil {
		return err
	}
	return derr
}

func ioctl(fd, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
	cut bool // bytes were dropped from the front
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 2*t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
		t.cut = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, cut := t.b, t.cut
	if len(s) > t.max {
		s, cut = s[len(s)-t.max:], true
	}
	if cut {
		return "…" + string(s)
	}
	return string(s)
}
