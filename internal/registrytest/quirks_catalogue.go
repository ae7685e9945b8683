package registrytest

// Quirk names one way a real registry departs from the distribution spec,
// as its users and other clients' trackers recorded it. Options.Quirks
// switches them on; each is emulated at the HTTP level (statuses, headers,
// bodies, redirects) around the strict registry, and Registry.QuirkHits
// counts how often it acted, so that a test can tell the quirk was met.
//
// The doc comment of each constant names the registry, what it does and
// where it was recorded. Catalogue lists them all.
type Quirk string

// Amazon ECR.
const (
	// ECRMountNeedsManifest: ECR mounts a blob only once a manifest of the
	// source repository references it; a blob that is merely present gets
	// 202 and an upload session. aws/containers-roadmap#2860.
	ECRMountNeedsManifest Quirk = "ECRMountNeedsManifest"
	// ECRNoDigestOnGet: ECR leaves Docker-Content-Digest out of manifest
	// GETs (HEADs keep it). distribution/distribution#3792,
	// ChangemakerStudios/Docker.Registry.DotNet#34.
	ECRNoDigestOnGet Quirk = "ECRNoDigestOnGet"
	// ECRPatchCreated: ECR answers a chunk's PATCH with 201 Created
	// instead of 202 Accepted. aws/containers-roadmap#2831.
	ECRPatchCreated Quirk = "ECRPatchCreated"
	// ECRChunkDiscard: ECR keeps only the first PATCH of an upload; later
	// PATCHes get 201 while their bodies are dropped and Range does not
	// move. aws/containers-roadmap#2831.
	ECRChunkDiscard Quirk = "ECRChunkDiscard"
	// ECRRepositoryMustExist: ECR does not create repositories on push;
	// uploads and manifest PUTs to a repository holding nothing get 404
	// NAME_UNKNOWN "The repository with name '…' does not exist in the
	// registry with id '…'". plexsystems/sinker#55, regclient/regclient#869.
	ECRRepositoryMustExist Quirk = "ECRRepositoryMustExist"
	// ECRImmutableTags: in an immutable ECR repository a manifest PUT to
	// an existing tag gets 400 TAG_INVALID "The image tag '…' already
	// exists … and cannot be overwritten because the repository is
	// immutable", even when the tag names the same manifest.
	// moby/buildkit#3776, osscontainertools/kaniko#204.
	ECRImmutableTags Quirk = "ECRImmutableTags"
	// ECRMediaTypeRequired: ECR refuses a manifest or index without its
	// optional top-level mediaType: 400 UNSUPPORTED "Invalid JSON syntax".
	// containers/image#584, aws/aws-sdk#193.
	ECRMediaTypeRequired Quirk = "ECRMediaTypeRequired"
	// ECRBlobRedirectS3: ECR answers blob GETs with a 307 to an S3
	// presigned URL, and S3 refuses a request that also carries an
	// Authorization header (400 "Only one auth mechanism allowed").
	// open-policy-agent/opa#6728.
	ECRBlobRedirectS3 Quirk = "ECRBlobRedirectS3"
)

// Docker Hub.
const (
	// HubMissingRepo401: Docker Hub answers reads of a repository that
	// does not exist with 401 and error="insufficient_scope", even to a
	// valid token, so as not to tell it from a private one.
	// jupyterhub/binderhub#1664, distribution/distribution#1291.
	HubMissingRepo401 Quirk = "HubMissingRepo401"
	// HubPullRateLimit: past the pull rate limit Docker Hub answers
	// manifest GETs with 429 TOOMANYREQUESTS "You have reached your pull
	// rate limit…", RateLimit-Limit and RateLimit-Remaining: 0 headers and
	// no Retry-After (the window is six hours); HEADs are not counted and
	// still succeed. docker/docs#11648, docker/hub-feedback#1669.
	HubPullRateLimit Quirk = "HubPullRateLimit"
	// HubCatalogDenied: Docker Hub refuses /v2/_catalog with 401 and
	// error="insufficient_scope", even with a token for
	// registry:catalog:*. docker/hub-feedback#2094, genuinetools/reg#86.
	HubCatalogDenied Quirk = "HubCatalogDenied"
	// HubCDNRedirect: Docker Hub answers blob GETs with a 307 to a signed
	// URL on its CDN (production.cloudflare.docker.com/…?verify=…).
	// opencontainers/distribution-spec#299.
	HubCDNRedirect Quirk = "HubCDNRedirect"
)

// GitHub, Google, Azure.
const (
	// GHCRNoReferrersAPI: GHCR has no referrers API: GET /referrers/
	// answers 404 MANIFEST_UNKNOWN and manifest PUTs carry no OCI-Subject,
	// so clients keep the referrers tag schema. NVIDIA/aicr#1957,
	// actions/attest-build-provenance#71.
	GHCRNoReferrersAPI Quirk = "GHCRNoReferrersAPI"
	// GCRTagsNoPagination: GCR ignores n and last on tags/list and answers
	// every tag at once, with its own "manifest" and "child" fields and no
	// Link. google/go-containerregistry#897.
	GCRTagsNoPagination Quirk = "GCRTagsNoPagination"
	// ACRLinkOrderby: ACR pages tags and the catalog at 1000 whatever n
	// says, and its Link carries an extra empty parameter:
	// </v2/_catalog?last=…&n=…&orderby=>; rel="next".
	// Azure/azure-rest-api-specs#6457, CybercentreCanada/assemblyline-core#1147.
	ACRLinkOrderby Quirk = "ACRLinkOrderby"
)

// Quay, GitLab, Harbor.
const (
	// QuayMixedIndex: Quay refuses an OCI index that lists Docker
	// manifests: 400 MANIFEST_INVALID "… is not one of
	// ['application/vnd.oci.image.manifest.v1+json', …]".
	// openshift/oc-mirror#253, quay/quay#6070.
	QuayMixedIndex Quirk = "QuayMixedIndex"
	// QuayArtifactAllowlist: Quay (before 3.6, and later unless the type
	// is allowed in its configuration) refuses manifests whose config or
	// layers are not image types, cosign's signatures among them: 400
	// MANIFEST_INVALID "failed to parse manifest". tektoncd/chains#252,
	// deckhouse/deckhouse#10672.
	QuayArtifactAllowlist Quirk = "QuayArtifactAllowlist"
	// GitLabArtifactAllowlist: GitLab checks config.mediaType and
	// artifactType against the media types it knows: 400 MANIFEST_INVALID
	// with detail "unknown media type: …". fluxcd/flux2#3724, ocx-sh/ocx#480.
	GitLabArtifactAllowlist Quirk = "GitLabArtifactAllowlist"
	// GitLabStrictAccept: GitLab answers 404 to a manifest GET or HEAD
	// whose Accept does not list the manifest's type, by tag and by digest.
	// devcontainers/devcontainers.github.io#726.
	GitLabStrictAccept Quirk = "GitLabStrictAccept"
	// HarborMountMissingProject: Harbor answers a mount from a project it
	// does not have with 401 UNAUTHORIZED "project … not found" instead of
	// 202. goharbor/harbor#17097, google/go-containerregistry#1393.
	HarborMountMissingProject Quirk = "HarborMountMissingProject"
	// HarborVulnerable412: with "Prevent vulnerable images from running",
	// Harbor answers GET and HEAD of a stored manifest with 412
	// PROJECTPOLICYVIOLATION, also the HEAD a client sends before pushing
	// it again. goharbor/harbor#15885, goharbor/harbor#11202.
	HarborVulnerable412 Quirk = "HarborVulnerable412"
	// HarborImmutableTags: a Harbor tag immutability rule answers a
	// manifest PUT to an existing tag with 412 DENIED "The tag:…:… is
	// immutable, cannot be overwrite." goharbor/harbor#9427.
	HarborImmutableTags Quirk = "HarborImmutableTags"
)

// JFrog Artifactory, Sonatype Nexus, zot, proxies.
const (
	// ArtifactoryHistoryRequired: Artifactory refuses (400
	// MANIFEST_INVALID) an image whose config does not have one non-empty
	// history entry per layer. GoogleContainerTools/jib#534,
	// nlewo/nix2container#57.
	ArtifactoryHistoryRequired Quirk = "ArtifactoryHistoryRequired"
	// ArtifactoryAccept406: Artifactory answers 406 Not Acceptable to
	// blob and upload requests that carry an Accept header of manifest
	// types. dotnet/sdk-container-builds#382.
	ArtifactoryAccept406 Quirk = "ArtifactoryAccept406"
	// ArtifactoryMissingTag403: Artifactory answers a GET or HEAD of a tag
	// that does not exist with 403 UNAUTHORIZED "The client does not have
	// permission for manifest…", not 404. sigstore/cosign#2973,
	// google/go-containerregistry#1691.
	ArtifactoryMissingTag403 Quirk = "ArtifactoryMissingTag403"
	// NexusPutNoDigest: Nexus (with an external database) answers manifest
	// PUTs without Docker-Content-Digest. distribution/distribution#3849.
	NexusPutNoDigest Quirk = "NexusPutNoDigest"
	// NexusBlobCannotBeUpdated: Nexus refuses to complete an upload of a
	// blob it already has: 400 BLOB_UPLOAD_INVALID "… cannot be updated".
	// sonatype/nexus-public#967.
	NexusBlobCannotBeUpdated Quirk = "NexusBlobCannotBeUpdated"
	// ZotOCIOnly: zot (before 2.1.2, and by default in its strict mode)
	// refuses Docker media types: 400 MANIFEST_INVALID. project-zot/zot#724,
	// project-zot/zot#2234.
	ZotOCIOnly Quirk = "ZotOCIOnly"
	// ProxyNoDigestOnHead: proxies and load balancers in front of
	// registries strip Docker-Content-Digest from manifest HEADs.
	// distribution/distribution#3848, distribution/distribution#2384.
	ProxyNoDigestOnHead Quirk = "ProxyNoDigestOnHead"
	// RedHatGzipEncoding: registry.access.redhat.com gzips blob responses
	// for clients that send Accept-Encoding: gzip, so Content-Length no
	// longer matches the blob. quay/quay#1310.
	RedHatGzipEncoding Quirk = "RedHatGzipEncoding"
)

// QuirkInfo describes a Quirk for tests and documentation.
type QuirkInfo struct {
	Quirk    Quirk
	Registry string // whose quirk it is
	Source   string // where it was recorded, owner/repo#number
}

// URL returns the address of the first source.
func (q QuirkInfo) URL() string { return sourceURL(q.Source) }

var catalogue = []QuirkInfo{
	{ECRMountNeedsManifest, "ECR", "aws/containers-roadmap#2860"},
	{ECRNoDigestOnGet, "ECR", "distribution/distribution#3792"},
	{ECRPatchCreated, "ECR", "aws/containers-roadmap#2831"},
	{ECRChunkDiscard, "ECR", "aws/containers-roadmap#2831"},
	{ECRRepositoryMustExist, "ECR", "plexsystems/sinker#55"},
	{ECRImmutableTags, "ECR", "moby/buildkit#3776"},
	{ECRMediaTypeRequired, "ECR", "containers/image#584"},
	{ECRBlobRedirectS3, "ECR", "open-policy-agent/opa#6728"},
	{HubMissingRepo401, "Docker Hub", "jupyterhub/binderhub#1664"},
	{HubPullRateLimit, "Docker Hub", "docker/docs#11648"},
	{HubCatalogDenied, "Docker Hub", "docker/hub-feedback#2094"},
	{HubCDNRedirect, "Docker Hub", "opencontainers/distribution-spec#299"},
	{GHCRNoReferrersAPI, "GHCR", "NVIDIA/aicr#1957"},
	{GCRTagsNoPagination, "GCR/Artifact Registry", "google/go-containerregistry#897"},
	{ACRLinkOrderby, "ACR", "Azure/azure-rest-api-specs#6457"},
	{QuayMixedIndex, "Quay", "openshift/oc-mirror#253"},
	{QuayArtifactAllowlist, "Quay", "tektoncd/chains#252"},
	{GitLabArtifactAllowlist, "GitLab", "fluxcd/flux2#3724"},
	{GitLabStrictAccept, "GitLab", "devcontainers/devcontainers.github.io#726"},
	{HarborMountMissingProject, "Harbor", "goharbor/harbor#17097"},
	{HarborVulnerable412, "Harbor", "goharbor/harbor#15885"},
	{HarborImmutableTags, "Harbor", "goharbor/harbor#9427"},
	{ArtifactoryHistoryRequired, "Artifactory", "GoogleContainerTools/jib#534"},
	{ArtifactoryAccept406, "Artifactory", "dotnet/sdk-container-builds#382"},
	{ArtifactoryMissingTag403, "Artifactory", "sigstore/cosign#2973"},
	{NexusPutNoDigest, "Nexus", "distribution/distribution#3849"},
	{NexusBlobCannotBeUpdated, "Nexus", "sonatype/nexus-public#967"},
	{ZotOCIOnly, "zot", "project-zot/zot#724"},
	{ProxyNoDigestOnHead, "proxies", "distribution/distribution#3848"},
	{RedHatGzipEncoding, "Red Hat", "quay/quay#1310"},
}

// Catalogue lists every Quirk with its registry and source.
func Catalogue() []QuirkInfo { return append([]QuirkInfo(nil), catalogue...) }

// sourceURL turns "owner/repo#n" into its GitHub address.
func sourceURL(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' {
			return "https://github.com/" + s[:i] + "/issues/" + s[i+1:]
		}
	}
	return "https://github.com/" + s
}
