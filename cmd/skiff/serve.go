package main

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/skiffoci/skiff/internal/h1server"
	"github.com/skiffoci/skiff/internal/registrytest"
)

func init() { commands["registry"] = registryCommand }

var registryCommand = &command{
	summary: "run a registry that keeps its images as OCI layouts on disk",
	usage:   "serve [flags]",
	help: `"skiff registry serve" speaks the OCI distribution API (push, pull, tags, catalog,
referrers, delete) with no configuration. Each repository is an OCI image layout under
--root, so the same directory is readable by "skiff copy oci:ROOT/REPO:TAG …",
"skopeo inspect oci:ROOT/REPO:TAG" and "umoci stat --image ROOT/REPO:TAG".
It listens on loopback unless --addr says otherwise. --htpasswd takes a file of
"user:{SHA}base64-sha1" lines (htpasswd -s) or "user:password" lines; bcrypt entries
are refused, since the standard library has no bcrypt. Interrupt to stop: requests in
flight finish first.

examples:
  skiff registry serve --root ./images
  skiff registry serve --addr 0.0.0.0:5443 --tls-cert cert.pem --tls-key key.pem --htpasswd users`,
	run: runRegistry,
}

func runRegistry(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "registry")
	addr := fs.String("addr", "127.0.0.1:5000", "listen on `HOST:PORT` (port 0 picks a free one)")
	root := fs.String("root", "skiff-registry", "keep the images in `DIR`")
	cert := fs.String("tls-cert", "", "serve HTTPS with this certificate `FILE` (PEM)")
	key := fs.String("tls-key", "", "the certificate's private key `FILE` (PEM)")
	users := fs.String("htpasswd", "", "require basic auth with the users of `FILE`")
	if len(args) == 0 || args[0] != "serve" {
		if err := parse(e, fs, args); err != nil {
			return err // --help lands here
		}
		return usagef("the only subcommand is serve")
	}
	if err := parse(e, fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 || (*cert == "") != (*key == "") {
		return usagef("serve takes flags only, and --tls-cert and --tls-key together")
	}
	opts := &registrytest.Options{Storage: registrytest.NewLayoutStorage(*root)}
	if *users != "" {
		check, known, err := loadHtpasswd(*users)
		if err != nil {
			return err
		}
		opts.Auth = registrytest.Auth{Mode: registrytest.AuthBasic, Users: known, CheckPassword: check}
	}
	return serve(ctx, e, registrytest.New(opts), *addr, *cert, *key, *root)
}

// serve listens on addr and serves h until ctx ends.
func serve(ctx context.Context, e *env, h http.Handler, addr, cert, key, root string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// HTTP/1.1 only, as the client, through h1server: http.Server would
	// link Go's HTTP/2 server, a third of a MiB of an 8 MiB budget.
	srv := &h1server.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	scheme := "http"
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			ln.Close()
			return fmt.Errorf("TLS: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	fmt.Fprintf(e.stderr, "skiff: serving %s://%s, images in %s\n", scheme, ln.Addr(), root)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, h1server.ErrServerClosed) {
		return err
	}
	return nil
}

// loadHtpasswd reads "user:{SHA}base64" and "user:password" lines.
func loadHtpasswd(path string) (func(user, pass string) bool, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	entries := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" || hash == "" {
			return nil, nil, fmt.Errorf("%s:%d: want user:password", path, n)
		}
		if strings.HasPrefix(hash, "$") {
			return nil, nil, fmt.Errorf("%s:%d: %s's entry is bcrypt or crypt, which skiff cannot check (no bcrypt in the standard library); make it with htpasswd -s", path, n, user)
		}
		entries[user] = hash
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	check := func(user, pass string) bool {
		want, ok := entries[user]
		return ok && subtle.ConstantTimeCompare([]byte(hashLike(want, pass)), []byte(want)) == 1
	}
	return check, entries, nil
}

// hashLike hashes pass the way the stored entry want is hashed.
func hashLike(want, pass string) string {
	if strings.HasPrefix(want, "{SHA}") {
		sum := sha1.Sum([]byte(pass))
		return "{SHA}" + base64.StdEncoding.EncodeToString(sum[:])
	}
	return pass
}
