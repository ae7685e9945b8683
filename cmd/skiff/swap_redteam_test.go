//go:build unix

package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/traptest"
	"github.com/skiffoci/skiff/layout"
)

// swapServer serves srv's registry on a new loopback server that calls
// swap once, before it answers the first request whose path contains
// trigger: the moment another user changes the file system under a run.
func swapServer(t *testing.T, srv *registrytest.Server, trigger string, swap func()) string {
	t.Helper()
	var once sync.Once
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, trigger) {
			once.Do(swap)
		}
		srv.Registry.ServeHTTP(w, r)
	}))
	t.Cleanup(h.Close)
	u, _ := url.Parse(h.URL)
	return u.Host
}

// rtSnapshot returns every file under dir with its contents, to tell
// whether anything in it changed.
func rtSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			files[strings.TrimPrefix(p, dir)] = string(b)
		}
		return nil
	})
	return files
}

func rtSame(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// RT-L1. Root writes an OCI layout in a directory another user owns (a
// CI workspace, a shared mirror the user was given). While the run goes
// on, that user renames the layout away and puts a symbolic link to
// another layout of root's (here "victim") under its name. A tarball is
// written through its directory opened once, so it is immune; a layout
// is opened again by path for every blob and for index.json, so the rest
// of the run lands in the victim: its index.json is replaced and blobs
// appear in it. The same holds for the partial layout of an oci-archive
// written with --referrers, which copyTo opens by its path, and for sync
// into a directory of layouts (here the directory is swapped). The run must
// finish where it started, or fail; the victim must not change.
func TestRedteamLayoutParentSwappedMidPull(t *testing.T) {
	traptest.NeedRoot(t)
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "demo/app:1", 300<<10, 200<<10)
	for _, tc := range []struct {
		name, out, swapped string
		under              string // where the victim layout is under the link's target
		args               func(host, out string) []string
	}{
		{"pull --format oci", "lay", "lay", "", func(h, o string) []string {
			return []string{"pull", "--format", "oci", h + "/demo/app:1", o}
		}},
		{"copy --referrers to an oci-archive", "app.tar", ".app.tar.layout.skiff-partial", "", func(h, o string) []string {
			return []string{"copy", "--referrers", h + "/demo/app:1", "oci-archive:" + o + ":1"}
		}},
		{"sync into oci:DIR", "mirror", "mirror", "demo/app", func(h, o string) []string {
			return []string{"sync", h + "/demo/app", "oci:" + o}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			victim := filepath.Join(base, "victim")
			if _, err := layout.Create(filepath.Join(victim, tc.under)); err != nil {
				t.Fatal(err)
			}
			before := rtSnapshot(t, victim)
			shared := filepath.Join(base, "shared") // the other user's directory
			mustOK(t, os.Mkdir(shared, 0o755))
			mustOK(t, os.Chown(shared, traptest.OtherUID, traptest.OtherUID))
			out := filepath.Join(shared, tc.out)
			swapped := filepath.Join(shared, tc.swapped)
			host := swapServer(t, srv, "/blobs/", func() {
				mustOK(t, os.Rename(swapped, swapped+".moved"))
				mustOK(t, os.Symlink(victim, swapped))
			})
			code, _, stderr := runSkiff(t, t.Context(), "", append(tc.args(host, out), "--quiet", "-j", "1")...)
			after := rtSnapshot(t, victim)
			if !rtSame(before, after) {
				var changed []string
				for k, v := range after {
					if before[k] != v {
						changed = append(changed, k)
					}
				}
				t.Errorf("the run (exit %d, %q) wrote into the layout the link points to: %q", code, stderr, changed)
			}
		})
	}
}
