package layout

import (
	"context"
	"fmt"
	"slices"

	"github.com/skiffoci/skiff/manifest"
)

// Untag removes the index.json entry named name. The content stays in
// blobs/; an unknown name is an error wrapping manifest.ErrNotFound.
func (l *Layout) Untag(ctx context.Context, name string) error {
	found := false
	err := l.editIndex(func(list []manifest.Descriptor) []manifest.Descriptor {
		return slices.DeleteFunc(slices.Clone(list), func(d manifest.Descriptor) bool {
			hit := d.Annotations[RefNameAnnotation] == name
			found = found || hit
			return hit
		})
	})
	if err == nil && !found {
		err = fmt.Errorf("layout: untag %q: %w", name, manifest.ErrNotFound)
	}
	return err
}

// RemoveDescriptor removes every index.json entry, named or not, for the
// manifest or index d. The content stays in blobs/.
func (l *Layout) RemoveDescriptor(ctx context.Context, d manifest.Digest) error {
	return l.editIndex(func(list []manifest.Descriptor) []manifest.Descriptor {
		return slices.DeleteFunc(slices.Clone(list), func(e manifest.Descriptor) bool { return e.Digest == d })
	})
}
