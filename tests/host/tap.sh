# Sourced by host shell tests: TAP output helpers.
# ok COND_EXIT_STATUS DESCRIPTION   (use: check "desc" command...)
tap_n=0
tap_failed=0

# check DESCRIPTION COMMAND...: one TAP line from the command's exit status.
check() {
	desc=$1
	shift
	tap_n=$((tap_n + 1))
	if "$@"; then
		echo "ok $tap_n - $desc"
	else
		echo "not ok $tap_n - $desc"
		tap_failed=$((tap_failed + 1))
	fi
}

skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

# Run the program, keeping its stdout+stderr in $out and status in $rc.
run() {
	out=$("$@" 2>&1) && rc=0 || rc=$?
	printf '%s\n' "$out" | sed 's/^/# /'
}

contains() { case $1 in *"$2"*) return 0 ;; esac; return 1; }

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
