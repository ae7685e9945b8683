package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/manifest"
)

// Sentinel errors that Error matches with errors.Is, however the registry
// phrased them.
var (
	// ErrNotFound matches 404s and the spec's *_UNKNOWN codes. It is
	// manifest.ErrNotFound, so it also matches what every other store
	// (a layout, a tarball) and registry/images report missing: a tag, a
	// blob, a platform an index lacks.
	ErrNotFound        = manifest.ErrNotFound
	ErrUnauthorized    = errors.New("unauthorized")
	ErrDenied          = errors.New("denied")
	ErrTooManyRequests = errors.New("too many requests")
	ErrUnsupported     = errors.New("unsupported")
)

// MaxErrorBody is how much of an error response's body Error keeps.
const MaxErrorBody = 64 << 10

// Error is a failed registry request: the method, the URL with secrets
// removed, the status, and the error codes and messages of the spec's error
// body, which is kept up to MaxErrorBody bytes.
type Error struct {
	Method string
	URL    string // redacted
	Status int
	Codes  []ErrorCode
	Body   string // capped; only when it was not a spec error body

	cut bool // the body was longer than MaxErrorBody
}

// ErrorCode is one entry of the spec's error body.
type ErrorCode struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "registry: %s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	for _, c := range e.Codes {
		fmt.Fprintf(&b, "; %s", c.Code)
		if c.Message != "" {
			fmt.Fprintf(&b, ": %s", c.Message)
		}
		if d := c.detailText(); d != "" && !strings.Contains(c.Message, d) {
			fmt.Fprintf(&b, " (%s)", d)
		}
	}
	if len(e.Codes) == 0 && e.Body != "" {
		fmt.Fprintf(&b, ": %s", oneLine(e.Body, 200))
	}
	if e.cut {
		fmt.Fprintf(&b, " (error body longer than %d KiB, cut)", MaxErrorBody>>10)
	}
	return b.String()
}

// Is matches the sentinel errors of this package and
// errors.ErrUnsupported (as ErrUnsupported).
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound || e.hasCode("BLOB_UNKNOWN", "MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UPLOAD_UNKNOWN") ||
			e.missingTag403()
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.hasCode("UNAUTHORIZED")
	case ErrDenied:
		return e.Status == http.StatusForbidden || e.hasCode("DENIED")
	case ErrTooManyRequests:
		return e.Status == http.StatusTooManyRequests || e.hasCode("TOOMANYREQUESTS")
	case ErrUnsupported, errors.ErrUnsupported:
		return e.Status == http.StatusMethodNotAllowed || e.hasCode("UNSUPPORTED")
	}
	return false
}

// missingTag403 reports Artifactory's answer to a read of a tag it does
// not have: 403 with code UNAUTHORIZED, which it also gives when the tag
// exists and may not be read (sigstore/cosign#2973). It counts as not
// found too, so that looking for a tag to create (a signature, a sync
// target) goes on; a real refusal shows when the tag is written.
func (e *Error) missingTag403() bool {
	read := e.Method == http.MethodGet || e.Method == http.MethodHead
	return read && e.Status == http.StatusForbidden && e.hasCode("UNAUTHORIZED") && strings.Contains(e.URL, "/manifests/")
}

func (e *Error) hasCode(codes ...string) bool {
	for _, c := range e.Codes {
		for _, want := range codes {
			if c.Code == want {
				return true
			}
		}
	}
	return false
}

// detailText is the detail of an error code when it is words: a string,
// or an object's "message" (as Quay sends it). Registries put there what
// their message leaves out, such as which media type they refused.
func (c ErrorCode) detailText() string {
	var s string
	if json.Unmarshal(c.Detail, &s) != nil {
		var obj struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(c.Detail, &obj) != nil {
			return ""
		}
		s = obj.Message
	}
	return auth.Redact(oneLine(s, 300))
}

// newError reads (a capped part of) resp's body into an *Error.
func newError(resp *http.Response) *Error {
	e := &Error{Method: resp.Request.Method, URL: auth.RedactURL(resp.Request.URL), Status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody+1))
	if len(body) > MaxErrorBody {
		body, e.cut = body[:MaxErrorBody], true
	}
	var spec struct {
		Errors []ErrorCode `json:"errors"`
	}
	if json.Unmarshal(body, &spec) == nil && len(spec.Errors) > 0 {
		e.Codes = spec.Errors
		if len(e.Codes) > 16 {
			e.Codes = e.Codes[:16]
		}
		for i := range e.Codes {
			e.Codes[i].Message = auth.Redact(oneLine(e.Codes[i].Message, 500))
		}
	} else {
		e.Body = auth.Redact(string(body))
	}
	return e
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
