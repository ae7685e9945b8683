package auth

import (
	"errors"
	"fmt"
	"net/http"
)

// Limits on untrusted input.
const (
	// MaxHeaderBytes is the largest WWW-Authenticate header, all lines
	// together, that ParseChallenges and ParseHeader accept.
	MaxHeaderBytes = 16 << 10
	// MaxTokenBytes is the largest token server response accepted.
	MaxTokenBytes = 1 << 20
	// MaxHelperOutput is the most a credential helper may print.
	MaxHelperOutput = 1 << 20
	// MaxConfigBytes is the largest config.json or auth.json read.
	MaxConfigBytes = 4 << 20
)

var (
	// ErrInsecureRealm reports a bearer realm on plain HTTP for a registry
	// reached over HTTPS. Nothing is sent to such a realm.
	ErrInsecureRealm = errors.New("auth: refusing plain-http token realm for an https registry")
	// ErrBadRealm reports a bearer realm that is not an absolute http or
	// https URL, or that carries user information. (A challenge with no
	// realm at all is not an error: its 401 is returned as it is.)
	ErrBadRealm = errors.New("auth: invalid token realm")
	// ErrNoConfig reports that a Store has no docker config file to write:
	// DockerConfig is empty and Getenv is nil or finds no home directory.
	ErrNoConfig = errors.New("auth: no docker config file configured")
	// ErrBadHelper reports a credential helper name that is not a plain
	// program name suffix such as "desktop" or "ecr-login".
	ErrBadHelper = errors.New("auth: invalid credential helper name")
)

// LimitError reports input larger than a limit of this package.
type LimitError struct {
	What  string // what was too large, e.g. "token response"
	Limit int64  // the limit in bytes
}

// Error says what was too large and the limit.
func (e *LimitError) Error() string {
	return fmt.Sprintf("auth: %s exceeds %d bytes", e.What, e.Limit)
}

// SyntaxError reports a WWW-Authenticate header that cannot be parsed.
type SyntaxError struct {
	Offset int    // byte offset of the problem in the header
	Msg    string // what was wrong
}

// Error says where the header is malformed and how.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("auth: invalid WWW-Authenticate header at offset %d: %s", e.Offset, e.Msg)
}

// TokenError reports a token server that refused to issue a token or
// answered with something that is not a token.
type TokenError struct {
	Realm      string // the token server URL, redacted
	StatusCode int    // the HTTP status, 0 if the problem is the body
	Message    string // the server's explanation, redacted; may be empty
}

// Error names the token server, its status and its explanation.
func (e *TokenError) Error() string {
	s := "auth: token server " + e.Realm
	if e.StatusCode != 0 {
		s += ": " + fmt.Sprint(e.StatusCode) + " " + http.StatusText(e.StatusCode)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// HelperError reports a credential helper that failed.
type HelperError struct {
	Helper string // the program name, e.g. "docker-credential-desktop"
	Verb   string // "get", "store" or "erase"
	Err    error  // why it failed; never the helper's output
}

// Error names the helper, the verb and why it failed.
func (e *HelperError) Error() string {
	return fmt.Sprintf("auth: credential helper %s %s: %v", e.Helper, e.Verb, e.Err)
}

// Unwrap returns Err.
func (e *HelperError) Unwrap() error { return e.Err }
