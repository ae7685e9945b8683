package main

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/cosign"
	"github.com/skiffoci/skiff/registry/images"
)

func init() { commands["verify"] = verifyCommand }

var verifyCommand = &command{
	summary: "verify an image's cosign signatures with a public key",
	usage:   "--key KEY.pub [--identity REF] [flags] REF",
	help: `Checks the signatures cosign (or "skiff sign") attached to the image: the layers of
its sha256-<hex>.sig tag, cosign's OCI 1.1 signature referrers, and sigstore bundles
signed with a key. A signature counts when it verifies with KEY (ECDSA P-256/P-384/P-521,
Ed25519 or RSA, PEM, as cosign.pub) and its payload names the image's digest; with
--identity, also its docker-reference (same registry and repository; the same tag
when both name one). Exit 0 prints each signature that verified; exit 1 prints one
line saying why none did: no signature found, a signature that does not verify with
this key, a payload naming another digest, an identity mismatch, or a keyless
signature, which needs a transparency log or certificate authority and is not
verifiable with a key.

skiff does not check transparency log (Rekor) entries, Fulcio certificates or
timestamps: a signature that carries them and verifies with KEY is reported as
verified by KEY, with what was not checked; keyless signatures are never reported
as valid.

For an index, the index's digest must be signed; with --platform, a signature of
the chosen platform's manifest is accepted too (cosign signs an index by its digest,
and each manifest when asked to with --recursive). REF may also be oci:DIR[:TAG].

examples:
  skiff verify --key cosign.pub ghcr.io/o/app:1.0
  skiff verify --key cosign.pub --identity ghcr.io/o/app --json ghcr.io/o/app@sha256:…
  skiff verify --key cosign.pub --platform linux/arm64 ghcr.io/o/app:1.0`,
	run: runVerify,
}

func runVerify(ctx context.Context, e *env, args []string) error {
	var o options
	var keyPath, identity string
	var jsonOut bool
	fs := newFlagSet(e, "verify")
	o.register(fs)
	fs.StringVar(&keyPath, "key", "", "verify with the PEM public key in `FILE` (cosign.pub)")
	fs.StringVar(&identity, "identity", "", "require the signed docker-reference to be `REF` (registry/repository[:tag])")
	fs.StringVar(&o.platform, "platform", "", "also accept a signature of this `OS/ARCH[/VARIANT]` manifest of an index")
	fs.BoolVar(&jsonOut, "json", false, "print what verified as JSON")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one REF, got %d arguments", fs.NArg())
	}
	if keyPath == "" {
		return usagef("--key is required: skiff verifies signatures made with a key (keyless ones need a transparency log)")
	}
	loc, err := parseLocation(fs.Arg(0))
	if err != nil {
		return err
	}
	pub, err := readPublicKey(keyPath)
	if err != nil {
		return err
	}
	var platforms []manifest.Platform
	if o.platform != "" {
		if platforms, err = o.platforms(); err != nil {
			return err
		}
	}
	c, err := o.client(e, hostsOf(loc))
	if err != nil {
		return err
	}
	src, err := images.OpenSource(ctx, loc, &images.Options{Client: c})
	if err != nil {
		return err
	}
	defer src.Close()
	res, err := verifySource(ctx, src, pub, &cosign.VerifyOptions{Identity: identity}, platforms)
	if err != nil {
		return err
	}
	if jsonOut {
		return inspectJSON(e, res)
	}
	printVerified(e.stdout, res, "")
	return nil
}

// verifyResult is what verified for one image: the image, and for an
// index verified through a platform's manifests, those manifests.
type verifyResult struct {
	Image      string            `json:"image"`
	Digest     manifest.Digest   `json:"digest"`
	Platform   string            `json:"platform,omitempty"`
	Signatures []cosign.Verified `json:"signatures"`
	Manifests  []*verifyResult   `json:"manifests,omitempty"`
}

// readPublicKey reads a PEM public key file.
func readPublicKey(path string) (crypto.PublicKey, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	pub, err := cosign.ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pub, nil
}

// readKeyFile reads a key file of at most 64 KiB.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return manifest.ReadLimited(f, 64<<10, path)
}

// verifySource verifies the image src opened. The image's own digest must
// be signed; for an index and chosen platforms (nil: all of them, the
// whole index), a signature of each chosen platform's manifest is
// accepted instead.
func verifySource(ctx context.Context, src *images.Source, pub crypto.PublicKey, opts *cosign.VerifyOptions, platforms []manifest.Platform) (*verifyResult, error) {
	res := &verifyResult{Image: src.Location.String(), Digest: src.Root.Digest}
	sigs, err := cosign.Verify(ctx, src.Store, src.Root, pub, opts)
	if err == nil {
		res.Signatures = sigs
		return res, nil
	}
	var ve *cosign.VerifyError
	if !errors.As(err, &ve) || !manifest.IsIndex(src.Root.MediaType) || platforms == nil {
		return nil, err
	}
	doc, ferr := manifest.FetchDocument(ctx, src.Store, src.Root)
	if ferr != nil {
		return nil, ferr
	}
	for _, p := range platforms {
		d, perr := manifest.SelectPlatform(doc.Index, p)
		if perr != nil {
			return nil, fmt.Errorf("%w; %v", err, perr)
		}
		sigs, perr := cosign.Verify(ctx, src.Store, d, pub, opts)
		if perr != nil {
			return nil, fmt.Errorf("%v; nor is its %s manifest signed: %w", err, p, perr)
		}
		res.Manifests = append(res.Manifests, &verifyResult{Image: src.Location.String(), Digest: d.Digest, Platform: p.String(), Signatures: sigs})
	}
	return res, nil
}

// printVerified writes a line per signature that verified.
func printVerified(w io.Writer, res *verifyResult, prefix string) {
	for _, v := range res.Signatures {
		line := fmt.Sprintf("%sverified %s (%s): %s signature %s layer %d, %s", prefix, res.Image, res.Digest,
			v.Scheme, v.Manifest, v.Layer, v.Algorithm)
		if res.Platform != "" {
			line += ", of its " + res.Platform + " manifest"
		}
		if v.Identity != "" {
			line += ", identity " + v.Identity
		}
		if len(v.Unchecked) > 0 {
			line += "; not checked: " + strings.Join(v.Unchecked, ", ")
		}
		fmt.Fprintln(w, line)
	}
	for _, m := range res.Manifests {
		printVerified(w, m, prefix)
	}
}

// registerVerifyKey adds --verify-key to the flags of a command that
// reads an image (pull, copy, proxy).
func (o *options) registerVerifyKey(fs *flag.FlagSet) {
	fs.StringVar(&o.verifyKey, "verify-key", "", "first verify the image's cosign signature with the PEM public key in `FILE`; "+
		"nothing is written or served unless it verifies (an index: its digest signed, or with --platform the chosen manifest's)")
}

// verifySources checks every opened source against --verify-key, if it
// was given, before anything is transferred.
func verifySources(ctx context.Context, e *env, o *options, srcs []*images.Source, platforms []manifest.Platform) error {
	if o.verifyKey == "" {
		return nil
	}
	pub, err := readPublicKey(o.verifyKey)
	if err != nil {
		return err
	}
	for _, s := range srcs {
		res, err := verifySource(ctx, s, pub, nil, platforms)
		if err != nil {
			return fmt.Errorf("--verify-key: %s: %w", s.Location, err)
		}
		if !o.quiet {
			printVerified(e.stderr, res, "skiff: ")
		}
	}
	return nil
}
