package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/auth"
)

var ctx = context.Background()

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	noErr(t, os.MkdirAll(filepath.Dir(path), 0o700))
	noErr(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// env is an injected environment.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func get(t *testing.T, s *auth.Store, host string) auth.Credential {
	t.Helper()
	c, err := s.Get(ctx, host)
	noErr(t, err)
	return c
}

func TestStoreDockerConfigEntries(t *testing.T) {
	pass := secret("pw-SECRET-cfg")
	id := secret("idt-SECRET-cfg")
	rt := secret("rt-SECRET-cfg")
	cfg := fmt.Sprintf(`{
		"auths": {
			"b64.example.com": {"auth": %q},
			"fields.example.com": {"username": "fu", "password": %q},
			"identity.example.com": {"auth": %q, "identitytoken": %q},
			"regtoken.example.com": {"registrytoken": %q},
			"nopad.example.com": {"auth": %q},
			"empty.example.com": {}
		},
		"psFormat": "table"
	}`, basicSecret("bu", pass), pass, b64("iu:"), id, rt, strings.TrimRight(basicSecret("nu", pass+"x"), "="))
	s := &auth.Store{DockerConfig: writeFile(t, filepath.Join(t.TempDir(), "config.json"), cfg)}
	for host, want := range map[string]auth.Credential{
		"b64.example.com":      {Username: "bu", Password: pass},
		"fields.example.com":   {Username: "fu", Password: pass},
		"identity.example.com": {Username: "iu", IdentityToken: id},
		"regtoken.example.com": {RegistryToken: rt},
		"nopad.example.com":    {Username: "nu", Password: pass + "x"},
		"empty.example.com":    {},
		"unknown.example.com":  {},
	} {
		if got := get(t, s, host); got != want {
			t.Errorf("Get(%s) = %v, want %v", host, got, want)
		}
	}
}

func TestStoreExactHostMatching(t *testing.T) {
	pass := secret("pw-SECRET-match")
	entry := fmt.Sprintf(`{"auth": %q}`, basicSecret("u", pass))
	for _, key := range []string{
		"registry.example.com",
		"https://registry.example.com",
		"https://registry.example.com/v1/",
		"http://registry.example.com/",
		"REGISTRY.example.com",
	} {
		cfg := fmt.Sprintf(`{"auths": {%q: %s}}`, key, entry)
		s := &auth.Store{DockerConfig: writeFile(t, filepath.Join(t.TempDir(), "config.json"), cfg)}
		for host, match := range map[string]bool{
			"registry.example.com":          true,
			"Registry.Example.com":          true,
			"registry.example.co":           false,
			"registry.example.com.evil":     false,
			"evilregistry.example.com":      false,
			"sub.registry.example.com":      false,
			"registry.example.com:5000":     false,
			"example.com":                   false,
			"registry.example.com.evil:443": false,
		} {
			got := get(t, s, host)
			if (got.Password == pass) != match {
				t.Errorf("key %q, host %q: matched = %v, want %v", key, host, !match, match)
			}
		}
	}
}

func TestStorePortIsPartOfTheHost(t *testing.T) {
	p1, p2 := secret("pw-SECRET-port1"), secret("pw-SECRET-port2")
	cfg := fmt.Sprintf(`{"auths": {"localhost:5000": {"auth": %q}, "localhost": {"auth": %q}}}`,
		basicSecret("a", p1), basicSecret("b", p2))
	s := &auth.Store{DockerConfig: writeFile(t, filepath.Join(t.TempDir(), "config.json"), cfg)}
	if got := get(t, s, "localhost:5000"); got.Password != p1 {
		t.Errorf("localhost:5000 got %v", got)
	}
	if got := get(t, s, "localhost"); got.Password != p2 {
		t.Errorf("localhost got %v", got)
	}
	if got := get(t, s, "localhost:5001"); got != (auth.Credential{}) {
		t.Errorf("localhost:5001 got %v, want nothing", got)
	}
}

func TestStoreDockerHubAliases(t *testing.T) {
	pass := secret("pw-SECRET-hub")
	cfg := fmt.Sprintf(`{"auths": {"https://index.docker.io/v1/": {"auth": %q}}}`, basicSecret("hubuser", pass))
	s := &auth.Store{DockerConfig: writeFile(t, filepath.Join(t.TempDir(), "config.json"), cfg)}
	for _, host := range []string{"docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"} {
		if got := get(t, s, host); got.Username != "hubuser" || got.Password != pass {
			t.Errorf("Get(%s) = %v, want the Docker Hub entry", host, got)
		}
	}
	if got := get(t, s, "docker.io.evil"); got != (auth.Credential{}) {
		t.Errorf("docker.io.evil got %v", got)
	}
}

func TestStaticKeychain(t *testing.T) {
	pass := secret("pw-SECRET-static")
	k := auth.Static{"https://index.docker.io/v1/": {Username: "h", Password: pass}, "ghcr.io": {Username: "g"}}
	for host, want := range map[string]string{"registry-1.docker.io": "h", "ghcr.io": "g", "ghcr.io.evil": "", "GHCR.IO": "g"} {
		c, err := k.Get(ctx, host)
		noErr(t, err)
		if c.Username != want {
			t.Errorf("Get(%s).Username = %q, want %q", host, c.Username, want)
		}
	}
}

func TestStoreBadConfig(t *testing.T) {
	pass := secret("pw-SECRET-badcfg")
	for name, cfg := range map[string]string{
		"not json":       `{"auths": {"h.example.com": {"auth": "` + pass,
		"auth not b64":   `{"auths": {"h.example.com": {"auth": "!!` + pass + `"}}}`,
		"auth no colon":  `{"auths": {"h.example.com": {"auth": "` + b64(pass) + `"}}}`,
		"wrong type":     `{"auths": {"h.example.com": {"auth": 12}}}`,
		"auths is array": `{"auths": ["` + pass + `"]}`,
	} {
		path := writeFile(t, filepath.Join(t.TempDir(), "config.json"), cfg)
		_, err := (&auth.Store{DockerConfig: path}).Get(ctx, "h.example.com")
		if !strings.Contains(wantErr(t, err).Error(), path) || !strings.HasPrefix(err.Error(), "auth: ") {
			t.Errorf("%s: error %q should start with auth: and name the file", name, err)
		}
	}
}

func TestStoreConfigTooLarge(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "config.json"), `{"x":"`+strings.Repeat("a", auth.MaxConfigBytes)+`"}`)
	_, err := (&auth.Store{DockerConfig: path}).Get(ctx, "h")
	var le *auth.LimitError
	if !errors.As(wantErr(t, err), &le) {
		t.Errorf("error %v, want *LimitError", err)
	}
}

func TestStoreSourcesInOrder(t *testing.T) {
	home, xdg := t.TempDir(), t.TempDir()
	dockerPass, regFilePass := secret("pw-SECRET-docker"), secret("pw-SECRET-regfile")
	xdgPass, homePass := secret("pw-SECRET-xdg"), secret("pw-SECRET-home")
	accessTok, refreshTok := secret("access-SECRET-env"), secret("refresh-SECRET-env")
	entry := func(host, pass string) string {
		return fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, host, basicSecret("u", pass))
	}
	writeFile(t, filepath.Join(home, ".docker", "config.json"), entry("one.example.com", dockerPass))
	regFile := writeFile(t, filepath.Join(t.TempDir(), "reg.json"), `{"auths": {"one.example.com": {"auth": "`+b64("u:x")+`"}, "two.example.com": {"auth": "`+basicSecret("u", regFilePass)+`"}}}`)
	writeFile(t, filepath.Join(xdg, "containers", "auth.json"), entry("three.example.com", xdgPass))
	writeFile(t, filepath.Join(home, ".config", "containers", "auth.json"), entry("four.example.com", homePass))
	s := &auth.Store{Getenv: env(map[string]string{
		"HOME": home, "XDG_RUNTIME_DIR": xdg, "REGISTRY_AUTH_FILE": regFile,
		"ACCESS_TOKEN": accessTok, "REFRESH_TOKEN": refreshTok,
	})}
	for host, want := range map[string]auth.Credential{
		"one.example.com":   {Username: "u", Password: dockerPass},
		"two.example.com":   {Username: "u", Password: regFilePass},
		"three.example.com": {Username: "u", Password: xdgPass},
		"four.example.com":  {Username: "u", Password: homePass},
		"five.example.com":  {RegistryToken: accessTok, IdentityToken: refreshTok},
	} {
		if got := get(t, s, host); got != want {
			t.Errorf("Get(%s) = %v, want %v", host, got, want)
		}
	}
}

func TestStoreDockerConfigEnv(t *testing.T) {
	dir := t.TempDir()
	pass := secret("pw-SECRET-dockerconfigenv")
	writeFile(t, filepath.Join(dir, "config.json"), fmt.Sprintf(`{"auths": {"h.example.com": {"auth": %q}}}`, basicSecret("u", pass)))
	s := &auth.Store{Getenv: env(map[string]string{"DOCKER_CONFIG": dir, "HOME": t.TempDir()})}
	if got := get(t, s, "h.example.com"); got.Password != pass {
		t.Errorf("DOCKER_CONFIG not used: got %v", got)
	}
}

func TestStoreZeroValueReadsNothing(t *testing.T) {
	t.Setenv("ACCESS_TOKEN", secret("access-SECRET-real-env"))
	t.Setenv("HOME", t.TempDir())
	if got := get(t, &auth.Store{}, "ghcr.io"); got != (auth.Credential{}) {
		t.Errorf("zero Store returned %v, want nothing", got)
	}
	if got := get(t, auth.FromEnvironment(), "ghcr.io"); got.RegistryToken == "" {
		t.Errorf("FromEnvironment ignored ACCESS_TOKEN")
	}
}

func TestCredentialStringHidesSecrets(t *testing.T) {
	c := auth.Credential{Username: "u", Password: secret("pw-SECRET-str"), IdentityToken: secret("idt-SECRET-str")}
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		noteErr(errors.New(s))
		if strings.Contains(s, secretMarker) || !strings.Contains(s, "Username:u") {
			t.Errorf("formatted credential %q", s)
		}
	}
}

// helperScript is a fake docker-credential-test. It records its verb's
// input in <dir>/<verb>.in and knows a few servers.
const helperScript = `#!/bin/sh
dir=$(dirname "$0")
input=$(cat)
printf '%s' "$input" > "$dir/$1.in"
case "$1" in
get)
  case "$input" in
  helper.example.com) printf '{"ServerURL":"helper.example.com","Username":"hu","Secret":"@PASS@"}' ;;
  token.example.com) printf '{"ServerURL":"token.example.com","Username":"<token>","Secret":"@TOKEN@"}' ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"https://index.docker.io/v1/","Username":"hub","Secret":"@PASS@"}' ;;
  big.example.com) head -c 2000000 /dev/zero ;;
  slow.example.com) exec sleep 60 ;;
  broken.example.com) echo "internal error @PASS@"; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
  esac ;;
store|erase) exit 0 ;;
*) exit 2 ;;
esac
`

// fakeHelper installs docker-credential-test in a temporary directory and
// returns a LookPath that finds programs only there.
func fakeHelper(t *testing.T, pass, tok string) (dir string, lookPath func(string) (string, error)) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake credential helper is a shell script")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir = t.TempDir()
	script := strings.NewReplacer("@PASS@", pass, "@TOKEN@", tok).Replace(helperScript)
	noErr(t, os.WriteFile(filepath.Join(dir, "docker-credential-test"), []byte(script), 0o700))
	return dir, func(name string) (string, error) {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			return "", exec.ErrNotFound
		}
		return p, nil
	}
}

func readIn(t *testing.T, dir, verb string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, verb+".in"))
	noErr(t, err)
	return string(b)
}

func TestStoreCredentialHelpers(t *testing.T) {
	pass, tok := secret("pw-SECRET-helper"), secret("idt-SECRET-helper")
	dir, lookPath := fakeHelper(t, pass, tok)
	filePass := secret("pw-SECRET-fallback")
	cfg := fmt.Sprintf(`{
		"credHelpers": {"helper.example.com": "test", "https://token.example.com": "test", "missing.example.com": "nosuch"},
		"credsStore": "test",
		"auths": {"file.example.com": {"auth": %q}}
	}`, basicSecret("fu", filePass))
	s := &auth.Store{DockerConfig: writeFile(t, filepath.Join(t.TempDir(), "config.json"), cfg), LookPath: lookPath}

	cases := []struct {
		host, stdin string
		want        auth.Credential
	}{
		{"helper.example.com", "helper.example.com", auth.Credential{Username: "hu", Password: pass}},
		{"token.example.com", "token.example.com", auth.Credential{IdentityToken: tok}},
		{"registry-1.docker.io", "https://index.docker.io/v1/", auth.Credential{Username: "hub", Password: pass}},
		// credsStore has nothing: the auths entry is used.
		{"file.example.com", "file.example.com", auth.Credential{Username: "fu", Password: filePass}},
	}
	for _, c := range cases {
		if got := get(t, s, c.host); got != c.want {
			t.Errorf("Get(%s) = %v, want %v", c.host, got, c.want)
		}
		if in := readIn(t, dir, "get"); in != c.stdin {
			t.Errorf("Get(%s): helper read %q on stdin, want %q", c.host, in, c.stdin)
		}
	}
	_, err := s.Get(ctx, "missing.example.com")
	var he *auth.HelperError
	if !errors.As(wantErr(t, err), &he) || he.Helper != "docker-credential-nosuch" || !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("missing helper: error %v, want a *HelperError naming docker-credential-nosuch", err)
	}
}

func TestStoreCredentialHelperFailures(t *testing.T) {
	pass := secret("pw-SECRET-helperfail")
	_, lookPath := fakeHelper(t, pass, "")
	cfg := `{"credsStore": "test"}`
	s := &auth.Store{DockerConfig: writeFile(t, filepath.Join(t.TempDir(), "config.json"), cfg), LookPath: lookPath}

	_, err := s.Get(ctx, "big.example.com")
	var le *auth.LimitError
	if !errors.As(wantErr(t, err), &le) {
		t.Errorf("huge output: error %v, want *LimitError", err)
	}
	start := time.Now()
	impatient := *s
	impatient.HelperTimeout = 300 * time.Millisecond
	_, err = impatient.Get(ctx, "slow.example.com")
	if !strings.Contains(wantErr(t, err).Error(), "timed out") || time.Since(start) > 20*time.Second {
		t.Errorf("slow helper: error %v after %v", err, time.Since(start))
	}
	_, err = s.Get(ctx, "broken.example.com")
	if !strings.Contains(wantErr(t, err).Error(), "exit status 3") {
		t.Errorf("broken helper: error %v, want its exit status and not its output", err)
	}
}

func TestStoreCredentialHelperBadName(t *testing.T) {
	for _, name := range []string{"../../bin/evil", "a/b", "-x", ""} {
		if name == "" {
			continue // an empty credsStore means no helper
		}
		cfg := fmt.Sprintf(`{"credsStore": %q}`, name)
		s := &auth.Store{DockerConfig: writeFile(t, filepath.Join(t.TempDir(), "config.json"), cfg),
			LookPath: func(string) (string, error) { t.Fatal("LookPath called"); return "", nil }}
		_, err := s.Get(ctx, "h.example.com")
		if !errors.Is(wantErr(t, err), auth.ErrBadHelper) {
			t.Errorf("credsStore %q: error %v, want ErrBadHelper", name, err)
		}
	}
}
