package server_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// BenchmarkPutManifestInLargeRepository times a manifest PUT under a new
// tag into an empty repository and into one with 10,000 tags: the target
// of issue 29 is the second within 2× the first. Each PUT is a manifest
// of its own over blobs the repository holds, sent straight to the
// handler. cpu-ms/op is the process's CPU time per PUT (seeding aside),
// which a busy machine stretches less than wall time.
func BenchmarkPutManifestInLargeRepository(b *testing.B) {
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("tags=%d", n), func(b *testing.B) {
			root := b.TempDir()
			br := seedTags(b, root, "big/repo", max(n, 1))
			srv := server.New(&server.Options{Storage: server.NewLayoutStorage(root), UploadDir: filepath.Join(root, server.UploadsDir)})
			defer srv.Close()
			if w := serve(srv, "GET", "/v2/big/repo/tags/list", nil); w.Code != 200 {
				b.Fatalf("tags: %d %s", w.Code, w.Body)
			}
			i := 0
			var cpu time.Duration
			for b.Loop() {
				i++
				repo := "big/repo"
				if n == 0 {
					b.StopTimer()
					repo = fmt.Sprintf("empty/r%d", i)
					for _, blob := range [][]byte{br.base.config, br.base.layer} {
						if w := serve(srv, "POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(manifest.FromBytes(blob)), blob); w.Code != 201 {
							b.Fatalf("blob: %d %s", w.Code, w.Body)
						}
					}
					b.StartTimer()
				}
				before := cpuTime()
				im := newImage("big", 100, map[string]any{"annotations": map[string]string{"put": fmt.Sprint(i)}})
				if w := serve(srv, "PUT", "/v2/"+repo+"/manifests/new"+fmt.Sprint(i), im.raw, "Content-Type", manifest.MediaTypeOCIManifest); w.Code != 201 {
					b.Fatalf("PUT: %d %s", w.Code, w.Body)
				}
				cpu += cpuTime() - before
			}
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
