#!/bin/sh
# Install everything scx_gamer's build and test suite need on Debian 12 (bookworm).
# Run as root. Safe to run any number of times.
#
# libbpf >= 1.4 comes from bookworm-backports; the sched_ext test kernel comes from
# trixie-backports (only downloaded, never installed). Both suites are added with the
# URI this machine already uses for Debian, and pinned low so nothing else is upgraded.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root" >&2
	exit 1
fi

# Find the URI of the configured Debian archive (deb822 or one-line format).
debian_uri() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			/^[[:space:]]*$/ { if (uri != "" && suites ~ /(^|[[:space:]])bookworm([[:space:]]|$)/) { print uri; exit } uri = ""; suites = ""; next }
			/^URIs:/ { uri = $2 }
			/^Suites:/ { suites = $0 }
			END { if (uri != "" && suites ~ /(^|[[:space:]])bookworm([[:space:]]|$)/) print uri }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file|mirror)/) { if ($(i+1) == "bookworm") { print $i; exit } }
		}' "$f"
	done
}

uri=$(debian_uri | head -n 1)
if [ -z "$uri" ]; then
	echo "install-deps: no Debian 'bookworm' source found in /etc/apt; add one first" >&2
	exit 1
fi

list=/etc/apt/sources.list.d/scx_gamer-backports.sources
want=$(printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports trixie-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri")
if [ ! -f "$list" ] || [ "$(cat "$list")" != "$want" ]; then
	printf '%s\n' "$want" >"$list"
fi

# Backports are already at priority 100 by their Release file; say so explicitly, and keep
# trixie lower still so nothing from it is ever installed here by accident.
cat >/etc/apt/preferences.d/scx_gamer-backports <<'PREF'
Package: *
Pin: release n=bookworm-backports
Pin-Priority: 100

Package: *
Pin: release n=trixie-backports
Pin-Priority: 50
PREF

export DEBIAN_FRONTEND=noninteractive
apt-get update -q

# bpftool: bookworm's 7.1 writes skeletons that libbpf 1.4's headers accept.
apt-get install -y -q --no-install-recommends \
	build-essential autoconf automake libtool pkg-config \
	clang llvm bpftool \
	libyaml-dev libinotifytools0-dev libelf-dev zlib1g-dev \
	qemu-system-x86 busybox-static cpio zstd \
	rt-tests stress-ng file valgrind
apt-get install -y -q --no-install-recommends -t bookworm-backports libbpf-dev libbpf1

# Fail loudly if the result is not what the build needs.
v=$(pkg-config --modversion libbpf)
case "$v" in
	0.* | 1.[0-3] | 1.[0-3].*)
		echo "install-deps: libbpf $v installed, need >= 1.4" >&2
		exit 1
		;;
esac
echo "install-deps: done (libbpf $v, $(clang --version | head -n 1))"
