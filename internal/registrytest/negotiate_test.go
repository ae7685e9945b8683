package registrytest_test

import (
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
)

// dockerImage pushes a Docker v2 manifest and a manifest list of it
// (linux/amd64) and returns their descriptors.
func (c *client) dockerImage(repo string) (m, list manifest.Descriptor) {
	c.t.Helper()
	config, layer := []byte(`{"os":"linux","architecture":"amd64"}`), []byte("docker layer")
	c.pushBlob(repo, config)
	c.pushBlob(repo, layer)
	raw := newManifest(manifest.MediaTypeDockerManifest, config, manifest.MediaTypeDockerConfig, [][]byte{layer}, nil)
	c.pushManifest(repo, "docker", manifest.MediaTypeDockerManifest, raw).want(c.t, 201)
	m = manifest.DescriptorFor(manifest.MediaTypeDockerManifest, raw)
	child := m
	child.Platform = &manifest.Platform{OS: "linux", Architecture: "amd64"}
	rawList := newIndex(manifest.MediaTypeDockerManifestList, child)
	c.pushManifest(repo, "list", manifest.MediaTypeDockerManifestList, rawList).want(c.t, 201)
	return m, manifest.DescriptorFor(manifest.MediaTypeDockerManifestList, rawList)
}

// OCI content needs its type in Accept, by tag and by digest, as in
// distribution 2.8.
func TestNegotiateOCI(t *testing.T) {
	_, c := start(t, nil)
	img := c.pushImage("a", "v1", "1")
	idx := newIndex(manifest.MediaTypeOCIIndex, img.desc)
	c.pushManifest("a", "idx", manifest.MediaTypeOCIIndex, idx).want(t, 201)
	for _, ref := range []string{"v1", string(img.desc.Digest)} {
		c.do("GET", "/v2/a/manifests/"+ref, nil).wantError(t, 404, "MANIFEST_UNKNOWN")
		c.do("GET", "/v2/a/manifests/"+ref, nil, "Accept", "*/*").wantError(t, 404, "MANIFEST_UNKNOWN")
		c.do("GET", "/v2/a/manifests/"+ref, nil, "Accept", manifest.MediaTypeDockerManifest).wantError(t, 404, "MANIFEST_UNKNOWN")
		c.do("GET", "/v2/a/manifests/"+ref, nil, "Accept", manifest.MediaTypeDockerManifest,
			"Accept", manifest.MediaTypeOCIManifest+";q=0.5").want(t, 200)
	}
	c.do("GET", "/v2/a/manifests/idx", nil, "Accept", manifest.MediaTypeOCIManifest).wantError(t, 404, "MANIFEST_UNKNOWN")
	c.do("GET", "/v2/a/manifests/idx", nil, "Accept", manifest.MediaTypeOCIIndex).want(t, 200).
		header(t, "Content-Type", manifest.MediaTypeOCIIndex)
}

func TestNegotiateDocker(t *testing.T) {
	_, c := start(t, nil)
	m, list := c.dockerImage("a")
	all := []string{"Accept", manifest.MediaTypeDockerManifestList + ", " + manifest.MediaTypeDockerManifest}
	c.do("GET", "/v2/a/manifests/docker", nil, all...).want(t, 200).header(t, "Content-Type", manifest.MediaTypeDockerManifest)
	c.do("GET", "/v2/a/manifests/list", nil, all...).want(t, 200).header(t, "Docker-Content-Digest", string(list.Digest))
	// By tag without the type in Accept: distribution would convert to schema 1.
	c.do("GET", "/v2/a/manifests/docker", nil).wantError(t, 400, "MANIFEST_INVALID")
	c.do("GET", "/v2/a/manifests/list", nil, ociAccept()...).wantError(t, 400, "MANIFEST_INVALID")
	// By digest, Docker types come as stored.
	c.do("GET", "/v2/a/manifests/"+string(m.Digest), nil).want(t, 200).header(t, "Content-Type", manifest.MediaTypeDockerManifest)
	c.do("GET", "/v2/a/manifests/"+string(list.Digest), nil, "Accept", manifest.MediaTypeDockerManifest).want(t, 200).
		header(t, "Content-Type", manifest.MediaTypeDockerManifestList)
}

// A client that accepts Docker manifests but not lists gets the list's
// linux/amd64 manifest, with that manifest's digest.
func TestNegotiateListToDefaultPlatform(t *testing.T) {
	_, c := start(t, nil)
	m, _ := c.dockerImage("a")
	r := c.do("GET", "/v2/a/manifests/list", nil, "Accept", manifest.MediaTypeDockerManifest).want(t, 200)
	r.header(t, "Content-Type", manifest.MediaTypeDockerManifest).header(t, "Docker-Content-Digest", string(m.Digest))

	arm := m
	arm.Platform = &manifest.Platform{OS: "linux", Architecture: "arm64"}
	c.pushManifest("a", "armonly", manifest.MediaTypeDockerManifestList, newIndex(manifest.MediaTypeDockerManifestList, arm)).want(t, 201)
	c.do("GET", "/v2/a/manifests/armonly", nil, "Accept", manifest.MediaTypeDockerManifest).wantError(t, 404, "MANIFEST_UNKNOWN")
}

func TestIgnoreAccept(t *testing.T) {
	_, c := start(t, &registrytest.Options{IgnoreAccept: true})
	c.pushImage("a", "v1", "1")
	c.dockerImage("a")
	c.do("GET", "/v2/a/manifests/v1", nil).want(t, 200).header(t, "Content-Type", manifest.MediaTypeOCIManifest)
	c.do("GET", "/v2/a/manifests/list", nil, "Accept", manifest.MediaTypeDockerManifest).want(t, 200).
		header(t, "Content-Type", manifest.MediaTypeDockerManifestList)
}
