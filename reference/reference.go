package reference

import (
	"fmt"
	"strings"
)

// DefaultRegistry is the registry of a name that does not name one.
const DefaultRegistry = "docker.io"

// DefaultTag is the tag [Parse] gives a reference with neither tag nor digest.
const DefaultTag = "latest"

// officialPrefix is the Docker Hub namespace of single-component names.
const officialPrefix = "library/"

// Reference is a parsed, normalized image reference. Values returned by
// [Parse] and [ParseName] are valid; a Reference built by hand is not
// checked until it is formatted and parsed again. Two references to the
// same image compare equal with ==.
type Reference struct {
	Registry   string // registry host and optional port, e.g. "docker.io", "localhost:5000", "[::1]:5000"
	Repository string // repository path, e.g. "library/alpine"
	Tag        string // tag, or "" when the reference has only a digest
	Digest     string // "sha256:<hex>" or "sha512:<hex>", or ""
}

// Parse parses s, such as "alpine", "user/repo:tag" or
// "ghcr.io/o/r:v1@sha256:…", and normalizes it with Docker's rules (see
// the package documentation). A reference with neither tag nor digest gets
// the tag [DefaultTag]; one with only a digest keeps an empty Tag; one with
// both keeps both. Errors are of type [*ParseError].
func Parse(s string) (Reference, error) {
	r, err := parse(s)
	if err == nil && r.Tag == "" && r.Digest == "" {
		r.Tag = DefaultTag
	}
	return r, err
}

// ParseName parses s as a repository name with an optional registry, such
// as "alpine" or "ghcr.io/o/r", normalized as by [Parse]. A tag or digest
// is an error wrapping [ErrTagOrDigest]; Tag and Digest of the result are
// empty. Use it where a repository is expected, as in listing tags.
func ParseName(s string) (Reference, error) {
	r, err := parse(s)
	if err == nil && (r.Tag != "" || r.Digest != "") {
		return Reference{}, fail(s, ErrTagOrDigest)
	}
	return r, err
}

func parse(s string) (Reference, error) {
	if s == "" {
		return Reference{}, fail(s, ErrEmpty)
	}
	if isID(s) {
		return Reference{}, fail(s, ErrLooksLikeID)
	}
	name, digest, hasDigest := strings.Cut(s, "@")
	name, tag, hasTag := cutTag(name)
	registry, repo := normalize(splitRegistry(name))
	if err := check(registry, repo); err != nil {
		return Reference{}, fail(s, err)
	}
	if hasTag && !ValidTag(tag) {
		return Reference{}, fail(s, ErrInvalidTag)
	}
	if !hasDigest {
		return Reference{Registry: registry, Repository: repo, Tag: tag}, nil
	}
	if err := checkDigest(digest); err != nil {
		return Reference{}, fail(s, err)
	}
	return Reference{Registry: registry, Repository: repo, Tag: tag, Digest: digest}, nil
}

// cutTag splits name at a ":" that comes after the last "/".
func cutTag(name string) (before, tag string, found bool) {
	i := strings.LastIndexByte(name, ':')
	if i < 0 || i < strings.LastIndexByte(name, '/') {
		return name, "", false
	}
	return name[:i], name[i+1:], true
}

// splitRegistry splits a name into registry and repository, as written.
func splitRegistry(name string) (registry, repo string) {
	first, rest, ok := strings.Cut(name, "/")
	if ok && looksLikeRegistry(first) {
		return first, rest
	}
	return "", name
}

// check validates a normalized registry and repository.
func check(registry, repo string) error {
	if !validRegistry(registry) {
		return fmt.Errorf("%w: invalid registry host", ErrInvalidFormat)
	}
	if n := len(registry) + 1 + len(repo); n > MaxNameLength {
		return fmt.Errorf("%w (got %d)", ErrNameTooLong, n)
	}
	if ValidRepository(repo) {
		return nil
	}
	if lower := lowerASCII(repo); lower != repo && ValidRepository(lower) {
		return ErrUppercase
	}
	return fmt.Errorf("%w: invalid repository name", ErrInvalidFormat)
}

// normalize lower-cases the registry, fills in Docker Hub and folds its
// aliases, and puts single-component Docker Hub names under "library/".
func normalize(registry, repo string) (string, string) {
	registry = lowerASCII(registry)
	switch registry {
	case "", "index.docker.io", "registry-1.docker.io":
		registry = DefaultRegistry
	}
	if registry == DefaultRegistry && !strings.Contains(repo, "/") {
		repo = officialPrefix + repo
	}
	return registry, repo
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if isUpper(c) {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Name returns Registry "/" Repository, such as "docker.io/library/alpine",
// or Repository alone when Registry is empty.
func (r Reference) Name() string {
	if r.Registry == "" {
		return r.Repository
	}
	return r.Registry + "/" + r.Repository
}

// String returns the canonical form, such as
// "docker.io/library/alpine:latest" or "ghcr.io/o/r:v1@sha256:…".
// For a valid Reference r, Parse(r.String()) returns r.
func (r Reference) String() string {
	return r.Name() + r.suffix()
}

func (r Reference) suffix() string {
	s := ""
	if r.Tag != "" {
		s = ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Familiar returns the short form Docker displays: "docker.io/" and
// "library/" are dropped, other registries and the tag (even "latest")
// are kept, as in "alpine:latest", "user/repo:v1" or
// "ghcr.io/o/r@sha256:…". Where dropping "docker.io/" would change the
// meaning of the name, it is kept.
func (r Reference) Familiar() string {
	if r.Registry != DefaultRegistry {
		return r.String()
	}
	return r.familiarName() + r.suffix()
}

func (r Reference) familiarName() string {
	path := r.Repository
	if short, ok := strings.CutPrefix(path, officialPrefix); ok && !strings.Contains(short, "/") {
		path = short
	}
	first, _, nested := strings.Cut(path, "/")
	if nested && looksLikeRegistry(first) || r.suffix() == "" && isID(path) {
		return r.Name()
	}
	return path
}

// Identifier returns Digest if set, else Tag: the last element of a
// /v2/<name>/manifests/<reference> URL.
func (r Reference) Identifier() string {
	if r.Digest != "" {
		return r.Digest
	}
	return r.Tag
}

// WithTag returns a copy of r with its Tag set to tag, which must satisfy
// [ValidTag]. A digest in r is kept and still wins in [Reference.Identifier].
func (r Reference) WithTag(tag string) (Reference, error) {
	if !ValidTag(tag) {
		return Reference{}, fail(r.Name()+":"+tag, ErrInvalidTag)
	}
	r.Tag = tag
	return r, nil
}

// WithDigest returns a copy of r with its Digest set to d, which must be
// sha256 or sha512 in lower-case hex. A tag in r is kept.
func (r Reference) WithDigest(d string) (Reference, error) {
	if err := checkDigest(d); err != nil {
		return Reference{}, fail(r.Name()+"@"+d, err)
	}
	r.Digest = d
	return r, nil
}
