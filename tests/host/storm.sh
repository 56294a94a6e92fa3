#!/bin/sh
# An exec storm against a `run --no-attach` daemon on the host kernel, at the
# host's speed (under the VM's emulator an exec takes ~100 ms, so soak.vm's
# storm runs at 500-600 a minute): short-lived games (copies of fake-game
# named "stormgame", 3 s each: a loaded host delays the daemon) started every 10 ms for STORM_SECONDS (10),
# thousands a minute, while the profile is edited every 0.5 s. Every game
# must get its profile (counted by the daemon's log line for its pid: by its
# exec event, or by a rescan), no event may be lost, and once the games are
# gone no class entry of theirs is left. Prints the rate and the misses.
. "${SRCDIR:-.}/tests/host/tap.sh"
. "${SRCDIR:-.}/tests/host/lib.sh"
: "${SCX_GAMER:?SCX_GAMER must name the scx_gamer binary}"
: "${BUILDDIR:?BUILDDIR must name the build directory}"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP creating BPF maps and tracing needs root"
	exit 0
fi

S=${STORM_SECONDS:-10}
T=$(mktemp -d)
pin=/sys/fs/bpf/scx_gamer_storm_test_$$
etc=$T/etc
shipped=$T/shipped
bin=$T/bin
mkdir -p "$etc/profiles" "$shipped" "$bin"
pid= storm= edits=

cleanup() {
	[ -n "$storm" ] && kill "$storm" 2>/dev/null
	[ -n "$edits" ] && kill "$edits" 2>/dev/null
	touch "$T/stop" 2>/dev/null
	for _p in /proc/[0-9]*; do
		case $(readlink "$_p/exe" 2>/dev/null) in
		"$bin"/*) kill -9 "${_p#/proc/}" 2>/dev/null ;;
		esac
	done
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$T" "$pin"
}
trap cleanup EXIT
# dash runs no EXIT trap for a signal: the storm would go on.
trap 'exit 1' HUP INT TERM

cp "$BUILDDIR/tests/bin/fake-game" "$bin/stormgame"
printf 'schema: 1\nlog_level: info\n' >"$etc/scx_gamer.yaml"
game_yaml() {
	printf 'schema: 1\nmatch:\n  - comm: stormgame\ntunables:\n  roles: {game: %s}\n' "$1" \
		>"$etc/profiles/.storm.tmp" && mv "$etc/profiles/.storm.tmp" "$etc/profiles/storm.yaml"
}
game_yaml 3
start_daemon "$T/daemon.log" || { check "the daemon starts" false; done_testing; exit; }

(
	while [ ! -e "$T/stop" ]; do
		"$bin/stormgame" --seconds 3 >/dev/null 2>&1 &
		echo $! >>"$T/games.pids"
		sleep 0.01
	done
) &
storm=$!
(
	i=0
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		game_yaml $((i % 7))
		sleep 0.5
	done
) &
edits=$!
sleep "$S"
touch "$T/stop"
wait "$storm" "$edits"
storm= edits=

# No process of the test's own copy runs (not pidof: another tree's storm).
gone() {
	for _p in /proc/[0-9]*; do
		[ "$(readlink "$_p/exe" 2>/dev/null)" = "$bin/stormgame" ] && return 1
	done
	return 0
}
check "the games end" wait_until 200 gone
# `status` says this daemon runs and lists no game (status exits 0 whatever
# it finds: what it says is checked).
no_entries() {
	_st=$(sg status 2>/dev/null)
	contains "$_st" "daemon: running, pid $pid" && contains "$_st" "games: none running"
}
check "no class entry is left once they are gone" wait_until 100 no_entries

n=$(wc -l <"$T/games.pids")
sed -n "s/.*pid \([0-9]*\) (stormgame): profile 'storm'.*/\1/p" "$T/daemon.log" | sort -u >"$T/matched"
sort -u "$T/games.pids" >"$T/started"
# (By file name, not NR == FNR: that holds all along when matched is empty.)
misses=$(awk 'FILENAME == ARGV[1] { m[$1]; next } !($1 in m)' "$T/matched" "$T/started" | wc -l)
echo "# exec storm: $n games in $S s ($((n * 60 / S)) a minute), misses $misses"
check "thousands of games a minute started" [ $((n * 60 / S)) -ge 1000 ]
all_matched() { [ "$n" -gt 0 ] && [ "$misses" -eq 0 ]; }
check "every game got its profile (misses: $misses of $n)" all_matched
check "no exec event was lost" sh -c "! grep -F 'did not fit in the ring buffer' '$T/daemon.log'"
check "the daemon ran throughout" kill -0 "$pid"
stop_daemon
check "and stops cleanly" [ "$rc" -eq 0 ]
done_testing
