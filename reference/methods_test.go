package reference_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/reference"
)

// TestParseRepositoryInfo adapts distribution/reference's test of the same
// name: every spelling of a name gives the same familiar and full names.
func TestParseRepositoryInfo(t *testing.T) {
	tests := []struct {
		familiar, full, ambiguous, registry, repo string
	}{
		{"fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io", "fooo/bar"},
		{"ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io", "library/ubuntu"},
		{"nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", "", "docker.io", "nonlibrary/ubuntu"},
		{"other/library", "docker.io/other/library", "", "docker.io", "other/library"},
		{"127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase", "", "127.0.0.1:8000", "private/moonbase"},
		{"127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", "", "127.0.0.1:8000", "privatebase"},
		{"example.com/private/moonbase", "example.com/private/moonbase", "", "example.com", "private/moonbase"},
		{"example.com/privatebase", "example.com/privatebase", "", "example.com", "privatebase"},
		{"example.com:8000/private/moonbase", "example.com:8000/private/moonbase", "", "example.com:8000", "private/moonbase"},
		{"example.com:8000/privatebasee", "example.com:8000/privatebasee", "", "example.com:8000", "privatebasee"},
		{"ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base", "index.docker.io/library/ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base"},
		{"foo", "docker.io/library/foo", "docker.io/foo", "docker.io", "library/foo"},
		{"library/foo/bar", "docker.io/library/foo/bar", "", "docker.io", "library/foo/bar"},
		{"store/foo/bar", "docker.io/store/foo/bar", "", "docker.io", "store/foo/bar"},
		{"localhost/foo", "localhost/foo", "", "localhost", "foo"},
		{"docker.io/foo.bar/baz", "docker.io/foo.bar/baz", "", "docker.io", "foo.bar/baz"},
		{"docker.io/localhost/baz", "docker.io/localhost/baz", "", "docker.io", "localhost/baz"},
		{"docker.io/library/" + imgID, "docker.io/library/" + imgID, "docker.io/" + imgID, "docker.io", "library/" + imgID},
	}
	for _, tc := range tests {
		for _, in := range []string{tc.familiar, tc.full, tc.ambiguous} {
			if in == "" {
				continue
			}
			r, err := reference.ParseName(in)
			if err != nil {
				t.Errorf("ParseName(%q): %v", in, err)
				continue
			}
			if r.Familiar() != tc.familiar || r.Name() != tc.full || r.String() != tc.full ||
				r.Registry != tc.registry || r.Repository != tc.repo {
				t.Errorf("ParseName(%q) = %#v: Familiar %q, Name %q, String %q; want %q, %q, %q",
					in, r, r.Familiar(), r.Name(), r.String(), tc.familiar, tc.full, tc.full)
			}
		}
	}
}

func TestStringFamiliarIdentifier(t *testing.T) {
	tests := []struct{ in, str, familiar, id string }{
		{"alpine", "docker.io/library/alpine:latest", "alpine:latest", "latest"},
		{"alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19", "3.19"},
		{"user/repo:tag", "docker.io/user/repo:tag", "user/repo:tag", "tag"},
		{"index.docker.io/library/alpine@" + d256, "docker.io/library/alpine@" + d256, "alpine@" + d256, d256},
		{"busybox:latest@" + dBusy, "docker.io/library/busybox:latest@" + dBusy, "busybox:latest@" + dBusy, dBusy},
		{"ghcr.io/o/r:tag@" + d256, "ghcr.io/o/r:tag@" + d256, "ghcr.io/o/r:tag@" + d256, d256},
		{"localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app:latest", "latest"},
		{"[::1]:5000/app:v2", "[::1]:5000/app:v2", "[::1]:5000/app:v2", "v2"},
		{"docker.io/foo.bar/baz", "docker.io/foo.bar/baz:latest", "docker.io/foo.bar/baz:latest", "latest"},
		{"docker.io/library/" + imgID, "docker.io/library/" + imgID + ":latest", imgID + ":latest", "latest"},
	}
	for _, tc := range tests {
		r, err := reference.Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if r.String() != tc.str || r.Familiar() != tc.familiar || r.Identifier() != tc.id {
			t.Errorf("Parse(%q): String %q, Familiar %q, Identifier %q; want %q, %q, %q",
				tc.in, r.String(), r.Familiar(), r.Identifier(), tc.str, tc.familiar, tc.id)
		}
	}
}

func TestZeroAndHandBuilt(t *testing.T) {
	var zero reference.Reference
	if zero.String() != "" || zero.Name() != "" || zero.Identifier() != "" {
		t.Errorf("zero Reference: String %q, Name %q, Identifier %q", zero.String(), zero.Name(), zero.Identifier())
	}
	r := reference.Reference{Repository: "foo", Tag: "v1"}
	if r.String() != "foo:v1" {
		t.Errorf("String() = %q, want foo:v1", r.String())
	}
}

func TestWithTag(t *testing.T) {
	tests := []struct{ name, digest, tag, want string }{
		{"test.com/foo", "", "tag", "test.com/foo:tag"},
		{"foo", "", "tag2", "docker.io/library/foo:tag2"},
		{"test.com:8000/foo", "", "tag4", "test.com:8000/foo:tag4"},
		{"test.com:8000/foo", "", "TAG5", "test.com:8000/foo:TAG5"},
		{"test.com:8000/foo", d256, "TAG5", "test.com:8000/foo:TAG5@" + d256},
		{"foo:old", "", "new", "docker.io/library/foo:new"},
	}
	for _, tc := range tests {
		r, err := reference.Parse(tc.name)
		if err == nil && tc.digest != "" {
			r, err = r.WithDigest(tc.digest)
		}
		if err == nil {
			r, err = r.WithTag(tc.tag)
		}
		if err != nil || r.String() != tc.want {
			t.Errorf("%s WithTag(%q) = %q, %v; want %q", tc.name, tc.tag, r, err, tc.want)
		}
	}
	base, _ := reference.Parse("busybox")
	for _, bad := range []string{"", "-foo", ".foo", "a b", "a:b", "a/b", "a@b", tag128 + "x"} {
		r, err := base.WithTag(bad)
		if !errors.Is(err, reference.ErrInvalidTag) || r != (reference.Reference{}) {
			t.Errorf("WithTag(%q) = %#v, %v; want ErrInvalidTag", bad, r, err)
		}
	}
}

func TestWithDigest(t *testing.T) {
	tests := []struct{ name, tag, digest, want string }{
		{"test.com/foo", "", d256, "test.com/foo:latest@" + d256},
		{"foo@" + dRedis, "", d256, "docker.io/library/foo@" + d256},
		{"test.com:8000/foo", "", d512, "test.com:8000/foo:latest@" + d512},
		{"test.com:8000/foo", "v1", d256, "test.com:8000/foo:v1@" + d256},
	}
	for _, tc := range tests {
		r, err := reference.Parse(tc.name)
		if err == nil && tc.tag != "" {
			r, err = r.WithTag(tc.tag)
		}
		if err == nil {
			r, err = r.WithDigest(tc.digest)
		}
		if err != nil || r.String() != tc.want || r.Identifier() != tc.digest {
			t.Errorf("%s WithDigest(%q) = %q, %v; want %q", tc.name, tc.digest, r, err, tc.want)
		}
	}
	base, _ := reference.Parse("busybox")
	for _, bad := range []string{
		"", "foo", "sha256:1234567890098765432112345667890098765", "sha256:" + strings.ToUpper(hex64),
		"sha256:../x", "sha512:" + hex64, "md5:" + hex64[:32], "sha256:" + hex64 + "\n", hex64,
	} {
		r, err := base.WithDigest(bad)
		if !errors.Is(err, reference.ErrInvalidDigest) || r != (reference.Reference{}) {
			t.Errorf("WithDigest(%q) = %#v, %v; want ErrInvalidDigest", bad, r, err)
		}
	}
}

func TestValidTag(t *testing.T) {
	for _, s := range []string{"a", "_", "0", "latest", "v1.2.3", "1.0-rc_2", "A_b-C.d", tag128, "__", "a..b", "a--"} {
		if !reference.ValidTag(s) {
			t.Errorf("ValidTag(%q) = false", s)
		}
	}
	for _, s := range []string{"", "-a", ".a", "a b", "a:b", "a/b", "a@b", "a+b", "é", tag128 + "a", "a\n"} {
		if reference.ValidTag(s) {
			t.Errorf("ValidTag(%q) = true", s)
		}
	}
}

func TestValidRepository(t *testing.T) {
	for _, s := range []string{"a", "library/alpine", "a/b/c", "a.b", "a_b", "a__b", "a-b", "a---b", "0", "a" + strings.Repeat("/a", 127)} {
		if !reference.ValidRepository(s) {
			t.Errorf("ValidRepository(%q) = false", s)
		}
	}
	for _, s := range []string{
		"", "/", "a/", "/a", "a//b", "A", "library/Alpine", "a..b", "a___b", "a_.b", "-a", "a-", "_a", "a.",
		"docker.io/library/alpine:latest", "alpine:latest", "a@b", "../a", "a/../b", ".", "..", "a b", "a" + strings.Repeat("/a", 128),
	} {
		if reference.ValidRepository(s) {
			t.Errorf("ValidRepository(%q) = true", s)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Docker/docker", `reference: invalid reference "Docker/docker": repository name must be lowercase`},
		{"", `reference: invalid reference "": empty reference`},
		{"foo:-x", `reference: invalid reference "foo:-x": invalid tag`},
		{"a//b", `reference: invalid reference "a//b": invalid reference format: invalid repository name`},
		{"a.b:x/c", `reference: invalid reference "a.b:x/c": invalid reference format: invalid registry host`},
		{"a@sha256:../x", `reference: invalid reference "a@sha256:../x": invalid digest: sha256 needs 64 lower-case hex characters`},
		{"a@md5:00", `reference: invalid reference "a@md5:00": invalid digest: unsupported algorithm (want sha256 or sha512)`},
		{"a@x", `reference: invalid reference "a@x": invalid digest: missing algorithm`},
	}
	for _, tc := range tests {
		_, err := reference.Parse(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%q) error = %v; want %s", tc.in, err, tc.want)
		}
		var pe *reference.ParseError
		if !errors.As(err, &pe) || pe.Input != tc.in {
			t.Errorf("Parse(%q) error %#v is not a *ParseError naming the input", tc.in, err)
		}
	}
	long := strings.Repeat("x", 10000) + "!"
	_, err := reference.Parse(long)
	if err == nil || len(err.Error()) > 400 || !strings.HasPrefix(err.Error(), "reference: ") {
		t.Errorf("Parse(long) error message is %d bytes: %.80s…", len(err.Error()), err)
	}
}
