#!/bin/sh
# `run --no-attach` on the host kernel (no sched_ext needed): the configuration
# lands in real kernel maps, `show` reads it back from them, every common way
# of saving a file is picked up by a reload, and a bad edit changes nothing.
. "${SRCDIR:-.}/tests/host/tap.sh"
: "${SCX_GAMER:?SCX_GAMER must name the scx_gamer binary}"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP creating BPF maps needs root"
	exit 0
fi

T=$(mktemp -d)
pin=/sys/fs/bpf/scx_gamer_test_$$
etc=$T/etc
shipped=$T/shipped
log=$T/daemon.log
mkdir -p "$etc/profiles" "$shipped" "$T/elsewhere"
pid=

cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

daemon_conf() {
	printf 'schema: 1\nlog_level: info\ndefaults:\n  slice: %s\n' "$1"
}
profile() {
	printf 'schema: 1\nname: Test game\nmatch:\n  - comm: testgame\ntunables:\n  slice: %s\n' "$1"
}

sg() { "$SCX_GAMER" --pin-dir "$pin" --run-dir "$T/run" --config-dir "$etc" --profile-dir "$shipped" "$@"; }

# The value of `slice` for a profile as the kernel holds it, and where it came from.
slice_of() { sg show "$1" 2>/dev/null | awk '$1 == "slice" { print $2 }'; }
slice_from() { sg show "$1" 2>/dev/null | awk '$1 == "slice" { print $3 }'; }

# Start a --no-attach daemon (run dir $1) in the background and wait (10 s at
# most) for its pins. Not through sg(): $! must be the daemon itself, which the
# signals below are for.
start_daemon() {
	"$SCX_GAMER" --pin-dir "$pin" --run-dir "$1" --config-dir "$etc" --profile-dir "$shipped" \
		--no-attach run >"$log" 2>&1 &
	pid=$!
	i=0
	while [ ! -e "$pin/profile_info" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# Wait (5 s at most) until profile $1's slice in the kernel is $2 ("" = absent).
# No signal is sent: the daemon must notice the save by itself (inotify).
settle() {
	i=0
	while [ "$(slice_of "$1")" != "$2" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

errors() { grep -c "error: " "$log"; }

daemon_conf 3ms >"$etc/scx_gamer.yaml"
profile 2ms >"$shipped/competitive.yaml"

start_daemon "$T/run"
check "the daemon starts and pins its maps" [ -e "$pin/profile_info" ]

check "defaults come from scx_gamer.yaml" [ "$(slice_of defaults)" = 3ms ]
check "show names the file a value came from" [ "$(slice_from defaults)" = "$etc/scx_gamer.yaml" ]
check "a shipped profile is in the kernel" [ "$(slice_of competitive)" = 2ms ]
run sg show competitive
check "an unset key comes from the defaults file" sh -c 'printf "%s\n" "$1" | grep -q "^  boost.max .* (built-in)$"' _ "$out"

# The save patterns editors and tools use.
daemon_conf 4ms >"$etc/scx_gamer.yaml"
settle defaults 4ms
check "write in place" [ "$(slice_of defaults)" = 4ms ]

daemon_conf 6ms >"$etc/.scx_gamer.yaml.tmp" && mv "$etc/.scx_gamer.yaml.tmp" "$etc/scx_gamer.yaml"
settle defaults 6ms
check "write a temp file and rename it over" [ "$(slice_of defaults)" = 6ms ]

rm "$etc/scx_gamer.yaml" && daemon_conf 7ms >"$etc/scx_gamer.yaml"
settle defaults 7ms
check "delete and create" [ "$(slice_of defaults)" = 7ms ]

profile 9ms >"$T/elsewhere/mine.yaml" && mv "$T/elsewhere/mine.yaml" "$etc/profiles/mine.yaml"
settle mine 9ms
check "a profile moved in from elsewhere" [ "$(slice_of mine)" = 9ms ]

profile 11ms >"$T/elsewhere/linked-a.yaml"
profile 12ms >"$T/elsewhere/linked-b.yaml"
ln -s "$T/elsewhere/linked-a.yaml" "$etc/profiles/linked.yaml"
settle linked 11ms
check "a symlinked profile" [ "$(slice_of linked)" = 11ms ]
ln -sfn "$T/elsewhere/linked-b.yaml" "$etc/profiles/linked.yaml.new" &&
	mv -T "$etc/profiles/linked.yaml.new" "$etc/profiles/linked.yaml"
settle linked 12ms
check "a symlink swapped to a new target" [ "$(slice_of linked)" = 12ms ]
# Editing the file a symlink points to, in a directory of its own.
profile 14ms >"$T/elsewhere/linked-b.yaml"
settle linked 14ms
check "the target of a symlinked profile edited in place" [ "$(slice_of linked)" = 14ms ]

profile 5ms >"$etc/profiles/competitive.yaml"
settle competitive 5ms
check "an admin profile hides the shipped one" [ "$(slice_of competitive)" = 5ms ]
check "show names the admin file" [ "$(slice_from competitive)" = "$etc/profiles/competitive.yaml" ]

rm -rf "$etc/profiles"
settle competitive 2ms
check "the admin directory removed: the shipped profile is back" [ "$(slice_of competitive)" = 2ms ]
mkdir "$etc/profiles" && profile 13ms >"$etc/profiles/mine.yaml"
settle mine 13ms
check "the admin directory recreated" [ "$(slice_of mine)" = 13ms ]

# A bad edit changes nothing and says where it is wrong.
e=$(errors)
printf 'schema: 1\nlog_level: info\ndefaults:\n  slice: 5\n' >"$etc/scx_gamer.yaml"
i=0
while [ "$(errors)" -le "$e" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "an invalid edit keeps the last good value" [ "$(slice_of defaults)" = 7ms ]
check "the error names file, line and column" grep -q "^$etc/scx_gamer.yaml:4:10: error: " "$log"
run sg status
check "status lists the pending error" contains "$out" "$etc/scx_gamer.yaml:4:10: error: "
daemon_conf 8ms >"$etc/scx_gamer.yaml"
settle defaults 8ms
check "fixing the file applies it" [ "$(slice_of defaults)" = 8ms ]
run sg status
check "fixing the file clears the error in status" contains "$out" "errors: none"
run sg status --json
check "status --json has the daemon and its profiles" sh -c 'case "$1" in *"\"mode\": \"no-attach\""*"\"profiles\": [{\"id\": \"competitive\""*) exit 0;; esac; exit 1' _ "$out"

rm "$etc/profiles/mine.yaml"
settle mine ""
check "a deleted profile is removed from the kernel" [ -z "$(slice_of mine)" ]

# `scx_gamer reload` (SIGHUP to the daemon) reads everything again.
before=$(grep -c "configuration reloaded" "$log")
run sg reload
check "reload finds the daemon" [ "$rc" -eq 0 ]
i=0
while [ "$(grep -c "configuration reloaded" "$log")" -le "$before" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "reload reloads" [ "$(grep -c "configuration reloaded" "$log")" -gt "$before" ]

kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
pid=
check "SIGTERM: exit status 0" [ "$rc" -eq 0 ]
check "the pins are removed on exit" [ ! -e "$pin" ]
run sg status
check "status after exit: daemon not running" contains "$out" "daemon: not running"
run sg reload
check "reload without a daemon fails clearly" [ "$rc" -eq 1 ]
sed 's/^/# /' "$log"

# A full inotify queue loses events: the daemon must notice and read everything.
# The queue limit is taken when the daemon starts its inotify instance, so it is
# lowered only around that start.
pin=/sys/fs/bpf/scx_gamer_test_$$_ovf
log=$T/daemon2.log
old=$(cat /proc/sys/fs/inotify/max_queued_events)
echo 4 >/proc/sys/fs/inotify/max_queued_events
start_daemon "$T/run2"
echo "$old" >/proc/sys/fs/inotify/max_queued_events
kill -STOP "$pid"
for n in 1 2 3 4 5 6 7 8 9 10 11 12; do
	profile "${n}ms" >"$etc/profiles/many$n.yaml"
done
daemon_conf 9ms >"$etc/scx_gamer.yaml"
kill -CONT "$pid"
settle defaults 9ms
check "after a queue overflow the daemon rescans" grep -q "inotify queue overflowed" "$log"
check "and ends up with every profile written meanwhile" [ "$(slice_of many12)" = 12ms ]
check "and with the daemon file written meanwhile" [ "$(slice_of defaults)" = 9ms ]
kill -TERM "$pid"
wait "$pid"
pid=

done_testing
