#!/bin/sh
# The scheduler benchmark: `make bench` (docs/BENCHMARKS.md).
#
#   bench/run.sh [--host] [--icount N] [--rounds N] [--seconds S]
#                [--workloads "w1 w2_pipe w2_mutex w3"] [--configs "a a2 b c"]
#                [--footprint S] [--kernel RELEASE] [--out FILE]
#
# Boots the test VM once (tests/vm/run.sh) and runs bench/bench.vm in it; with
# --host runs the same script on this machine instead (root and a kernel with
# sched_ext needed). The raw "bench ..." lines go to FILE (default
# bench/results/bench-DATE.log in the build tree), the tables to stdout
# (bench/analyze). Never part of `make check`.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(dirname "$here")
BUILDDIR=$(cd "${BUILDDIR:-$srcdir}" && pwd)
export BUILDDIR

host= icount= kernel= out= rounds=10 seconds=4 footprint=60
workloads="w1 w2_pipe w2_mutex w3" configs="a a2 b c"
while [ $# -gt 0 ]; do
	case $1 in
	--host) host=1 ;;
	--icount) icount=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--seconds) seconds=$2; shift ;;
	--workloads) workloads=$2; shift ;;
	--configs) configs=$2; shift ;;
	--footprint) footprint=$2; shift ;;
	--kernel) kernel=$2; shift ;;
	--out) out=$2; shift ;;
	*) echo "usage: bench/run.sh [--host] [--icount N] [--rounds N] [--seconds S] [--workloads W] [--configs C] [--footprint S] [--kernel RELEASE] [--out FILE]" >&2; exit 2 ;;
	esac
	shift
done

for f in "$BUILDDIR/src/scx_gamer" "$BUILDDIR/bench/gamebench" "$BUILDDIR/bench/analyze"; do
	[ -x "$f" ] || { echo "bench: build first: make -C '$BUILDDIR' src/scx_gamer bench/gamebench bench/analyze" >&2; exit 1; }
done
if [ -z "$out" ]; then
	mkdir -p "$BUILDDIR/bench/results"
	out=$BUILDDIR/bench/results/bench-$(date -u +%Y%m%dT%H%M%SZ)${host:+-host}${icount:+-icount$icount}.log
fi
env="BENCH_ROUNDS=$rounds BENCH_SECONDS=$seconds BENCH_FOOTPRINT=$footprint"
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) bench: rounds=$rounds seconds=$seconds workloads='$workloads' configs='$configs' ${host:+host}${icount:+icount=$icount}; raw log: $out" >&2

if [ -n "$host" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "bench: --host must run as root" >&2; exit 1; }
	case " $configs " in
	*" b "* | *" c "*)
		[ -e /sys/kernel/sched_ext/state ] ||
			{ echo "bench: --host with configurations b or c needs a kernel with sched_ext (a and a2 run anywhere)" >&2; exit 1; } ;;
	esac
	data=$(mktemp -d)
	trap 'rm -rf "$data"' EXIT
	cp -R "$srcdir/conf" "$data/src-conf"
	cp -R "$srcdir/profiles" "$data/src-profiles"
	cp -R "$here/profiles" "$data/bench-profiles"
	cp -R "$here/plain" "$data/bench-plain"
	env BENCH_BIN="$BUILDDIR/bench" BENCH_DATA="$data" BENCH_SCX_GAMER="$BUILDDIR/src/scx_gamer" \
		BENCH_ROUNDS="$rounds" BENCH_SECONDS="$seconds" BENCH_FOOTPRINT="$footprint" \
		BENCH_WORKLOADS="$workloads" BENCH_CONFIGS="$configs" \
		sh "$here/bench.vm" | tee "$out"
else
	# Words with spaces cannot cross VM_ENV; the lists use commas there.
	env="$env BENCH_WORKLOADS=$(echo "$workloads" | tr ' ' ,) BENCH_CONFIGS=$(echo "$configs" | tr ' ' ,)"
	VM_BINS="$BUILDDIR/bench/gamebench" \
	VM_DATA="bench-profiles=$here/profiles bench-plain=$here/plain" \
	VM_ENV="$env" VM_ICOUNT="$icount" \
		bash "$srcdir/tests/vm/run.sh" ${kernel:+--kernel "$kernel"} --timeout 7200 "$here/bench.vm" |
		tee "$out" | grep -E '^bench (machine|round [0-9]+ order|error|done)|^vm:' >&2 || true
fi
grep -q '^bench done' "$out" || { echo "bench: the run did not finish; see $out" >&2; exit 1; }
"$BUILDDIR/bench/analyze" "$out"
