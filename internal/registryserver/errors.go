package registryserver

import (
	"encoding/json"
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
