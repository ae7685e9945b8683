package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// quirkRows is the table: one row per quirk of the catalogue.
func quirkRows() []quirkRow {
	return []quirkRow{
		{quirk: registrytest.ECRMountNeedsManifest, unmet: "skiff mounts only blobs a manifest it copies names; " +
			"registry.TestQuirkECRMountNeedsManifest mounts a bare blob"},
		{quirk: registrytest.ECRNoDigestOnGet},
		{quirk: registrytest.ECRPatchCreated, unmet: "the CLI sends no PATCH; registry.TestQuirkECRChunks does"},
		{quirk: registrytest.ECRChunkDiscard, unmet: "the CLI sends no PATCH; registry.TestQuirkECRChunks does"},
		{quirk: registrytest.ECRRepositoryMustExist, want: map[string]string{
			"push": "The repository with name 'proj/pushed' does not exist", "push-again": "does not exist",
			"copy": "The repository with name 'proj/copied' does not exist", "copy-mount": "'team/mounted' does not exist",
			"append": "'proj/appended' does not exist", "sync-in": "'mirror/proj/app' does not exist"}},
		{quirk: registrytest.ECRImmutableTags, want: map[string]string{
			"append-retag": "TAG_INVALID: The image tag '1' already exists in the 'proj/app' repository and cannot be overwritten"},
			extra: []quirkOp{appendRetag}},
		{quirk: registrytest.ECRMediaTypeRequired, prepare: seedWithoutMediaType,
			want:  map[string]string{"copy-nomt": "UNSUPPORTED: Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'"},
			extra: []quirkOp{copyIn("copy-nomt", "proj/nomt:1")}},
		{quirk: registrytest.ECRBlobRedirectS3},
		{quirk: registrytest.HubMissingRepo401, auth: hubAuth,
			want:  map[string]string{"pull-missing": "401 Unauthorized; UNAUTHORIZED"},
			extra: []quirkOp{pullMissing}},
		{quirk: registrytest.HubPullRateLimit, auth: hubAuth, want: hubRateLimited()},
		{quirk: registrytest.HubCatalogDenied, auth: hubAuth,
			want: map[string]string{"catalog": "GET http://127.0.0.1"}},
		{quirk: registrytest.HubCDNRedirect, auth: hubAuth},
		{quirk: registrytest.GHCRNoReferrersAPI},
		{quirk: registrytest.GCRTagsNoPagination, prepare: manyTags(150), extra: []quirkOp{lsAll}},
		{quirk: registrytest.ACRLinkOrderby, prepare: manyTags(2100), extra: []quirkOp{lsAll}},
		{quirk: registrytest.QuayMixedIndex, prepare: seedMixedIndex,
			want:  map[string]string{"copy-mixed": "MANIFEST_INVALID: manifest invalid (failed to parse manifest: manifest data does not match schema: 'application/vnd.docker.distribution.manifest.v2+json' is not one of"},
			extra: []quirkOp{copyIn("copy-mixed", "proj/mixed:1")}},
		{quirk: registrytest.QuayArtifactAllowlist, want: map[string]string{
			"sign":   "MANIFEST_INVALID: manifest invalid (failed to parse manifest: manifest data does not match schema: layer media type 'application/vnd.dev.cosign.simplesigning.v1+json' is not allowed)",
			"verify": "no signature found"}},
		{quirk: registrytest.GitLabArtifactAllowlist, prepare: seedArtifact,
			want:  map[string]string{"copy-artifact": "MANIFEST_INVALID: manifest invalid (unknown media type: application/vnd.cncf.flux.config.v1+json)"},
			extra: []quirkOp{copyIn("copy-artifact", "proj/artifact:1")}},
		{quirk: registrytest.GitLabStrictAccept, unmet: "skiff lists every manifest type in Accept; " +
			"registrytest.TestQuirksBite shows a narrower Accept meeting 404"},
		{quirk: registrytest.HarborMountMissingProject, auth: bearerAuth,
			unmet: "the CLI mounts only from repositories it reads; registry.TestQuirkHarborMountMissingProject mounts from a mirror's"},
		{quirk: registrytest.HarborVulnerable412, auth: bearerAuth, want: harborVulnerable()},
		{quirk: registrytest.HarborImmutableTags, auth: bearerAuth, want: map[string]string{
			"append-retag": "412 Precondition Failed; DENIED: The tag:proj/app:1 is immutable, cannot be overwrite."},
			extra: []quirkOp{appendRetag}},
		{quirk: registrytest.ArtifactoryHistoryRequired, prepare: seedWithoutHistory,
			want:  map[string]string{"copy-nohistory": "MANIFEST_INVALID: manifest invalid"},
			extra: []quirkOp{copyIn("copy-nohistory", "proj/nohist:1")}},
		{quirk: registrytest.ArtifactoryAccept406, unmet: "skiff sends Accept only with manifest and referrers requests; " +
			"registrytest.TestQuirksBite shows a blob request with one meeting 406"},
		{quirk: registrytest.ArtifactoryMissingTag403,
			want:  map[string]string{"pull-missing": "403 Forbidden; UNAUTHORIZED: The client does not have permission for manifest"},
			extra: []quirkOp{pullMissing}},
		{quirk: registrytest.NexusPutNoDigest},
		{quirk: registrytest.NexusBlobCannotBeUpdated, unmet: "skiff asks with HEAD before it uploads a blob; " +
			"registrytest.TestQuirksBite uploads one twice"},
		{quirk: registrytest.ZotOCIOnly, prepare: seedDocker,
			want:  map[string]string{"copy-docker": "400 Bad Request; MANIFEST_INVALID: manifest invalid"},
			extra: []quirkOp{copyIn("copy-docker", "proj/docker:1")}},
		{quirk: registrytest.ProxyNoDigestOnHead},
		{quirk: registrytest.RedHatGzipEncoding, unmet: "skiff sends no Accept-Encoding; " +
			"registrytest.TestQuirksBite shows a client that does getting gzip"},
	}
}

// hubRateLimited: every manifest GET is refused, HEADs are not: pulls fail
// at once, saying why, and pushes of new images work.
func hubRateLimited() map[string]string {
	const why = "429 Too Many Requests; TOOMANYREQUESTS: You have reached your pull rate limit"
	const spent = "rate limit used up: RateLimit-Remaining 0;w=21600"
	return map[string]string{"pull": spent, "copy-mount": why, "append": why, "sync": why, "sign": why, "verify": why}
}

// harborVulnerable: stored images cannot be read, whatever reads them.
func harborVulnerable() map[string]string {
	const why = "412 Precondition Failed; PROJECTPOLICYVIOLATION: current image with '1 vulnerabilities' cannot be pulled"
	return map[string]string{"pull": why, "copy-mount": why, "append": why, "sync": why, "sign": why, "verify": why}
}

var pullMissing = op("pull-missing", func(e *quirkEnv) []string {
	return []string{"pull", e.ref("proj/nothere:1"), e.dir + "/missing.tar"}
})

// appendRetag appends onto proj/app:1 under the same tag.
var appendRetag = op("append-retag", func(e *quirkEnv) []string {
	return []string{"append", "-f", e.layer, e.ref("proj/app:1"), e.ref("proj/app:1")}
})

// lsAll lists proj/many and checks that every tag came, each once.
var lsAll = quirkOp{name: "ls-all", args: func(e *quirkEnv) []string { return []string{"ls", e.ref("proj/many")} },
	check: func(e *quirkEnv, stdout string) error {
		tags, err := e.store.List("proj/many", registrytest.KindTag)
		if err != nil {
			return err
		}
		want := make([]string, len(tags))
		for i, tag := range tags {
			want[i] = tag.Name
		}
		if got := strings.Fields(stdout); !slices.Equal(got, want) {
			return fmt.Errorf("listed %d tags, want the %d stored", len(got), len(want))
		}
		return nil
	}}

// manyTags makes proj/many, holding proj/app:1's manifest under n tags,
// straight in the storage.
func manyTags(n int) func(e *quirkEnv) {
	return func(e *quirkEnv) {
		tag, err := e.store.Lookup("proj/app", registrytest.KindTag, "1")
		if err != nil {
			e.t.Fatal(err)
		}
		m, err := e.store.Lookup("proj/app", registrytest.KindManifest, string(tag.Digest))
		if err != nil || e.store.Link("proj/many", m) != nil {
			e.t.Fatal(m, err)
		}
		for i := range n {
			tag.Name = fmt.Sprintf("v%05d", i)
			if err := e.store.Link("proj/many", tag); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

// otherRepo is name's repository on the other host.
func (e *quirkEnv) otherRepo(name string) *registry.Repository {
	ref, err := reference.Parse(e.otherRef(name))
	if err != nil {
		e.t.Fatal(err)
	}
	return (&registry.Client{}).Repository(ref)
}

func (e *quirkEnv) pushOther(name string, im *testimage.Image) {
	if err := testimage.Push(e.t.Context(), e.otherRepo(name), im, "1"); err != nil {
		e.t.Fatal(err)
	}
}

func seedDocker(e *quirkEnv) {
	e.pushOther("proj/docker", must(testimage.New(testimage.Options{LayerSizes: []int{100}, Docker: true})))
}

func seedWithoutHistory(e *quirkEnv) {
	e.pushOther("proj/nohist", must(testimage.New(testimage.Options{LayerSizes: []int{100, 200}})))
}

// seedMixedIndex pushes an OCI index of two Docker manifests, as
// buildx and oc-mirror write them.
func seedMixedIndex(e *quirkEnv) {
	repo := e.otherRepo("proj/mixed")
	var ims []*testimage.Image
	for i, p := range []string{"linux/amd64", "linux/arm64"} {
		plat, _ := manifest.ParsePlatform(p)
		im := must(testimage.New(testimage.Options{LayerSizes: []int{100}, Seed: uint64(i), Platform: plat, Docker: true}))
		if err := testimage.Push(e.t.Context(), repo, im, ""); err != nil {
			e.t.Fatal(err)
		}
		ims = append(ims, im)
	}
	if err := testimage.PushDocument(e.t.Context(), repo, must(testimage.Index(false, ims...)), "1"); err != nil {
		e.t.Fatal(err)
	}
}

// seedWithoutMediaType pushes proj/app:1's manifest less its optional
// mediaType field, as Helm and older ORAS wrote them.
func seedWithoutMediaType(e *quirkEnv) {
	ctx := e.t.Context()
	doc, err := e.otherRepo("proj/app").FetchManifest(ctx, "1")
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(doc.Raw, &m)
	delete(m, "mediaType")
	raw := must(json.Marshal(m))
	repo := e.otherRepo("proj/nomt")
	for _, d := range append(doc.Manifest.Layers, doc.Manifest.Config) {
		if _, err := repo.Mount(ctx, d, "proj/app"); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := repo.PushManifest(ctx, raw, manifest.MediaTypeOCIManifest, "1"); err != nil {
		e.t.Fatal(err)
	}
}

// seedArtifact pushes an artifact whose config is Flux's.
func seedArtifact(e *quirkEnv) {
	ctx := e.t.Context()
	repo := e.otherRepo("proj/artifact")
	cfg := []byte(`{}`)
	layer := []byte("kustomization")
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest,
		Config: manifest.DescriptorFor("application/vnd.cncf.flux.config.v1+json", cfg),
		Layers: []manifest.Descriptor{manifest.DescriptorFor("application/vnd.cncf.flux.content.v1.tar+gzip", layer)}}
	for _, b := range [][]byte{cfg, layer} {
		if err := repo.Push(ctx, manifest.DescriptorFor("application/octet-stream", b), bytes.NewReader(b)); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := repo.PushManifest(ctx, must(json.Marshal(&m)), manifest.MediaTypeOCIManifest, "1"); err != nil {
		e.t.Fatal(err)
	}
}
