package manifest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

const emptySHA256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func TestParseDigest(t *testing.T) {
	sha512 := "sha512:" + strings.Repeat("ab", 64)
	tests := []struct {
		in      string
		wantErr string // substring; "" means valid
	}{
		{emptySHA256, ""},
		{sha512, ""},
		{"", "missing algorithm"},
		{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "missing algorithm"},
		{"sha256:../x", "64 characters"},
		{"sha256:../../../../etc/passwd" + strings.Repeat("a", 42), "lower-case"},
		{strings.ToUpper(emptySHA256[:7]) + emptySHA256[7:], "unsupported algorithm"},
		{"sha256:" + strings.ToUpper(emptySHA256[7:]), "lower-case"},
		{emptySHA256[:len(emptySHA256)-1], "64 characters, got 63"},
		{emptySHA256 + "0", "64 characters, got 65"},
		{"md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported algorithm"},
		{"sha384:" + strings.Repeat("a", 96), "unsupported algorithm"},
		{"sha256:" + strings.Repeat("g", 64), "lower-case"},
		{"sha256:" + strings.Repeat("a", 63) + "/", "lower-case"},
		{"sha512:" + strings.Repeat("a", 64), "128 characters"},
		{"sha256 :" + strings.Repeat("a", 64), "unsupported algorithm"},
	}
	for _, tt := range tests {
		d, err := manifest.ParseDigest(tt.in)
		if tt.wantErr == "" {
			if err != nil || string(d) != tt.in {
				t.Errorf("ParseDigest(%q) = %q, %v; want it back, nil", tt.in, d, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, manifest.ErrInvalidDigest) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseDigest(%q) error = %v; want ErrInvalidDigest mentioning %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestDigestErrorNamesInput(t *testing.T) {
	_, err := manifest.ParseDigest("sha256:nothex")
	if err == nil || !strings.Contains(err.Error(), `"sha256:nothex"`) {
		t.Fatalf("error %v does not quote the input", err)
	}
}

func TestDigestParts(t *testing.T) {
	d := manifest.Digest(emptySHA256)
	if d.Algorithm() != "sha256" || d.Hex() != emptySHA256[7:] || d.Short() != "e3b0c44298fc" {
		t.Fatalf("parts of %s: %q %q %q", d, d.Algorithm(), d.Hex(), d.Short())
	}
}

func TestFromBytesAndDigester(t *testing.T) {
	if got := manifest.FromBytes(nil); got != emptySHA256 {
		t.Fatalf("FromBytes(nil) = %s", got)
	}
	g := manifest.NewDigester("sha512")
	g.Write([]byte("abc"))
	want := "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
	if got := g.Digest(); string(got) != want {
		t.Fatalf("sha512(abc) = %s", got)
	}
	if manifest.NewDigester("md5") != nil {
		t.Fatal("NewDigester accepted md5")
	}
}
