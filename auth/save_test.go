package auth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/skiffoci/skiff/auth"
)

func readJSON(t *testing.T, path string) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(path)
	noErr(t, err)
	var m map[string]json.RawMessage
	noErr(t, json.Unmarshal(b, &m))
	return m
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var b bytes.Buffer
	noErr(t, json.Compact(&b, raw))
	return b.String()
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(path)
	noErr(t, err)
	if fi.Mode().Perm() != want {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
	}
}

func TestSaveEraseKeepsOtherKeys(t *testing.T) {
	otherPass := secret("pw-SECRET-other")
	orig := fmt.Sprintf(`{
	"auths": {
		"other.example.com": {"auth": %q, "email": "o@example.com"},
		"https://reg.example.com/v1/": {"auth": "b2xkOm9sZA==", "email": "keep@example.com"}
	},
	"psFormat": "table {{.ID}}",
	"proxies": {"default": {"httpProxy": "http://proxy:3128"}},
	"plugins": {"x": {"y": [1, 2, {"z": null}]}}
}`, basicSecret("o", otherPass))
	path := writeFile(t, filepath.Join(t.TempDir(), "config.json"), orig)
	noErr(t, os.Chmod(path, 0o644))
	s := &auth.Store{DockerConfig: path}
	pass := secret("pw-SECRET-save")
	basicSecret("newuser", pass)

	noErr(t, s.Save(ctx, "reg.example.com", auth.Credential{Username: "newuser", Password: pass}))
	checkMode(t, path, 0o600)
	if got := get(t, s, "reg.example.com"); got.Username != "newuser" || got.Password != pass {
		t.Fatalf("after Save, Get = %v", got)
	}
	before, after := readJSON(t, writeFile(t, filepath.Join(t.TempDir(), "orig.json"), orig)), readJSON(t, path)
	for _, k := range []string{"psFormat", "proxies", "plugins"} {
		if compact(t, before[k]) != compact(t, after[k]) {
			t.Errorf("key %s changed: %s -> %s", k, before[k], after[k])
		}
	}
	var auths map[string]map[string]any
	noErr(t, json.Unmarshal(after["auths"], &auths))
	if _, old := auths["https://reg.example.com/v1/"]; old || auths["reg.example.com"]["email"] != "keep@example.com" {
		t.Errorf("the old key of the same host should be replaced, keeping its other fields: %v", auths)
	}
	if auths["other.example.com"]["email"] != "o@example.com" || get(t, s, "other.example.com").Password != otherPass {
		t.Errorf("other entry changed: %v", auths["other.example.com"])
	}

	noErr(t, s.Erase(ctx, "reg.example.com"))
	if got := get(t, s, "reg.example.com"); got != (auth.Credential{}) {
		t.Errorf("after Erase, Get = %v", got)
	}
	after = readJSON(t, path)
	if compact(t, before["proxies"]) != compact(t, after["proxies"]) || get(t, s, "other.example.com").Password != otherPass {
		t.Errorf("Erase touched other keys")
	}
	noErr(t, s.Erase(ctx, "reg.example.com")) // not there: no error
	entries, err := os.ReadDir(filepath.Dir(path))
	noErr(t, err)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestSaveCreatesPrivateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", ".docker")
	s := &auth.Store{Getenv: env(map[string]string{"DOCKER_CONFIG": dir})}
	tok := secret("idt-SECRET-save")
	noErr(t, s.Save(ctx, "docker.io", auth.Credential{Username: "hubuser", IdentityToken: tok}))
	checkMode(t, dir, 0o700)
	path := filepath.Join(dir, "config.json")
	checkMode(t, path, 0o600)
	var auths map[string]map[string]string
	noErr(t, json.Unmarshal(readJSON(t, path)["auths"], &auths))
	e, ok := auths["https://index.docker.io/v1/"]
	if !ok || e["identitytoken"] != tok || e["auth"] != b64("hubuser:") {
		t.Errorf("Docker Hub entry = %v (all entries %v)", e, auths)
	}
	for _, host := range []string{"registry-1.docker.io", "index.docker.io"} {
		if got := get(t, s, host); got.IdentityToken != tok {
			t.Errorf("Get(%s) = %v", host, got)
		}
	}
}

func TestSaveReplacesHubAlias(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "config.json"),
		`{"auths": {"docker.io": {"auth": "`+b64("old:old")+`"}, "index.docker.io": {"auth": "`+b64("old2:old")+`"}}}`)
	s := &auth.Store{DockerConfig: path}
	pass := secret("pw-SECRET-hubsave")
	basicSecret("new", pass)
	noErr(t, s.Save(ctx, "registry-1.docker.io", auth.Credential{Username: "new", Password: pass}))
	var auths map[string]json.RawMessage
	noErr(t, json.Unmarshal(readJSON(t, path)["auths"], &auths))
	if len(auths) != 1 || auths["https://index.docker.io/v1/"] == nil {
		t.Errorf("auths = %v, want only https://index.docker.io/v1/", auths)
	}
}

func TestSaveThroughHelper(t *testing.T) {
	dir, lookPath := fakeHelper(t, "", "")
	orig := `{"credsStore": "test", "auths": {"reg.example.com": {}}}`
	path := writeFile(t, filepath.Join(t.TempDir(), "config.json"), orig)
	s := &auth.Store{DockerConfig: path, LookPath: lookPath}
	pass := secret("pw-SECRET-helpersave")

	noErr(t, s.Save(ctx, "reg.example.com", auth.Credential{Username: "u", Password: pass}))
	var p map[string]string
	noErr(t, json.Unmarshal([]byte(readIn(t, dir, "store")), &p))
	if p["ServerURL"] != "reg.example.com" || p["Username"] != "u" || p["Secret"] != pass {
		t.Errorf("helper store got %v", p)
	}
	tok := secret("idt-SECRET-helpersave")
	noErr(t, s.Save(ctx, "docker.io", auth.Credential{IdentityToken: tok}))
	noErr(t, json.Unmarshal([]byte(readIn(t, dir, "store")), &p))
	if p["ServerURL"] != "https://index.docker.io/v1/" || p["Username"] != "<token>" || p["Secret"] != tok {
		t.Errorf("helper store of an identity token got %v", p)
	}
	if b, _ := os.ReadFile(path); string(b) != orig {
		t.Errorf("Save through a helper rewrote config.json: %s", b)
	}
	noErr(t, s.Erase(ctx, "docker.io"))
	if in := readIn(t, dir, "erase"); in != "https://index.docker.io/v1/" {
		t.Errorf("helper erase got %q", in)
	}
}

func TestSaveWithoutConfig(t *testing.T) {
	err := (&auth.Store{}).Save(ctx, "h", auth.Credential{Username: "u"})
	if !errors.Is(wantErr(t, err), auth.ErrNoConfig) {
		t.Errorf("error %v, want ErrNoConfig", err)
	}
}

func TestSaveRefusesBrokenConfig(t *testing.T) {
	orig := `{"auths": {`
	path := writeFile(t, filepath.Join(t.TempDir(), "config.json"), orig)
	err := (&auth.Store{DockerConfig: path}).Save(ctx, "h", auth.Credential{Username: "u", Password: secret("pw-SECRET-broken")})
	wantErr(t, err)
	if b, _ := os.ReadFile(path); string(b) != orig {
		t.Errorf("a config.json that does not parse was overwritten")
	}
}
