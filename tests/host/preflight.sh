#!/bin/sh
# Before touching BPF, `run` refuses clearly: not root, then no sched_ext.
# (Another scheduler already attached is checked in the VM: tests/vm/attach.vm.)
. "${SRCDIR:-.}/tests/host/tap.sh"
: "${SCX_GAMER:?SCX_GAMER must name the scx_gamer binary}"

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$SCX_GAMER" run
	check "as a normal user, run exits 1" [ "$rc" -eq 1 ]
	check "as a normal user, the error says root is needed" contains "$out" "must run as root"
	check "the error is one line" [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
else
	skip "as a normal user, run exits 1" "needs root and setpriv to drop privileges"
fi

if [ -e /sys/kernel/sched_ext ]; then
	skip "without sched_ext, run names CONFIG_SCHED_CLASS_EXT" "this kernel has sched_ext"
elif [ "$(id -u)" -ne 0 ]; then
	skip "without sched_ext, run names CONFIG_SCHED_CLASS_EXT" "needs root"
else
	run "$SCX_GAMER" run
	check "without sched_ext, run exits 1" [ "$rc" -eq 1 ]
	check "without sched_ext, the error names CONFIG_SCHED_CLASS_EXT" contains "$out" "CONFIG_SCHED_CLASS_EXT"
	check "the error is one line" [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
fi

done_testing
