package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// configFile is what docker's config.json and containers' auth.json say
// about credentials.
type configFile struct {
	Auths       map[string]authEntry `json:"auths"`
	CredHelpers map[string]string    `json:"credHelpers"`
	CredsStore  string               `json:"credsStore"`
}

// authEntry is one entry of "auths".
type authEntry struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// credential decodes e; "auth" is base64 of "username:password" and wins
// over the separate fields, as in docker.
func (e authEntry) credential() (Credential, error) {
	c := Credential{
		Username:      e.Username,
		Password:      e.Password,
		IdentityToken: e.IdentityToken,
		RegistryToken: e.RegistryToken,
	}
	if e.Auth == "" {
		return c, nil
	}
	raw, err := decodeBase64(e.Auth)
	if err != nil {
		return Credential{}, errors.New("auth field is not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return Credential{}, errors.New("auth field is not username:password")
	}
	c.Username, c.Password = user, pass
	return c, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// readConfigFile reads a config file of at most MaxConfigBytes. A missing
// file gives nil data and no error.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("auth: read %s: %w", path, err)
	}
	if len(data) > MaxConfigBytes {
		return nil, &LimitError{What: "config file " + path, Limit: MaxConfigBytes}
	}
	return data, nil
}

// parseConfig parses the credential parts of a config file. Empty data is
// an empty config.
func parseConfig(data []byte) (configFile, error) {
	var c configFile
	if len(strings.TrimSpace(string(data))) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return configFile{}, errors.New(jsonProblem(err))
	}
	return c, nil
}

// loadConfig reads and parses the config file at path; ok is false when
// it does not exist.
func loadConfig(path string) (c configFile, ok bool, err error) {
	data, err := readConfigFile(path)
	if err != nil || data == nil {
		return configFile{}, false, err
	}
	c, err = parseConfig(data)
	if err != nil {
		return configFile{}, false, fmt.Errorf("auth: parse %s: %w", path, err)
	}
	return c, true, nil
}

// helperFor returns the credential helper configured for host:
// credHelpers[host], else credsStore, else "".
func (c configFile) helperFor(host string) string {
	keys := make([]string, 0, len(c.CredHelpers))
	for k := range c.CredHelpers {
		keys = append(keys, k)
	}
	for _, k := range matchingKeys(keys, host) {
		if name := c.CredHelpers[k]; name != "" {
			return name
		}
	}
	return c.CredsStore
}

// lookup returns the credential "auths" holds for host; ok is false when
// it holds none.
func (c configFile) lookup(host string) (cred Credential, ok bool, err error) {
	keys := make([]string, 0, len(c.Auths))
	for k := range c.Auths {
		keys = append(keys, k)
	}
	for _, k := range matchingKeys(keys, host) {
		cred, err := c.Auths[k].credential()
		if err != nil {
			return Credential{}, false, fmt.Errorf("entry %q: %w", Redact(k), err)
		}
		if cred != (Credential{}) {
			return cred, true, nil
		}
	}
	return Credential{}, false, nil
}
