#!/bin/bash
# W4's package tree (docs/BENCHMARKS.md): Mesa's glxgears, the llvmpipe GL
# driver and Xvfb, with the libraries they load, from Debian packages, as an
# uncompressed cpio archive for tests/vm/run.sh's VM_CPIO. Prints the archive's
# path; builds it only when the cache has none for these package versions.
#
#   bench/w4/tree.sh
#
# The packages: what apt would install for the roots on an empty system (an
# empty dpkg status: its resolver picks alternatives and honours the pins, so
# no backports), fetched with `apt-get download` from the machine's own apt
# sources and unpacked with dpkg-deb -x - nothing is installed. The tree is cut
# down to what the programs load and cached in
# $SCX_GAMER_CACHE_DIR/w4/<key>/ (default ~/.cache/scx_gamer/w4), where the key
# is a hash of the package names and versions: root/ (the tree; root/.packages
# lists them) and w4root.cpio (the tree at usr/share/scx_gamer/w4root, where
# bench/bench.vm looks for it; uncompressed, the guest unpacks it about 5 s
# faster than gzip or zstd). Used by bench/run.sh; run it alone to fill the
# cache ahead of a benchmark.
set -euo pipefail

die() { echo "w4 tree: $*" >&2; exit 1; }

for t in apt-get dpkg-deb readelf cpio sha256sum; do
	command -v "$t" >/dev/null 2>&1 || die "no $t on PATH"
done

# "name=version" for every package: that pins what is downloaded and keys the cache.
roots="xvfb mesa-utils libgl1-mesa-dri"
# shellcheck disable=SC2086 # one word per root
pinned=$(apt-get -s -q -o Dir::State::status=/dev/null -o APT::Install-Recommends=false \
	install $roots 2>/dev/null | awk '$1 == "Inst" { v = $3; sub(/^\(/, "", v); print $2 "=" v }' | sort -u) ||
	die "apt-get cannot resolve $roots (run apt-get update?)"
for r in $roots; do
	grep -q "^$r=" <<<"$pinned" || die "apt offers no $r (run apt-get update?)"
done
key=$(sha256sum <<<"$pinned" | cut -c1-16)
cache=${SCX_GAMER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/scx_gamer}/w4
dir=$cache/$key
root=$dir/root

lib_dirs="lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu"

# copy_closure FULL ROOT FILE...: FILEs (paths relative to FULL) and every library
# they need (ELF NEEDED, resolved in FULL's library directories) into ROOT, as
# regular files.
copy_closure() {
	local full=$1 out=$2 f so d hit
	shift 2
	local -a queue=("$@")
	local -A seen=()
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]}
		queue=("${queue[@]:1}")
		[ -n "${seen[$f]:-}" ] && continue
		seen[$f]=1
		[ -e "$full/$f" ] || die "build the tree: $f is in no package"
		mkdir -p "$out/$(dirname "$f")"
		cp -L "$full/$f" "$out/$f"
		for so in $(readelf -d "$full/$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			hit=
			for d in $lib_dirs; do
				if [ -e "$full/$d/$so" ]; then hit=$d/$so; break; fi
			done
			[ -n "$hit" ] || die "build the tree: $so (needed by $f) is in no package"
			queue+=("$hit")
		done
	done
}

if [ ! -f "$root/.complete" ]; then
	echo "w4 tree: building $dir" >&2
	rm -rf "$dir"
	mkdir -p "$dir/debs"
	# shellcheck disable=SC2086 # one word per package
	(cd "$dir/debs" && apt-get download -q -o APT::Sandbox::User=root $pinned >/dev/null) ||
		{ rm -rf "$dir"; die "apt-get download failed"; }
	full=$dir/full
	mkdir -p "$full"
	for d in "$dir"/debs/*.deb; do
		dpkg-deb -x "$d" "$full" || die "unpack $d"
	done
	mkdir -p "$root"
	# The programs, the GL driver the X server and the client load (dlopen, so no
	# NEEDED entry), and libglvnd's vendor library for Mesa.
	copy_closure "$full" "$root" usr/bin/Xvfb usr/bin/xkbcomp \
		usr/bin/glxgears.x86_64-linux-gnu usr/bin/glxinfo.x86_64-linux-gnu \
		usr/lib/x86_64-linux-gnu/dri/swrast_dri.so usr/lib/x86_64-linux-gnu/libGLX_mesa.so.0
	# Installed, these are reached through alternatives' symlinks; the profile
	# matches the process name glxgears.
	mv "$root/usr/bin/glxgears.x86_64-linux-gnu" "$root/usr/bin/glxgears"
	mv "$root/usr/bin/glxinfo.x86_64-linux-gnu" "$root/usr/bin/glxinfo"
	mkdir -p "$root/lib64" "$root/usr/share" "$root/var/lib/xkb" "$root/bin" \
		"$root/proc" "$root/sys" "$root/dev" "$root/tmp"
	ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
	# Data: xkb keymaps (Xvfb runs xkbcomp at start), X11 locale and error
	# databases, Mesa's driconf files, libglvnd's vendor files. No fonts: the
	# server's built-in font is enough for a GL client.
	for d in usr/share/X11 usr/share/drirc.d usr/share/glvnd; do
		[ -d "$full/$d" ] && cp -a "$full/$d" "$root/$d"
	done
	printf '%s\n' "$pinned" >"$root/.packages"
	rm -rf "$full" "$dir/debs"
	touch "$root/.complete"
fi
if [ ! -f "$dir/w4root.cpio" ]; then
	stage=$dir/stage
	rm -rf "$stage"
	mkdir -p "$stage/usr/share/scx_gamer"
	cp -al "$root" "$stage/usr/share/scx_gamer/w4root"
	(cd "$stage" && find . -print | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
		>"$dir/w4root.cpio.tmp" || die "build the tree's cpio archive"
	mv "$dir/w4root.cpio.tmp" "$dir/w4root.cpio"
	rm -rf "$stage"
fi
echo "w4 tree: $dir: $(du -sm "$root" | cut -f1) MB, $(wc -l <"$root/.packages") packages" >&2
echo "$dir/w4root.cpio"
