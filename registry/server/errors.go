package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// The error codes of the distribution spec, plus the one distribution
// uses for bad pagination parameters.
const (
	CodeBlobUnknown         = "BLOB_UNKNOWN"
	CodeBlobUploadInvalid   = "BLOB_UPLOAD_INVALID"
	CodeBlobUploadUnknown   = "BLOB_UPLOAD_UNKNOWN"
	CodeDigestInvalid       = "DIGEST_INVALID"
	CodeManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
	CodeManifestInvalid     = "MANIFEST_INVALID"
	CodeManifestUnknown     = "MANIFEST_UNKNOWN"
	CodeNameInvalid         = "NAME_INVALID"
	CodeNameUnknown         = "NAME_UNKNOWN"
	CodeSizeInvalid         = "SIZE_INVALID"
	CodeTagInvalid          = "TAG_INVALID"
	CodeUnauthorized        = "UNAUTHORIZED"
	CodeDenied              = "DENIED"
	CodeUnsupported         = "UNSUPPORTED"
	CodeTooManyRequests     = "TOOMANYREQUESTS"
	CodeUnknown             = "UNKNOWN"
	CodePaginationInvalid   = "PAGINATION_NUMBER_INVALID"
)

// messages are distribution's messages for each code.
var messages = map[string]string{
	CodeBlobUnknown:         "blob unknown to registry",
	CodeBlobUploadInvalid:   "blob upload invalid",
	CodeBlobUploadUnknown:   "blob upload unknown to registry",
	CodeDigestInvalid:       "provided digest did not match uploaded content",
	CodeManifestBlobUnknown: "blob unknown to registry",
	CodeManifestInvalid:     "manifest invalid",
	CodeManifestUnknown:     "manifest unknown",
	CodeNameInvalid:         "invalid repository name",
	CodeNameUnknown:         "repository name not known to registry",
	CodeSizeInvalid:         "provided length did not match content length",
	CodeTagInvalid:          "manifest tag did not match URI",
	CodeUnauthorized:        "authentication required",
	CodeDenied:              "requested access to the resource is denied",
	CodeUnsupported:         "The operation is unsupported.",
	CodeTooManyRequests:     "too many requests",
	CodeUnknown:             "unknown error",
	CodePaginationInvalid:   "invalid number of results requested",
}

// apiError is one entry of a spec error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// errorBody is the body of every error response.
type errorBody struct {
	Errors []apiError `json:"errors"`
}

// newError returns an error with code's standard message, or message when
// it is not empty.
func newError(code, message string, detail any) apiError {
	if message == "" {
		message = messages[code]
	}
	return apiError{Code: code, Message: message, Detail: detail}
}

// writeErrors answers with status and a spec error body. On HEAD the
// headers, Content-Length included, are sent without the body.
func writeErrors(w http.ResponseWriter, status int, errs ...apiError) {
	b, _ := json.Marshal(errorBody{Errors: errs})
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// writeError answers with status and a single error.
func writeError(w http.ResponseWriter, status int, code string, detail any) {
	writeErrors(w, status, newError(code, "", detail))
}

// WriteError answers with status and a spec error body holding one error
// with code, its standard message and detail (left out when nil).
func WriteError(w http.ResponseWriter, status int, code string, detail any) {
	writeError(w, status, code, detail)
}

// noSpace is what a client is told when the registry's disk is full.
const noSpace = "no space left on the registry's disk"

// internalError answers for a request the registry could not serve by its
// own failure, and logs it in one line on Options.ErrorLog. A write that
// failed for lack of space gets 507 Insufficient Storage (RFC 4918,
// 11.5: the server "is unable to store the representation needed to
// complete the request"): the distribution spec names no status or code
// for a full disk, and distribution itself answers 500 UNKNOWN, which
// says nothing and which clients retry. 507 is still a 5xx, the server's
// failure, and is not retried by skiff; the body's code is UNKNOWN, since
// the spec's codes name what a client did wrong. Anything else is 500
// UNKNOWN with the error.
func (s *Server) internalError(w http.ResponseWriter, err error) {
	var ne *NameError
	var full *indexFullError
	switch {
	case errors.As(err, &ne):
		nameInvalid(w, ne)
	case errors.As(err, &full):
		s.indexFull(w, full)
	case diskFull(err):
		s.logf("%s, answered 507: %v", noSpace, err)
		writeErrors(w, http.StatusInsufficientStorage, newError(CodeUnknown, noSpace, nil))
	default:
		s.logf("answered 500: %v", err)
		writeError(w, http.StatusInternalServerError, CodeUnknown, err.Error())
	}
}

// indexFull answers an edit refused because it would grow a repository's
// index.json past what the server reads back: 403 DENIED, saying so, and
// a line on Options.ErrorLog. Neither the spec nor distribution, which
// keeps no such file, names an answer. 413 is the spec's for a manifest
// larger than the registry takes, and would send the user to shrink a
// manifest that is fine; 400 MANIFEST_INVALID or TAG_INVALID would say
// the same of the manifest or the tag. What refuses here is the state of
// the repository, and the same request goes through once manifests are
// deleted: Harbor answers a push past a project's quota 403 DENIED
// (goharbor/harbor#8688), this server a delete refused by what the
// repository holds 405 DENIED, and no client retries a 403.
func (s *Server) indexFull(w http.ResponseWriter, full *indexFullError) {
	s.logf("answered 403: %v (it would be %d bytes)", full, full.size)
	writeErrors(w, http.StatusForbidden, newError(CodeDenied, full.message(), nil))
}

// nameInvalid answers 400 NAME_INVALID for a name the storage refuses,
// saying why.
func nameInvalid(w http.ResponseWriter, ne *NameError) {
	writeErrors(w, http.StatusBadRequest, newError(CodeNameInvalid, messages[CodeNameInvalid]+": "+ne.Reason, map[string]string{"name": truncate(ne.Name, 300)}))
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.ErrorLog != nil {
		s.opts.ErrorLog.Printf(format, args...)
	}
}
