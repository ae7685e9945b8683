// Package regconf reads containers' registries.conf (version 2, and the
// deprecated version 1 tables) and turns it into the registry client's
// mirrors, insecure hosts and blocked repositories, as described in
// containers-registries.conf(5):
// https://github.com/containers/image/blob/main/docs/containers-registries.conf.5.md
//
// Files are read as podman and skopeo read them: CONTAINERS_REGISTRIES_CONF
// or /etc/containers/registries.conf, then the *.conf files of
// /etc/containers/registries.conf.d in lexical order, each overriding the
// tables with the same prefix.
//
// # Matching
//
// An image name (host[:port]/repository) is governed by the one
// [[registry]] table whose prefix matches it longest: a plain prefix must
// be followed in the name by "/", ":", "@" or the end, and a prefix
// "*.example.com" matches any host under example.com. Pulls try the
// table's mirrors in order, then its location (the name itself when it
// has none); pushes ignore mirrors.
//
// # TOML
//
// Parse reads only the TOML these files use: comments, bare, quoted and
// dotted keys, basic strings with escapes, literal strings, booleans,
// arrays of strings, [tables] and [[arrays.of.tables]], in at most
// MaxSize bytes. Anything else is a *SyntaxError with its line number.
package regconf
