#!/bin/sh
# Run the reload latency benchmark (bench/reload_latency.c) against a built
# tree. Arguments go to reload_latency (--edits N, --json, --no-floor, ...).
#   make bench-reload [BENCH_ARGS='...']    or    sudo bench/run-reload.sh [ARG]...
# Needs root: the daemon it starts creates and pins BPF maps.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
BUILDDIR=${BUILDDIR:-$(dirname "$here")}
bench=$BUILDDIR/bench/reload_latency
: "${SCX_GAMER:=$BUILDDIR/src/scx_gamer}"
export SCX_GAMER

if [ ! -x "$bench" ] || [ ! -x "$SCX_GAMER" ]; then
	echo "run-reload.sh: build first: make -C '$BUILDDIR' src/scx_gamer bench/reload_latency" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "run-reload.sh: must run as root (the daemon creates BPF maps)" >&2
	exit 1
fi

# What else runs matters as much as the code: show it next to the numbers.
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec "$bench" "$@"
