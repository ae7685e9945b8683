package mirror

import (
	"strings"
	"testing"
)

// What sync leaves to its image: cosign's tags (manifest.IsCosignTag
// decides) and the referrers tag schema's "sha256-HEX".
func TestAttachedTag(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for tag, want := range map[string]bool{
		"sha256-" + hex: true, "sha256-" + hex + ".sig": true, "sha256-" + hex + ".att": true, "sha256-" + hex + ".sbom": true,
		"sha256-" + hex + ".bak": false, "sha256-abc.sig": false, "latest": false, "sha256-" + strings.ToUpper(hex): false, "md5-" + hex: false,
	} {
		if got := attachedTag(tag); got != want {
			t.Errorf("attachedTag(%q) = %v", tag, got)
		}
	}
}
