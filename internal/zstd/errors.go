package zstd

import (
	"errors"
	"fmt"
)

// The errors a Reader returns wrap one of these, so callers can tell them
// apart with errors.Is. Input that ends inside a frame wraps
// io.ErrUnexpectedEOF instead.
var (
	// ErrCorrupt is wrapped by every error about malformed input.
	ErrCorrupt = errors.New("zstd: corrupt input")
	// ErrChecksum means a frame's content checksum did not match the
	// decoded bytes.
	ErrChecksum = errors.New("zstd: content checksum mismatch")
	// ErrWindowTooLarge means a frame asks for a window (the memory a
	// decoder must keep) above Options.MaxWindow.
	ErrWindowTooLarge = errors.New("zstd: window too large")
	// ErrDictionary means a frame needs a dictionary; this package has
	// none to offer.
	ErrDictionary = errors.New("zstd: frame needs a dictionary")
)

// corruptError is a malformed-input error: ErrCorrupt with what was wrong.
type corruptError struct{ msg string }

func (e *corruptError) Error() string { return "zstd: corrupt input: " + e.msg }
func (e *corruptError) Unwrap() error { return ErrCorrupt }

func corruptf(format string, args ...any) error {
	if len(args) == 0 {
		return &corruptError{msg: format}
	}
	return &corruptError{msg: fmt.Sprintf(format, args...)}
}
