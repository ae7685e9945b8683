package reference_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/reference"
)

var (
	hex64  = strings.Repeat("f", 64)
	d256   = "sha256:" + hex64
	d512   = "sha512:" + strings.Repeat("f", 128)
	dRedis = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
	dBusy  = "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
	imgID  = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"
	tag128 = "t" + strings.Repeat("a", 127)

	// repo243 makes "example.com/"+repo243 exactly MaxNameLength long.
	repo243 = strings.Repeat("a/", 121) + "a"
)

type parseTest struct {
	in                       string
	registry, repo, tag, dig string
	err                      error // if set, Parse must fail with it
}

// parseTests are the cases of distribution/reference's TestReferenceParse,
// TestParseNormalizedNamed, TestValidateReferenceName, TestValidateRemoteName,
// TestNormalizedSplitHostname, TestParseAnyReference and TestParseDockerRef,
// adapted to Parse's normalization, plus skiff's own.
var parseTests = []parseTest{
	// Docker Hub defaults and aliases.
	{in: "alpine", registry: "docker.io", repo: "library/alpine", tag: "latest"},
	{in: "alpine:3.19", registry: "docker.io", repo: "library/alpine", tag: "3.19"},
	{in: "user/repo", registry: "docker.io", repo: "user/repo", tag: "latest"},
	{in: "library/busybox", registry: "docker.io", repo: "library/busybox", tag: "latest"},
	{in: "library/busybox:latest", registry: "docker.io", repo: "library/busybox", tag: "latest"},
	{in: "docker.io/busybox", registry: "docker.io", repo: "library/busybox", tag: "latest"},
	{in: "docker.io/busybox:latest", registry: "docker.io", repo: "library/busybox", tag: "latest"},
	{in: "docker.io/library/busybox", registry: "docker.io", repo: "library/busybox", tag: "latest"},
	{in: "docker.io/library/foo/bar", registry: "docker.io", repo: "library/foo/bar", tag: "latest"},
	{in: "library/foo/bar", registry: "docker.io", repo: "library/foo/bar", tag: "latest"},
	{in: "store/foo/bar", registry: "docker.io", repo: "store/foo/bar", tag: "latest"},
	{in: "other/library", registry: "docker.io", repo: "other/library", tag: "latest"},
	{in: "index.docker.io/debian", registry: "docker.io", repo: "library/debian", tag: "latest"},
	{in: "index.docker.io/docker/docker", registry: "docker.io", repo: "docker/docker", tag: "latest"},
	{in: "registry-1.docker.io/debian:12", registry: "docker.io", repo: "library/debian", tag: "12"},
	{in: "Docker.IO/library/debian", registry: "docker.io", repo: "library/debian", tag: "latest"},
	{in: "docker.io/" + imgID, registry: "docker.io", repo: "library/" + imgID, tag: "latest"},
	{in: imgID + ":latest", registry: "docker.io", repo: "library/" + imgID, tag: "latest"},
	{in: imgID[:63], registry: "docker.io", repo: "library/" + imgID[:63], tag: "latest"},
	{in: "dbcc1", registry: "docker.io", repo: "library/dbcc1", tag: "latest"},
	{in: "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", registry: "docker.io",
		repo: "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", tag: "latest"},
	{in: "localhost", registry: "docker.io", repo: "library/localhost", tag: "latest"},

	// Tags and digests.
	{in: "lowercase:Uppercase", registry: "docker.io", repo: "library/lowercase", tag: "Uppercase"},
	{in: "redis@" + dRedis, registry: "docker.io", repo: "library/redis", dig: dRedis},
	{in: "dmcgowan/myapp@" + dRedis, registry: "docker.io", repo: "dmcgowan/myapp", dig: dRedis},
	{in: "busybox:latest@" + dBusy, registry: "docker.io", repo: "library/busybox", tag: "latest", dig: dBusy},
	{in: "gcr.io/library/busybox:latest@" + dBusy, registry: "gcr.io", repo: "library/busybox", tag: "latest", dig: dBusy},
	{in: "gcr.io/library/busybox", registry: "gcr.io", repo: "library/busybox", tag: "latest"},
	{in: "ghcr.io/o/r:v1@" + d512, registry: "ghcr.io", repo: "o/r", tag: "v1", dig: d512},
	{in: "foo:_tag", registry: "docker.io", repo: "library/foo", tag: "_tag"},
	{in: "foo:" + tag128, registry: "docker.io", repo: "library/foo", tag: tag128},
	{in: "foo:1.0-rc_2.X", registry: "docker.io", repo: "library/foo", tag: "1.0-rc_2.X"},

	// Registries: domain names, ports, IPv4, IPv6, localhost.
	{in: "test_com", registry: "docker.io", repo: "library/test_com", tag: "latest"},
	{in: "test_com/foo", registry: "docker.io", repo: "test_com/foo", tag: "latest"},
	{in: "test.com:tag", registry: "docker.io", repo: "library/test.com", tag: "tag"},
	{in: "test.com:5000", registry: "docker.io", repo: "library/test.com", tag: "5000"},
	{in: "test.com/repo:tag", registry: "test.com", repo: "repo", tag: "tag"},
	{in: "test.com/foo", registry: "test.com", repo: "foo", tag: "latest"},
	{in: "test:5000/repo", registry: "test:5000", repo: "repo", tag: "latest"},
	{in: "test:5000/repo:tag", registry: "test:5000", repo: "repo", tag: "tag"},
	{in: "test:5000/repo@" + d256, registry: "test:5000", repo: "repo", dig: d256},
	{in: "test:5000/repo:tag@" + d256, registry: "test:5000", repo: "repo", tag: "tag", dig: d256},
	{in: "test.com:8080/foo", registry: "test.com:8080", repo: "foo", tag: "latest"},
	{in: "test-com:8080/foo", registry: "test-com:8080", repo: "foo", tag: "latest"},
	{in: "xn--n3h.com/foo", registry: "xn--n3h.com", repo: "foo", tag: "latest"},
	{in: "xn--n3h.com:18080/foo", registry: "xn--n3h.com:18080", repo: "foo", tag: "latest"},
	{in: "xn--n3h.com/myimage:xn--n3h.com", registry: "xn--n3h.com", repo: "myimage", tag: "xn--n3h.com"},
	{in: "xn--7o8h.com/myimage:xn--7o8h.com@" + d512, registry: "xn--7o8h.com", repo: "myimage", tag: "xn--7o8h.com", dig: d512},
	{in: "sub-dom1.foo.com/bar/baz/quux", registry: "sub-dom1.foo.com", repo: "bar/baz/quux", tag: "latest"},
	{in: "sub-dom1.foo.com/bar/baz/quux:some-long-tag", registry: "sub-dom1.foo.com", repo: "bar/baz/quux", tag: "some-long-tag"},
	{in: "b.gcr.io/test.example.com/my-app:test.example.com", registry: "b.gcr.io", repo: "test.example.com/my-app", tag: "test.example.com"},
	{in: "Example.COM/foo", registry: "example.com", repo: "foo", tag: "latest"},
	{in: "foo_bar.com:8080", registry: "docker.io", repo: "library/foo_bar.com", tag: "8080"},
	{in: "foo/foo_bar.com:8080", registry: "docker.io", repo: "foo/foo_bar.com", tag: "8080"},
	{in: "192.168.1.1", registry: "docker.io", repo: "library/192.168.1.1", tag: "latest"},
	{in: "192.168.1.1:tag", registry: "docker.io", repo: "library/192.168.1.1", tag: "tag"},
	{in: "192.168.1.1:5000", registry: "docker.io", repo: "library/192.168.1.1", tag: "5000"},
	{in: "192.168.1.1/repo", registry: "192.168.1.1", repo: "repo", tag: "latest"},
	{in: "192.168.1.1:5000/repo", registry: "192.168.1.1:5000", repo: "repo", tag: "latest"},
	{in: "192.168.1.1:5000/repo:5050", registry: "192.168.1.1:5000", repo: "repo", tag: "5050"},
	{in: "192.168.0.1:8/debian", registry: "192.168.0.1:8", repo: "debian", tag: "latest"},
	{in: "127.0.0.1:5000/docker/docker", registry: "127.0.0.1:5000", repo: "docker/docker", tag: "latest"},
	{in: "127.0.0.1:5000/library/debian", registry: "127.0.0.1:5000", repo: "library/debian", tag: "latest"},
	{in: "[2001:db8::1]/repo", registry: "[2001:db8::1]", repo: "repo", tag: "latest"},
	{in: "[2001:db8:1:2:3:4:5:6]/repo:tag", registry: "[2001:db8:1:2:3:4:5:6]", repo: "repo", tag: "tag"},
	{in: "[2001:db8::1]:5000/repo", registry: "[2001:db8::1]:5000", repo: "repo", tag: "latest"},
	{in: "[2001:db8::1]:5000/repo:tag", registry: "[2001:db8::1]:5000", repo: "repo", tag: "tag"},
	{in: "[2001:db8::1]:5000/repo@" + d256, registry: "[2001:db8::1]:5000", repo: "repo", dig: d256},
	{in: "[2001:db8::1]:5000/repo:tag@" + d256, registry: "[2001:db8::1]:5000", repo: "repo", tag: "tag", dig: d256},
	{in: "[2001:db8::]:5000/repo", registry: "[2001:db8::]:5000", repo: "repo", tag: "latest"},
	{in: "[::1]:5000/repo", registry: "[::1]:5000", repo: "repo", tag: "latest"},
	{in: "[fc00::1]:5000/docker", registry: "[fc00::1]:5000", repo: "docker", tag: "latest"},
	{in: "[FC00::1]:5000/docker/docker", registry: "[fc00::1]:5000", repo: "docker/docker", tag: "latest"},
	{in: "[fc00:1:2:3:4:5:6:7]:5000/library/debian", registry: "[fc00:1:2:3:4:5:6:7]:5000", repo: "library/debian", tag: "latest"},
	{in: "localhost/foo", registry: "localhost", repo: "foo", tag: "latest"},
	{in: "localhost:5000/foo/bar:v1", registry: "localhost:5000", repo: "foo/bar", tag: "v1"},

	// Path components.
	{in: "docker-rules/docker", registry: "docker.io", repo: "docker-rules/docker", tag: "latest"},
	{in: "docker---rules/docker", registry: "docker.io", repo: "docker---rules/docker", tag: "latest"},
	{in: "d/docker", registry: "docker.io", repo: "d/docker", tag: "latest"},
	{in: "jess/t", registry: "docker.io", repo: "jess/t", tag: "latest"},
	{in: "dock__er/docker", registry: "docker.io", repo: "dock__er/docker", tag: "latest"},
	{in: "a.b/c_d/e__f/g-h/i---j/k.l/0", registry: "a.b", repo: "c_d/e__f/g-h/i---j/k.l/0", tag: "latest"},
	{in: "library/ubuntu-12.04-base", registry: "docker.io", repo: "library/ubuntu-12.04-base", tag: "latest"},

	// Length: registry "/" repository may be 255 characters, not 256.
	{in: "example.com/" + repo243 + ":tag-puts-this-over-max", registry: "example.com", repo: repo243, tag: "tag-puts-this-over-max"},
	{in: "example.com/" + repo243 + "a", err: reference.ErrNameTooLong},
	{in: strings.Repeat("a/", 127) + "a:tag", err: reference.ErrNameTooLong},
	{in: strings.Repeat("a/", 128) + "a:tag", err: reference.ErrNameTooLong},
	{in: strings.Repeat("this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_", 4) + "/docker", err: reference.ErrNameTooLong},

	// Empty, image IDs.
	{in: "", err: reference.ErrEmpty},
	{in: imgID, err: reference.ErrLooksLikeID},
	{in: hex64, err: reference.ErrLooksLikeID},

	// Upper case.
	{in: "Uppercase:tag", err: reference.ErrUppercase},
	{in: "test:5000/Uppercase/lowercase:tag", err: reference.ErrUppercase},
	{in: "docker/Docker", err: reference.ErrUppercase},
	{in: "docker.io/docker/Docker", err: reference.ErrUppercase},
	{in: "Docker/docker", err: reference.ErrUppercase}, // Docker reads "Docker" as a registry; skiff does not.
	{in: "DOCKER/docker", err: reference.ErrUppercase},
	{in: "Foo/bar", err: reference.ErrUppercase},
	{in: strings.Repeat("A", 64), err: reference.ErrUppercase},

	// Tags.
	{in: "foo:", err: reference.ErrInvalidTag},
	{in: "foo:-bar", err: reference.ErrInvalidTag},
	{in: "foo:.bar", err: reference.ErrInvalidTag},
	{in: "foo:ta g", err: reference.ErrInvalidTag},
	{in: "foo:t+g", err: reference.ErrInvalidTag},
	{in: "foo:" + tag128 + "a", err: reference.ErrInvalidTag},
	{in: "foo:@" + d256, err: reference.ErrInvalidTag},

	// Digests.
	{in: "repo@sha256:ffffffffffffffffffffffffffffffffff", err: reference.ErrInvalidDigest},
	{in: "validname@invaliddigest:" + hex64, err: reference.ErrInvalidDigest},
	{in: "repo@sha256:" + strings.Repeat("F", 64), err: reference.ErrInvalidDigest},
	{in: "repo@sha256:../x", err: reference.ErrInvalidDigest},
	{in: "repo@sha256:../" + hex64[3:], err: reference.ErrInvalidDigest},
	{in: "repo@sha512:" + hex64, err: reference.ErrInvalidDigest},
	{in: "repo@sha256:" + hex64 + "f", err: reference.ErrInvalidDigest},
	{in: "repo@md5:" + hex64[:32], err: reference.ErrInvalidDigest},
	{in: "repo@SHA256:" + hex64, err: reference.ErrInvalidDigest},
	{in: "repo@sha256+b64:" + hex64, err: reference.ErrInvalidDigest},
	{in: "repo@" + hex64, err: reference.ErrInvalidDigest},
	{in: "repo@", err: reference.ErrInvalidDigest},
	{in: "repo@sha256:", err: reference.ErrInvalidDigest},
	{in: "repo@" + d256 + "@" + d256, err: reference.ErrInvalidDigest},
	{in: "repo@" + d256 + ":tag", err: reference.ErrInvalidDigest},

	// Format.
	{in: ":justtag", err: reference.ErrInvalidFormat},
	{in: "@" + d256, err: reference.ErrInvalidFormat},
	{in: "aa/asdf$$^/aa", err: reference.ErrInvalidFormat},
	{in: "https://github.com/docker/docker", err: reference.ErrInvalidFormat},
	{in: "-docker", err: reference.ErrInvalidFormat},
	{in: "-docker/docker", err: reference.ErrInvalidFormat},
	{in: "-docker.io/docker/docker", err: reference.ErrInvalidFormat},
	{in: "docker-/docker", err: reference.ErrInvalidFormat},
	{in: "-docker-/docker", err: reference.ErrInvalidFormat},
	{in: "docker///docker", err: reference.ErrInvalidFormat},
	{in: "docker.io/docker///docker", err: reference.ErrInvalidFormat},
	{in: "____/____", err: reference.ErrInvalidFormat},
	{in: "_docker/_docker", err: reference.ErrInvalidFormat},
	{in: "dock..er/docker", err: reference.ErrInvalidFormat},
	{in: "dock_.er/docker", err: reference.ErrInvalidFormat},
	{in: "dock-.er/docker", err: reference.ErrInvalidFormat},
	{in: "dock___er/docker", err: reference.ErrInvalidFormat},
	{in: "docker/", err: reference.ErrInvalidFormat},
	{in: "/docker", err: reference.ErrInvalidFormat},
	{in: "docker.io/", err: reference.ErrInvalidFormat},
	{in: "example.com", err: nil, registry: "docker.io", repo: "library/example.com", tag: "latest"},
	{in: "example.com/", err: reference.ErrInvalidFormat},
	{in: "foo:bar:baz", err: reference.ErrInvalidFormat},
	{in: "[2001:db8::1]", err: reference.ErrInvalidFormat},
	{in: "[2001:db8::1]:5000", err: reference.ErrInvalidFormat},
	{in: "[2001:db8::1]:tag", err: reference.ErrInvalidFormat},
	{in: "[fc00::1]", err: reference.ErrInvalidFormat},
	{in: "[fc00::1]:5000", err: reference.ErrInvalidFormat},
	{in: "fc00::1:5000/debian", err: reference.ErrInvalidFormat},
	{in: "[fe80::1%eth0]:5000/repo", err: reference.ErrInvalidFormat},
	{in: "[fe80::1%@invalidzone]:5000/repo", err: reference.ErrInvalidFormat},
	{in: "[2001:db8:3:4::192.0.2.33]:5000/debian", err: reference.ErrInvalidFormat},
	{in: "[::ffff:1.2.3.4]/repo", err: reference.ErrInvalidFormat},
	{in: "[1.2.3.4]/repo", err: reference.ErrInvalidFormat},
	{in: "[]:5000/repo", err: reference.ErrInvalidFormat},
	{in: "[:::]/repo", err: reference.ErrInvalidFormat},
	{in: "[::1/repo", err: reference.ErrInvalidFormat},
	{in: "localhost:/foo", err: reference.ErrInvalidFormat},
	{in: "example.com:abc/foo", err: reference.ErrInvalidFormat},
	{in: "example.com:-1/foo", err: reference.ErrInvalidFormat},
	{in: "exa_mple.com/foo", err: reference.ErrInvalidFormat},
	{in: "example-.com/foo", err: reference.ErrInvalidFormat},
	{in: "example..com/foo", err: reference.ErrInvalidFormat},
	{in: ".example.com/foo", err: reference.ErrInvalidFormat},
	{in: "foo bar", err: reference.ErrInvalidFormat},
	{in: " alpine", err: reference.ErrInvalidFormat},
	{in: "alpine\n", err: reference.ErrInvalidFormat},
	{in: "ålpine", err: reference.ErrInvalidFormat},
	{in: "\u212a.com/foo", err: reference.ErrInvalidFormat}, // Kelvin sign lower-cases to "k" in Unicode
	{in: "\u212aalpine", err: reference.ErrInvalidFormat},
	{in: "foo\x00bar", err: reference.ErrInvalidFormat},
}

func TestParse(t *testing.T) {
	for _, tc := range parseTests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := reference.Parse(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Parse(%q) = %#v, %v; want error %v", tc.in, got, err, tc.err)
				}
				if got != (reference.Reference{}) {
					t.Errorf("Parse(%q) returned %#v with an error", tc.in, got)
				}
				return
			}
			want := reference.Reference{Registry: tc.registry, Repository: tc.repo, Tag: tc.tag, Digest: tc.dig}
			if err != nil || got != want {
				t.Fatalf("Parse(%q) = %#v, %v; want %#v", tc.in, got, err, want)
			}
		})
	}
}

// TestRoundTrip checks that String and Familiar parse back to the same
// Reference for every valid case.
func TestRoundTrip(t *testing.T) {
	for _, tc := range parseTests {
		r, err := reference.Parse(tc.in)
		if err != nil {
			continue
		}
		for _, s := range []string{r.String(), r.Familiar()} {
			if r2, err := reference.Parse(s); err != nil || r2 != r {
				t.Errorf("Parse(%q) = %#v, %v; want %#v (from %q)", s, r2, err, r, tc.in)
			}
		}
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		in             string
		registry, repo string
		err            error
	}{
		{in: "alpine", registry: "docker.io", repo: "library/alpine"},
		{in: "docker.io/alpine", registry: "docker.io", repo: "library/alpine"},
		{in: "user/repo", registry: "docker.io", repo: "user/repo"},
		{in: "ghcr.io/o/r", registry: "ghcr.io", repo: "o/r"},
		{in: "localhost:5000/app", registry: "localhost:5000", repo: "app"},
		{in: "docker.io/" + imgID, registry: "docker.io", repo: "library/" + imgID},
		{in: "alpine:latest", err: reference.ErrTagOrDigest},
		{in: "alpine@" + d256, err: reference.ErrTagOrDigest},
		{in: "localhost:5000", err: reference.ErrTagOrDigest}, // repository "localhost", tag "5000"
		{in: "alpine:", err: reference.ErrInvalidTag},
		{in: "alpine@sha256:x", err: reference.ErrInvalidDigest},
		{in: "", err: reference.ErrEmpty},
		{in: imgID, err: reference.ErrLooksLikeID},
		{in: "Alpine", err: reference.ErrUppercase},
		{in: "ghcr.io/o//r", err: reference.ErrInvalidFormat},
	}
	for _, tc := range tests {
		got, err := reference.ParseName(tc.in)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("ParseName(%q) = %#v, %v; want error %v", tc.in, got, err, tc.err)
			}
			continue
		}
		want := reference.Reference{Registry: tc.registry, Repository: tc.repo}
		if err != nil || got != want {
			t.Errorf("ParseName(%q) = %#v, %v; want %#v", tc.in, got, err, want)
		}
	}
}
