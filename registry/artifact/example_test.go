package artifact_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	artifact "github.com/skiffoci/skiff/registry/artifact"
	"github.com/skiffoci/skiff/registry/server"
)

// Example pushes a file and a directory as one artifact to a registry (a
// test's, in memory; an "oci:DIR:TAG" layout or an oci-archive works the
// same way), and pulls them into another directory, as `oras push` and
// `oras pull` do.
func Example() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil))
	defer srv.Close()
	work, err := os.MkdirTemp("", "artifact-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	src := filepath.Join(work, "src")
	os.MkdirAll(filepath.Join(src, "conf"), 0o755)
	os.WriteFile(filepath.Join(src, "model.bin"), []byte("weights"), 0o644)
	os.WriteFile(filepath.Join(src, "conf", "app.toml"), []byte("debug = false\n"), 0o644)

	files := []artifact.File{
		{Path: filepath.Join(src, "model.bin"), Title: "model.bin", MediaType: "application/octet-stream"},
		{Path: filepath.Join(src, "conf"), Title: "conf"}, // a directory: one tar+gzip layer, unpacked on pull
	}
	dst := strings.TrimPrefix(srv.URL, "http://") + "/team/model:v1"
	desc, err := artifact.Push(ctx, dst, files, &artifact.PushOptions{
		ArtifactType: "application/vnd.example.model",
		Created:      time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), // the same files give the same digest
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed", desc.ArtifactType)

	pulled, err := artifact.Pull(ctx, dst, filepath.Join(work, "out"), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pulled", pulled.Titles, pulled.Artifact.Digest == desc.Digest)
	b, _ := os.ReadFile(filepath.Join(work, "out", "conf", "app.toml"))
	fmt.Printf("conf/app.toml: %s", b)

	_, err = artifact.Pull(ctx, dst, filepath.Join(work, "out"), nil)
	fmt.Println("again:", err != nil)
	// Output:
	// pushed application/vnd.example.model
	// pulled [model.bin conf] true
	// conf/app.toml: debug = false
	// again: true
}
