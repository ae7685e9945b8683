package manifest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// Platform describes the operating system and CPU an image runs on, as in
// an index entry's "platform" field.
type Platform struct {
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	OSVersion    string   `json:"os.version,omitempty"`
	OSFeatures   []string `json:"os.features,omitempty"`
	Variant      string   `json:"variant,omitempty"`
	Features     []string `json:"features,omitempty"`
}

// ParsePlatform parses "os/arch[/variant]", such as "linux/arm64/v8" or
// "linux/amd64". An "os:version" first part, as in "windows:10.0.17763/amd64",
// sets OSVersion. The result is normalized.
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return Platform{}, fmt.Errorf("manifest: invalid platform %q: want os/arch[/variant]", truncate(s, 100))
	}
	var p Platform
	p.OS, p.OSVersion, _ = strings.Cut(parts[0], ":")
	p.Architecture = parts[1]
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	for _, f := range []string{p.OS, p.Architecture, p.Variant} {
		if strings.HasPrefix(f, ".") || strings.ContainsFunc(f, func(r rune) bool { return !isPlatformChar(r) }) {
			return Platform{}, fmt.Errorf("manifest: invalid platform %q: unexpected character", truncate(s, 100))
		}
	}
	return p.Normalize(), nil
}

func isPlatformChar(r rune) bool {
	return r == '_' || r == '-' || r == '.' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
}

// HostPlatform returns the platform of the running program.
func HostPlatform() Platform {
	p := Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm" {
		p.Variant = "v7"
	}
	return p.Normalize()
}

// String returns "os/arch" or "os/arch/variant".
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Normalize returns p with the usual aliases resolved: x86_64 and x86-64 are
// amd64, aarch64 is arm64, arm64's variant v8 is its default and dropped,
// armhf is arm/v7, armel is arm/v6, i386 is 386; OS and architecture are
// lower-cased.
func (p Platform) Normalize() Platform {
	p.OS = strings.ToLower(p.OS)
	p.Architecture = strings.ToLower(p.Architecture)
	p.Variant = strings.ToLower(p.Variant)
	switch p.Architecture {
	case "x86_64", "x86-64", "amd64":
		p.Architecture = "amd64"
		if p.Variant == "v1" {
			p.Variant = ""
		}
	case "aarch64", "arm64":
		p.Architecture = "arm64"
		if p.Variant == "v8" || p.Variant == "8" {
			p.Variant = ""
		}
	case "armhf":
		p.Architecture, p.Variant = "arm", "v7"
	case "armel":
		p.Architecture, p.Variant = "arm", "v6"
	case "i386", "i686", "x86":
		p.Architecture = "386"
	case "arm":
		if p.Variant == "" {
			p.Variant = "v7"
		} else if !strings.HasPrefix(p.Variant, "v") {
			p.Variant = "v" + p.Variant
		}
	}
	return p
}

// Matches reports whether an image for p satisfies a request for want. OS,
// architecture and variant must be equal after normalization; an empty
// field in want matches anything, and so does an OS version in want that is
// empty.
func (p Platform) Matches(want Platform) bool {
	a, b := p.Normalize(), want.Normalize()
	return field(a.OS, b.OS) && field(a.Architecture, b.Architecture) &&
		field(a.Variant, b.Variant) && field(a.OSVersion, b.OSVersion)
}

func field(have, want string) bool { return want == "" || have == want }

// SelectPlatform returns the entry of idx for want, preferring an exact
// variant match; otherwise an error wrapping ErrNoPlatform (and so
// ErrNotFound) that lists the platforms available.
func SelectPlatform(idx *Index, want Platform) (Descriptor, error) {
	var have []string
	for _, d := range idx.Manifests {
		if d.Platform == nil {
			continue
		}
		if d.Platform.Matches(want) {
			return d, nil
		}
		have = append(have, d.Platform.String())
	}
	return Descriptor{}, fmt.Errorf("%w: no manifest for platform %s (available: %v)", ErrNoPlatform, want, have)
}
