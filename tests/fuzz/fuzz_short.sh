#!/bin/sh
# Runs a fuzzer from its seed corpus for a bounded time: the configuration
# parser's (tests/fuzz/fuzz_config, seeds in tests/fuzz/corpus), or with
# FUZZ_TARGET=proc the /proc reader and matcher's (tests/fuzz/fuzz_proc,
# seeds in tests/fuzz/proc-corpus); any crash, leak, sanitizer report, timeout or
# broken invariant fails the test, and the input that did it is kept in
# $BUILDDIR/tests/fuzz/artifacts/.
#
# Usage: fuzz_short.sh [SECONDS [CORPUS_DIR]]
#   SECONDS     how long to fuzz (default 20: the `make check` run)
#   CORPUS_DIR  keep the inputs it finds there (`make fuzz`); by default they
#               go to a temporary copy of the seeds and are thrown away.
# Nothing is ever written into $SRCDIR (distcheck makes it read-only).
: "${BUILDDIR:=.}"
: "${SRCDIR:=.}"
case ${FUZZ_TARGET:-config} in
config)
	fuzzer=$BUILDDIR/tests/fuzz/fuzz_config
	seeds=$SRCDIR/tests/fuzz/corpus
	what="the configuration parser"
	;;
proc)
	fuzzer=$BUILDDIR/tests/fuzz/fuzz_proc
	seeds=$SRCDIR/tests/fuzz/proc-corpus
	what="the /proc reader and matcher"
	;;
*)
	echo "Bail out! FUZZ_TARGET=$FUZZ_TARGET: expected config or proc"
	exit 1
	;;
esac
seconds=${1:-20}
keep=${2:-}

echo "1..1"
if [ ! -x "$fuzzer" ]; then
	echo "ok 1 - fuzz $what # SKIP $fuzzer was not built (needs clang with libFuzzer)"
	exit 0
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ -n "$keep" ]; then
	# New inputs go to the first directory; the seeds are only read.
	mkdir -p "$keep" || exit 1
	dirs="$keep $seeds"
else
	mkdir "$T/corpus"
	cp "$seeds"/* "$T/corpus/" && chmod u+w "$T/corpus"/* || exit 1
	dirs=$T/corpus
fi
mkdir "$T/artifacts"

# The sanitizers stop at the first report (built with -fno-sanitize-recover);
# libFuzzer checks for leaks after every input that allocated.
# shellcheck disable=SC2086 # dirs is a list of directories without spaces
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
	"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
	-print_final_stats=1 -artifact_prefix="$T/artifacts/" $dirs > "$T/log" 2>&1
rc=$?
# The log is long; its start and its end (less the suggested dictionary)
# are what matter, a report included.
sed -n '1,8p' "$T/log" | sed 's/^/# /'
echo "# ..."
grep -v -e '# Uses: [0-9]*$' -e '^###### Recommended dictionary' "$T/log" | tail -n 60 | sed 's/^/# /'

if [ "$rc" -eq 0 ] && [ -z "$(ls "$T/artifacts")" ]; then
	echo "ok 1 - fuzz $what for ${seconds}s"
	exit 0
fi
mkdir -p "$BUILDDIR/tests/fuzz/artifacts"
for f in "$T/artifacts"/*; do
	[ -e "$f" ] || continue
	cp "$f" "$BUILDDIR/tests/fuzz/artifacts/"
	echo "# reproducer: $fuzzer $BUILDDIR/tests/fuzz/artifacts/$(basename "$f")"
	od -A d -c "$f" | head -n 20 | sed 's/^/#   /'
done
echo "not ok 1 - fuzz $what for ${seconds}s (exit $rc)"
exit 1
