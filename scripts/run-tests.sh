#!/bin/sh
# Build scx_gamer and run its whole test suite: host tests, the VM tests on every
# Debian sched_ext kernel the archive offers, and `make distcheck`.
# The last line printed is "N passed, N failed" (every TAP case counted).
#
# Usage: scripts/run-tests.sh [BUILDDIR]     (default: build/, out of tree)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

skip=0
# Skipped cases are said on the line before: the last one is exactly
# "N passed, N failed".
summary() {
	if [ "$skip" -gt 0 ]; then
		echo "($skip skipped)"
	fi
	echo "$1 passed, $2 failed"
	[ "$2" -eq 0 ]
	exit $?
}

# A tree configured in place cannot also be built out of tree; reuse it then.
if [ -f "$top/config.status" ]; then
	build=${1:-$top}
else
	build=${1:-$top/build}
fi

if [ ! -x "$top/configure" ]; then
	(cd "$top" && ./autogen.sh) || { echo "run-tests: autogen.sh failed" >&2; summary 0 1; }
fi
mkdir -p "$build" || summary 0 1
cd "$build" || summary 0 1
if [ ! -f config.status ]; then
	"$top/configure" || { echo "run-tests: configure failed (see $build/config.log)" >&2; summary 0 1; }
fi
make -j"$jobs" || { echo "run-tests: build failed" >&2; summary 0 1; }

make -j"$jobs" check
check_rc=$?

total=0 pass=0 fail=0
if [ -f test-suite.log ]; then
	get() { sed -n "s/^# $1: *\([0-9][0-9]*\).*/\1/p" test-suite.log | head -n 1; }
	pass=$(($(get PASS) + $(get XFAIL)))
	skip=$(get SKIP)
	fail=$(($(get FAIL) + $(get XPASS) + $(get ERROR)))
	total=$(get TOTAL)
fi
# Say why each failed test failed: CI keeps only this output, not the logs.
for trs in $(find . -name '*.trs' 2>/dev/null | sort); do
	grep -Eq '^:test-result: (FAIL|ERROR|XPASS)' "$trs" || continue
	log=${trs%.trs}.log
	# A VM test says why before its "not ok": the 60 lines before, too.
	echo "---- why $log failed (60 lines before its first failure, 80 from it):"
	awk '!on { b[NR % 60] = $0 }
		!on && /^(# )?(FAIL|not ok|Bail out)/ {
			on = 1
			for (i = NR - 59; i < NR; i++) if (i > 0) print b[i % 60]
		}
		on && n < 80 { print; n++ }' "$log"
done
if [ "$check_rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
	fail=1 # make check failed before or outside the tests
fi

# The release tarball builds and passes its host tests (distcheck skips the VM tests).
if make -j"$jobs" distcheck >distcheck.log 2>&1; then
	echo "PASS: make distcheck"
	pass=$((pass + 1))
else
	tail -n 40 distcheck.log
	echo "FAIL: make distcheck (see $build/distcheck.log)"
	fail=$((fail + 1))
fi
echo "run-tests: $total test cases from make check, plus distcheck"
summary "$pass" "$fail"
