package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/skiffoci/skiff/internal/safefile"
)

// Save records c as the credential for host, as docker login does: with
// the credential helper that config.json names for host (credHelpers,
// else credsStore) when there is one, else in the "auths" entry of
// config.json, under the key docker uses ("https://index.docker.io/v1/"
// for Docker Hub, the host otherwise), replacing entries of other keys
// that name the same host. Every other part of config.json is kept. The
// file is replaced atomically with mode 0600; its directory is created
// with mode 0700 when missing. A config.json that is a symbolic link the
// user running skiff owns (as dotfiles managers make) is followed and the
// file it points to replaced; a link another user owns is replaced
// itself, never written through.
func (s *Store) Save(ctx context.Context, host string, c Credential) error {
	path := s.dockerConfigPath()
	if path == "" {
		return ErrNoConfig
	}
	raw, cfg, err := loadRawConfig(path)
	if err != nil {
		return err
	}
	if name := cfg.helperFor(host); name != "" {
		return s.helper(name).store(ctx, serverKey(host), c)
	}
	if raw == nil {
		raw = map[string]json.RawMessage{}
	}
	auths, err := rawAuths(raw, path)
	if err != nil {
		return err
	}
	entry := map[string]json.RawMessage{}
	for i, k := range matchingKeys(mapKeys(auths), host) {
		if i == 0 {
			json.Unmarshal(auths[k], &entry) // an unreadable entry is replaced
		}
		delete(auths, k)
	}
	setEntry(entry, c)
	auths[serverKey(host)] = mustMarshal(entry)
	raw["auths"] = mustMarshal(auths)
	return writeConfig(path, raw)
}

// Erase removes the credential for host, as docker logout does: from the
// credential helper config.json names for host, if any, and every
// "auths" entry that names host. A host without a credential is not an
// error.
func (s *Store) Erase(ctx context.Context, host string) error {
	path := s.dockerConfigPath()
	if path == "" {
		return ErrNoConfig
	}
	raw, cfg, err := loadRawConfig(path)
	if err != nil || raw == nil {
		return err
	}
	if name := cfg.helperFor(host); name != "" {
		if err := s.helper(name).erase(ctx, serverKey(host)); err != nil {
			return err
		}
	}
	auths, err := rawAuths(raw, path)
	if err != nil {
		return err
	}
	keys := matchingKeys(mapKeys(auths), host)
	if len(keys) == 0 {
		return nil
	}
	for _, k := range keys {
		delete(auths, k)
	}
	raw["auths"] = mustMarshal(auths)
	return writeConfig(path, raw)
}

// loadRawConfig reads config.json both as raw top-level keys, to write
// them back untouched, and parsed. A missing file gives a nil map.
func loadRawConfig(path string) (map[string]json.RawMessage, configFile, error) {
	data, err := readConfigFile(path)
	if err != nil || data == nil {
		return nil, configFile{}, err
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, configFile{}, fmt.Errorf("auth: parse %s: %s", path, jsonProblem(err))
	}
	cfg, err := parseConfig(data)
	if err != nil {
		return nil, configFile{}, fmt.Errorf("auth: parse %s: %w", path, err)
	}
	return raw, cfg, nil
}

func rawAuths(raw map[string]json.RawMessage, path string) (map[string]json.RawMessage, error) {
	auths := map[string]json.RawMessage{}
	if a, ok := raw["auths"]; ok && string(a) != "null" {
		if err := json.Unmarshal(a, &auths); err != nil {
			return nil, fmt.Errorf("auth: parse %s: auths: %s", path, jsonProblem(err))
		}
	}
	return auths, nil
}

// setEntry writes c into an "auths" entry, keeping its other fields.
func setEntry(entry map[string]json.RawMessage, c Credential) {
	delete(entry, "username")
	delete(entry, "password")
	set := func(key, v string) {
		if v == "" {
			delete(entry, key)
		} else {
			entry[key] = mustMarshal(v)
		}
	}
	var auth string
	if c.Username != "" || c.Password != "" {
		auth = base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))
	}
	set("auth", auth)
	set("identitytoken", c.IdentityToken)
	set("registrytoken", c.RegistryToken)
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// mustMarshal marshals values that always marshal: strings and maps of
// raw messages that came out of json.Unmarshal.
func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("auth: " + err.Error())
	}
	return b
}

// writeConfig replaces the file at path with raw, atomically, mode 0600.
// When path is a symbolic link the user running skiff owns (a dotfiles
// manager's link), the file it points to is replaced instead; a link
// another user owns is replaced itself, never written through. The new
// file is written to a temporary file created with O_EXCL beside it,
// flushed, and renamed over it.
func writeConfig(path string, raw map[string]json.RawMessage) error {
	data, err := json.MarshalIndent(raw, "", "\t")
	if err != nil {
		return fmt.Errorf("auth: encode %s: %w", path, err)
	}
	path = safefile.FollowOwnLinks(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if err := safefile.WriteFile(path, append(data, '\n'), 0o600, true); err != nil {
		return fmt.Errorf("auth: write %s: %w", path, err)
	}
	return nil
}
