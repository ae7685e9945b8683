package registrytest

import (
	"net/http"

	"github.com/skiffoci/skiff/registry/server"
)

// The error codes of the distribution spec, plus the one distribution
// uses for bad pagination parameters.
const (
	CodeBlobUnknown         = server.CodeBlobUnknown
	CodeBlobUploadInvalid   = server.CodeBlobUploadInvalid
	CodeBlobUploadUnknown   = server.CodeBlobUploadUnknown
	CodeDigestInvalid       = server.CodeDigestInvalid
	CodeManifestBlobUnknown = server.CodeManifestBlobUnknown
	CodeManifestInvalid     = server.CodeManifestInvalid
	CodeManifestUnknown     = server.CodeManifestUnknown
	CodeNameInvalid         = server.CodeNameInvalid
	CodeNameUnknown         = server.CodeNameUnknown
	CodeSizeInvalid         = server.CodeSizeInvalid
	CodeTagInvalid          = server.CodeTagInvalid
	CodeUnauthorized        = server.CodeUnauthorized
	CodeDenied              = server.CodeDenied
	CodeUnsupported         = server.CodeUnsupported
	CodeTooManyRequests     = server.CodeTooManyRequests
	CodeUnknown             = server.CodeUnknown
	CodePaginationInvalid   = server.CodePaginationInvalid
)

func writeError(w http.ResponseWriter, status int, code string, detail any) {
	server.WriteError(w, status, code, detail)
}

// codeForStatus picks the error code a fault with status answers with.
func codeForStatus(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return CodeTooManyRequests
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeDenied
	case http.StatusNotFound:
		return CodeNameUnknown
	case http.StatusMethodNotAllowed:
		return CodeUnsupported
	}
	return CodeUnknown
}
