package registry_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

func TestPingChecksCredentials(t *testing.T) {
	for _, mode := range []registrytest.AuthMode{registrytest.AuthBasic, registrytest.AuthBearer} {
		srv := registrytest.NewServer(t, &registrytest.Options{Auth: registrytest.Auth{Mode: mode, Users: map[string]string{"u": "right"}}})
		for pw, wantUnauthorized := range map[string]bool{"right": false, "wrong": true} {
			c := &registry.Client{Keychain: auth.Static{srv.Host: {Username: "u", Password: pw}}}
			err := c.Ping(t.Context(), srv.Host)
			if errors.Is(err, registry.ErrUnauthorized) != wantUnauthorized || !wantUnauthorized && err != nil {
				t.Errorf("mode %d, password %s: Ping = %v", mode, pw, err)
			}
		}
	}
	// A registry that lets anyone read still refuses a wrong password.
	open := registrytest.NewServer(t, &registrytest.Options{Auth: registrytest.Auth{Mode: registrytest.AuthBasic,
		AnonymousPull: true, Users: map[string]string{"u": "right"}}})
	for pw, wantUnauthorized := range map[string]bool{"right": false, "wrong": true} {
		c := &registry.Client{Keychain: auth.Static{open.Host: {Username: "u", Password: pw}}}
		if err := c.Ping(t.Context(), open.Host); errors.Is(err, registry.ErrUnauthorized) != wantUnauthorized || !wantUnauthorized && err != nil {
			t.Errorf("anonymous reads, password %s: Ping = %v", pw, err)
		}
	}
	if err := (&registry.Client{}).Ping(t.Context(), "127.0.0.1:1"); err == nil {
		t.Fatal("Ping of a closed port succeeded")
	}
}

func TestFetchBlobOfUnknownSize(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ref, _ := reference.Parse(srv.Host + "/b/blob")
	repo := (&registry.Client{}).Repository(ref)
	data := []byte("some blob bytes")
	desc := manifest.DescriptorFor("application/octet-stream", data)
	if err := repo.Push(t.Context(), desc, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	desc.Size = manifest.SizeUnknown
	rc, err := repo.Fetch(t.Context(), desc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %q, %v", got, err)
	}
	srv.Faults.Add(registrytest.Fault{WrongBytes: true})
	rc, err = repo.Fetch(t.Context(), desc)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("wrong bytes of unknown size: %v", err)
	}
}
