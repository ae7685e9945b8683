#!/bin/sh
# Compare skiff with crane, regctl and skopeo on local docker-registry instances and
# write internal/bench/RESULTS.md. Flags go to the harness, for example:
#   internal/bench/run.sh                      # 5 runs, full-size images (~10 min on 2 cores)
#   internal/bench/run.sh -scale small -runs 1 -out -
#   CRANE=/tmp/peers/crane REGCTL=/tmp/peers/regctl internal/bench/run.sh
# Run as root, it removes skopeo's blob-location cache
# (/var/lib/containers/cache/blob-info-cache-v1.boltdb) before every run.
set -eu
cd "$(dirname "$0")/../.."
exec go run ./internal/bench/compare "$@"
