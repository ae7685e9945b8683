package artifact_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	artifact "github.com/skiffoci/skiff/registry/artifact"
	"github.com/skiffoci/skiff/registry/images"
)

// sample writes the files the push tests send, under a new directory it
// makes the working directory, and returns them as Push takes them.
func sample(t *testing.T) (string, []artifact.File) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for name, data := range map[string]string{"a.txt": "hello\n", "conf/app.toml": "x = 1\n", "conf/sub/deep": "deep"} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("app.toml", "conf/link"); err != nil {
		t.Fatal(err)
	}
	return dir, []artifact.File{{Path: "a.txt", MediaType: "text/plain"}, {Path: "conf"}}
}

// TestPushPullRoundTrip pushes files and a directory to each kind of
// location and pulls them back: the same bytes, the link kept, and a
// manifest in the form oras writes.
func TestPushPullRoundTrip(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	for _, dst := range []string{srv.Host + "/demo/files:1", "oci:" + t.TempDir() + "/lay:1", "oci-archive:" + t.TempDir() + "/a.tar:1"} {
		t.Run(strings.SplitN(dst, ":", 2)[0], func(t *testing.T) {
			src, files := sample(t)
			created := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			desc, err := artifact.Push(t.Context(), dst, files, &artifact.PushOptions{ArtifactType: "application/vnd.test", Created: created})
			if err != nil {
				t.Fatal(err)
			}
			checkShape(t, dst, desc)
			out := t.TempDir()
			got, err := artifact.Pull(t.Context(), dst, out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.Artifact.Digest != desc.Digest || strings.Join(got.Titles, ",") != "a.txt,conf" {
				t.Errorf("Pull = %+v, want %s with a.txt and conf", got, desc.Digest)
			}
			want, have := tree(t, src), tree(t, out)
			if len(want) != len(have) {
				t.Errorf("pulled %v, want %v", have, want)
			}
			for k, v := range want {
				if have[k] != v {
					t.Errorf("%s: pulled %q, want %q", k, have[k], v)
				}
			}
		})
	}
}

// checkShape fetches the manifest desc names at dst and checks it is what
// oras push writes.
func checkShape(t *testing.T, dst string, desc manifest.Descriptor) {
	t.Helper()
	loc, _ := images.ParseLocation(dst)
	s, err := images.OpenSource(t.Context(), loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Root.Digest != desc.Digest {
		t.Fatalf("%s resolves to %s, Push returned %s", dst, s.Root.Digest, desc.Digest)
	}
	doc, err := manifest.FetchDocument(t.Context(), s.Store, s.Root)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		ArtifactType string `json:"artifactType"`
		Config       struct {
			MediaType string `json:"mediaType"`
			Data      string `json:"data"`
		} `json:"config"`
		Layers []struct {
			MediaType   string            `json:"mediaType"`
			Annotations map[string]string `json:"annotations"`
		} `json:"layers"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(doc.Raw, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.ArtifactType != "application/vnd.test" || raw.Config.MediaType != manifest.MediaTypeOCIEmpty || raw.Config.Data != "e30=" {
		t.Errorf("manifest %s: want artifactType and the empty config with its data", doc.Raw)
	}
	if len(raw.Layers) != 2 || raw.Layers[0].MediaType != "text/plain" || raw.Layers[0].Annotations[artifact.AnnotationTitle] != "a.txt" ||
		raw.Layers[1].MediaType != manifest.MediaTypeOCILayerGzip || raw.Layers[1].Annotations[artifact.AnnotationUnpack] != "true" ||
		raw.Layers[1].Annotations[artifact.AnnotationTitle] != "conf" || raw.Layers[1].Annotations[artifact.AnnotationDigest] == "" {
		t.Errorf("layers %+v: want a.txt as text/plain and conf as an unpackable tar+gzip", raw.Layers)
	}
	if raw.Annotations[artifact.AnnotationCreated] != "2026-12-01T00:00:00Z" {
		t.Errorf("annotations %v: want the created time", raw.Annotations)
	}
}

// TestPushSubject makes a referrer of an image, on a registry with the
// referrers API and on one without (the tag schema), and finds it again
// with Newest and Pull's ReferrerType.
func TestPushSubject(t *testing.T) {
	for _, noAPI := range []bool{false, true} {
		srv := registrytest.NewServer(t, &registrytest.Options{NoReferrers: noAPI})
		_, files := sample(t)
		img := srv.Host + "/demo/app:1"
		if _, err := artifact.Push(t.Context(), img, files[:1], nil); err != nil {
			t.Fatal(err)
		}
		var pushed []manifest.Digest
		for i, day := range []int{3, 1} { // the newer one first
			os.WriteFile("a.txt", []byte{byte('0' + i)}, 0o644)
			d, err := artifact.Push(t.Context(), srv.Host+"/demo/app", files[:1], &artifact.PushOptions{
				ArtifactType: "application/spdx+json", Subject: img, Created: time.Date(2026, 12, day, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			pushed = append(pushed, d.Digest)
		}
		out := t.TempDir()
		got, err := artifact.Pull(t.Context(), img, out, &artifact.PullOptions{ReferrerType: "application/spdx+json"})
		if err != nil {
			t.Fatalf("NoReferrers %v: %v", noAPI, err)
		}
		if b, _ := os.ReadFile(filepath.Join(out, "a.txt")); got.Artifact.Digest != pushed[0] || string(b) != "0" {
			t.Errorf("NoReferrers %v: pulled %s (a.txt %q), want the newest, %s", noAPI, got.Artifact.Digest, b, pushed[0])
		}
		tags := tagsOf(t, srv.Host+"/demo/app")
		if len(tags) != 1+btoi(noAPI) || tags[0] != "1" {
			t.Errorf("NoReferrers %v: tags %v: a referrer is left untagged, only the fallback tag added", noAPI, tags)
		}
	}
}

func tagsOf(t *testing.T, repo string) []string {
	t.Helper()
	ref, err := reference.Parse(repo)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := (&registry.Client{}).Repository(ref).Tags(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	return tags
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPushRefuses checks inputs Push must refuse before anything is sent.
func TestPushRefuses(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	_, _ = sample(t)
	abs, _ := filepath.Abs("a.txt")
	tests := []struct {
		name  string
		dst   string
		files []artifact.File
		opts  *artifact.PushOptions
		want  string
	}{
		{"missing file", srv.Host + "/x:1", []artifact.File{{Path: "nope.txt"}}, nil, "nope.txt"},
		{"absolute path", srv.Host + "/x:1", []artifact.File{{Path: abs}}, nil, "absolute"},
		{"climbing title", srv.Host + "/x:1", []artifact.File{{Path: "a.txt", Title: "../a.txt"}}, nil, ".."},
		{"two of a title", srv.Host + "/x:1", []artifact.File{{Path: "a.txt"}, {Path: "./a.txt"}}, nil, "both be titled"},
		{"bad media type", srv.Host + "/x:1", []artifact.File{{Path: "a.txt", MediaType: "plain"}}, nil, "type/subtype"},
		{"docker-archive", "docker-archive:" + t.TempDir() + "/x.tar", []artifact.File{{Path: "a.txt"}}, nil, "holds images only"},
		{"unknown subject", srv.Host + "/x", []artifact.File{{Path: "a.txt"}}, &artifact.PushOptions{Subject: "nothere"}, "subject nothere"},
	}
	for _, tt := range tests {
		_, err := artifact.Push(t.Context(), tt.dst, tt.files, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Method != "GET" && r.Method != "HEAD" }); n != 0 {
		t.Errorf("refused pushes sent %d requests that write", n)
	}
}

// TestParseFile reads FILE:MEDIATYPE as oras spells it.
func TestParseFile(t *testing.T) {
	good := map[string]artifact.File{
		"a.txt":                  {Path: "a.txt"},
		"a.txt:text/plain":       {Path: "a.txt", MediaType: "text/plain"},
		"a:b.txt:":               {Path: "a:b.txt"},
		"dir/:application/x+tar": {Path: "dir/", MediaType: "application/x+tar"},
	}
	for in, want := range good {
		if got, err := artifact.ParseFile(in); err != nil || got != want {
			t.Errorf("ParseFile(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", ":text/plain", "a.txt:plain", "a.txt:text/pl ain"} {
		if _, err := artifact.ParseFile(in); err == nil {
			t.Errorf("ParseFile(%q) succeeded", in)
		}
	}
	t.Chdir(t.TempDir())
	if _, err := artifact.Push(t.Context(), "oci:lay", []artifact.File{{Path: "none"}}, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Lstat("lay"); err == nil {
		t.Error("a refused push made the layout")
	}
}
