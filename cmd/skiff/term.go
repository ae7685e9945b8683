package main

import (
	"io"
	"os"
)

// isTerminal reports whether w is a terminal: an *os.File whose descriptor
// answers the terminal's own query (an ioctl on Unix, GetConsoleMode on
// Windows). /dev/null, pipes and regular files are not terminals, though
// /dev/null is a character device.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && f != nil && fdIsTerminal(f.Fd())
}

// asTerminal returns r as a file when it is a terminal.
func asTerminal(r io.Reader) (*os.File, bool) {
	f, ok := r.(*os.File)
	return f, ok && isTerminal(f)
}
