// Package mirror keeps a copy of repositories somewhere else: the tags
// of a source repository, mirrored incrementally into a target
// repository in a registry or an OCI layout, as "skiff sync" does.
//
// [Sync] lists the source's tags, keeps those its [Pattern]s select
// (globs, or ranges of semantic versions), and compares each tag's image
// on both sides: a tag the target already has costs a resolve on each
// side (a HEAD, or a read of index.json) and moves nothing. A new or
// changed tag is walked and copied by [images.Walk] and
// [images.CopyGraph], the walker every graph operation shares, so only
// the blobs the target lacks move, mounted when both sides are on one
// registry. Images are mirrored several at a time with one bound on
// their blob transfers together ([images.Pool]); a blob two images
// share moves once. Signatures, attestations and SBOMs come along with
// Options.Referrers. A target that resumes pushes (a layout) or keeps
// what it received (a registry) makes an interrupted Sync resumable: run
// again, it moves only what is missing.
//
// Options.DryRun asks the target what it lacks and changes nothing.
// Options.Prune removes the target's tags that vanished at the source,
// and only those that the patterns select; the [Report] names each. A
// source that lists no tags is refused ([ErrEmptySource]) unless
// Options.AllowEmptySource says an empty source is meant.
//
// Sources and targets are the content interfaces of package manifest
// and a [TagLister]; registry.Repository and layout.Layout are both.
package mirror
