package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// deleteKeptTag checks, after the manifest a tag named was deleted by
// digest, that the registry no longer serves the tag. Some keep it
// (go-containerregistry's registry deletes the digest's entry and leaves
// the tag's); the tag is then deleted by name, and the user told.
func deleteKeptTag(ctx context.Context, e *env, o *options, repo *registry.Repository, ref reference.Reference, digest string) error {
	if ref.Digest != "" || ref.Tag == "" {
		return nil
	}
	kept := func() (bool, error) {
		_, err := repo.Resolve(ctx, ref.Tag)
		if errors.Is(err, registry.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	still, err := kept()
	if err != nil {
		return fmt.Errorf("deleted %s, but checking that tag %s is gone failed: %w", digest, ref.Tag, err)
	}
	if !still {
		return nil
	}
	if err := repo.Untag(ctx, ref.Tag); err != nil {
		return fmt.Errorf("deleted %s, but %s still serves tag %s, and deleting the tag failed: %w", digest, ref.Registry, ref.Tag, err)
	}
	if still, err = kept(); err != nil {
		return fmt.Errorf("deleted %s and tag %s, but checking that the tag is gone failed: %w", digest, ref.Tag, err)
	} else if still {
		return fmt.Errorf("deleted %s and tag %s, but %s still serves the tag", digest, ref.Tag, ref.Registry)
	}
	e.note(o, "skiff: %s kept tag %s after its manifest was deleted by digest; deleted the tag too (other tags naming %s may remain there)\n", ref.Registry, ref.Tag, digest)
	return nil
}
