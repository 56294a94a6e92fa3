#!/bin/sh
# `run --no-attach` on the host kernel (no sched_ext needed): the configuration
# lands in real kernel maps, `show` reads it back from them, every common way
# of saving a file is picked up by a reload, and a bad edit changes nothing.
. "${SRCDIR:-.}/tests/host/tap.sh"
. "${SRCDIR:-.}/tests/host/lib.sh"
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
	rm -rf "/sys/fs/bpf/scx_gamer_test_$$_hide"
	if [ -n "$pid" ]; then
		# It may have been stopped when a check failed.
		kill -CONT "$pid" 2>/dev/null
		kill "$pid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

daemon_conf() {
	printf 'schema: 1\nlog_level: info\ndefaults:\n  slice: %s\n' "$1"
}
profile() {
	printf 'schema: 1\nname: Test game\nmatch:\n  - comm: testgame\ntunables:\n  slice: %s\n' "$1"
}

# The value of `slice` for a profile as the kernel holds it, and where it came from.
slice_of() { sg show "$1" 2>/dev/null | awk '$1 == "slice" { print $2 }'; }
slice_from() { sg show "$1" 2>/dev/null | awk '$1 == "slice" { print $3 }'; }

# Wait (5 s at most) until profile $1's slice in the kernel is $2 ("" = absent).
# No signal is sent: the daemon must notice the save by itself (inotify).
slice_is() { [ "$(slice_of "$1")" = "$2" ]; }
settle() { wait_until 50 slice_is "$1" "$2"; }

errors() { grep -c "error: " "$log"; }
errors_past() { [ "$(errors)" -gt "$1" ]; }
# Until the log has more errors than $1 (5 s at most).
wait_errors_past() { wait_until 50 errors_past "$1"; }

# `scx_gamer status` into $out, again (5 s at most) until it has $1: the
# daemon writes its status file after it logs.
status_has() { out=$(sg status 2>&1); contains "$out" "$1"; }
status_until() {
	wait_until 50 status_has "$1"
	printf '%s\n' "$out" | sed 's/^/# /'
}

# `scx_gamer reload`, then wait (5 s at most) until the daemon has read
# everything again.
reloads() { grep -c "configuration reloaded" "$log"; }
reloads_past() { [ "$(reloads)" -gt "$1" ]; }
full_reload() {
	_before=$(reloads)
	sg reload >/dev/null
	wait_until 50 reloads_past "$_before"
}

daemon_conf 3ms >"$etc/scx_gamer.yaml"
profile 2ms >"$shipped/competitive.yaml"

check "the daemon starts and pins its maps" start_daemon "$log"
# stat's field 19, counted after the ")" that ends comm (which may hold spaces).
nice_of() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $17 }'; }
check "it runs at nice -10 unless told otherwise" [ "$(nice_of "$pid")" = -10 ]

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

profile 15ms >"$T/elsewhere/hard.yaml"
ln "$T/elsewhere/hard.yaml" "$etc/profiles/hard.yaml"
settle hard 15ms
check "a hard link to a profile (only IN_CREATE, no IN_CLOSE_WRITE)" [ "$(slice_of hard)" = 15ms ]
rm "$etc/profiles/hard.yaml"
# Linked, then the first name removed, before the daemon reads the event:
# one name again, and no later event.
profile 16ms >"$T/elsewhere/moved.yaml"
kill -STOP "$pid"
ln "$T/elsewhere/moved.yaml" "$etc/profiles/moved.yaml"
rm "$T/elsewhere/moved.yaml"
kill -CONT "$pid"
settle moved 16ms
check "... also when the original name is gone by the time the daemon looks" [ "$(slice_of moved)" = 16ms ]
rm "$etc/profiles/moved.yaml"

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

# The admin directory replaced by a copy (cp -a, then two renames: a package
# manager's or a configuration tool's way), with a moment in between when no
# directory has its name: read once it is back, its profiles never out.
lines=$(wc -l <"$log") r=$(reloads)
cp -a "$etc/profiles" "$etc/profiles.new"
mv "$etc/profiles" "$etc/profiles.old"
# A moment, well inside the 2.2 s the daemon waits (a loaded host delays the
# second rename too).
sleep 0.3
mv "$etc/profiles.new" "$etc/profiles"
rm -rf "$etc/profiles.old"
wait_until 50 reloads_past "$r"
check "the admin directory replaced: read again once it is back" reloads_past "$r"
since() { tail -n "+$((lines + 1))" "$log"; }
check "... its profiles never left the kernel meanwhile" sh -c '! grep "configuration reloaded" | grep -v " 0 removed"' <<EOF
$(since)
EOF
# The same, all done before the daemon looks: the old directory's watch is
# gone by then (the kernel dropped it with the directory).
lines=$(wc -l <"$log")
kill -STOP "$pid"
cp -a "$etc/profiles" "$etc/profiles.new"
mv "$etc/profiles" "$etc/profiles.old"
mv "$etc/profiles.new" "$etc/profiles"
rm -rf "$etc/profiles.old"
kill -CONT "$pid"
profile 21ms >"$etc/profiles/mine.yaml"
settle mine 21ms
check "... also when the old one is gone before the daemon looks: the new one is watched" \
	[ "$(slice_of mine)" = 21ms ]
check "... and nothing complains about the old one's watch" sh -c '! grep -i "watch"' <<EOF
$(since)
EOF
profile 13ms >"$etc/profiles/mine.yaml"
settle mine 13ms

# A bad edit changes nothing and says where it is wrong.
e=$(errors)
printf 'schema: 1\nlog_level: info\ndefaults:\n  slice: 5\n' >"$etc/scx_gamer.yaml"
wait_errors_past "$e"
check "an invalid edit keeps the last good value" [ "$(slice_of defaults)" = 7ms ]
check "the error names file, line and column" grep -q "^$etc/scx_gamer.yaml:4:10: error: " "$log"
status_until "$etc/scx_gamer.yaml:4:10: error: "
check "status lists the pending error" contains "$out" "$etc/scx_gamer.yaml:4:10: error: "
daemon_conf 8ms >"$etc/scx_gamer.yaml"
settle defaults 8ms
check "fixing the file applies it" [ "$(slice_of defaults)" = 8ms ]
status_until "errors: none"
check "fixing the file clears the error in status" contains "$out" "errors: none"
run sg status --json
check "status --json has the daemon and its profiles" sh -c 'case "$1" in *"\"mode\": \"no-attach\""*"\"profiles\": [{\"id\": \"competitive\""*) exit 0;; esac; exit 1' _ "$out"

rm "$etc/profiles/mine.yaml"
settle mine ""
check "a deleted profile is removed from the kernel" [ -z "$(slice_of mine)" ]

# A base profile broken, then deleted, under a profile that extends it: the
# child keeps working on the base's last good version, a new edit of the child
# applies, and a child left out for want of its base is an error in status.
key_of() { sg show "$1" 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }
base() { printf 'schema: 1\nmatch:\n  - comm: basegame\ntunables:\n  slice: %s\n' "$1"; }
child() {
	printf 'schema: 1\nextends: base\nmatch:\n  - comm: childgame\ntunables:\n  boost:\n    max: %s\n' "$1"
}
base 21ms >"$etc/profiles/base.yaml"
child 3 >"$etc/profiles/child.yaml"
settle child 21ms
check "(setup) the child takes its slice from its base" [ "$(slice_of child)" = 21ms ]
e=$(errors)
base 5 >"$etc/profiles/base.yaml"
wait_errors_past "$e"
check "a broken base keeps its last good version" [ "$(slice_of base)" = 21ms ]
child 4 >"$etc/profiles/child.yaml"
boost_max_is() { [ "$(key_of child boost.max)" = "$1" ]; }
wait_until 50 boost_max_is 4
check "a valid edit of its child applies, on the base's last good version" \
	[ "$(key_of child boost.max)/$(slice_of child)" = 4/21ms ]
full_reload
check "... and stays after a full reload (not the child's old version)" \
	[ "$(key_of child boost.max)/$(slice_of child)" = 4/21ms ]
status_until "$etc/profiles/base.yaml:5:10: error: "
check "status names the broken base" contains "$out" "$etc/profiles/base.yaml:5:10: error: "
check "... and no error of the child's" sh -c '! printf "%s\n" "$1" | grep -q "child.yaml:[0-9]"' _ "$out"
rm "$etc/profiles/base.yaml"
settle child ""
check "a deleted base takes its child out of the kernel" [ -z "$(slice_of child)" ]
status_until "$etc/profiles/child.yaml:2:1: error: extends: unknown profile 'base'"
check "... and status says so, at the child's extends" \
	contains "$out" "$etc/profiles/child.yaml:2:1: error: extends: unknown profile 'base'"
full_reload
status_until "child.yaml:2:1: error: extends: unknown profile 'base'"
check "... still after a full reload" contains "$out" "child.yaml:2:1: error: extends: unknown profile 'base'"
base 22ms >"$etc/profiles/base.yaml"
settle child 22ms
check "the base back: the child is back" [ "$(slice_of child)" = 22ms ]
status_until "errors: none"
check "... and the error is gone" contains "$out" "errors: none"
rm "$etc/profiles/base.yaml" "$etc/profiles/child.yaml"
settle child ""

# A second daemon on the same run directory refuses to start and touches nothing.
run timeout 20 "$SCX_GAMER" --pin-dir "$pin" --run-dir "$T/run" --config-dir "$etc" --profile-dir "$shipped" --no-attach run
check "a second daemon fails (exit 1)" [ "$rc" -eq 1 ]
check "... naming the one running" contains "$out" "another scx_gamer daemon (pid $pid) is running"
check "... and leaves its pins" [ -e "$pin/profile_info" ]
check "... its pid file" [ "$(cat "$T/run/scx_gamer.pid" 2>/dev/null)" = "$pid" ]
check "... and its status file" [ -e "$T/run/status" ]
check "the lock is root's alone (0600): no one else can hold it" \
	[ "$(stat -c %a "$T/run/lock")" = 600 ]
check "... and it still answers" [ "$(slice_of defaults)" = 8ms ]

# `scx_gamer reload` (SIGHUP to the daemon) reads everything again.
before=$(reloads)
run sg reload
check "reload finds the daemon" [ "$rc" -eq 0 ]
check "reload reloads" wait_until 50 reloads_past "$before"

stop_daemon
check "SIGTERM: exit status 0" [ "$rc" -eq 0 ]
check "the pins are removed on exit" [ ! -e "$pin" ]
check "... and the run directory, lock and all" [ ! -e "$T/run" ]
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
run=$T/run2
start_daemon "$log"
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
stop_daemon

# Directories given with trailing slashes, as shell completion writes them;
# the daemon's output goes to a pipe whose reader has gone.
pin=/sys/fs/bpf/scx_gamer_test_$$_slash
log=$T/daemon3.log
"$SCX_GAMER" --pin-dir "$pin/" --run-dir "$T/run3/" --config-dir "$etc//" --profile-dir "$shipped/" \
	--no-attach run 2>&1 | { read -r first; echo "$first" >"$log"; } &
run=$T/run3
wait_until 100 daemon_up
pid=$(cat "$T/run3/scx_gamer.pid" 2>/dev/null)
check "(setup) a daemon with slash-ended directories starts" [ -n "$pid" ]
daemon_conf 10ms >"$etc/scx_gamer.yaml"
settle defaults 10ms
check "--config-dir DIR/: an edit is still picked up" [ "$(slice_of defaults)" = 10ms ]
check "logging into a closed pipe does not kill the daemon" kill -0 "$pid"
kill -TERM "$pid"
ended=$pid pid=
gone() { ! kill -0 "$ended" 2>/dev/null; }
wait_until 100 gone
check "... which still ends cleanly on SIGTERM" [ ! -e "$pin" ]
kill -0 "$ended" 2>/dev/null && pid=$ended

# A /proc that hides other users' processes (hidepid=, as systemd's
# ProtectProc= mounts it): said at start-up when this daemon cannot see
# through it - no CAP_SYS_PTRACE, and not in the mount's gid= group (root's
# gid 0 is the group when none is given). A proc instance of its own in a
# private mount namespace; the daemon runs a few seconds each time.
# hide MOUNT-OPTIONS SETPRIV-ARGS...
hide() {
	_o=$1
	shift
	unshare -m --propagation private sh -c \
		'mount -t proc -o "$1" proc /proc || exit 99; echo mounted; shift; exec "$@"' _ "$_o" \
		setpriv "$@" timeout -k 2 -s TERM 6 "$SCX_GAMER" \
		--pin-dir "/sys/fs/bpf/scx_gamer_test_$$_hide" --run-dir "$T/run4" --config-dir "$etc" \
		--profile-dir "$shipped" --no-attach run >"$T/hide.log" 2>&1
	rm -rf "/sys/fs/bpf/scx_gamer_test_$$_hide"
	# It ran: mounted, and started.
	grep -q "^mounted" "$T/hide.log" && grep -q "running without attaching" "$T/hide.log"
}
warned() { grep -q "is mounted with hidepid" "$T/hide.log"; }
# ran_unwarned MOUNT-OPTIONS SETPRIV-ARGS...: it ran and did not warn.
ran_unwarned() { hide "$@" && ! warned; }
pin=/sys/fs/bpf/scx_gamer_test_$$_nice run=$T/run5
check "--nice sets another nice value" start_daemon "$T/nice.log" --nice 4
check "... which it runs at" [ "$(nice_of "$pid")" = 4 ]
stop_daemon

noptrace="--bounding-set -sys_ptrace --inh-caps -sys_ptrace"
if command -v unshare >/dev/null && command -v setpriv >/dev/null &&
	unshare -m --propagation private sh -c 'mount -t proc -o hidepid=invisible proc /proc' 2>/dev/null; then
	# shellcheck disable=SC2086
	hide hidepid=invisible,gid=54321 $noptrace
	check "hidepid=invisible, not in its group, no CAP_SYS_PTRACE: warned of" \
		grep -q "/proc is mounted with hidepid=invisible: without CAP_SYS_PTRACE and not in group 54321 this daemon cannot see other users' processes" \
		"$T/hide.log"
	sed 's/^/# /' "$T/hide.log"
	# shellcheck disable=SC2086
	check "... not when it is in the group (root's gid 0, no gid= given)" \
		ran_unwarned hidepid=invisible $noptrace
	check "... not with CAP_SYS_PTRACE" ran_unwarned hidepid=invisible,gid=54321 --reuid 0
	# shellcheck disable=SC2086
	hide hidepid=noaccess,gid=54321 $noptrace
	check "hidepid=noaccess: warned of, as unreadable" grep -q "cannot read other users' processes" "$T/hide.log"
	# shellcheck disable=SC2086
	check "a /proc that hides nothing is not" ran_unwarned hidepid=0 $noptrace
else
	skip "hidepid" "cannot mount a proc instance of its own here"
fi

done_testing
