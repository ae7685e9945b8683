package manifest_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

func TestParsePlatform(t *testing.T) {
	tests := []struct{ in, want string }{
		{"linux/amd64", "linux/amd64"},
		{"linux/x86_64", "linux/amd64"},
		{"Linux/AMD64", "linux/amd64"},
		{"linux/arm64/v8", "linux/arm64"},
		{"linux/aarch64", "linux/arm64"},
		{"linux/arm", "linux/arm/v7"},
		{"linux/arm/6", "linux/arm/v6"},
		{"linux/armhf", "linux/arm/v7"},
		{"linux/i386", "linux/386"},
		{"linux/riscv64", "linux/riscv64"},
		{"windows:10.0.17763.1/amd64", "windows/amd64"},
	}
	for _, tt := range tests {
		p, err := manifest.ParsePlatform(tt.in)
		if err != nil || p.String() != tt.want {
			t.Errorf("ParsePlatform(%q) = %q, %v; want %q", tt.in, p, err, tt.want)
		}
	}
	if p, _ := manifest.ParsePlatform("windows:10.0.17763.1/amd64"); p.OSVersion != "10.0.17763.1" {
		t.Errorf("OSVersion = %q", p.OSVersion)
	}
	for _, bad := range []string{"", "linux", "linux/", "/amd64", "linux/amd64/v1/x", "linux/am d64", "linux/../x"} {
		if _, err := manifest.ParsePlatform(bad); err == nil {
			t.Errorf("ParsePlatform(%q) succeeded", bad)
		}
	}
}

func TestPlatformMatches(t *testing.T) {
	img := func(os, arch, variant string) manifest.Platform {
		return manifest.Platform{OS: os, Architecture: arch, Variant: variant}
	}
	tests := []struct {
		have manifest.Platform
		want string
		ok   bool
	}{
		{img("linux", "arm64", "v8"), "linux/arm64", true},
		{img("linux", "arm64", ""), "linux/arm64/v8", true},
		{img("linux", "x86_64", ""), "linux/amd64", true},
		{img("linux", "arm", "v7"), "linux/arm", true},
		{img("linux", "arm", "v6"), "linux/arm", false},
		{img("linux", "arm", "v6"), "linux/arm/v6", true},
		{img("linux", "amd64", ""), "linux/arm64", false},
		{img("windows", "amd64", ""), "linux/amd64", false},
	}
	for _, tt := range tests {
		want, err := manifest.ParsePlatform(tt.want)
		if err != nil {
			t.Fatal(err)
		}
		if got := tt.have.Matches(want); got != tt.ok {
			t.Errorf("%v.Matches(%s) = %v, want %v", tt.have, tt.want, got, tt.ok)
		}
	}
}

func TestHostPlatform(t *testing.T) {
	p := manifest.HostPlatform()
	if p.OS != runtime.GOOS || p.Architecture != runtime.GOARCH {
		t.Fatalf("HostPlatform() = %v", p)
	}
}

// A platform an index lacks is ErrNoPlatform, which is ErrNotFound too;
// a missing tag is ErrNotFound alone.
func TestSelectPlatformErrNoPlatform(t *testing.T) {
	idx := &manifest.Index{Manifests: []manifest.Descriptor{{Digest: manifest.Digest("sha256:" + strings.Repeat("a", 64)), Platform: &manifest.Platform{OS: "linux", Architecture: "amd64"}}}}
	_, err := manifest.SelectPlatform(idx, manifest.Platform{OS: "linux", Architecture: "s390x"})
	if !errors.Is(err, manifest.ErrNoPlatform) || !errors.Is(err, manifest.ErrNotFound) || !strings.Contains(err.Error(), "linux/amd64") {
		t.Fatalf("error %v: want ErrNoPlatform and ErrNotFound, naming the platforms available", err)
	}
	if errors.Is(fmt.Errorf("tag v1: %w", manifest.ErrNotFound), manifest.ErrNoPlatform) {
		t.Fatal("a missing tag matched ErrNoPlatform")
	}
}
