package reference

import (
	"errors"
	"strconv"
	"strings"
)

// Errors wrapped by a [*ParseError]; test for them with [errors.Is].
var (
	// ErrEmpty means the input was the empty string.
	ErrEmpty = errors.New("reference: empty reference")
	// ErrInvalidFormat means the input does not follow the grammar.
	ErrInvalidFormat = errors.New("reference: invalid reference format")
	// ErrInvalidTag means the tag does not follow the grammar.
	ErrInvalidTag = errors.New("reference: invalid tag")
	// ErrInvalidDigest means the digest is not sha256 or sha512 in
	// lower-case hex of the exact length.
	ErrInvalidDigest = errors.New("reference: invalid digest")
	// ErrNameTooLong means registry "/" repository exceeds [MaxNameLength].
	ErrNameTooLong = errors.New("reference: repository name must not be more than 255 characters")
	// ErrUppercase means the repository would be valid in lower case.
	ErrUppercase = errors.New("reference: repository name must be lowercase")
	// ErrLooksLikeID means the input is 64 hexadecimal characters, which
	// Docker reads as an image ID rather than a name.
	ErrLooksLikeID = errors.New("reference: name looks like an image ID (64 hexadecimal characters); " +
		"prefix it with docker.io/library/ to use it as a name")
	// ErrTagOrDigest means [ParseName] was given a tag or a digest.
	ErrTagOrDigest = errors.New("reference: a repository name must not have a tag or digest")
)

// maxQuoted caps how much of a bad input an error message repeats.
const maxQuoted = 256

// ParseError records an input that could not be parsed and why.
type ParseError struct {
	Input string // the rejected input
	Err   error  // one of the Err* sentinels, possibly wrapped with detail
}

// Error returns `reference: invalid reference "INPUT": REASON`.
func (e *ParseError) Error() string {
	in := e.Input
	if len(in) > maxQuoted {
		in = in[:maxQuoted] + "..."
	}
	reason := strings.TrimPrefix(e.Err.Error(), "reference: ")
	return "reference: invalid reference " + strconv.Quote(in) + ": " + reason
}

// Unwrap returns e.Err.
func (e *ParseError) Unwrap() error { return e.Err }

func fail(input string, err error) error {
	return &ParseError{Input: input, Err: err}
}
