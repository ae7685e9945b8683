// Package manifest holds the types every part of skiff shares: digests,
// descriptors, platforms, image manifests, indexes and configs, and the
// small content interfaces through which registries, OCI layouts and docker
// tarballs exchange images without knowing of each other.
//
// Everything read from outside is treated as hostile. Digests are validated
// strictly before they are used in a URL or a path ([ParseDigest]); content
// is verified while it streams ([NewVerifyingReader]), and a store commits a
// blob under its digest only with a [Verified] proof, which only a
// [Verifier] that read all of it makes; documents are parsed
// eagerly, bounded in size, and refused when ambiguous ([Parse]). A parsed
// [Document] keeps the exact bytes it came from, because re-encoding would
// change its digest.
//
// The specifications implemented here:
//   - descriptors: https://github.com/opencontainers/image-spec/blob/main/descriptor.md
//   - digests: https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests
//   - image manifests: https://github.com/opencontainers/image-spec/blob/main/manifest.md
//   - image indexes: https://github.com/opencontainers/image-spec/blob/main/image-index.md
//   - image configs: https://github.com/opencontainers/image-spec/blob/main/config.md
//   - Docker's image manifest v2, schema 2:
//     https://distribution.github.io/distribution/spec/manifest-v2-2/
package manifest
