#!/bin/sh
# Resolve, download and cache Debian kernels that have sched_ext, for the VM tests.
#
#   kernel.sh list                  releases to test: newest of each series, one per line
#   kernel.sh fetch [RELEASE]       cache vmlinuz, vmlinux (+ config); print the directory
#   kernel.sh vmlinux [RELEASE] OUT write the uncompressed ELF vmlinux of RELEASE to OUT
#
# Kernels are only downloaded (apt-get download), never installed.
set -eu

# HOME may be unset under CI or sudo -i; fall back to the passwd entry's.
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
CACHE=${SCX_GAMER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/scx_gamer}
KDIR=$CACHE/kernels
VDIR=$CACHE/verdicts
LIST=$CACHE/kernels.list
STAMP=$CACHE/kernels.stamp
APT_LISTS=/var/lib/apt/lists
FLAVOUR=cloud-amd64

die() {
	echo "vm: failed to $*" >&2
	exit 1
}

# bpftool lives in /usr/sbin, which is not on a normal user's PATH.
PATH=$PATH:/usr/sbin:/sbin
export PATH

tmp=
cleanup() {
	if [ -n "$tmp" ]; then
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Packages whose candidate is "(none)" are listed by apt-cache search but cannot be
# downloaded (the archive has rotated them out), so only real candidates count.
with_candidate() {
	[ $# -gt 0 ] || return 0
	LC_ALL=C apt-cache policy "$@" 2>/dev/null | awk '
		/^[^ ]/ { pkg = $1; sub(/:$/, "", pkg) }
		/^  Candidate:/ { if ($2 != "(none)") print pkg }'
}

# The signed linux-binary-<release> packages; linux-binary-unsigned-* carry the same
# kernel and are deliberately not matched.
apt_releases() {
	command -v apt-cache >/dev/null 2>&1 || return 0
	# shellcheck disable=SC2046 # one word per package name is intended
	with_candidate $(apt-cache search --names-only "^linux-binary-[0-9][^ ]*-$FLAVOUR\$" 2>/dev/null |
		awk '{ print $1 }') | sed 's/^linux-binary-//' | sort -V
}

newest_per_series() {
	awk -F. '{ s = $1 "." $2; if (!(s in last)) order[n++] = s; last[s] = $0 }
		END { for (i = 0; i < n; i++) print last[order[i]] }'
}

# Writes FILE so that concurrent readers never see a partial one.
atomic_write() {
	mkdir -p "$(dirname "$1")"
	printf '%s\n' "$2" >"$1.$$"
	mv -f "$1.$$" "$1"
}

# Serialises downloads between parallel test jobs so a kernel is fetched only once.
lock() {
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	if command -v flock >/dev/null 2>&1; then
		flock 9
	fi
}

download() { # PACKAGE DIR
	# As root, apt wants to drop to _apt, which cannot write into our private temp dir.
	sandbox=
	if [ "$(id -u)" -eq 0 ]; then
		sandbox=-oAPT::Sandbox::User=root
	fi
	if ! (cd "$2" && apt-get -q $sandbox download "$1" >apt.log 2>&1); then
		reason=$(grep -E '^(E|Err):' "$2/apt.log" | tail -n 1)
		die "download $1: ${reason:-apt-get download failed}"
	fi
	rm -f "$2/apt.log"
}

extract_vmlinux() { # VMLINUZ OUT
	# The bzImage wraps a zstd frame; zstd reports trailing data after it and exits
	# non-zero, so success is judged by the ELF magic of the output instead.
	for off in $(LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' "$1" | cut -d: -f1 | head -n 4); do
		tail -c +$((off + 1)) "$1" | zstd -dcq 2>/dev/null >"$2" || true
		if [ "$(head -c 4 "$2" | od -An -c | tr -d ' ')" = '177ELF' ]; then
			return 0
		fi
	done
	rm -f "$2"
	die "extract vmlinux from $1: no zstd frame yielding an ELF image"
}

# qemu boots an ELF vmlinux with a PVH entry note directly, skipping the in-guest
# decompression of vmlinuz, which takes about 2 s under TCG. Returns 1 if the image
# has no such note (XEN_ELFNOTE_PHYS32_ENTRY, type 18).
has_pvh() {
	command -v readelf >/dev/null 2>&1 &&
		LC_ALL=C readelf -n "$1" 2>/dev/null | grep -Eq 'PHYS32_ENTRY|\(0x00000012\)'
}

# Adds vmlinux to a cached kernel directory that lacks it; vmlinux.none records a
# kernel without PVH support so the check is not repeated.
ensure_vmlinux() { # DIR
	[ -f "$1/vmlinux" ] || [ -f "$1/vmlinux.none" ] && return 0
	part=$1/.vmlinux.$$
	extract_vmlinux "$1/vmlinuz" "$part"
	if has_pvh "$part"; then
		mv -f "$part" "$1/vmlinux"
	else
		rm -f "$part"
		: >"$1/vmlinux.none"
	fi
}

verdict_of() {
	[ -f "$VDIR/$1" ] && cat "$VDIR/$1"
}

# Downloads RELEASE into $KDIR/RELEASE, verifying sched_ext; records the verdict.
do_fetch() {
	rel=$1
	[ -f "$KDIR/$rel/vmlinuz" ] && return 0
	# Subshells do not inherit the EXIT trap, and this often runs in one.
	trap cleanup EXIT
	lock
	[ -f "$KDIR/$rel/vmlinuz" ] && return 0
	mkdir -p "$KDIR"
	# Inside the cache so the final rename is atomic (same file system).
	tmp=$(mktemp -d "$KDIR/.fetch.XXXXXX") || die "create a temp dir in $KDIR"
	bin=linux-binary-$rel
	base=linux-base-$rel
	[ -n "$(with_candidate "$bin")" ] || die "fetch kernel $rel: no downloadable $bin package"
	download "$bin" "$tmp"
	if [ -n "$(with_candidate "$base")" ]; then
		download "$base" "$tmp"
	fi
	for deb in "$tmp"/*.deb; do
		dpkg-deb -x "$deb" "$tmp/root" || die "unpack $deb: dpkg-deb failed"
	done
	mkdir "$tmp/out"
	# Newer packages put vmlinuz next to the modules, older ones in /boot.
	for f in "$tmp/root/usr/lib/modules/$rel/vmlinuz" "$tmp/root/boot/vmlinuz-$rel"; do
		[ -f "$f" ] && mv "$f" "$tmp/out/vmlinuz" && break
	done
	[ -f "$tmp/out/vmlinuz" ] || die "find vmlinuz in $bin: not in usr/lib/modules/$rel or boot"
	for f in "$tmp/root/usr/lib/modules/$rel/config" "$tmp/root/boot/config-$rel"; do
		[ -f "$f" ] && mv "$f" "$tmp/out/config" && break
	done
	if [ -f "$tmp/out/config" ]; then
		if ! grep -qx 'CONFIG_SCHED_CLASS_EXT=y' "$tmp/out/config"; then
			atomic_write "$VDIR/$rel" "no-sched_ext config"
			die "verify kernel $rel: config lacks CONFIG_SCHED_CLASS_EXT=y"
		fi
		v="sched_ext config"
	else
		# Debian drops the linux-base package (which holds the config) of older
		# releases from the index while keeping the binary; the kernel's own BTF is
		# then the proof: struct sched_ext_ops only exists when sched_ext is built in.
		extract_vmlinux "$tmp/out/vmlinuz" "$tmp/vmlinux"
		if ! bpftool btf dump file "$tmp/vmlinux" format raw 2>/dev/null |
			grep -q "STRUCT 'sched_ext_ops'"; then
			atomic_write "$VDIR/$rel" "no-sched_ext btf"
			die "verify kernel $rel: no config published and its BTF lacks struct sched_ext_ops"
		fi
		v="sched_ext btf"
	fi
	printf '%s\n' "$v" >"$tmp/out/verdict"
	if [ -f "$tmp/vmlinux" ]; then # already extracted for the BTF check
		if has_pvh "$tmp/vmlinux"; then
			mv "$tmp/vmlinux" "$tmp/out/vmlinux"
		else
			: >"$tmp/out/vmlinux.none"
		fi
	fi
	ensure_vmlinux "$tmp/out"
	mv -T "$tmp/out" "$KDIR/$rel" || die "move kernel $rel into $KDIR"
	atomic_write "$VDIR/$rel" "$v"
	rm -rf "$tmp"
	tmp=
}

# Settles the verdict of RELEASE with the smallest download: the 1 MB linux-base
# package when it exists, otherwise a full fetch.
determine() {
	rel=$1
	base=linux-base-$rel
	if [ -z "$(with_candidate "$base")" ]; then
		(do_fetch "$rel") >/dev/null || true
		return 0
	fi
	trap cleanup EXIT
	lock
	verdict_of "$rel" >/dev/null && return 0
	tmp=$(mktemp -d) || die "create a temp dir"
	download "$base" "$tmp"
	dpkg-deb -x "$tmp"/*.deb "$tmp/root" || die "unpack $base: dpkg-deb failed"
	cfg=$tmp/root/usr/lib/modules/$rel/config
	[ -f "$cfg" ] || cfg=$tmp/root/boot/config-$rel
	if [ ! -f "$cfg" ]; then
		# A base package without config: an unknown layout, so leave it undecided.
		echo "vm: failed to find config in $base: unknown package layout" >&2
	elif grep -qx 'CONFIG_SCHED_CLASS_EXT=y' "$cfg"; then
		atomic_write "$VDIR/$rel" "sched_ext config"
	else
		atomic_write "$VDIR/$rel" "no-sched_ext config"
	fi
	rm -rf "$tmp"
	tmp=
}

cmd_list() {
	# apt-cache takes about a second per query; the answer only changes when the
	# package lists do, so a list computed after the last apt-get update is reused.
	if [ -s "$LIST" ] && [ -f "$STAMP" ] && [ -n "$(find "$STAMP" -newer "$APT_LISTS" 2>/dev/null)" ]; then
		cat "$LIST"
		return 0
	fi
	found=
	complete=yes
	for rel in $(apt_releases | newest_per_series); do
		if ! verdict_of "$rel" >/dev/null; then
			(determine "$rel") || true
		fi
		case $(verdict_of "$rel" || true) in
		"sched_ext "*) found="$found$rel
" ;;
		"") complete=no ;;
		esac
	done
	found=$(printf '%s' "$found" | sed '/^$/d')
	if [ -n "$found" ]; then
		atomic_write "$LIST" "$found"
		if [ "$complete" = yes ]; then
			touch "$STAMP"
		else
			rm -f "$STAMP"
		fi
		printf '%s\n' "$found"
	elif [ -s "$LIST" ]; then
		echo "vm: apt gave no usable sched_ext kernel; using the cached list $LIST" >&2
		cat "$LIST"
	else
		die "find a sched_ext kernel: apt offers no linux-binary-*-$FLAVOUR with sched_ext and nothing is cached"
	fi
}

newest() {
	cmd_list | tail -n 1
}

cmd_fetch() {
	rel=${1:-}
	[ -n "$rel" ] || rel=$(newest)
	[ -n "$rel" ] || die "pick a kernel: the list is empty"
	do_fetch "$rel"
	ensure_vmlinux "$KDIR/$rel"
	printf '%s\n' "$KDIR/$rel"
}

cmd_vmlinux() {
	case $# in
	1) rel=$(newest) out=$1 ;;
	2) rel=$1 out=$2 ;;
	*) die "parse arguments: usage: kernel.sh vmlinux [RELEASE] OUT" ;;
	esac
	dir=$(cmd_fetch "$rel")
	if [ -f "$dir/vmlinux" ]; then
		cp "$dir/vmlinux" "$out" || die "copy $dir/vmlinux to $out: cp failed"
	else
		extract_vmlinux "$dir/vmlinuz" "$out"
	fi
}

case ${1:-} in
list)
	[ $# -eq 1 ] || die "parse arguments: usage: kernel.sh list"
	cmd_list
	;;
fetch)
	[ $# -le 2 ] || die "parse arguments: usage: kernel.sh fetch [RELEASE]"
	cmd_fetch "${2:-}"
	;;
vmlinux)
	shift
	cmd_vmlinux "$@"
	;;
*)
	die "parse arguments: usage: kernel.sh list | fetch [RELEASE] | vmlinux [RELEASE] OUT"
	;;
esac
