package regconf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The system's configuration files.
const (
	DefaultPath      = "/etc/containers/registries.conf"
	DefaultDropInDir = "/etc/containers/registries.conf.d"
)

// LoadOptions say where Load reads from; the zero value reads the
// system's files as podman and skopeo do.
type LoadOptions struct {
	// Getenv looks up CONTAINERS_REGISTRIES_CONF; nil means os.Getenv.
	Getenv func(string) string
	// Path is the main file; empty means CONTAINERS_REGISTRIES_CONF, or
	// DefaultPath when that is unset.
	Path string
	// DropInDir holds *.conf files read after the main file, in lexical
	// order, each overriding what came before; empty means
	// DefaultDropInDir and "-" none.
	DropInDir string
}

// Load reads the main registries.conf and then its drop-in files. Files
// that do not exist are skipped; an empty Config results when none does.
func Load(opts *LoadOptions) (*Config, error) {
	if opts == nil {
		opts = &LoadOptions{}
	}
	files, err := opts.files()
	if err != nil {
		return nil, err
	}
	c := &Config{}
	for _, f := range files {
		next, err := readFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		c.merge(next)
	}
	return c, nil
}

// files lists the files to read, in order.
func (o *LoadOptions) files() ([]string, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	main := o.Path
	if main == "" {
		main = getenv("CONTAINERS_REGISTRIES_CONF")
	}
	if main == "" {
		main = DefaultPath
	}
	dir := o.DropInDir
	if dir == "" {
		dir = DefaultDropInDir
	}
	files := []string{main}
	if dir == "-" {
		return files, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("regconf: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".conf") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, n := range names {
		files = append(files, filepath.Join(dir, n))
	}
	return files, nil
}

// readFile reads and decodes one file of at most MaxSize bytes.
func readFile(name string) (*Config, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	return Decode(data)
}

// merge applies a later file over c: its search list replaces c's when
// set, its [[registry]] tables replace those of the same prefix, and its
// aliases are added (an empty value removes one).
func (c *Config) merge(next *Config) {
	if next.UnqualifiedSearchRegistries != nil {
		c.UnqualifiedSearchRegistries = next.UnqualifiedSearchRegistries
	}
	for _, r := range next.Registries {
		i := slices.IndexFunc(c.Registries, func(old Registry) bool { return old.Prefix == r.Prefix })
		if i >= 0 {
			c.Registries[i] = r
		} else {
			c.Registries = append(c.Registries, r)
		}
	}
	for k, v := range next.Aliases {
		if c.Aliases == nil {
			c.Aliases = map[string]string{}
		}
		if v == "" {
			delete(c.Aliases, k)
		} else {
			c.Aliases[k] = v
		}
	}
}
