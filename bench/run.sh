#!/bin/sh
# The scheduler benchmark: `make bench` (docs/BENCHMARKS.md).
#
#   bench/run.sh [--host] [--icount N | --mttcg] [--rounds N] [--seconds S]
#                [--workloads "w1 w2_pipe w2_mutex w3 w4"] [--configs "a a2 b c"]
#                [--w4-seconds S] [--footprint S] [--kernel RELEASE] [--out FILE]
#                [--trace] [--first-round N --calib ITERS,HANDOFF]
#
# Boots the test VM once (tests/vm/run.sh) and runs bench/bench.vm in it; with
# --host runs the same script on this machine instead (root and a kernel with
# sched_ext needed). The raw "bench ..." lines go to FILE (default
# bench/results/bench-DATE.log in the build tree), the tables to stdout
# (bench/analyze). Never part of `make check`.
#
# The emulator's regime: single-threaded TCG by default (wall-clock guest
# time); --icount N makes guest time follow instructions executed (immune to
# the host's load; the published numbers); --mttcg runs one host thread per
# vCPU with 2 vCPUs, where a wake-up sent to another vCPU is not held until
# that vCPU's turn - claims are checked in both (docs/BENCHMARKS.md).
#
# W4 (a real renderer: glxgears on llvmpipe under Xvfb, hackbench in the
# background) runs in the VM only. It needs the package tree of
# bench/w4/tree.sh (apt-get download, cached; it goes in as VM_CPIO), the
# host's hackbench (rt-tests; VM_HOST_BINS) and the shim bench/libw4frames.so
# of the build tree. In the default workload list it is left out, with a note,
# when one of those cannot be had; asked for by --workloads, that is an error.
# Its measured window is --w4-seconds (default: --seconds when given, else
# 30); BENCH_W4_WARMUP, BENCH_W4_SIZE, BENCH_W4_HB and BENCH_W4_LP_THREADS in
# the environment are passed on to bench/bench.vm (see there).
#
# --trace records the scheduler's events in part of W3's window (ftrace, in
# the VM) and reports where each 1 kHz sleeper's wake-up ran and how long it
# waited (bench/trace/wakes.awk): the tool behind docs/BENCHMARKS.md's
# analysis of W3. It slows the run; never for published numbers.
#
# --first-round N --calib ITERS,HANDOFF continue a run whose VM died (a
# multi-threaded TCG guest can oops while kernel text is patched at attach
# or detach, docs/BENCHMARKS.md): rounds N.. in a new boot, with the first
# boot's "bench machine" figures iters_per_us and handoff_us.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(dirname "$here")
BUILDDIR=$(cd "${BUILDDIR:-$srcdir}" && pwd)
export BUILDDIR

host= icount= mttcg= trace= first= calib= kernel= out= rounds=10 seconds=4 footprint=60 w4seconds=
workloads="w1 w2_pipe w2_mutex w3 w4" configs="a a2 b c" asked=
while [ $# -gt 0 ]; do
	case $1 in
	--host) host=1 ;;
	--icount) icount=$2; shift ;;
	--mttcg) mttcg=1 ;;
	--trace) trace=1 ;;
	--first-round) first=$2; shift ;;
	--calib) calib=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--seconds) seconds=$2; w4seconds=${w4seconds:-$2}; shift ;;
	--w4-seconds) w4seconds=$2; shift ;;
	--workloads) workloads=$2; asked=1; shift ;;
	--configs) configs=$2; shift ;;
	--footprint) footprint=$2; shift ;;
	--kernel) kernel=$2; shift ;;
	--out) out=$2; shift ;;
	*) echo "usage: bench/run.sh [--host] [--icount N | --mttcg] [--rounds N] [--seconds S] [--workloads W] [--configs C] [--w4-seconds S] [--footprint S] [--kernel RELEASE] [--out FILE] [--trace] [--first-round N --calib ITERS,HANDOFF]" >&2; exit 2 ;;
	esac
	shift
done
w4seconds=${w4seconds:-30}

for f in "$BUILDDIR/src/scx_gamer" "$BUILDDIR/bench/gamebench" "$BUILDDIR/bench/analyze"; do
	[ -x "$f" ] || { echo "bench: build first: make -C '$BUILDDIR' src/scx_gamer bench/gamebench bench/analyze bench/libw4frames.so" >&2; exit 1; }
done

# W4: what it needs, or why it cannot run.
w4= nw4=0 w4cpio=
for w in $workloads; do
	case $w in w4 | w4_*) w4=1 nw4=$((nw4 + 1)) ;; esac
done
if [ -n "$w4" ]; then
	why=
	if [ -n "$host" ]; then
		why="W4 runs in the test VM only"
	elif ! command -v hackbench >/dev/null 2>&1; then
		why="no hackbench on PATH (rt-tests, scripts/install-deps.sh)"
	elif [ ! -f "$BUILDDIR/bench/libw4frames.so" ]; then
		why="no frame-time shim: make -C '$BUILDDIR' bench/libw4frames.so"
	elif ! w4cpio=$(bash "$here/w4/tree.sh"); then
		why="no package tree (bench/w4/tree.sh, above)"
	fi
	if [ -n "$why" ]; then
		[ -z "$asked" ] || { echo "bench: $why" >&2; exit 1; }
		echo "bench: note: W4 left out: $why" >&2
		workloads=$(for w in $workloads; do case $w in w4 | w4_*) ;; *) echo "$w" ;; esac; done | tr '\n' ' ')
		workloads=${workloads% }
		w4= nw4=0 w4cpio=
	fi
fi

if [ -z "$out" ]; then
	mkdir -p "$BUILDDIR/bench/results"
	out=$BUILDDIR/bench/results/bench-$(date -u +%Y%m%dT%H%M%SZ)${host:+-host}${icount:+-icount$icount}${mttcg:+-mttcg}.log
fi
env="BENCH_ROUNDS=$rounds BENCH_SECONDS=$seconds BENCH_FOOTPRINT=$footprint"
[ -n "$trace" ] && env="$env BENCH_TRACE=1"
[ -n "$first" ] && env="$env BENCH_FIRST_ROUND=$first"
[ -n "$calib" ] && env="$env BENCH_CALIB=$calib"
if [ -n "$w4" ]; then
	env="$env BENCH_W4_SECONDS=$w4seconds"
	for v in BENCH_W4_WARMUP BENCH_W4_SIZE BENCH_W4_HB BENCH_W4_LP_THREADS; do
		eval "val=\${$v:-}"
		# shellcheck disable=SC2154 # set by the eval
		[ -n "$val" ] && env="$env $v=$val"
	done
fi
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) bench: rounds=$rounds seconds=$seconds workloads='$workloads' configs='$configs'${w4:+ w4_seconds=$w4seconds} ${host:+host}${icount:+icount=$icount}${mttcg:+mttcg}; raw log: $out" >&2

if [ -n "$host" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "bench: --host must run as root" >&2; exit 1; }
	case " $configs " in
	*" b "* | *" c "* | *" d "* | *" e "*)
		[ -e /sys/kernel/sched_ext/state ] ||
			{ echo "bench: --host with configurations b to e needs a kernel with sched_ext (a and a2 run anywhere)" >&2; exit 1; } ;;
	esac
	data=$(mktemp -d)
	trap 'rm -rf "$data"' EXIT
	cp -R "$srcdir/conf" "$data/src-conf"
	cp -R "$srcdir/profiles" "$data/src-profiles"
	cp -R "$here/profiles" "$data/bench-profiles"
	cp -R "$here/plain" "$data/bench-plain"
	cp -R "$here/trace" "$data/bench-trace"
	env BENCH_BIN="$BUILDDIR/bench" BENCH_DATA="$data" BENCH_SCX_GAMER="$BUILDDIR/src/scx_gamer" \
		BENCH_ROUNDS="$rounds" BENCH_SECONDS="$seconds" BENCH_FOOTPRINT="$footprint" \
		BENCH_TRACE="$trace" BENCH_FIRST_ROUND="${first:-1}" BENCH_CALIB="$calib" \
		BENCH_WORKLOADS="$workloads" BENCH_CONFIGS="$configs" \
		sh "$here/bench.vm" | tee "$out"
else
	# Words with spaces cannot cross VM_ENV; the lists use commas there.
	env="$env BENCH_WORKLOADS=$(echo "$workloads" | tr ' ' ,) BENCH_CONFIGS=$(echo "$configs" | tr ' ' ,)"
	# The VM's own limit: 2 h for the rest, and a generous allowance per W4
	# run (guest time under -icount runs slower than the host's when the host is busy).
	nconf=$(echo "$configs" | wc -w)
	timeout=$((7200 + rounds * nconf * nw4 * ((w4seconds + ${BENCH_W4_WARMUP:-3}) * 4 + 300)))
	VM_BINS="$BUILDDIR/bench/gamebench${w4:+ $BUILDDIR/bench/libw4frames.so}" \
	VM_HOST_BINS="${w4:+hackbench}" VM_CPIO="$w4cpio" \
	VM_DATA="bench-profiles=$here/profiles bench-plain=$here/plain bench-trace=$here/trace" \
	VM_ENV="$env" VM_ICOUNT="$icount" VM_MTTCG="$mttcg" \
		bash "$srcdir/tests/vm/run.sh" ${kernel:+--kernel "$kernel"} --timeout "$timeout" "$here/bench.vm" |
		tee "$out" | grep --line-buffered -E '^bench (machine|w4 config|round [0-9]+ order|error|done)|^vm:' >&2 || true
fi
grep -q '^bench done' "$out" || { echo "bench: the run did not finish; see $out" >&2; exit 1; }
"$BUILDDIR/bench/analyze" "$out"
