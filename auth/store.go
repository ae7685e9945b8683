package auth

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// Store is a Keychain over the places docker and the containers tools
// keep credentials. Get consults, in order:
//
//  1. docker's config.json: the credential helper named by credHelpers
//     for the host, else by credsStore, then the "auths" entry;
//  2. each containers auth.json file, the same way;
//  3. the ACCESS_TOKEN (a registry token, sent as it is) and
//     REFRESH_TOKEN (an identity token, exchanged for registry tokens)
//     environment variables, which apply to every host the files do not
//     name.
//
// Files are read, helpers run and variables looked up on every call to
// Get, Save and Erase, never before. The zero Store reads no environment
// variables and no files; FromEnvironment returns one that reads the
// real environment.
type Store struct {
	// Getenv looks environment variables up. Nil means none are read:
	// only DockerConfig and AuthFiles are consulted, and no tokens come
	// from the environment.
	Getenv func(key string) string
	// DockerConfig is the path of docker's config.json, read by Get and
	// written by Save and Erase. Empty means $DOCKER_CONFIG/config.json,
	// else $HOME/.docker/config.json, as found with Getenv.
	DockerConfig string
	// AuthFiles are containers auth.json files consulted after
	// DockerConfig, in order. Nil means $REGISTRY_AUTH_FILE,
	// $XDG_RUNTIME_DIR/containers/auth.json and
	// $HOME/.config/containers/auth.json, as found with Getenv.
	AuthFiles []string
	// LookPath finds a credential helper program by name; nil means
	// exec.LookPath, which searches the process's PATH.
	LookPath func(file string) (string, error)
	// HelperTimeout bounds each run of a credential helper; zero means
	// DefaultHelperTimeout.
	HelperTimeout time.Duration
}

// FromEnvironment returns a Store that finds its files and tokens through
// the process environment (DOCKER_CONFIG, HOME, REGISTRY_AUTH_FILE,
// XDG_RUNTIME_DIR, ACCESS_TOKEN, REFRESH_TOKEN) when it is used.
func FromEnvironment() *Store {
	return &Store{Getenv: os.Getenv}
}

// Get returns the credential for host (a host name with an optional port,
// or a server URL), or the zero Credential when no source names it.
// Matching is exact on the normalized host and port (see NormalizeHost).
func (s *Store) Get(ctx context.Context, host string) (Credential, error) {
	files := s.authFiles()
	if p := s.dockerConfigPath(); p != "" {
		files = append([]string{p}, files...)
	}
	for _, path := range files {
		c, ok, err := s.fromFile(ctx, path, host)
		if err != nil || ok {
			return c, err
		}
	}
	return Credential{
		RegistryToken: s.getenv("ACCESS_TOKEN"),
		IdentityToken: s.getenv("REFRESH_TOKEN"),
	}, nil
}

// fromFile looks host up in the config file at path.
func (s *Store) fromFile(ctx context.Context, path, host string) (Credential, bool, error) {
	cfg, exists, err := loadConfig(path)
	if err != nil || !exists {
		return Credential{}, false, err
	}
	if name := cfg.helperFor(host); name != "" {
		c, ok, err := s.helper(name).get(ctx, serverKey(host))
		if err != nil || ok {
			return c, ok, err
		}
	}
	c, ok, err := cfg.lookup(host)
	if err != nil {
		return Credential{}, false, fmt.Errorf("auth: %s: %w", path, err)
	}
	return c, ok, nil
}

func (s *Store) helper(name string) helper {
	h := helper{name: name, lookPath: s.LookPath, timeout: s.HelperTimeout}
	if h.lookPath == nil {
		h.lookPath = exec.LookPath
	}
	if h.timeout <= 0 {
		h.timeout = DefaultHelperTimeout
	}
	return h
}

func (s *Store) getenv(key string) string {
	if s.Getenv == nil {
		return ""
	}
	return s.Getenv(key)
}

func (s *Store) home() string {
	if runtime.GOOS == "windows" {
		if h := s.getenv("USERPROFILE"); h != "" {
			return h
		}
	}
	return s.getenv("HOME")
}

// dockerConfigPath is where docker's config.json is, or "".
func (s *Store) dockerConfigPath() string {
	switch {
	case s.DockerConfig != "":
		return s.DockerConfig
	case s.getenv("DOCKER_CONFIG") != "":
		return filepath.Join(s.getenv("DOCKER_CONFIG"), "config.json")
	case s.home() != "":
		return filepath.Join(s.home(), ".docker", "config.json")
	}
	return ""
}

// authFiles lists the containers auth.json files to consult.
func (s *Store) authFiles() []string {
	if s.AuthFiles != nil {
		return append([]string(nil), s.AuthFiles...)
	}
	var files []string
	if f := s.getenv("REGISTRY_AUTH_FILE"); f != "" {
		files = append(files, f)
	}
	if d := s.getenv("XDG_RUNTIME_DIR"); d != "" {
		files = append(files, filepath.Join(d, "containers", "auth.json"))
	}
	if h := s.home(); h != "" {
		files = append(files, filepath.Join(h, ".config", "containers", "auth.json"))
	}
	return files
}
