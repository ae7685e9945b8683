package main

import (
	"errors"

	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry/images"
)

// parseLocation reads an image location as images.ParseLocation does; a
// location that names no path is a usage error.
func parseLocation(s string) (images.Location, error) {
	l, err := images.ParseLocation(s)
	var perr *reference.ParseError
	if err != nil && !errors.As(err, &perr) {
		return l, usagef("%v", err)
	}
	return l, err
}

// registryLocation is the location of a registry reference.
func registryLocation(ref reference.Reference) images.Location {
	return images.Location{Kind: images.KindRegistry, Ref: ref}
}

// hostsOf lists the registry hosts among locs, to which --user and
// --insecure apply.
func hostsOf(locs ...images.Location) []string {
	var hosts []string
	for _, l := range locs {
		if l.Kind == images.KindRegistry {
			hosts = append(hosts, l.Ref.Registry)
			if l.Ref.Registry == reference.DefaultRegistry {
				hosts = append(hosts, "registry-1.docker.io")
			}
		}
	}
	return hosts
}
