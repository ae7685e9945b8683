package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/distribution"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/cosign"
)

// cosignTool runs the real cosign against a registry on loopback, with no
// password on its keys and a dead proxy for every other host, so that it
// never reaches sigstore's services.
type cosignTool struct {
	t    *testing.T
	bin  string
	dir  string // keys and configuration
	host string
}

func newCosign(t *testing.T, host string) *cosignTool {
	c := &cosignTool{t: t, bin: distribution.RequireTool(t, "cosign"), dir: t.TempDir(), host: host}
	for name, body := range map[string]string{
		"signing-config.json": `{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json","rekorTlogConfig":{},"tsaConfig":{}}`,
		"trusted-root.json":   `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`,
	} {
		if err := os.WriteFile(filepath.Join(c.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *cosignTool) run(args ...string) (string, error) {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+c.dir, "COSIGN_PASSWORD=", "COSIGN_EXPERIMENTAL=1",
		"HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1", "NO_PROXY=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *cosignTool) mustRun(args ...string) {
	c.t.Helper()
	if out, err := c.run(args...); err != nil {
		c.t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Ways cosign signs with a key: the .sig tag, an OCI 1.1 referrer with
// the same payload, and a sigstore bundle referrer (cosign 3's default).
var (
	cosignTagFlags      = []string{"--new-bundle-format=false", "--use-signing-config=false", "--tlog-upload=false"}
	cosignReferrerFlags = append([]string{"--registry-referrers-mode=oci-1-1"}, cosignTagFlags...)
	cosignBundleFlags   = []string{"--new-bundle-format", "--signing-config", "{dir}/signing-config.json", "--trusted-root", "{dir}/trusted-root.json"}
)

func (c *cosignTool) sign(key, ref string, flags []string) {
	c.t.Helper()
	args := []string{"sign", "--key", key, "--allow-http-registry", "--allow-insecure-registry", "--yes"}
	for _, f := range flags {
		args = append(args, strings.ReplaceAll(f, "{dir}", c.dir))
	}
	c.mustRun(append(args, ref)...)
}

func (c *cosignTool) verify(pub, ref string) (string, error) {
	return c.run("verify", "--key", pub, "--insecure-ignore-tlog", "--trusted-root", filepath.Join(c.dir, "trusted-root.json"),
		"--allow-http-registry", "--allow-insecure-registry", ref)
}

// TestCosignSignsSkiffVerifies has cosign sign in each of its ways, and
// skiff verify every signature with the public key of cosign's own,
// encrypted key pair.
func TestCosignSignsSkiffVerifies(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	c := newCosign(t, srv.Host)
	c.mustRun("generate-key-pair", "--output-key-prefix", filepath.Join(c.dir, "cosign"))
	key, pub := filepath.Join(c.dir, "cosign.key"), filepath.Join(c.dir, "cosign.pub")
	_, otherPub := keyPair(t)
	for _, tt := range []struct {
		name, scheme string
		flags        []string
	}{
		{"tag", "tag", cosignTagFlags},
		{"referrer", "referrer", cosignReferrerFlags},
		{"bundle", "bundle", cosignBundleFlags},
	} {
		im := seedImage(t, srv, "cosign/"+tt.name+":1", 100)
		ref := srv.Host + "/cosign/" + tt.name + "@" + string(im.Manifest.Digest)
		c.sign(key, ref, tt.flags)
		out := mustRun(t, "verify", "--key", pub, ref)
		if !strings.Contains(out, "verified ") || !strings.Contains(out, ": "+tt.scheme+" signature") {
			t.Errorf("%s: skiff verify printed %q, want a %s signature", tt.name, out, tt.scheme)
		}
		failWith(t, "does not verify with this key", "verify", "--key", otherPub, ref)
	}
}

// TestSkiffSignsCosignVerifies signs with keys skiff made (and a P-384
// and an Ed25519 key) and has cosign verify the signatures.
func TestSkiffSignsCosignVerifies(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	c := newCosign(t, srv.Host)
	key, pub := keyPair(t)
	seedImage(t, srv, "skiff/app:1", 100)
	ref := srv.Host + "/skiff/app:1"
	mustRun(t, "sign", "--key", key, "--annotation", "build=7", ref)
	if out, err := c.verify(pub, ref); err != nil || !strings.Contains(out, `"build":"7"`) {
		t.Fatalf("cosign verify: %v\n%s", err, out)
	}
	// A second key appends; cosign accepts each key's signature.
	p384 := writeKey(t, must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)))
	mustRun(t, "sign", "--key", p384+".key", ref)
	for _, p := range []string{pub, p384 + ".pub"} {
		if out, err := c.verify(p, ref); err != nil {
			t.Errorf("cosign verify --key %s: %v\n%s", filepath.Base(p), err, out)
		}
	}
	_, otherPub := keyPair(t)
	if out, err := c.verify(otherPub, ref); err == nil {
		t.Errorf("cosign verified skiff's signature with another key:\n%s", out)
	}
}

// writeKey writes key as PREFIX.key and PREFIX.pub and returns PREFIX.
func writeKey(t *testing.T, key *ecdsa.PrivateKey) string {
	prefix := filepath.Join(t.TempDir(), "k")
	os.WriteFile(prefix+".key", must(cosign.MarshalPrivateKey(key)), 0o600)
	os.WriteFile(prefix+".pub", must(cosign.MarshalPublicKey(key.Public())), 0o644)
	return prefix
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestCosignSignaturesRefused alters what cosign wrote as an attacker with
// write access to the registry could, and checks that skiff names why it
// refuses: a changed payload, a signature moved to another image, a
// missing signature.
func TestCosignSignaturesRefused(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	c := newCosign(t, srv.Host)
	c.mustRun("generate-key-pair", "--output-key-prefix", filepath.Join(c.dir, "cosign"))
	key, pub := filepath.Join(c.dir, "cosign.key"), filepath.Join(c.dir, "cosign.pub")
	im := seedImage(t, srv, "cosign/app:1", 100)
	other := seedImage(t, srv, "cosign/app:2", 200)
	if im.Manifest.Digest == other.Manifest.Digest {
		t.Fatal("the two images are one")
	}
	c.sign(key, srv.Host+"/cosign/app@"+string(im.Manifest.Digest), cosignTagFlags)
	repo := (&registry.Client{}).Repository(must(reference.Parse(srv.Host + "/cosign/app")))
	sigTag := must(manifest.CosignTag(im.Manifest.Digest, ".sig"))
	sigDesc := must(repo.Resolve(t.Context(), sigTag))

	// The signature moved to the other image's tag: it verifies, but
	// names the first image.
	if err := repo.Tag(t.Context(), sigDesc, must(manifest.CosignTag(other.Manifest.Digest, ".sig"))); err != nil {
		t.Fatal(err)
	}
	failWith(t, "names another digest", "verify", "--key", pub, srv.Host+"/cosign/app:2")

	// A payload changed, and the manifest to match.
	doc := must(manifest.FetchDocument(t.Context(), repo, sigDesc))
	m := *doc.Manifest
	payload := must(manifest.FetchAll(t.Context(), repo, m.Layers[0], 1<<20))
	changed := []byte(strings.Replace(string(payload), `"optional":null`, `"optional":{"x":"y"}`, 1))
	l := manifest.DescriptorFor(m.Layers[0].MediaType, changed)
	if err := repo.Push(t.Context(), l, strings.NewReader(string(changed))); err != nil {
		t.Fatal(err)
	}
	l.Annotations = m.Layers[0].Annotations
	m.Layers = []manifest.Descriptor{l}
	tampered := must(manifest.Marshal(manifest.MediaTypeOCIManifest, &m))
	if _, err := repo.PushManifest(t.Context(), tampered.Raw, tampered.MediaType, sigTag); err != nil {
		t.Fatal(err)
	}
	failWith(t, "does not verify with this key", "verify", "--key", pub, srv.Host+"/cosign/app:1")
	if out, err := c.verify(pub, srv.Host+"/cosign/app:1"); err == nil {
		t.Errorf("cosign accepted the changed payload too:\n%s", out)
	}

	seedImage(t, srv, "cosign/unsigned:1", 300)
	failWith(t, "no signature found", "verify", "--key", pub, srv.Host+"/cosign/unsigned:1")
}

// TestCopyReferrersKeepsCosignSignatures has cosign sign an image in all
// three ways, copies it with --referrers to another registry, and has
// both cosign and skiff verify the copy.
func TestCopyReferrersKeepsCosignSignatures(t *testing.T) {
	src, dst := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	c := newCosign(t, src.Host)
	c.mustRun("generate-key-pair", "--output-key-prefix", filepath.Join(c.dir, "cosign"))
	key, pub := filepath.Join(c.dir, "cosign.key"), filepath.Join(c.dir, "cosign.pub")
	im := seedImage(t, src, "cosign/app:1", 100)
	byDigest := src.Host + "/cosign/app@" + string(im.Manifest.Digest)
	for _, flags := range [][]string{cosignTagFlags, cosignReferrerFlags, cosignBundleFlags} {
		c.sign(key, byDigest, flags)
	}
	mustRun(t, "copy", "--referrers", src.Host+"/cosign/app:1", dst.Host+"/mirror/app:1")
	out := mustRun(t, "verify", "--key", pub, dst.Host+"/mirror/app:1")
	for _, scheme := range []string{": tag signature", ": referrer signature", ": bundle signature"} {
		if !strings.Contains(out, scheme) {
			t.Errorf("skiff verify of the copy printed %q, missing a%s", out, scheme)
		}
	}
	if out, err := c.verify(pub, dst.Host+"/mirror/app:1"); err != nil {
		t.Errorf("cosign verify of the copy: %v\n%s", err, out)
	}
	mustRun(t, "copy", "--verify-key", pub, dst.Host+"/mirror/app:1", dst.Host+"/mirror/again:1")

	// Across an air gap in one file: an oci-archive, then another registry.
	far := registrytest.NewServer(t, nil)
	archive := filepath.Join(t.TempDir(), "app.tar")
	mustRun(t, "copy", "--referrers", src.Host+"/cosign/app:1", "oci-archive:"+archive+":1")
	mustRun(t, "copy", "--referrers", "oci-archive:"+archive+":1", far.Host+"/far/app:1")
	if out := mustRun(t, "verify", "--key", pub, far.Host+"/far/app:1"); strings.Count(out, " signature") < 3 {
		t.Errorf("skiff verify after the archive printed %q, want all three signatures", out)
	}
	if out, err := c.verify(pub, far.Host+"/far/app:1"); err != nil {
		t.Errorf("cosign verify after the archive: %v\n%s", err, out)
	}
}
