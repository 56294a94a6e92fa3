# shellcheck shell=sh
# Assertion helpers for guest test scripts; installed in the VM as /lib/vmtest.sh.
# Use:  . /lib/vmtest.sh
# Runs under busybox sh. Every failed assertion prints "FAIL: ..." and exits 1, so a
# test script reads as a list of expectations.

# Files that fail() prints before exiting (set with show_on_fail FILE...), so a
# failed wait still shows what the daemon said.
vmtest_show_on_fail=

show_on_fail() {
	vmtest_show_on_fail="$vmtest_show_on_fail $*"
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
	_n=0
	while :; do
		_v=$(head -n 1 "$1" 2>/dev/null) || _v="<unreadable>"
		[ "$_v" = "$2" ] && return 0
		[ "$_n" -ge "$3" ] && break
		sleep 0.1
		_n=$((_n + 1))
	done
	fail "$1 is '$_v', expected '$2' within $(($3 / 10)).$(($3 % 10)) s"
}

# try_wait_for FILE VALUE TIMEOUT_DS: like wait_for, but returns 1 instead of failing.
try_wait_for() {
	(wait_for "$@") >/dev/null
}
