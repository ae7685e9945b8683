// Package artifact pushes files to a registry, an OCI layout or an
// oci-archive as an OCI artifact, and pulls them back, in the form oras
// (https://oras.land) writes and reads, so that each reads what the other
// wrote.
//
// # What it writes
//
// Push makes an OCI 1.1 image manifest for artifacts, as the image spec's
// guidelines for artifact usage describe
// (https://github.com/opencontainers/image-spec/blob/main/manifest.md#guidelines-for-artifact-usage)
// and `oras push` writes it:
//
//   - "artifactType" names what the artifact is; MediaTypeUnknownArtifact
//     when the caller names nothing, as oras does;
//   - the config is the empty descriptor, manifest.MediaTypeOCIEmpty with
//     the two bytes "{}" also given inline as its "data";
//   - one layer per file, of media type manifest.MediaTypeOCILayer unless
//     the caller names one, its name in the AnnotationTitle annotation;
//     with no file at all, the one layer is the empty descriptor;
//   - a directory is one tar+gzip layer whose entries sit under the
//     directory's title, marked AnnotationUnpack "true", with
//     AnnotationDigest naming the digest of the uncompressed tar;
//   - AnnotationCreated on the manifest, the time of the push, unless the
//     caller gives it;
//   - with a subject, the manifest refers to that image, and the store
//     lists it among the image's referrers: a registry through the
//     referrers API, or the spec's "sha256-<hex>" tag where it has none;
//     a layout in its index.json.
//
// Files stream from disk and are read twice, once to learn their digest
// and once to send them; nothing is held in memory. A directory's tar+gzip
// is built once, with both digests in the same pass, into a temporary file
// that is removed afterwards.
//
// # What it reads
//
// Pull writes each titled layer under a directory, and unpacks those marked
// for unpacking, as `oras pull` does. What a registry or an archive holds
// is not trusted: every blob is verified against its digest, and the
// uncompressed tar against AnnotationDigest, before anything appears under
// its final name; a title that is absolute, holds "..", or would reach
// outside the directory through a symbolic link is refused, as is an
// unpacked entry outside its title's directory, a link in it that points
// outside it (a hard link to such a link too), and more decompressed bytes
// than the budget allows. Unpacked files and directories keep their
// permissions but lose their setuid, setgid and sticky bits. Nothing
// is written outside the directory, and nothing already there is replaced
// unless the caller asks for it.
package artifact

import "github.com/skiffoci/skiff/manifest"

// Annotations and media types of artifacts, as oras and the image spec
// name them.
const (
	// AnnotationTitle is a layer's file name, relative to the directory
	// it is pulled into.
	AnnotationTitle = "org.opencontainers.image.title"
	// AnnotationCreated is when the artifact was made (RFC 3339).
	AnnotationCreated = "org.opencontainers.image.created"
	// AnnotationUnpack "true" marks a tar+gzip layer that is a directory,
	// to be unpacked under its title.
	AnnotationUnpack = "io.deis.oras.content.unpack"
	// AnnotationDigest is the digest of a directory layer's uncompressed
	// tar.
	AnnotationDigest = "io.deis.oras.content.digest"

	// MediaTypeUnknownArtifact is the artifact type of an artifact whose
	// pusher named none, as oras names it.
	MediaTypeUnknownArtifact = "application/vnd.unknown.artifact.v1"
	// MediaTypeFile is the media type of a file's layer unless the
	// pusher names one, as oras gives it.
	MediaTypeFile = manifest.MediaTypeOCILayer
	// MediaTypeDir is the media type of a directory's layer unless the
	// pusher names one.
	MediaTypeDir = manifest.MediaTypeOCILayerGzip
)

// emptyJSON is the content of the empty descriptor.
var emptyJSON = []byte("{}")

// emptyDescriptor is the image spec's empty descriptor, with its data.
func emptyDescriptor() manifest.Descriptor {
	d := manifest.DescriptorFor(manifest.MediaTypeOCIEmpty, emptyJSON)
	d.Data = emptyJSON
	return d
}
