#!/bin/sh
# From a fresh Debian 12 checkout to a running scx_gamer, in one command (as root):
# install the dependencies, build, then run the scheduler. On a kernel with
# sched_ext it runs right here until Ctrl-C; on one without, it boots the test
# VM (a Debian sched_ext kernel under qemu) and shows it attached there.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "$(id -u)" -ne 0 ]; then
	echo "quickstart: run as root (it installs packages and loads a BPF scheduler)" >&2
	exit 1
fi

sh scripts/install-deps.sh
[ -x configure ] || ./autogen.sh
if [ -f config.status ]; then
	build=$top
else
	build=$top/build
	mkdir -p "$build"
	[ -f "$build/config.status" ] || (cd "$build" && "$top/configure")
fi
make -C "$build" -j"$(nproc)"

if [ -d /sys/kernel/sched_ext ]; then
	echo "quickstart: this kernel has sched_ext; running scx_gamer (Ctrl-C to stop)"
	exec "$build/src/scx_gamer" run
fi
echo "quickstart: this kernel ($(uname -r)) has no sched_ext; showing scx_gamer in the test VM"
make -C "$build" -j"$(nproc)" tests/bin/spin
BUILDDIR=$build exec bash tests/vm/run.sh demo
