package cosign_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/cosign"
)

const goodDigest = "sha256:edc78f492d5492fa2113d3181308e8f7bbf42f679fa7e7eba3dac608438326e9"

func payloadJSON(reference, digest, typ, optional string) string {
	return `{"critical":{"identity":{"docker-reference":"` + reference + `"},"image":{"docker-manifest-digest":"` + digest +
		`"},"type":"` + typ + `"},"optional":` + optional + `}`
}

func TestParsePayload(t *testing.T) {
	good := payloadJSON("ghcr.io/o/app", goodDigest, cosign.PayloadType, `{"a":"b","n":1}`)
	p, err := cosign.ParsePayload([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if p.Reference != "ghcr.io/o/app" || p.Digest != goodDigest || p.Optional["a"] != "b" || p.Optional["n"].(interface{ String() string }).String() != "1" {
		t.Fatalf("parsed %+v", p)
	}
	if p, err := cosign.ParsePayload([]byte(payloadJSON("r", goodDigest, cosign.PayloadType, "null"))); err != nil || p.Optional != nil {
		t.Fatalf("optional null: %+v, %v", p, err)
	}
	bad := []struct{ name, in, want string }{
		{"empty", ``, "invalid JSON"},
		{"not JSON", `{"critical":`, "invalid JSON"},
		{"an array", `[]`, "invalid JSON"},
		{"wrong type", payloadJSON("r", goodDigest, "atomic container signature", "null"), "critical.type"},
		{"no type", `{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"` + goodDigest + `"}}}`, "critical.type"},
		{"bad digest", payloadJSON("r", "sha256:../x", cosign.PayloadType, "null"), "docker-manifest-digest"},
		{"upper-case digest", payloadJSON("r", strings.ToUpper(goodDigest), cosign.PayloadType, "null"), "docker-manifest-digest"},
		{"no digest", payloadJSON("r", "", cosign.PayloadType, "null"), "docker-manifest-digest"},
		{"no reference", payloadJSON("", goodDigest, cosign.PayloadType, "null"), "docker-reference is empty"},
		{"unknown critical field", strings.Replace(good, `"type"`, `"extra":1,"type"`, 1), "unknown field"},
		{"unknown top-level field", strings.Replace(good, `"optional"`, `"other":1,"optional"`, 1), "unknown field"},
		{"repeated key", strings.Replace(good, `"type"`, `"type":"x","type"`, 1), "appears twice"},
		{"key repeated in another case", strings.Replace(good, `"critical"`, `"Critical":{},"critical"`, 1), "appears twice"},
		{"trailing data", good + `{}`, "after the JSON value"},
		{"optional not an object", payloadJSON("r", goodDigest, cosign.PayloadType, `"x"`), "invalid JSON"},
		{"too deep", payloadJSON("r", goodDigest, cosign.PayloadType, strings.Repeat(`{"a":`, 40)+"1"+strings.Repeat("}", 40)), "deeper"},
	}
	for _, b := range bad {
		_, err := cosign.ParsePayload([]byte(b.in))
		if !errors.Is(err, cosign.ErrInvalidPayload) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v, want ErrInvalidPayload mentioning %q", b.name, err, b.want)
		}
	}
	huge := payloadJSON("r", goodDigest, cosign.PayloadType, `{"a":"`+strings.Repeat("x", cosign.MaxPayloadSize)+`"}`)
	var le *manifest.LimitError
	if _, err := cosign.ParsePayload([]byte(huge)); !errors.As(err, &le) {
		t.Errorf("oversized payload: %v, want a LimitError", err)
	}
}

func TestPayloadMarshal(t *testing.T) {
	p := &cosign.Payload{Reference: "ghcr.io/o/app", Digest: goodDigest}
	want := payloadJSON("ghcr.io/o/app", goodDigest, cosign.PayloadType, "null")
	if got := string(must(p.Marshal())); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	p.Optional = map[string]any{"z": "1", "a": "<&>"}
	got := string(must(p.Marshal()))
	if !strings.HasSuffix(got, `"optional":{"a":"\u003c\u0026\u003e","z":"1"}}`) {
		t.Errorf("annotations encoded as %s; want sorted keys and HTML escapes, as cosign's encoding/json writes them", got)
	}
	for _, bad := range []*cosign.Payload{{Reference: "r", Digest: "sha256:x"}, {Digest: goodDigest}} {
		if _, err := bad.Marshal(); err == nil {
			t.Errorf("Marshal(%+v) succeeded", bad)
		}
	}
}
