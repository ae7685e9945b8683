package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
)

// quirkEnv is a registry with one quirk of a real registry switched on,
// seeded through a plain registry on the same storage (so the quirk does
// not get in the way of the seeding), and a second plain registry on
// another host for copies and syncs across hosts.
type quirkEnv struct {
	t       *testing.T
	reg     *registrytest.Server // with the quirk
	seed    *registrytest.Server // plain, same storage as reg
	other   *registrytest.Server // plain, another host, holding proj/app:1 too
	store   registrytest.Storage
	dir     string
	tarball string   // proj/app:1 as a docker tarball
	layer   string   // a tar to append
	key     string   // a signing key pair: key+".key", key+".pub"
	flags   []string // credentials for reg
	stdin   string
}

func (e *quirkEnv) ref(name string) string      { return e.reg.Host + "/" + name }
func (e *quirkEnv) otherRef(name string) string { return e.other.Host + "/" + name }

// quirkOp is one skiff command run against the quirky registry; check,
// if set, looks further at what a successful run printed.
type quirkOp struct {
	name  string
	args  func(e *quirkEnv) []string
	check func(e *quirkEnv, stdout string) error
}

func op(name string, args func(e *quirkEnv) []string) quirkOp { return quirkOp{name: name, args: args} }

// quirkOps are the commands every row runs: each a way users meet a
// registry. Their names key the rows' expectations.
var quirkOps = []quirkOp{
	op("pull", func(e *quirkEnv) []string {
		return []string{"pull", e.ref("proj/app:1"), filepath.Join(e.dir, "pulled.tar")}
	}),
	op("push", func(e *quirkEnv) []string { return []string{"push", e.tarball, e.ref("proj/pushed:1")} }),
	op("push-again", func(e *quirkEnv) []string { return []string{"push", e.tarball, e.ref("proj/pushed:1")} }),
	op("copy", func(e *quirkEnv) []string { return []string{"copy", e.otherRef("proj/app:1"), e.ref("proj/copied:1")} }),
	op("copy-mount", func(e *quirkEnv) []string { return []string{"copy", e.ref("proj/app:1"), e.ref("team/mounted:1")} }),
	op("append", func(e *quirkEnv) []string {
		return []string{"append", "-f", e.layer, e.ref("proj/app:1"), e.ref("proj/appended:1")}
	}),
	op("sync", func(e *quirkEnv) []string { return []string{"sync", e.ref("proj/app"), e.otherRef("mirror")} }),
	op("sync-in", func(e *quirkEnv) []string { return []string{"sync", e.otherRef("proj/app"), e.ref("mirror")} }),
	op("sign", func(e *quirkEnv) []string { return []string{"sign", "--key", e.key + ".key", e.ref("proj/app:1")} }),
	op("verify", func(e *quirkEnv) []string { return []string{"verify", "--key", e.key + ".pub", e.ref("proj/app:1")} }),
	op("ls", func(e *quirkEnv) []string { return []string{"ls", e.ref("proj/app")} }),
	op("catalog", func(e *quirkEnv) []string { return []string{"catalog", e.reg.Host} }),
}

// quirkRow is a quirk and what skiff must do through it: every op
// succeeds unless want names the words its error must hold.
type quirkRow struct {
	quirk registrytest.Quirk
	auth  registrytest.Auth
	want  map[string]string
	// prepare, if set, seeds what the row's extra ops need.
	prepare func(e *quirkEnv)
	extra   []quirkOp
	// unmet, if set, says why no op meets the quirk: it bites only a
	// client that does what skiff does not, and the row proves skiff
	// does not (the test named there makes it bite).
	unmet string
}

// hubAuth is Docker Hub's: a token server on another host, anonymous pulls.
var hubAuth = registrytest.Auth{Mode: registrytest.AuthBearer, Flavor: registrytest.FlavorDockerHub,
	AnonymousPull: true, Users: map[string]string{"u": "pw"}}

var bearerAuth = registrytest.Auth{Mode: registrytest.AuthBearer, Users: map[string]string{"u": "pw"}}

// TestQuirksOfRealRegistries runs skiff's commands through each quirk of
// the catalogue and checks that each works, or fails with one line that
// says what the registry did; and that the quirk did act.
func TestQuirksOfRealRegistries(t *testing.T) {
	seen := map[registrytest.Quirk]bool{}
	var table []string
	for _, row := range quirkRows() {
		seen[row.quirk] = true
		t.Run(string(row.quirk), func(t *testing.T) {
			line := runQuirkRow(t, row)
			table = append(table, string(row.quirk)+": "+line)
		})
	}
	for _, q := range registrytest.Catalogue() {
		if !seen[q.Quirk] {
			t.Errorf("quirk %s has no row", q.Quirk)
		}
	}
	if testing.Verbose() {
		t.Logf("\n%s", strings.Join(table, "\n"))
	}
}

// runQuirkRow runs every op of row and returns one line of results.
func runQuirkRow(t *testing.T, row quirkRow) string {
	e := newQuirkEnv(t, row)
	if row.prepare != nil {
		row.prepare(e)
	}
	var line []string
	for _, op := range append(slices.Clone(quirkOps), row.extra...) {
		code, stdout, stderr := runSkiff(t, t.Context(), e.stdin, append(op.args(e), e.flags...)...)
		want, fails := row.want[op.name]
		last := lastLine(stderr)
		switch {
		case !fails && code != exitOK:
			t.Errorf("%s: exit %d: %s", op.name, code, stderr)
		case fails && (code != exitError || !strings.Contains(last, want) || !strings.HasPrefix(last, "skiff ")):
			t.Errorf("%s: exit %d, stderr %q; want a last line holding %q", op.name, code, stderr, want)
		case !fails && op.check != nil:
			if err := op.check(e, stdout); err != nil {
				t.Errorf("%s: %v", op.name, err)
			}
		}
		line = append(line, op.name+"="+result(code, last))
	}
	hits := e.reg.QuirkHits(row.quirk)
	if hits == 0 && row.unmet == "" {
		t.Errorf("the quirk never acted: the row proves nothing")
	}
	if hits > 0 && row.unmet != "" {
		t.Errorf("the quirk acted %d times, though skiff should never meet it: %s", hits, row.unmet)
	}
	return fmt.Sprintf("%d hits; %s", hits, strings.Join(line, " "))
}

// lastLine is the last line of stderr: sync reports each repository
// before its error.
func lastLine(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	return lines[len(lines)-1]
}

func result(code int, last string) string {
	if code == exitOK {
		return "ok"
	}
	return fmt.Sprintf("error(%q)", last)
}

func newQuirkEnv(t *testing.T, row quirkRow) *quirkEnv {
	store := registrytest.NewMemoryStorage()
	e := &quirkEnv{t: t, dir: t.TempDir(), store: store}
	e.seed = registrytest.NewServer(t, &registrytest.Options{Storage: store})
	e.reg = registrytest.NewServer(t, &registrytest.Options{Storage: store, Auth: row.auth,
		Quirks: []registrytest.Quirk{row.quirk}})
	e.other = registrytest.NewServer(t, nil)
	if row.auth.Mode != registrytest.AuthNone {
		e.flags, e.stdin = []string{"--user", "u", "--password-stdin"}, "pw"
	}
	e.layer = filepath.Join(e.dir, "layer.tar")
	os.WriteFile(e.layer, tarOf(t, 1000), 0o644)
	// proj/app:1 is an image skiff made, with a history entry per layer,
	// on both hosts; team/base:1 keeps the team project alive.
	for _, host := range []string{e.seed.Host, e.other.Host} {
		runWithStdin(t, tarOf(t, 3000), "append", "--base", "scratch", host+"/proj/app:1")
		runWithStdin(t, tarOf(t, 2000), "append", host+"/proj/app:1", host+"/proj/app:1")
		runWithStdin(t, tarOf(t, 100), "append", "--base", "scratch", host+"/team/base:1")
	}
	e.tarball = filepath.Join(e.dir, "app.tar")
	mustRun(t, "pull", e.otherRef("proj/app:1"), e.tarball)
	e.key, _ = keyPair(t)
	e.key = strings.TrimSuffix(e.key, ".key")
	return e
}

// copyIn is an extra op copying name from the other host into the
// quirky registry.
func copyIn(opName, name string) quirkOp {
	return op(opName, func(e *quirkEnv) []string { return []string{"copy", e.otherRef(name), e.ref(name)} })
}
