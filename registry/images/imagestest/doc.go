// Package imagestest makes small images for tests, as go-containerregistry's
// random package does, but reproducibly: the same arguments give the same
// bytes, so a test can print digests and sizes. Layers are real gzip'd
// tars whose diffIDs match the config; nothing touches the disk.
//
// A test registry to push them to is one line away (registry/server):
//
//	srv := httptest.NewServer(server.New(nil))
//	defer srv.Close()
//	img, _ := imagestest.Random(1024, 2, nil)
//	desc, err := images.Write(ctx, img, strings.TrimPrefix(srv.URL, "http://")+"/test/app:1", nil)
package imagestest
