# shellcheck shell=sh
# Assertion helpers for guest test scripts; installed in the VM as /lib/vmtest.sh.
# Use:  . /lib/vmtest.sh
# Runs under busybox sh. Every failed assertion prints "FAIL: ..." and exits 1, so a
# test script reads as a list of expectations.

# Files that fail() prints before exiting (set with show_on_fail FILE...), so a
# failed wait still shows what the daemon said.
vmtest_show_on_fail=

show_on_fail() {
	for _sf in "$@"; do
		case " $vmtest_show_on_fail " in
		*" $_sf "*) ;;
		*) vmtest_show_on_fail="$vmtest_show_on_fail $_sf" ;;
		esac
	done
}

fail() {
	echo "FAIL: $*"
	for _f in $vmtest_show_on_fail; do
		[ -f "$_f" ] || continue
		echo "--- $_f"
		cat "$_f"
	done
	exit 1
}

pass() {
	echo "ok: $*"
}

# expect_eq ACTUAL EXPECTED [WHAT]
expect_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: got '$1', expected '$2'"
}

# expect_ne ACTUAL UNWANTED [WHAT]
expect_ne() {
	[ "$1" != "$2" ] || fail "${3:-value}: got '$1', expected anything else"
}

expect_file() {
	[ -e "$1" ] || fail "$1 does not exist"
}

# read_file FILE: its first line, failing the test if it cannot be read.
read_file() {
	_v=$(head -n 1 "$1" 2>/dev/null) || fail "cannot read $1"
	printf '%s\n' "$_v"
}

# expect_content FILE EXPECTED
expect_content() {
	expect_eq "$(read_file "$1")" "$2" "$1"
}

# wait_for FILE VALUE TIMEOUT_DS: polls FILE (a sysfs attribute, say) every 0.1 s until
# its first line is VALUE; fails after TIMEOUT_DS tenths of a second. State changes such
# as a scheduler attaching are asynchronous, and a fixed long sleep would slow every run.
wait_for() {
	wait_eq "$3" "$2" "$1" first_line "$1"
}

# first_line FILE: its first line, or <unreadable>.
first_line() {
	head -n 1 "$1" 2>/dev/null || echo "<unreadable>"
}

# The daemon under watch (daemon_start and policy_start set it): while it is
# set, every wait fails at once, saying so, when that process has ended - a
# check made after a wait ("this process gets no profile") must not pass
# because nothing runs any more. Cleared by daemon_stop; a test that ends the
# daemon itself clears it first.
watch_pid=

# alive PID: the process runs (not gone, not a zombie left for wait).
alive() {
	# Built-ins only: every wait runs this once a poll, and an exec is slow
	# under the emulator.
	{ read -r _al_s <"/proc/$1/stat"; } 2>/dev/null || return 1
	case ${_al_s##*) } in
	Z* | X* | x*) return 1 ;;
	esac
}

# check_watched CONTEXT: fails the test when the daemon under watch has ended.
check_watched() {
	[ -z "$watch_pid" ] || alive "$watch_pid" || fail "the daemon (pid $watch_pid) has ended$1"
}

# wait_eq TIMEOUT_DS EXPECTED WHAT CMD...: runs CMD every 0.1 s until it prints
# EXPECTED; fails after TIMEOUT_DS tenths of a second with what it printed last.
# (Each helper's variables have a prefix of their own: the command it runs is
# in the same shell and may use the common names.)
wait_eq() {
	_we_t=$1 _we_want=$2 _we_what=$3
	shift 3
	_we_n=0
	while :; do
		_we_v=$("$@" 2>/dev/null)
		check_watched " (waiting for $_we_what)"
		[ "$_we_v" = "$_we_want" ] && return 0
		[ "$_we_n" -ge "$_we_t" ] && break
		sleep 0.1
		_we_n=$((_we_n + 1))
	done
	fail "$_we_what: got '$_we_v', expected '$_we_want' within $((_we_t / 10)).$((_we_t % 10)) s"
}

# wait_until TIMEOUT_DS WHAT CMD...: runs CMD every 0.1 s until it succeeds;
# fails, saying WHAT did not happen, after TIMEOUT_DS tenths of a second.
wait_until() {
	_wu_t=$1 _wu_what=$2
	shift 2
	_wu_n=0
	while :; do
		"$@" && _wu_ok=1 || _wu_ok=
		check_watched " (waiting until $_wu_what)"
		[ -n "$_wu_ok" ] && return 0
		[ "$_wu_n" -ge "$_wu_t" ] && break
		sleep 0.1
		_wu_n=$((_wu_n + 1))
	done
	fail "not within $((_wu_t / 10)).$((_wu_t % 10)) s: $_wu_what"
}

# try_wait_for FILE VALUE TIMEOUT_DS: like wait_for, but returns 1 instead of failing.
try_wait_for() {
	(wait_for "$@") >/dev/null
}

# ---- the daemon ---------------------------------------------------------------
# The daemon's configuration directory and a shipped-profile directory for a test.
POLICY_ETC=/tmp/etc
POLICY_SHIPPED=/tmp/shipped

# sg ARG...: scx_gamer on the test's directories (a command, not the daemon:
# daemon_start runs that, so that $daemon_pid is the daemon itself).
sg() { scx_gamer --config-dir "$POLICY_ETC" --profile-dir "$POLICY_SHIPPED" "$@"; }

# daemon_start [OPTION]...: the daemon on the test's directories in the
# background, its output in /tmp/daemon.log (shown if the test fails); waits
# until it has attached (30 s at most each: a loaded host slows the guest).
# $daemon_pid is the daemon, and is watched (watch_pid); $seq0 is enable_seq
# once attached.
daemon_start() {
	mkdir -p "$POLICY_ETC/profiles" "$POLICY_SHIPPED"
	scx_gamer --config-dir "$POLICY_ETC" --profile-dir "$POLICY_SHIPPED" "$@" run \
		>/tmp/daemon.log 2>&1 &
	daemon_pid=$!
	watch_pid=$daemon_pid
	show_on_fail /tmp/daemon.log
	wait_for /sys/kernel/sched_ext/state enabled 300
	# The state reads "enabled" a moment before enable_seq counts the attach:
	# the daemon's line comes after both.
	wait_for_line /tmp/daemon.log "scheduler 'gamer' attached" 300
	seq0=$(read_file /sys/kernel/sched_ext/enable_seq)
}

# daemon_stop: SIGINT, and it exits 0.
daemon_stop() {
	watch_pid=
	kill -INT "$daemon_pid"
	wait "$daemon_pid" && _rc=0 || _rc=$?
	expect_eq "$_rc" 0 "daemon exit status after SIGINT"
}

# policy_start: an empty daemon file, then daemon_start.
policy_start() {
	mkdir -p "$POLICY_ETC/profiles" "$POLICY_SHIPPED"
	printf 'schema: 1\nlog_level: info\n' >"$POLICY_ETC/scx_gamer.yaml"
	daemon_start
}

# policy_stop: the scheduler stayed attached all along; stop the daemon cleanly.
policy_stop() {
	expect_content /sys/kernel/sched_ext/state enabled
	expect_eq "$(read_file /sys/kernel/sched_ext/enable_seq)" "$seq0" "enable_seq (never re-attached)"
	daemon_stop
}

# put_profile ID BODY: (re)write a profile atomically; BODY is printf-expanded
# YAML for everything after the match list.
put_profile() {
	printf "schema: 1\nmatch:\n  - comm: \"no-such-comm\"\n$2" >"$POLICY_ETC/profiles/.$1.tmp"
	mv "$POLICY_ETC/profiles/.$1.tmp" "$POLICY_ETC/profiles/$1.yaml"
}

# tunable ID KEY: the value the kernel's maps hold for KEY of profile ID.
tunable() { sg show "$1" 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }

# wait_tunable ID KEY VALUE: until the kernel's maps hold VALUE for KEY (10 s).
wait_tunable() {
	wait_eq 100 "$3" "profile $1: $2" tunable "$1" "$2"
	# Tasks pick an edit up at their next scheduling event; let in-flight ones pass.
	sleep 0.5
}

# counter ID NAME: a profile's counter, summed over CPUs (scx_gamer stats --json).
counter() {
	scx_gamer stats --json | tr -d ' \n\t' | sed 's/"total":.*//; s/{"slot"/\n{"slot"/g' |
		grep "\"id\":\"$1\"" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" | head -n 1
}

# snap ID NAME...: prints "NAME=VALUE ..." for the profile's counters.
snap() {
	_id=$1
	shift
	_j=$(scx_gamer stats --json | tr -d ' \n\t' | sed 's/"total":.*//; s/{"slot"/\n{"slot"/g' |
		grep "\"id\":\"$_id\"")
	[ -n "$_j" ] || fail "no counters for profile '$_id' in scx_gamer stats"
	for _c in "$@"; do
		_v=$(printf '%s\n' "$_j" | sed -n "s/.*\"$_c\":\([0-9]*\).*/\1/p" | head -n 1)
		[ -n "$_v" ] || fail "no counter '$_c' for profile '$_id'"
		printf '%s=%s ' "$_c" "$_v"
	done
	echo
}

# delta BEFORE AFTER NAME: AFTER's NAME minus BEFORE's (outputs of snap).
delta() {
	_a=$(printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$3=//p")
	_b=$(printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$3=//p")
	echo $((_b - _a))
}

# wait_for_line FILE TEXT TIMEOUT_DS: until FILE has a line containing TEXT.
# The daemon logs an event a moment after the kernel shows it.
wait_for_line() {
	wait_until "$3" "$1 said: $2" has_line "$1" "$2"
}

# has_line FILE TEXT: FILE has a line containing TEXT.
has_line() { grep -qF "$2" "$1" 2>/dev/null; }
