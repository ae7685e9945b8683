package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry/images"
)

func init() { commands["push"] = pushCommand }

var pushCommand = &command{
	summary: "push a tarball or an OCI layout to a registry",
	usage:   "[flags] FILE|DIR REF",
	help: `FILE is any image tarball: docker save's, Docker 25's, containerd's (ctr images
export), podman's, crane's, skiff's, or an OCI archive, plain or compressed with gzip
or zstd. Its gzip'd and zstd'd layers go up as they are; plain-tar layers (docker
save, podman save, skopeo's docker-archive:) are gzip-compressed on the way, as
docker push does, which changes the image's digest (--keep-uncompressed sends them
as they are). A tarball that holds only some platforms of an index (containerd and
Docker 25 export those they have) pushes those platforms, as docker load loads
them, and says which are absent. A manifest skiff makes for a tarball without one
is the one crane push makes, so both give the same digest. DIR is an OCI image
layout; name one of its images as DIR:TAG when it holds several; signatures and
SBOMs beside an image are not counted. Blobs the registry has are not sent again.
An interrupted push continues when run again: blobs already stored are skipped, and
a blob cut short continues from where the registry says its upload stands, on
registries that keep the upload session (the spec allows it; distribution, behind
Docker's registry and Harbor, discards a session whose request was cut, and the blob
is sent again). Upload states wait in $XDG_CACHE_HOME/skiff/uploads.

examples:
  skiff push app.tar registry.example.com/app:1.0
  skiff push --insecure ./layout:v2 192.168.1.10:5000/app:v2`,
	run: runPush,
}

func runPush(ctx context.Context, e *env, args []string) error {
	var o options
	fs := newFlagSet(e, "push")
	o.register(fs)
	o.registerZstd(fs)
	o.registerKeepUncompressed(fs)
	o.registerResume(fs)
	fs.StringVar(&o.platform, "platform", "all", "`OS/ARCH[/VARIANT]` to push from an index (default: all)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want FILE|DIR and REF, got %d arguments", fs.NArg())
	}
	src := localLocation(fs.Arg(0))
	ref, err := reference.Parse(fs.Arg(1))
	if err != nil {
		return err
	}
	return transfer(ctx, e, &o, []images.Location{src}, registryLocation(ref))
}

// localLocation reads a path given to push: an OCI layout directory
// (with an optional :TAG) or a tarball, unless it already names its kind.
func localLocation(arg string) images.Location {
	if l, err := images.ParseLocation(arg); err == nil && l.Kind != images.KindRegistry {
		return l
	}
	if l, _ := images.ParseLocation("oci:" + arg); l.Name != "" && isLayout(l.Path) {
		return l
	}
	if isLayout(arg) {
		return images.Location{Kind: images.KindOCI, Path: arg}
	}
	return images.Location{Kind: images.KindDockerArchive, Path: arg}
}

func isLayout(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "oci-layout"))
	return err == nil
}
