package reference_test

import (
	"errors"
	"fmt"

	"github.com/skiffoci/skiff/reference"
)

func Example() {
	r, err := reference.Parse("alpine:3.19")
	if err != nil {
		panic(err)
	}
	fmt.Println(r.String())
	fmt.Println(r.Registry, r.Repository, r.Tag)
	fmt.Println(r.Familiar())

	r, _ = reference.Parse("ghcr.io/o/r@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	fmt.Printf("/v2/%s/manifests/%s\n", r.Repository, r.Identifier())

	_, err = reference.Parse("Docker/docker")
	fmt.Println(err)
	fmt.Println(errors.Is(err, reference.ErrUppercase))
	// Output:
	// docker.io/library/alpine:3.19
	// docker.io library/alpine 3.19
	// alpine:3.19
	// /v2/o/r/manifests/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
	// reference: invalid reference "Docker/docker": repository name must be lowercase
	// true
}

func ExampleParseName() {
	r, err := reference.ParseName("localhost:5000/app")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q %q %q\n", r.Registry, r.Repository, r.Tag)

	_, err = reference.ParseName("app:v1")
	fmt.Println(err)
	// Output:
	// "localhost:5000" "app" ""
	// reference: invalid reference "app:v1": a repository name must not have a tag or digest
}
