#!/bin/bash
# Run one guest test script in a qemu VM booted with a Debian sched_ext kernel.
#
#   tests/vm/run.sh [--kernel RELEASE] [--timeout SECONDS] TEST
#
# TEST is a path to a guest script or a name NAME meaning tests/vm/NAME.vm. See
# tests/vm/README.md for the environment variables.
# bash, not sh: EPOCHREALTIME and read -t give sub-second timing without a fork per line.
set -eu

die() {
	echo "vm: failed to $*" >&2
	exit 1
}

usage() {
	echo "usage: tests/vm/run.sh [--kernel RELEASE] [--timeout SECONDS] TEST" >&2
	exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)

kernel=
timeout=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ $# -ge 2 ] || usage; kernel=$2; shift 2 ;;
	--kernel=*) kernel=${1#*=}; shift ;;
	--timeout) [ $# -ge 2 ] || usage; timeout=$2; shift 2 ;;
	--timeout=*) timeout=${1#*=}; shift ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) echo "vm: failed to parse arguments: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage

case $1 in
*/* | *.vm) test_path=$1 ;;
*) test_path=$srcdir/tests/vm/$1.vm ;;
esac
[ -f "$test_path" ] || die "find test $1: no file $test_path"
test_name=$(basename "$test_path")
test_name=${test_name%.vm}
# Default: the test's own "# vm-timeout: SECONDS" line, else 300 s.
[ -n "$timeout" ] || timeout=$(sed -n 's/^# vm-timeout: *\([0-9]*\) *$/\1/p' "$test_path" | head -n 1)
timeout=${timeout:-300}
case $timeout in
'' | *[!0-9]*) die "parse arguments: --timeout wants whole seconds, got '$timeout'" ;;
esac

builddir=$(cd "${BUILDDIR:-.}" && pwd) || die "enter BUILDDIR ${BUILDDIR:-.}: no such directory"
qemu=${QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null 2>&1 || die "find $qemu: not installed"
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || die "find busybox: $busybox missing (install busybox-static)"

kdir=$("$here/kernel.sh" fetch ${kernel:+"$kernel"}) || exit 1
release=$(basename "$kdir")

tmp=$(mktemp -d) || die "create a temp dir"
qpid=
# shellcheck disable=SC2317 # reached through the traps
cleanup() {
	if [ -n "$qpid" ]; then
		kill "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- initramfs ------------------------------------------------------------------
root=$tmp/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,proc,sys,dev,tmp,run,root,etc} \
	"$root/usr/share/scx_gamer"

# Libraries land at the path ldd found them under; the guest's loader searches the
# same default directories as the host's, so no ld.so.cache is needed.
add_libs() {
	local out lib
	out=$(ldd "$1" 2>&1) || return 0 # static binaries and scripts have none
	if grep -q 'not found' <<<"$out"; then
		die "resolve libraries of $1: $(grep 'not found' <<<"$out" | head -n 1 | tr -s '\t ' ' ')"
	fi
	while read -r lib; do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib" || die "copy library $lib: cp failed"
	done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out")
}

add_bin() { # SOURCE (installed as /usr/bin/<basename>)
	local dest
	dest=$root/usr/bin/$(basename "$1")
	cp -L "$1" "$dest" || die "copy $1 into the initramfs: cp failed"
	chmod 0755 "$dest"
	add_libs "$1"
}

cp "$busybox" "$root/bin/busybox"
if [ -f "$builddir/src/scx_gamer" ]; then
	add_bin "$builddir/src/scx_gamer"
fi
if [ -d "$builddir/tests/bin" ]; then
	for f in "$builddir"/tests/bin/*; do
		if [ -f "$f" ] && [ -x "$f" ]; then
			add_bin "$f"
		fi
	done
fi
# The test's own "# vm-host-bins: PROG..." line adds to VM_HOST_BINS.
test_bins=$(sed -n 's/^# vm-host-bins: *//p' "$test_path" | head -n 1)
for b in ${VM_HOST_BINS:-} $test_bins; do
	p=$(command -v "$b" 2>/dev/null) || die "find host program $b: not on PATH"
	case $p in
	/*) add_bin "$p" ;;
	*) die "find host program $b: it is a shell builtin or alias, not a file" ;;
	esac
done
# Benchmarks: more programs by path, data directories as NAME=DIR pairs
# (copied to /usr/share/scx_gamer/NAME), and environment for the guest script.
for f in ${VM_BINS:-}; do
	[ -x "$f" ] || die "find $f (VM_BINS): not an executable file"
	add_bin "$f"
done
for nd in ${VM_DATA:-}; do
	[ -d "${nd#*=}" ] || die "find ${nd#*=} (VM_DATA): not a directory"
	cp -R "${nd#*=}" "$root/usr/share/scx_gamer/${nd%%=*}"
done
cp "$here/lib.sh" "$root/lib/vmtest.sh"
if [ -d "$srcdir/conf" ]; then
	cp -R "$srcdir/conf" "$root/usr/share/scx_gamer/src-conf"
fi
if [ -d "$srcdir/profiles" ]; then
	cp -R "$srcdir/profiles" "$root/usr/share/scx_gamer/src-profiles"
fi
cp "$test_path" "$root/test.sh"
# VM_ENV: "NAME=VALUE ..." exported to the guest script.
for kv in ${VM_ENV:-}; do
	printf 'export %s\n' "$kv"
done >"$root/etc/vmtest.env"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
# --install needs /proc/self/exe to find the busybox binary.
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The kernel opened the console before /dev existed; reopen it from devtmpfs.
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/shm /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
echo "@@VMTEST-USERSPACE@@"
cd /tmp
[ -f /etc/vmtest.env ] && . /etc/vmtest.env
# Nothing types into the console; a test reading stdin must see EOF, not hang.
sh /test.sh </dev/null
rc=$?
echo "@@VMTEST-STATUS=$rc@@"
# Give the UART time to drain: power-off does not wait for pending console output.
sleep 0.2
poweroff -f
EOF
chmod 0755 "$root/init"

initrd=$tmp/initramfs.cpio.gz
(cd "$root" && find . -print | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$initrd" ||
	die "build the initramfs: cpio or gzip failed"
echo "vm: initramfs $(($(stat -c %s "$initrd") / 1024)) KiB gzipped"
# VM_CPIO: prebuilt cpio archives appended as they are (uncompressed ones
# unpack faster in the guest than gzip); the kernel unpacks concatenated
# archives in order. An uncompressed one must start 4-byte aligned, or the
# kernel stops with "invalid magic" and the files are silently missing.
for c in ${VM_CPIO:-}; do
	[ -f "$c" ] || die "find $c (VM_CPIO): no such file"
	truncate -s $((($(stat -c %s "$initrd") + 3) / 4 * 4)) "$initrd"
	cat "$c" >>"$initrd" || die "append $c to the initramfs"
	echo "vm: appended $c ($(($(stat -c %s "$c") / 1024)) KiB)"
done

# ---- boot ---------------------------------------------------------------------------
logdir=$builddir/tests/vm/logs
mkdir -p "$logdir" || die "create $logdir: mkdir failed"
log=$logdir/$test_name-$release.log
exec 4>"$log" || die "open $log: cannot write"

now_us() {
	local t=$EPOCHREALTIME
	now=$((10#${t//[.,]/}))
}
fmt_s() { # MICROSECONDS -> "X.Y"
	printf '%d.%d' $(($1 / 1000000)) $(($1 % 1000000 / 100000))
}

# kernel.sh caches an uncompressed vmlinux when the kernel has a PVH entry; booting it
# skips about 2 s of decompression inside the emulated guest.
kimage=$kdir/vmlinux
[ -f "$kimage" ] || kimage=$kdir/vmlinuz

fifo=$tmp/console
mkfifo "$fifo"
now_us
start=$now
# Single-threaded TCG: multi-threaded TCG intermittently oopses the guest when
# sched_ext attaches or detaches. sockets=2 keeps each NUMA node on its own package, so
# the kernel does not complain about LLC siblings on different nodes. stdin is
# /dev/null so qemu neither grabs a terminal nor needs one (make check, CI).
# VM_ICOUNT=N: instruction-counted guest time (-icount shift=N,sleep=off), so that
# timing inside the guest does not depend on the host's load (bench/run.sh).
# VM_MTTCG=1: the other regime the benchmarks check their claims in - one host
# thread per vCPU, 2 vCPUs (one per core of this machine; a node each), where a
# wake-up sent to another vCPU is not held until that vCPU's turn comes round.
icount=()
[ -n "${VM_ICOUNT:-}" ] && icount=(-icount "shift=$VM_ICOUNT,sleep=off")
if [ -n "${VM_MTTCG:-}" ]; then
	[ -z "${VM_ICOUNT:-}" ] || die "run with VM_MTTCG or VM_ICOUNT: icount needs single-threaded TCG"
	cpus=(-accel tcg,thread=multi -smp 2,sockets=2,cores=1,threads=1
		-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1)
else
	cpus=(-accel tcg,thread=single -smp 4,sockets=2,cores=2,threads=1
		-numa node,nodeid=0,cpus=0-1,memdev=m0 -numa node,nodeid=1,cpus=2-3,memdev=m1)
fi
"$qemu" "${cpus[@]:0:4}" "${icount[@]}" -cpu max -m 1G \
	-object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M \
	"${cpus[@]:4}" \
	-kernel "$kimage" -initrd "$initrd" \
	-append "console=ttyS0 quiet panic=-1 ${VM_APPEND:-}" \
	-nodefaults -display none -serial stdio -monitor none -no-reboot \
	</dev/null >"$fifo" 2>&1 &
qpid=$!
exec 3<"$fifo"

deadline=$((start + timeout * 1000000))
boot=
status=
timed_out=
while :; do
	now_us
	left=$((deadline - now))
	if [ "$left" -le 0 ]; then
		timed_out=1
		break
	fi
	printf -v left_s '%d.%06d' $((left / 1000000)) $((left % 1000000))
	line=
	if IFS= read -r -t "$left_s" -u 3 line; then
		:
	else
		rc=$?
		if [ -n "$line" ]; then
			printf '%s\n' "$line" >&4
			printf '%s\n' "${line//$'\r'/}"
		fi
		[ "$rc" -gt 128 ] && timed_out=1
		break
	fi
	printf '%s\n' "$line" >&4
	line=${line//$'\r'/}
	printf '%s\n' "$line"
	case $line in
	@@VMTEST-USERSPACE@@)
		now_us
		boot=$((now - start))
		;;
	@@VMTEST-STATUS=*@@)
		s=${line#@@VMTEST-STATUS=}
		s=${s%@@}
		case $s in
		'' | *[!0-9]*) ;;
		*)
			status=$s
			# The test is over; only power-off is left, which must not hang the run.
			now_us
			[ $((now + 10000000)) -lt "$deadline" ] && deadline=$((now + 10000000))
			;;
		esac
		;;
	esac
done

if [ -n "$timed_out" ] && kill -0 "$qpid" 2>/dev/null; then
	kill "$qpid" 2>/dev/null || true
	[ -n "$status" ] || echo "vm: killed qemu after ${timeout} s"
fi
wait "$qpid" 2>/dev/null || true
qpid=
exec 3<&- 4>&-
now_us
total=$((now - start))

if [ -z "$status" ]; then
	echo "vm: $test_name on $release: no status (crash or timeout)"
	exit 1
fi
echo "vm: $test_name on $release: boot $(fmt_s "${boot:-0}")s, total $(fmt_s "$total")s, status $status"
exit "$status"
