package registry

import (
	"context"
	"errors"
	"net/http"

	"github.com/skiffoci/skiff/manifest"
)

// Answers of real registries that depart from the spec and that the
// client works around here. Each names where it was recorded; the test
// registry emulates them (internal/registrytest, Quirk).

// tagHolds reports whether a refused manifest PUT to tag refused only
// because tag is immutable and already names desc: ECR answers 400
// TAG_INVALID (moby/buildkit#3776), Harbor 412 (goharbor/harbor#9427),
// Docker Hub 403. Pushing the same image again then changes nothing, and
// is no error.
func (r *Repository) tagHolds(ctx context.Context, tag string, desc manifest.Descriptor, err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch {
	case e.Status == http.StatusBadRequest && e.hasCode("TAG_INVALID"),
		e.Status == http.StatusForbidden, e.Status == http.StatusConflict, e.Status == http.StatusPreconditionFailed:
	default:
		return false
	}
	got, rerr := r.Resolve(ctx, tag)
	return rerr == nil && got.Digest == desc.Digest
}

// mountRefused turns a mount request refused outright into "not
// mounted": Harbor answers a mount from a project it does not have with
// 401 (goharbor/harbor#17097) where the spec asks for a 202 and an upload
// session, and registries behind access rules answer 403 or 404 alike.
// The blob is then pushed, which fails in its own right if the target
// refuses it.
func mountRefused(err error) error {
	if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrDenied) || errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
