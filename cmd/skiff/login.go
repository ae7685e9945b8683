package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/registry"
)

func init() {
	commands["login"] = loginCommand
	commands["logout"] = logoutCommand
}

var loginCommand = &command{
	summary: "check credentials for a registry and save them, as docker login does",
	usage:   "[flags] HOST [-u USER] [--password-stdin]",
	help: `The credentials are tried against the registry (GET /v2/, through its token
server if it has one) and saved only if it accepts them: with the credential helper
docker's config.json names for HOST (credHelpers, credsStore), else in its "auths".
The file is $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
On a terminal, the user name and password are asked for (the password without echo);
otherwise give -u and pipe the password with --password-stdin.

examples:
  skiff login ghcr.io -u octocat --password-stdin < token.txt
  skiff login registry.example.com
  echo "$PW" | skiff login --insecure -u admin --password-stdin 192.168.1.10:5000`,
	run: runLogin,
}

var logoutCommand = &command{
	summary: "remove the saved credentials for a registry",
	usage:   "[flags] HOST",
	help: `The credential is erased from the credential helper config.json names for HOST,
if any, and from every "auths" entry of config.json that names HOST. A host with no
saved credential is not an error.

examples:
  skiff logout ghcr.io
  skiff logout localhost:5000`,
	run: runLogout,
}

// loginFlags are login's flags.
type loginFlags struct {
	user          string
	passwordStdin bool
	insecure      bool
	verbose       bool
}

func runLogin(ctx context.Context, e *env, args []string) error {
	var f loginFlags
	fs := newFlagSet(e, "login")
	fs.StringVar(&f.user, "u", "", "the `USER` name (asked for on a terminal when missing)")
	fs.StringVar(&f.user, "username", "", "the `USER` name, as -u")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password (or token) from standard input")
	fs.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP and unverified TLS for HOST")
	fs.BoolVar(&f.verbose, "v", false, "trace HTTP requests on stderr (credentials are never shown)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	host, err := loginHost(fs.Args())
	if err != nil {
		return err
	}
	cred, err := f.credential(e)
	if err != nil {
		return err
	}
	if err := f.verify(ctx, e, host, cred); err != nil {
		return err
	}
	if err := loginStore(e).Save(ctx, host, cred); err != nil {
		return fmt.Errorf("saving the credentials: %w", err)
	}
	fmt.Fprintf(e.stderr, "skiff: logged in to %s as %s\n", host, cred.Username)
	return nil
}

func runLogout(ctx context.Context, e *env, args []string) error {
	var insecure bool
	fs := newFlagSet(e, "logout")
	fs.BoolVar(&insecure, "insecure", false, "accepted for symmetry with login; logout talks to no registry")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	host, err := loginHost(fs.Args())
	if err != nil {
		return err
	}
	if err := loginStore(e).Erase(ctx, host); err != nil {
		return fmt.Errorf("removing the credentials: %w", err)
	}
	fmt.Fprintf(e.stderr, "skiff: removed the credentials for %s\n", host)
	return nil
}

// loginHost reads the one HOST argument, also given as docker's server
// URLs ("https://index.docker.io/v1/"), as the host credentials are kept
// for.
func loginHost(args []string) (string, error) {
	if len(args) != 1 {
		return "", usagef("want one HOST, got %d arguments", len(args))
	}
	arg := args[0]
	h := auth.NormalizeHost(arg)
	if h == "" || !strings.Contains(arg, "://") && strings.Contains(arg, "/") {
		return "", fmt.Errorf("%q is not a registry host (such as ghcr.io or localhost:5000)", arg)
	}
	return inspectHost(h)
}

// loginStore is docker's credential store as found through the
// command's environment.
func loginStore(e *env) *auth.Store {
	return &auth.Store{Getenv: e.getenv}
}

// credential reads the user name and the password from the flags, stdin
// or the terminal.
func (f *loginFlags) credential(e *env) (auth.Credential, error) {
	tty, isTTY := asTerminal(e.stdin)
	user := f.user
	if user == "" {
		if !isTTY || f.passwordStdin {
			return auth.Credential{}, usagef("-u USER is needed when stdin is not a terminal")
		}
		fmt.Fprint(e.stderr, "Username: ")
		line, err := loginReadLine(tty)
		if err != nil {
			return auth.Credential{}, err
		}
		user = line
	}
	if user == "" {
		return auth.Credential{}, errors.New("empty user name")
	}
	pw, err := f.password(e, tty, isTTY)
	if err != nil {
		return auth.Credential{}, err
	}
	if pw == "" {
		return auth.Credential{}, errors.New("empty password")
	}
	return auth.Credential{Username: user, Password: pw}, nil
}

func (f *loginFlags) password(e *env, tty *os.File, isTTY bool) (string, error) {
	switch {
	case f.passwordStdin:
		return loginReadLine(io.LimitReader(e.stdin, 64<<10))
	case !isTTY:
		return "", usagef("stdin is not a terminal: pipe the password with --password-stdin")
	}
	fmt.Fprint(e.stderr, "Password: ")
	pw, err := loginReadPassword(tty)
	fmt.Fprintln(e.stderr)
	return pw, err
}

// loginReadLine reads one line, without its line ending.
func loginReadLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// verify tries cred against host before anything is saved.
func (f *loginFlags) verify(ctx context.Context, e *env, host string, cred auth.Credential) error {
	c := &registry.Client{UserAgent: "skiff/" + version(), Keychain: auth.Static{host: cred}}
	if f.insecure {
		c.Insecure = []string{host}
	}
	if f.verbose {
		c.Trace = e.stderr
	}
	err := c.Ping(ctx, host)
	switch {
	case errors.Is(err, registry.ErrUnauthorized):
		return errors.New("login failed: unauthorized")
	case err != nil:
		return fmt.Errorf("login failed: %w", err)
	}
	return nil
}
