#!/bin/sh
# Daemons that start together on a machine where nothing mounted bpffs yet
# (a minimal system, a fresh CI container) must end up on one bpffs with all
# their pins visible: a second mount stacked on the first would hide the
# first daemon's pins from every reader. Runs in a private mount namespace
# (unshare -m) with /sys/fs/bpf unmounted there, so the host's pins are not
# touched; several rounds of four `run --no-attach` daemons at once.
. "${SRCDIR:-.}/tests/host/tap.sh"
: "${SCX_GAMER:?SCX_GAMER must name the scx_gamer binary}"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP mounting needs root"
	exit 0
fi
if ! command -v unshare >/dev/null || ! unshare -m true 2>/dev/null; then
	echo "1..0 # SKIP no unshare -m (util-linux) or no mount namespaces"
	exit 0
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/etc/profiles" "$T/shipped"
printf 'schema: 1\n' >"$T/etc/scx_gamer.yaml"

# In the namespace: unmount every bpffs on /sys/fs/bpf, start four daemons at
# once, wait for each one's pins, then report "MOUNTS VISIBLE" - the bpffs
# mounts now on /sys/fs/bpf and how many daemons' pins a reader sees.
cat >"$T/round.sh" <<'EOS'
while grep -q ' /sys/fs/bpf bpf ' /proc/self/mounts; do umount /sys/fs/bpf || exit 3; done
pids=
for i in 1 2 3 4; do
	"$SCX_GAMER" --pin-dir "/sys/fs/bpf/scx_gamer_bpffs_$i" --run-dir "$T/run$i" \
		--config-dir "$T/etc" --profile-dir "$T/shipped" --no-attach run >"$T/d$i.log" 2>&1 &
	pids="$pids $!"
done
# Each daemon logs its pin directory once its maps are pinned.
for i in 1 2 3 4; do
	n=0
	until grep -q "maps pinned in" "$T/d$i.log" 2>/dev/null || [ $n -ge 600 ]; do
		sleep 0.05
		n=$((n + 1))
	done
done
seen=0
for i in 1 2 3 4; do
	if [ -e "/sys/fs/bpf/scx_gamer_bpffs_$i/profile_info" ]; then
		seen=$((seen + 1))
	else
		sed "s/^/# daemon $i: /" "$T/d$i.log" >&2
	fi
done
echo "$(grep -c ' /sys/fs/bpf bpf ' /proc/self/mounts) $seen"
kill $pids
wait
EOS

rounds=10
for r in $(seq 1 $rounds); do
	res=$(T=$T SCX_GAMER=$SCX_GAMER unshare -m --propagation private sh "$T/round.sh")
	echo "# round $r: bpffs mounts, daemons whose pins are visible: $res"
	check "round $r: one bpffs mount, all four daemons' pins visible" [ "$res" = "1 4" ]
done
done_testing
