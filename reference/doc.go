// Package reference parses and normalizes image references such as
// "alpine", "user/repo:tag", "localhost:5000/app@sha256:…" and
// "ghcr.io/owner/repo:v1@sha256:…" into a [Reference].
//
// Names follow Docker's conventions: a reference without a registry is on
// Docker Hub ("docker.io"), a single-component name there is an official
// image under "library/", and a reference with neither tag nor digest gets
// the tag "latest". The Docker Hub aliases "index.docker.io" and
// "registry-1.docker.io" normalize to "docker.io", and the registry host is
// lower-cased, so that two spellings of one image compare equal.
//
// Every digest is checked strictly (sha256 with 64, or sha512 with 128,
// lower-case hex characters) before a Reference is returned, so the fields
// of a parsed Reference can be put into a URL or a file path as they are.
//
// # Grammar
//
// The grammar is the one of the OCI distribution specification
// (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests)
// and of Docker's distribution/reference package:
//
//	reference        := name [ ":" tag ] [ "@" digest ]
//	name             := [ registry "/" ] repository
//	registry         := host [ ":" port-number ]
//	host             := domain-name | "[" ipv6-address "]"
//	domain-name      := domain-component [ "." domain-component ]*
//	domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//	port-number      := /[0-9]+/
//	repository       := path-component [ "/" path-component ]*
//	path-component   := alpha-numeric [ separator alpha-numeric ]*
//	alpha-numeric    := /[a-z0-9]+/
//	separator        := /[_.]|__|[-]+/
//	tag              := /[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}/
//	digest           := "sha256:" /[a-f0-9]{64}/ | "sha512:" /[a-f0-9]{128}/
//
// The first component of a name is the registry when it contains a "." or
// a ":", or is exactly "localhost"; otherwise it is part of the repository
// on Docker Hub. Unlike Docker, skiff does not take an upper-case first
// component ("Docker/docker") for a registry: it is an upper-case
// repository, and an error wrapping [ErrUppercase]. An IPv6 address must be in brackets ("[::1]:5000") and
// may not carry a zone or an embedded IPv4 address. The normalized name,
// registry "/" repository, may be at most 255 characters long.
//
// A name that is exactly 64 lower-case hexadecimal characters is rejected,
// because Docker reads it as an image ID; write "docker.io/library/<hex>"
// to mean a repository of that name.
package reference
