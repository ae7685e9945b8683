package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// DefaultHelperTimeout bounds each run of a credential helper when
// Store.HelperTimeout is zero.
const DefaultHelperTimeout = 30 * time.Second

// tokenUsername is the Username a credential helper reports, and is
// given, for an identity token.
const tokenUsername = "<token>"

// errHelperNotFound is a helper's "credentials not found" answer.
var errHelperNotFound = errors.New("credentials not found")

// validHelperName reports whether name fits ^[A-Za-z0-9][A-Za-z0-9._-]*$,
// so that docker-credential-<name> is a plain program name.
func validHelperName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return name != ""
}

// helper runs docker-credential-<name> programs, as described in
// https://github.com/docker/docker-credential-helpers: the verb is the
// only argument, the input comes on stdin, no shell is involved.
type helper struct {
	name     string
	lookPath func(string) (string, error)
	timeout  time.Duration
}

// helperPayload is the JSON a helper reads on store and prints on get.
type helperPayload struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

func (h helper) program() string { return "docker-credential-" + h.name }

// get asks the helper for server's credential; ok is false when the
// helper has none.
func (h helper) get(ctx context.Context, server string) (c Credential, ok bool, err error) {
	out, err := h.run(ctx, "get", []byte(server))
	if errors.Is(err, errHelperNotFound) {
		return Credential{}, false, nil
	}
	if err != nil {
		return Credential{}, false, err
	}
	var p helperPayload
	if err := json.Unmarshal(out, &p); err != nil {
		return Credential{}, false, &HelperError{Helper: h.program(), Verb: "get", Err: errors.New(jsonProblem(err))}
	}
	if p.Username == tokenUsername {
		return Credential{IdentityToken: p.Secret}, p.Secret != "", nil
	}
	c = Credential{Username: p.Username, Password: p.Secret}
	return c, c != (Credential{}), nil
}

// store gives the helper server's credential.
func (h helper) store(ctx context.Context, server string, c Credential) error {
	p := helperPayload{ServerURL: server, Username: c.Username, Secret: c.Password}
	switch {
	case c.RegistryToken != "":
		return &HelperError{Helper: h.program(), Verb: "store", Err: errors.New("a registry token cannot be stored in a credential helper")}
	case c.IdentityToken != "":
		p.Username, p.Secret = tokenUsername, c.IdentityToken
	}
	in, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = h.run(ctx, "store", in)
	return err
}

// erase removes server's credential from the helper; a credential it does
// not have is not an error.
func (h helper) erase(ctx context.Context, server string) error {
	_, err := h.run(ctx, "erase", []byte(server))
	if errors.Is(err, errHelperNotFound) {
		return nil
	}
	return err
}

// run runs the helper with verb, feeding it stdin, and returns its
// standard output, which is never part of an error.
func (h helper) run(ctx context.Context, verb string, stdin []byte) ([]byte, error) {
	fail := func(err error) error { return &HelperError{Helper: h.program(), Verb: verb, Err: err} }
	if !validHelperName(h.name) {
		return nil, fmt.Errorf("%w %q", ErrBadHelper, h.name)
	}
	path, err := h.lookPath(h.program())
	if err != nil {
		return nil, fail(err) // errors.Is(err, exec.ErrNotFound) when it is not installed
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	stdout := &cappedBuffer{limit: MaxHelperOutput, cancel: cancel}
	stderr := &cappedBuffer{limit: 4 << 10}
	cmd := exec.CommandContext(ctx, path, verb)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	switch {
	case stdout.over:
		return nil, fail(&LimitError{What: "credential helper output", Limit: MaxHelperOutput})
	case ctx.Err() == context.DeadlineExceeded && err != nil:
		return nil, fail(fmt.Errorf("timed out after %v", h.timeout))
	case err != nil && notFound(stdout, stderr):
		return nil, errHelperNotFound
	case err != nil:
		return nil, fail(errors.New(exitText(err)))
	}
	return stdout.buf.Bytes(), nil
}

// notFound recognises the helpers' "credentials not found in native
// keychain" message.
func notFound(outs ...*cappedBuffer) bool {
	for _, o := range outs {
		if strings.Contains(strings.ToLower(o.buf.String()), "credentials not found") {
			return true
		}
	}
	return false
}

// exitText describes how a helper failed without quoting its output.
func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	return err.Error() // exec's own errors name the program, not its output
}

// cappedBuffer keeps the first limit bytes written to it. Past the limit
// it records the overflow and calls cancel, which stops the helper.
type cappedBuffer struct {
	buf    bytes.Buffer
	limit  int
	over   bool
	cancel func()
}

// Write keeps what fits and never fails, so the helper is not blocked.
func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); len(p) > room {
		b.buf.Write(p[:max(room, 0)])
		if !b.over && b.cancel != nil {
			b.cancel()
		}
		b.over = true
		return len(p), nil
	}
	return b.buf.Write(p)
}
