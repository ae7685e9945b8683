//go:build linux

package main

import "fmt"

func method(runs int, floor int64) string {
	return fmt.Sprintf(`Every operation runs once per tool in each of the %d runs, the tools' order rotating
from one run to the next; the tables show medians. Wall time runs from starting the
process to its exit; peak RSS is the child's ru_maxrss and CPU its ru_utime + ru_stime
(wait4), taken by a small helper (internal/bench/rusage: it reads %s for /bin/true)
because a child started from the harness itself would inherit the harness's peak.
Every tool runs with
its defaults but for plain HTTP (crane --insecure, regctl --host reg=…,tls=disabled, skopeo
--src-tls-verify=false --dest-tls-verify=false --insecure-policy;
skiff allows plain HTTP to loopback) and a private HOME, emptied before every run, with
skopeo's root cache (/var/lib/containers/cache/blob-info-cache-v1.boltdb) removed too:
skopeo remembers where it saw each blob and would mount blobs from repositories of earlier
runs instead of uploading them as every other tool does. Outputs are removed
between runs and the page cache is not dropped, so the registries serve from memory;
before every invocation the harness calls sync(2), untimed, so no tool pays for
writing back (or discarding) what the seeding or the tool before it left behind.
Pushes and copies go to a new repository of the second registry each time, which
already stores the blobs (a warm-up copy), so every run uploads the same bytes.
skiff's copy switches a big blob to ranges by itself when its one stream is slower
than the upload; the copy row with --range-min 0 (one stream, always) is the
control: between two registries on loopback the two should not differ.
The push input is the big image as a docker tarball written by skiff. The append
layer is a plain tar of 1 MiB of fresh random data each time, tagged in the big
image's own repository. Ratios compare skiff with the fastest (or leanest) of the
peers, named in brackets: below 1 skiff is ahead. "raw HTTP GET" fetches every blob
of the big image at once in the harness itself, hashing nothing: the transfer limit.
"raw copy" streams each of those GETs into a POST and PUT to a new repository of the
second registry, at once, hashing nothing: the limit the two registries set on a copy.
Requests are counted from the -v traces ("--> " lines) of one more append.
`, runs, fmtBytes(floor))
}

func (h *harness) methodStderr() string {
	return fmt.Sprintf(`**Where stderr goes.** Users run these tools with stderr on a terminal, thrown away
(cron: 2>/dev/null) or into a pipe (CI logs), and a tool may do more work on a terminal
(progress). Unless a table says otherwise, every tool's stderr goes to %s (set by -stderr). The
terminal is a pseudo-terminal the harness opens for every run (/dev/ptmx, unlocked with
TIOCSPTLCK, its slave found with TIOCGPTN and given to the tool as stderr, %d×%d set with
TIOCSWINSZ, TERM=xterm in the tool's environment); the harness drains the terminal's
master, or the pipe, as the tool writes, so no tool ever waits on it, and keeps the last
64 KiB to report a failure. The stderr table pulls the big image with stderr on each of
the three; its progress rows are skiff's pull with --progress none, plain and tty, stderr
on the terminal, %d times each per run in rounds of one of each (their order rotating), and
"vs none" is the median of the ratios of the pulls of one round.
`, h.mode.describe(), ttyCols, ttyRows, progressRounds)
}

func (h *harness) methodLink() string {
	return fmt.Sprintf(`**Wide-area link.** Loopback hides round trips, so each registry also sits behind a
reverse proxy of the harness (net/http/httputil, on its own loopback port: WA and WB in
the commands) that listens through a simulated link of %s round trip and %s. The first
bytes of a new connection reach the proxy's HTTP server two round trips after the
connection was accepted (the handshake, then the request); every byte from the client
reaches it one round trip after it arrived, so each request/response exchange costs one
round trip (the responses travel without delay). A token bucket per direction, shared by
every connection through the same proxy (one link), caps the bandwidth; a connection
holds at most about one bandwidth-delay product of the client's bytes, then stops reading
and TCP pushes back, and the proxy's writes wait for the bucket. The Host header reaches
the registry as the client sent it, so the upload locations the registry builds lead back
through the proxy. The proxy records, for every request, when its first byte arrived,
when its response had been written, whether it was the first on its connection, and
when that connection was accepted. **Sequential round trips** are the critical path of
one invocation's requests: with P(t) the greatest depth(q) over the requests q that
ended before t, depth(r) = 1 + P(r sent), and for the first request on a connection at
least 2 + P(connection accepted): its handshake counts where it waited on the chain, not
where a client opened the connection ahead of need. The table shows the greatest depth,
and "Sequential requests through the link" the chain of requests behind it ("new": the
handshake counted there; "pre": the first request on a connection opened ahead). The big image
never crosses a link but for the append, which moves no base layer; the copy goes from
registry A's link to registry B's, to a new repository each run. Its limit, "raw copy
of the index's blobs through the links", streams every blob's GET through A's link into
a POST and PUT through B's, all at once, hashing nothing: the links' bandwidth alone
(every byte crosses A's link down and B's link up) sets a floor no copying client passes.
`, h.opts.rtt, h.linkBandwidth())
}

func (h *harness) linkBandwidth() string {
	if h.opts.bandwidth <= 0 {
		return "no bandwidth cap"
	}
	return fmt.Sprintf("%g Mbit/s each way", h.opts.bandwidth)
}

func (h *harness) methodScale() string {
	return fmt.Sprintf(`**Scale.** The scale operations (-ops scale) run in the first %d of the runs
(-scale-runs). Every image is generated as a stream, each layer written twice (once to
learn its digest, once into the upload), so seeding never holds a layer in memory; the
huge image's layers are random bytes in stored (uncompressed) gzip blocks, quick to make.
skiff pull -o FILE and crane pull take several images into one tarball; regctl image
export and skopeo copy take one, so they run once per image, in sequence, from sh
(marked †): their wall time is the whole loop and their peak RSS the largest of the
invocations (wait4 reports the greatest ru_maxrss among the children sh waited for).
`, min(h.opts.runs, h.opts.scaleRuns))
}
