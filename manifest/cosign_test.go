package manifest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

// CosignTag is the one place cosign's tags are named, IsCosignTag the one
// place they are recognised: every tag CosignTag makes, IsCosignTag knows.
func TestCosignTag(t *testing.T) {
	d := manifest.FromString("image")
	for _, suffix := range manifest.CosignSuffixes {
		tag, err := manifest.CosignTag(d, suffix)
		if err != nil || tag != "sha256-"+d.Hex()+suffix || !manifest.IsCosignTag(tag) {
			t.Errorf("CosignTag(%s, %q) = %q, %v", d, suffix, tag, err)
		}
	}
	sha512 := manifest.Digest("sha512:" + strings.Repeat("ab", 64))
	if tag, err := manifest.CosignTag(sha512, ".sig"); err == nil || !strings.Contains(err.Error(), "128 characters") {
		t.Errorf("a sha512 digest's tag: %q, %v; want an error: no tag can be that long", tag, err)
	}
	if _, err := manifest.CosignTag("sha256:../x", ".sig"); !errors.Is(err, manifest.ErrInvalidDigest) {
		t.Errorf("a malformed digest: %v, want ErrInvalidDigest", err)
	}
	for _, tag := range []string{"latest", "sha256-" + d.Hex(), "sha256-" + d.Hex() + ".bak", "sha256-abc.sig"} {
		if manifest.IsCosignTag(tag) {
			t.Errorf("IsCosignTag(%q) = true", tag)
		}
	}
}
