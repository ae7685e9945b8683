package regconf_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/regconf"
)

func decodeFile(t *testing.T, name string) *regconf.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	c, err := regconf.Decode(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

func TestRealWorldFiles(t *testing.T) {
	if c := decodeFile(t, "debian-default.conf"); len(c.Registries) != 0 || c.UnqualifiedSearchRegistries != nil {
		t.Errorf("debian default: %+v", c)
	}
	fedora := decodeFile(t, "fedora.conf")
	if want := []string{"registry.fedoraproject.org", "registry.access.redhat.com", "docker.io"}; !reflect.DeepEqual(fedora.UnqualifiedSearchRegistries, want) {
		t.Errorf("fedora search = %q", fedora.UnqualifiedSearchRegistries)
	}
	short := decodeFile(t, "shortnames.conf")
	if short.Aliases["fedora"] != "registry.fedoraproject.org/fedora" || short.Aliases["opensuse/leap"] != "registry.opensuse.org/opensuse/leap" || len(short.Aliases) < 20 {
		t.Errorf("shortnames: %d aliases, fedora=%q", len(short.Aliases), short.Aliases["fedora"])
	}
	v1 := decodeFile(t, "v1.conf")
	want := []regconf.Registry{{Prefix: "lab.local:5000", Insecure: true}, {Prefix: "evil.example.com", Blocked: true}}
	if !reflect.DeepEqual(v1.Registries, want) || len(v1.UnqualifiedSearchRegistries) != 2 {
		t.Errorf("v1: %+v", v1)
	}
}

func TestMirrorsFile(t *testing.T) {
	c := decodeFile(t, "mirrors.conf")
	if want := []string{"registry.example.com", "docker.io"}; !reflect.DeepEqual(c.UnqualifiedSearchRegistries, want) {
		t.Errorf("search = %q", c.UnqualifiedSearchRegistries)
	}
	if len(c.Registries) != 6 || c.Registries[3].Prefix != "lab.local:5000" || c.Registries[5].Location != "quay.example.com/quay" {
		t.Fatalf("registries: %+v", c.Registries)
	}
	tests := []struct {
		name string
		want []regconf.Source
		err  error
	}{
		{"docker.io/library/debian", []regconf.Source{
			{Name: "mirror.example.com:5000/hub/library/debian", Insecure: true, Mirror: true},
			{Name: "mirror.gcr.io/library/debian", DigestOnly: true, Mirror: true},
			{Name: "docker.io/library/debian"}}, nil},
		{"docker.io/library/alpine", nil, regconf.ErrBlocked},
		{"docker.io/library/alpine2", []regconf.Source{ // a prefix ends at a separator
			{Name: "mirror.example.com:5000/hub/library/alpine2", Insecure: true, Mirror: true},
			{Name: "mirror.gcr.io/library/alpine2", DigestOnly: true, Mirror: true},
			{Name: "docker.io/library/alpine2"}}, nil},
		{"example.com/foo/app", []regconf.Source{
			{Name: "example-mirror-0.local/mirror-for-foo/app", DigestOnly: true, Mirror: true},
			{Name: "internal-registry-for-example.com/bar/app"}}, nil},
		{"example.com/foobar", []regconf.Source{{Name: "example.com/foobar"}}, nil},
		{"lab.local:5000/x", []regconf.Source{{Name: "lab.local:5000/x", Insecure: true}}, nil},
		{"a.b.untrusted.example/x", nil, regconf.ErrBlocked},
		{"untrusted.example/x", []regconf.Source{{Name: "untrusted.example/x"}}, nil},
		{"quay.io/o/r", []regconf.Source{{Name: "quay.example.com/quay/o/r"}}, nil},
	}
	for _, tt := range tests {
		got, err := c.Sources(tt.name)
		if !errors.Is(err, tt.err) || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Sources(%q) = %+v, %v; want %+v, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
	if got, want := c.InsecureHosts(), []string{"mirror.example.com:5000", "lab.local:5000"}; !reflect.DeepEqual(got, want) {
		t.Errorf("InsecureHosts = %q, want %q", got, want)
	}
}

func TestLongestPrefixWins(t *testing.T) {
	c, err := regconf.Decode([]byte(`
[[registry]]
prefix = "*.example.com"
insecure = true
[[registry]]
prefix = "registry.example.com/team"
location = "team.example.net"
[[registry]]
prefix = "registry.example.com"
location = "all.example.net"
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"registry.example.com/team/app": "team.example.net/app",
		"registry.example.com/other":    "all.example.net/other",
		"x.y.example.com:5000/app":      "x.y.example.com:5000/app",
	} {
		srcs, err := c.Sources(name)
		if err != nil || srcs[len(srcs)-1].Name != want {
			t.Errorf("Sources(%q) = %+v, %v; want %s", name, srcs, err, want)
		}
	}
}

func TestLoadDropIns(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.conf", "unqualified-search-registries = [\"a.example\"]\n[[registry]]\nprefix = \"x.example\"\nblocked = true\n")
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	write("d/20-unblock.conf", "[[registry]]\nprefix = \"x.example\"\ninsecure = true\n")
	write("d/10-search.conf", "unqualified-search-registries = [\"b.example\"]\n[aliases]\n\"app\" = \"b.example/app\"\n")
	write("d/ignored.txt", "not toml at all = = =")
	env := func(k string) string {
		if k == "CONTAINERS_REGISTRIES_CONF" {
			return filepath.Join(dir, "main.conf")
		}
		return ""
	}
	c, err := regconf.Load(&regconf.LoadOptions{Getenv: env, DropInDir: filepath.Join(dir, "d")})
	if err != nil {
		t.Fatal(err)
	}
	want := &regconf.Config{
		UnqualifiedSearchRegistries: []string{"b.example"},
		Registries:                  []regconf.Registry{{Prefix: "x.example", Insecure: true}},
		Aliases:                     map[string]string{"app": "b.example/app"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load = %+v, want %+v", c, want)
	}
	c, err = regconf.Load(&regconf.LoadOptions{Path: filepath.Join(dir, "missing.conf"), DropInDir: "-"})
	if err != nil || len(c.Registries) != 0 {
		t.Errorf("missing file: %+v, %v", c, err)
	}
	write("bad.conf", "[[registry]]\nprefix = 5000\n")
	_, err = regconf.Load(&regconf.LoadOptions{Path: filepath.Join(dir, "bad.conf"), DropInDir: "-"})
	if err == nil || !strings.Contains(err.Error(), "bad.conf") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad file: %v", err)
	}
}

func TestInvalidConfigs(t *testing.T) {
	for _, s := range []string{
		"[[registry]]\ninsecure = true\n",                        // no prefix or location
		"[[registry]]\nprefix = \"*.a.com/x\"\n",                 // wildcard with a path
		"[[registry]]\nprefix = \"*.a.com\"\nlocation = \"b\"\n", // wildcard with a location
		"[[registry]]\nlocation = \"https://a.com\"\n",           // a scheme
		"[[registry]]\nlocation = \"a.com\"\n[[registry]]\nlocation = \"a.com\"\n",
		"[[registry]]\nlocation = \"a\"\npull-from-mirror = \"sometimes\"\n",
		"[[registry]]\nlocation = \"a\"\n[[registry.mirror]]\ninsecure = true\n",
		"[registry]\nlocation = \"a\"\n",
		"registry = \"a\"\n",
		"[[registry]]\nlocation = true\n",
		"unqualified-search-registries = \"a\"\n",
	} {
		if c, err := regconf.Decode([]byte(s)); err == nil {
			t.Errorf("Decode(%q) = %+v, want an error", s, c)
		}
	}
}
