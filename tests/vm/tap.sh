#!/bin/sh
# automake TAP log compiler for VM tests: runs one guest test on every sched_ext kernel
# (kernel.sh list, or $SCX_GAMER_VM_KERNELS) and reports one TAP result per kernel.
#
#   tests/vm/tap.sh TESTPATH
#
# With SCX_GAMER_VM_OPTIONAL=1 a machine that cannot get a kernel skips instead of
# failing; without it, a missing kernel is an error, so CI cannot pass by testing nothing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

if [ $# -ne 1 ]; then
	echo "Bail out! usage: tests/vm/tap.sh TESTPATH"
	exit 1
fi
test_path=$1
name=$(basename "$test_path")
name=${name%.vm}
optional=${SCX_GAMER_VM_OPTIONAL:-0}

no_kernel() {
	if [ "$optional" = 1 ]; then
		echo "1..0 # SKIP no sched_ext kernel available"
		exit 0
	fi
	echo "Bail out! no sched_ext kernel available ($1); set SCX_GAMER_VM_OPTIONAL=1 to skip"
	exit 1
}

comment() {
	sed 's/^/# /'
}

if [ -n "${SCX_GAMER_VM_KERNELS:-}" ]; then
	kernels=$SCX_GAMER_VM_KERNELS
else
	# Its diagnostics all start with "vm:"; release strings never do.
	out=$("$here/kernel.sh" list 2>&1) || true
	printf '%s\n' "$out" | grep '^vm:' | comment || true
	kernels=$(printf '%s\n' "$out" | grep -v '^vm:' || true)
fi
[ -n "$kernels" ] || no_kernel "kernel.sh list found none"
# A long test's own "# vm-kernels: oldest newest" line runs it on those ends
# of the list only (kernel.sh lists oldest first); an explicit
# SCX_GAMER_VM_KERNELS runs it on those given.
ends=$(sed -n 's/^# vm-kernels: *//p' "$test_path" | head -n 1)
if [ -n "$ends" ] && [ -z "${SCX_GAMER_VM_KERNELS:-}" ]; then
	# shellcheck disable=SC2086 # one word per kernel
	set -- $kernels
	first=$1
	eval "last=\${$#}"
	picked=
	for e in $ends; do
		case $e in
		oldest) k=$first ;;
		newest) k=$last ;;
		*)
			echo "Bail out! $test_path: vm-kernels takes oldest and newest, not '$e'"
			exit 1
			;;
		esac
		case " $picked " in
		*" $k "*) ;;
		*) picked="$picked $k" ;;
		esac
	done
	kernels=$picked
fi

# Fetch every kernel before the plan, so that "none could be had" can still skip.
ready=
failed=
for k in $kernels; do
	if out=$("$here/kernel.sh" fetch "$k" 2>&1); then
		ready="$ready $k"
	else
		printf '%s\n' "$out" | comment
		failed="$failed $k"
	fi
done
[ -n "$ready" ] || no_kernel "no kernel could be fetched"

# shellcheck disable=SC2086 # word splitting of the kernel lists is intended
set -- $ready $failed
echo "1..$#"
n=0
bad=0
for k in $ready; do
	n=$((n + 1))
	# run.sh output is folded into comments: guest text must never look like TAP.
	if out=$("$here/run.sh" --kernel "$k" "$test_path" 2>&1); then
		printf '%s\n' "$out" | comment
		echo "ok $n - $name on $k"
	else
		printf '%s\n' "$out" | comment
		echo "not ok $n - $name on $k"
		bad=$((bad + 1))
	fi
done
for k in $failed; do
	n=$((n + 1))
	if [ "$optional" = 1 ]; then
		echo "ok $n - $name on $k # SKIP kernel could not be fetched"
	else
		echo "not ok $n - $name on $k (kernel could not be fetched)"
		bad=$((bad + 1))
	fi
done
[ "$bad" -eq 0 ]
