package manifest_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{emptySHA256, "sha256:../x", "sha512:" + emptySHA256[7:] + emptySHA256[7:], "", ":", "md5:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := manifest.ParseDigest(s)
		if err != nil {
			return
		}
		if string(d) != s || d.Algorithm()+":"+d.Hex() != s {
			t.Fatalf("digest %q does not round-trip", s)
		}
		for _, c := range d.Hex() {
			if c == '/' || c == '.' || c == '\\' {
				t.Fatalf("valid digest %q holds a path character", s)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{ociManifest(""), ociIndex(""), dockerManifest(), ociIndex(manifest.MediaTypeDockerManifestList), `{"schemaVersion":1}`} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), manifest.MediaTypeOCIIndex)
	}
	f.Fuzz(func(t *testing.T, raw []byte, ct string) {
		doc, err := manifest.Parse(raw, ct)
		if err != nil {
			return
		}
		if (doc.Index == nil) == (doc.Manifest == nil) {
			t.Fatal("exactly one of Index and Manifest must be set")
		}
		if !bytes.Equal(doc.Raw, raw) || doc.Digest != manifest.FromBytes(raw) {
			t.Fatal("raw bytes or digest changed")
		}
		again, err := manifest.Parse(doc.Raw, doc.MediaType)
		if err != nil || again.MediaType != doc.MediaType {
			t.Fatalf("reparse under its own media type: %v", err)
		}
		if oci, err := manifest.ToOCI(doc); err == nil {
			if _, err := manifest.Parse(oci.Raw, oci.MediaType); err != nil {
				t.Fatalf("converted document does not parse: %v", err)
			}
		}
	})
}

func FuzzVerifyingReader(f *testing.F) {
	f.Add([]byte("abc"), []byte("abc"))
	f.Add([]byte("abc"), []byte("abcd"))
	f.Fuzz(func(t *testing.T, want, got []byte) {
		_, err := io.ReadAll(manifest.NewVerifyingReader(bytes.NewReader(got), descOf(want)))
		if bytes.Equal(want, got) != (err == nil) {
			t.Fatalf("want=%q got=%q err=%v", want, got, err)
		}
		if err != nil && !errors.Is(err, manifest.ErrDigestMismatch) && !errors.Is(err, manifest.ErrSizeMismatch) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}
