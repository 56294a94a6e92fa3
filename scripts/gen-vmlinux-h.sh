#!/bin/sh
# Generate bpf/vmlinux.h from the BTF of a Debian sched_ext kernel.
#
#   scripts/gen-vmlinux-h.sh [RELEASE] [OUT]
#
# RELEASE defaults to the newest kernel from tests/vm/kernel.sh list; OUT defaults to
# bpf/vmlinux.h in the source tree. The host kernel has no sched_ext, so its
# /sys/kernel/btf/vmlinux would be useless here.
set -eu

die() {
	echo "vm: failed to $*" >&2
	exit 1
}

PATH=$PATH:/usr/sbin:/sbin
export PATH

top=$(cd "$(dirname "$0")/.." && pwd)
kernel_sh=$top/tests/vm/kernel.sh

rel=${1:-}
out=${2:-$top/bpf/vmlinux.h}
if [ -z "$rel" ]; then
	rel=$("$kernel_sh" list | tail -n 1) || die "pick a kernel: tests/vm/kernel.sh list failed"
fi
command -v bpftool >/dev/null 2>&1 || die "find bpftool: not installed"

outdir=$(dirname "$out")
[ -d "$outdir" ] || die "write $out: directory $outdir does not exist"

tmp=$(mktemp -d) || die "create a temp dir"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$kernel_sh" vmlinux "$rel" "$tmp/vmlinux"

{
	echo "/* Kernel types of Debian linux $rel; regenerate with scripts/gen-vmlinux-h.sh $rel */"
	bpftool btf dump file "$tmp/vmlinux" format c
} >"$tmp/vmlinux.h" || die "dump BTF of $rel: bpftool failed"

grep -q '^struct sched_ext_ops {' "$tmp/vmlinux.h" ||
	die "verify $out: kernel $rel has no struct sched_ext_ops in its BTF"

# Written next to the target first so the rename is atomic and a failed run leaves the
# old header untouched.
part=$out.tmp.$$
cp "$tmp/vmlinux.h" "$part" || die "write $part: copy failed"
mv -f "$part" "$out" || die "write $out: rename failed"
echo "$out: $(wc -c <"$out") bytes from $rel"
