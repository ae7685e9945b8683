package images_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
)

// annotatedApp writes host/app/svc:tag, the fixture's app with the base
// annotations set to name and digest, as a hostile registry or pusher
// could serve it.
func annotatedApp(t *testing.T, f rebaseFixture, location, name, digest string) {
	t.Helper()
	im, err := f.app.Annotate(map[string]string{images.BaseNameAnnotation: name, images.BaseDigestAnnotation: digest})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.Write(t.Context(), im, location, nil); err != nil {
		t.Fatal(err)
	}
}

// TestRedteam2RebaseAnnotationHostGetsNoCredentials: without --old-base,
// Rebase finds the old base where the image's annotations say. A host the
// image names, which the user never did, must not be handed the
// credentials the keychain gives every host (ACCESS_TOKEN, REFRESH_TOKEN
// apply to every host config.json does not name). RT2-I1.
func TestRedteam2RebaseAnnotationHostGetsNoCredentials(t *testing.T) {
	a := registrytest.NewServer(t, nil)
	evil := registrytest.NewServer(t, &registrytest.Options{Auth: registrytest.Auth{Mode: registrytest.AuthBasic, Users: map[string]string{"u": "p"}}})
	f := seedRebase(t, a.Host, linuxAMD64, "1")
	d, _ := f.old.Descriptor()
	annotatedApp(t, f, a.Host+"/app/svc:2", evil.Host+"/base/old:1", string(d.Digest))
	var mu sync.Mutex
	asked := map[string]bool{}
	kc := auth.KeychainFunc(func(_ context.Context, host string) (auth.Credential, error) {
		mu.Lock()
		asked[host] = true
		mu.Unlock()
		return auth.Credential{Username: "u", Password: "p"}, nil // as ACCESS_TOKEN would, for every host
	})
	opts := &images.Options{Client: &registry.Client{Keychain: kc}}
	_, err := images.Rebase(t.Context(), a.Host+"/app/svc:2", "", a.Host+"/base/new:1", a.Host+"/app/svc:3", opts)
	mu.Lock()
	defer mu.Unlock()
	if asked[evil.Host] {
		t.Errorf("credentials were looked up for %s, a host only the image's annotation named (Rebase: %v)", evil.Host, err)
	}
	if err == nil {
		t.Errorf("Rebase succeeded reading an old base it could not authenticate to")
	}
}

// TestRedteam2RebaseAnnotationNamesLocalFile: an image in a registry
// whose base annotation is "oci:PATH" (or an archive) makes Rebase open a
// path on the user's disk that only the registry named. RT2-I2.
func TestRedteam2RebaseAnnotationNamesLocalFile(t *testing.T) {
	a := registrytest.NewServer(t, nil)
	f := seedRebase(t, a.Host, linuxAMD64, "1")
	local := filepath.Join(t.TempDir(), "layout")
	if _, err := images.Write(t.Context(), f.old, "oci:"+local+":1", nil); err != nil {
		t.Fatal(err)
	}
	d, _ := f.old.Descriptor()
	annotatedApp(t, f, a.Host+"/app/svc:2", "oci:"+local+":1", string(d.Digest))
	_, err := images.Rebase(t.Context(), a.Host+"/app/svc:2", "", a.Host+"/base/new:1", a.Host+"/app/svc:3", nil)
	if err == nil || !strings.Contains(err.Error(), BaseNameHint) {
		t.Errorf("Rebase: %v; want a refusal to open %s, which the registry's image named", err, local)
	}
}

// BaseNameHint is what the refusal says.
const BaseNameHint = "name the old base"
