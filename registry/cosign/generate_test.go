package cosign_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/distribution"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/cosign"
)

var generate = flag.Bool("generate", false, "run the real cosign (on PATH) and rewrite testdata/cosign")

// cosignEnv is the environment cosign runs in for tests: no password on
// its keys, a home of its own, and a dead proxy for everything but
// loopback, so it never reaches the sigstore services on the network.
func cosignEnv(home string) []string {
	return append(os.Environ(), "HOME="+home, "COSIGN_PASSWORD=", "COSIGN_EXPERIMENTAL=1",
		"HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1", "NO_PROXY=")
}

// Flags of cosign 3 for the three ways it signs with a key.
var (
	legacyFlags   = []string{"--new-bundle-format=false", "--use-signing-config=false", "--tlog-upload=false"}
	referrerFlags = append([]string{"--registry-referrers-mode=oci-1-1"}, legacyFlags...)
	bundleFlags   = []string{"--signing-config", "{dir}/signing-config.json", "--trusted-root", "{dir}/trusted-root.json"}
)

// TestGenerateTestdata rewrites testdata/cosign from what the real cosign
// writes to a registry: go test ./registry/cosign -run TestGenerateTestdata -generate
// with cosign 3 on PATH. The files are cosign's; never edit them by hand.
func TestGenerateTestdata(t *testing.T) {
	if !*generate {
		t.Skip("run with -generate to rewrite testdata/cosign with the real cosign")
	}
	bin := distribution.RequireTool(t, "cosign")
	g := &generator{t: t, bin: bin, dir: t.TempDir(), srv: registrytest.NewServer(t, nil)}
	g.setup()
	os.RemoveAll(casesDir)
	for _, c := range []struct {
		name, key string
		runs      [][]string
	}{
		// No bundle-ed25519: cosign 3.1.3 fails to make one ("failed to
		// verify signature" after signing with an imported Ed25519 key).
		{"tag-p256", "p256", [][]string{g.sign("p256", legacyFlags)}},
		{"tag-p384", "p384", [][]string{g.sign("p384", legacyFlags)}},
		{"tag-ed25519", "ed25519", [][]string{g.sign("ed25519", legacyFlags)}},
		{"tag-rsa", "rsa", [][]string{g.sign("rsa", legacyFlags)}},
		{"tag-annotations", "p256", [][]string{g.sign("p256", append([]string{"-a", "foo=bar", "-a", "n=1"}, legacyFlags...))}},
		{"tag-two-keys", "p384", [][]string{g.sign("p256", legacyFlags), g.sign("p384", legacyFlags)}},
		{"referrer-p256", "p256", [][]string{g.sign("p256", referrerFlags)}},
		{"bundle-p256", "p256", [][]string{g.sign("p256", bundleFlags)}},
		{"bundle-p384", "p384", [][]string{g.sign("p384", bundleFlags)}},
		{"bundle-rsa", "rsa", [][]string{g.sign("rsa", bundleFlags)}},
		{"attest-p256", "p256", [][]string{{"attest", "--key", "{dir}/p256.key", "--predicate", "{dir}/predicate.json",
			"--type", "https://example.com/custom/v1", "--signing-config", "{dir}/signing-config.json",
			"--trusted-root", "{dir}/trusted-root.json", "--allow-http-registry", "--allow-insecure-registry", "--yes", "{ref}"}}},
	} {
		g.makeCase(c.name, c.key, c.runs)
	}
	out, _ := g.cosign("version")
	if err := os.WriteFile(filepath.Join(casesDir, "VERSION"), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

type generator struct {
	t   *testing.T
	bin string
	dir string
	srv *registrytest.Server
	img *testimage.Image
}

// setup makes the keys (cosign's own P-256 pair, and P-384, Ed25519 and
// RSA keys imported into cosign), the image, and cosign's configuration
// for signing with a key and no transparency log.
func (g *generator) setup() {
	t := g.t
	if _, err := g.cosign("generate-key-pair", "--output-key-prefix", filepath.Join(g.dir, "p256")); err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]crypto.Signer{"p384": must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)),
		"ed25519": ed25519Key(t), "rsa": must(rsa.GenerateKey(rand.Reader, 2048))} {
		pemKey, err := cosign.MarshalPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		plain := filepath.Join(g.dir, name+".pem")
		writeFile(t, plain, pemKey)
		if _, err := g.cosign("import-key-pair", "--key", plain, "--output-key-prefix", filepath.Join(g.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(g.dir, "signing-config.json"), []byte(`{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json","rekorTlogConfig":{},"tsaConfig":{}}`))
	writeFile(t, filepath.Join(g.dir, "trusted-root.json"), []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`))
	writeFile(t, filepath.Join(g.dir, "predicate.json"), []byte(`{"note":"an attestation, not a signature"}`))
	g.img = must(testimage.New(testimage.Options{LayerSizes: []int{100}, Seed: 18}))
	enc := must(os.ReadFile(filepath.Join(g.dir, "p256.key")))
	writeFile(t, filepath.Join("testdata", "cosign-encrypted.key"), enc)
}

func (g *generator) sign(key string, flags []string) []string {
	args := []string{"sign", "--key", "{dir}/" + key + ".key", "--allow-http-registry", "--allow-insecure-registry", "--yes"}
	return append(append(args, flags...), "{ref}")
}

// makeCase pushes the image to its own repository, runs cosign, and saves
// what the image's tags and referrers then hold.
func (g *generator) makeCase(name, key string, runs [][]string) {
	t := g.t
	ref := must(reference.Parse(g.srv.Host + "/cases/" + name + ":1"))
	repo := (&registry.Client{}).Repository(ref)
	if err := testimage.Push(t.Context(), repo, g.img, ref.Tag); err != nil {
		t.Fatal(err)
	}
	img := g.img.Manifest.Descriptor()
	byDigest := ref.Name() + "@" + string(img.Digest)
	c := cosignCase{Image: img, Key: string(must(os.ReadFile(filepath.Join(g.dir, key+".pub"))))}
	for _, run := range runs {
		args := make([]string, len(run))
		for i, a := range run {
			a = strings.ReplaceAll(a, "{dir}", g.dir)
			args[i] = strings.ReplaceAll(a, "{ref}", byDigest)
		}
		if out, err := g.cosign(args...); err != nil {
			t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		c.Command = append(c.Command, "cosign "+strings.Join(run, " "))
	}
	dir := filepath.Join(casesDir, name)
	d := &dumper{t: t, repo: repo, dir: dir}
	d.save(img, false)
	att := must(cosign.Find(t.Context(), repo, img))
	c.Tags = map[string]manifest.Descriptor{}
	for suffix, desc := range map[string]*manifest.Descriptor{".sig": att.Signatures, ".att": att.Attestations, ".sbom": att.SBOMs} {
		if desc != nil {
			c.Tags[must(manifest.CosignTag(img.Digest, suffix))] = *desc
			d.save(*desc, true)
		}
	}
	c.Referrers = att.Referrers
	for _, r := range att.Referrers {
		d.save(r, true)
	}
	raw := must(json.MarshalIndent(&c, "", "  "))
	writeFile(t, filepath.Join(dir, "case.json"), append(raw, '\n'))
}

func (g *generator) cosign(args ...string) (string, error) {
	cmd := exec.Command(g.bin, args...)
	cmd.Env = cosignEnv(filepath.Join(g.dir, "home"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// dumper saves manifests and the blobs they name.
type dumper struct {
	t    *testing.T
	repo *registry.Repository
	dir  string
}

// save writes the manifest desc names, its config and, when layers is
// set, its layers.
func (d *dumper) save(desc manifest.Descriptor, layers bool) {
	doc := must(manifest.FetchDocument(d.t.Context(), d.repo, desc))
	d.write(doc.Raw)
	todo := []manifest.Descriptor{doc.Manifest.Config}
	if layers {
		todo = append(todo, doc.Manifest.Layers...)
	}
	for _, b := range todo {
		d.write(must(manifest.FetchAll(d.t.Context(), d.repo, b, 16<<20)))
	}
}

func (d *dumper) write(b []byte) {
	dg := manifest.FromBytes(b)
	p := filepath.Join(d.dir, "blobs", dg.Algorithm(), dg.Hex())
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		d.t.Fatal(err)
	}
	writeFile(d.t, p, b)
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func ed25519Key(t testing.TB) crypto.Signer {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
