package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry/cosign"
)

func init() {
	commands["sign"] = signCommand
	commands["generate-key"] = generateKeyCommand
}

var signCommand = &command{
	summary: "sign an image with a key, as cosign does",
	usage:   "--key KEY [--annotation K=V]... [flags] REF",
	help: `Signs the digest REF resolves to and pushes the signature as cosign does: a layer of
the manifest tagged sha256-<hex>.sig in REF's repository, holding a "simple signing"
payload (the digest and the repository) and, in an annotation, its signature.
"cosign verify --key KEY.pub --insecure-ignore-tlog" and "skiff verify --key KEY.pub"
accept it. Signatures already under the tag are kept; signing again with the same key
changes nothing. Nothing is sent to a transparency log.

KEY is an unencrypted PEM private key: PKCS #8 ("BEGIN PRIVATE KEY", as "skiff
generate-key" and "openssl genpkey" write it), SEC 1 or PKCS #1; ECDSA P-256/P-384/P-521,
Ed25519 or RSA. Encrypted cosign keys ("BEGIN ENCRYPTED SIGSTORE PRIVATE KEY", from
"cosign generate-key-pair") are not supported: they are sealed with scrypt and NaCl
secretbox, which Go's standard library does not have, and skiff uses nothing else.
Make a key with "skiff generate-key" instead; "cosign import-key-pair --key cosign.key"
gives cosign an encrypted copy of the same key.

examples:
  skiff generate-key
  skiff sign --key cosign.key ghcr.io/o/app:1.0
  skiff sign --key cosign.key --annotation build=1234 ghcr.io/o/app@sha256:…
  skiff verify --key cosign.pub ghcr.io/o/app:1.0`,
	run: runSign,
}

var generateKeyCommand = &command{
	summary: "write a key pair for sign and verify",
	usage:   "[--output-key-prefix NAME]",
	help: `Writes a new ECDSA P-256 key pair, the kind cosign makes: NAME.key, the private key as
unencrypted PKCS #8 PEM, readable by you alone (mode 0600), and NAME.pub, the public
key, for "skiff verify --key" and "cosign verify --key". Existing files are never
overwritten. Keep NAME.key secret: anyone who reads it can sign as you. To sign with
cosign as well, "cosign import-key-pair --key NAME.key" makes an encrypted copy.

examples:
  skiff generate-key
  skiff generate-key --output-key-prefix release`,
	run: runGenerateKey,
}

func runSign(ctx context.Context, e *env, args []string) error {
	var o options
	var keyPath string
	var annotations stringList
	fs := newFlagSet(e, "sign")
	o.register(fs)
	fs.StringVar(&keyPath, "key", "", "sign with the unencrypted PEM private key in `FILE`")
	fs.Var(&annotations, "annotation", "add `KEY=VALUE` to the payload's optional object (repeatable)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one REF, got %d arguments", fs.NArg())
	}
	if keyPath == "" {
		return usagef("--key is required")
	}
	optional, err := annotations.object()
	if err != nil {
		return err
	}
	ref, err := reference.Parse(fs.Arg(0))
	if err != nil {
		return err
	}
	key, err := readPrivateKey(keyPath)
	if err != nil {
		return err
	}
	c, err := o.client(e, hostsOf(registryLocation(ref)))
	if err != nil {
		return err
	}
	repo := c.Repository(ref)
	repo.WillPush()
	img, err := repo.Resolve(ctx, ref.Identifier())
	if err != nil {
		return err
	}
	signed, err := cosign.Sign(ctx, repo, img, key, &cosign.SignOptions{Reference: ref.Name(), Optional: optional})
	if err != nil {
		return err
	}
	if !o.quiet {
		what := "signed"
		if signed.AlreadySigned {
			what = "already signed with this key; nothing pushed for"
		}
		fmt.Fprintf(e.stderr, "skiff: %s %s (%s); %s holds %d signatures\n", what, ref, img.Digest, signed.Tag, signed.Kept+btoi(!signed.AlreadySigned))
	}
	fmt.Fprintf(e.stdout, "%s:%s\n", ref.Name(), signed.Tag)
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// readPrivateKey reads a PEM private key file.
func readPrivateKey(path string) (crypto.Signer, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	key, err := cosign.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// object turns KEY=VALUE annotations into the payload's optional object.
func (l stringList) object() (map[string]any, error) {
	kv, err := parseAnnotations(l)
	if kv == nil {
		return nil, err
	}
	m := map[string]any{}
	for k, v := range kv {
		m[k] = v
	}
	return m, nil
}

func runGenerateKey(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "generate-key")
	prefix := fs.String("output-key-prefix", "cosign", "write `NAME`.key and NAME.pub")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("generate-key takes no arguments, got %d", fs.NArg())
	}
	keyFile, pubFile := *prefix+".key", *prefix+".pub"
	for _, f := range []string{keyFile, pubFile} {
		if _, err := os.Lstat(f); err == nil {
			return fmt.Errorf("%s already exists; skiff will not overwrite a key", f)
		}
	}
	private, public, err := cosign.GenerateKeyPair()
	if err != nil {
		return err
	}
	if err := writeNewFile(keyFile, private, 0o600); err != nil {
		return err
	}
	if err := writeNewFile(pubFile, public, 0o644); err != nil {
		os.Remove(keyFile)
		return err
	}
	fmt.Fprintf(e.stderr, "skiff: wrote %s (private, unencrypted: keep it secret) and %s\n", keyFile, pubFile)
	return nil
}

// writeNewFile writes b to path, which must not exist, with mode perm:
// the bytes go to a new temporary file beside path that is then linked to
// path, so path never holds part of b and an existing file (or link) is
// never replaced.
func writeNewFile(path string, b []byte, perm os.FileMode) error {
	err := safefile.CreateNew(path, b, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; skiff will not overwrite a key", path)
	}
	return err
}
