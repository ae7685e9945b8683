package registrytest

import (
	"net/http"

	"github.com/skiffoci/skiff/internal/registryserver"
)

// The error codes of the distribution spec, plus the one distribution
// uses for bad pagination parameters.
const (
	CodeBlobUnknown         = registryserver.CodeBlobUnknown
	CodeBlobUploadInvalid   = registryserver.CodeBlobUploadInvalid
	CodeBlobUploadUnknown   = registryserver.CodeBlobUploadUnknown
	CodeDigestInvalid       = registryserver.CodeDigestInvalid
	CodeManifestBlobUnknown = registryserver.CodeManifestBlobUnknown
	CodeManifestInvalid     = registryserver.CodeManifestInvalid
	CodeManifestUnknown     = registryserver.CodeManifestUnknown
	CodeNameInvalid         = registryserver.CodeNameInvalid
	CodeNameUnknown         = registryserver.CodeNameUnknown
	CodeSizeInvalid         = registryserver.CodeSizeInvalid
	CodeTagInvalid          = registryserver.CodeTagInvalid
	CodeUnauthorized        = registryserver.CodeUnauthorized
	CodeDenied              = registryserver.CodeDenied
	CodeUnsupported         = registryserver.CodeUnsupported
	CodeTooManyRequests     = registryserver.CodeTooManyRequests
	CodeUnknown             = registryserver.CodeUnknown
	CodePaginationInvalid   = registryserver.CodePaginationInvalid
)

func writeError(w http.ResponseWriter, status int, code string, detail any) {
	registryserver.WriteError(w, status, code, detail)
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
