# Sourced (after tap.sh) by the host tests that run a --no-attach daemon: the
# one way to call scx_gamer on the test's own directories, to start a daemon
# and to wait for something.
#
# The test sets T (its temporary directory), pin (its bpffs pin directory),
# etc and shipped (the configuration and profile directories); run, the run
# directory, is $T/run unless it sets it. $pid is the daemon under test.

sg() {
	"$SCX_GAMER" --pin-dir "$pin" --run-dir "${run:-$T/run}" --config-dir "$etc" \
		--profile-dir "$shipped" "$@"
}

# A daemon was started ($pid) and is no longer running.
daemon_died() { [ -n "${pid:-}" ] && ! kill -0 "$pid" 2>/dev/null; }

# wait_until TENTHS COMMAND...: run COMMAND every 0.1 s until it succeeds (0)
# or TENTHS tenths of a second have passed (1). When the daemon under test has
# died it says so and fails (2), even if COMMAND succeeded: a check made after
# a wait ("this process gets no profile") must not pass because nothing runs
# any more. Clear $pid before waiting for the daemon to end.
wait_until() {
	_wu_n=$1 _wu_i=0
	shift
	while ! "$@"; do
		daemon_died && break
		[ "$_wu_i" -ge "$_wu_n" ] && return 1
		sleep 0.1
		_wu_i=$((_wu_i + 1))
	done
	if daemon_died; then
		echo "# the daemon (pid $pid) is not running"
		return 2
	fi
}

# Its pins and its pid file are there: it has started.
daemon_up() { [ -e "$pin/profile_info" ] && [ -s "${run:-$T/run}/scx_gamer.pid" ]; }

# start_daemon LOG [ARG...]: a --no-attach daemon on the test's directories in
# the background ($pid is the daemon itself, for signals), its output in LOG;
# waits (10 s at most) until it has started, and fails, showing LOG, if not.
start_daemon() {
	_sd_log=$1
	shift
	"$SCX_GAMER" --pin-dir "$pin" --run-dir "${run:-$T/run}" --config-dir "$etc" \
		--profile-dir "$shipped" "$@" --no-attach run >"$_sd_log" 2>&1 &
	pid=$!
	wait_until 100 daemon_up && return 0
	echo "# the daemon did not start:"
	sed 's/^/#   /' "$_sd_log"
	return 1
}

# stop_daemon: SIGTERM, and wait for it; its exit status in $rc; $pid cleared.
stop_daemon() {
	kill -TERM "$pid"
	wait "$pid" && rc=0 || rc=$?
	pid=
}
