#!/bin/sh
# Compare skiff with crane, regctl and skopeo on local docker-registry instances, also
# through a simulated wide-area link, and write internal/bench/RESULTS.md. Flags go to
# the harness (go run ./internal/bench/compare -h lists them), for example:
#   internal/bench/run.sh -crane /tmp/peers/crane -regctl /tmp/peers/regctl
#                              # every table: 5 runs, the scale pulls (4.3 GB image,
#                              # 300 layers, 20 images) in 3 of them; 20-30 min on 2 cores,
#                              # 15 GB of disk in $TMPDIR
#   internal/bench/run.sh -ops main,stderr,wan     # leave out the scale pulls (~10 min)
#   internal/bench/run.sh -ops wan -rtt 50ms -bandwidth 20 -out -
#   internal/bench/run.sh -scale small -runs 1 -out -   # check the harness
#   CRANE=/tmp/peers/crane REGCTL=/tmp/peers/regctl internal/bench/run.sh
# Run as root, it removes skopeo's blob-location cache
# (/var/lib/containers/cache/blob-info-cache-v1.boltdb) before every run.
set -eu
cd "$(dirname "$0")/../.."
exec go run ./internal/bench/compare "$@"
