#!/bin/sh
# The daemon under valgrind's memcheck through what a long run does again and
# again - hot reloads of every kind (edits, broken edits, a profile added and
# removed, SIGHUP, the profile directory replaced) and games coming and going -
# then SIGTERM: no block may be definitely lost. (A leak per reload grows the
# daemon over a match; the soak's RSS bound is too coarse to see one.)
. "${SRCDIR:-.}/tests/host/tap.sh"
. "${SRCDIR:-.}/tests/host/lib.sh"
: "${SCX_GAMER:?SCX_GAMER must name the scx_gamer binary}"
: "${BUILDDIR:?BUILDDIR must name the build directory}"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP creating BPF maps and tracing needs root"
	exit 0
fi
if ! command -v valgrind >/dev/null; then
	echo "1..0 # SKIP needs valgrind"
	exit 0
fi

T=$(mktemp -d)
pin=/sys/fs/bpf/scx_gamer_leak_test_$$
etc=$T/etc
shipped=$T/shipped
bin=$T/bin
mkdir -p "$etc/profiles" "$shipped" "$bin"
pid=

cleanup() {
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
trap 'exit 1' HUP INT TERM

cp "$BUILDDIR/tests/bin/fake-game" "$bin/leakgame"
printf 'schema: 1\nlog_level: info\n' >"$etc/scx_gamer.yaml"
put() { printf "$2" >"$etc/profiles/.$1.tmp" && mv "$etc/profiles/.$1.tmp" "$etc/profiles/$1.yaml"; }
game='schema: 1\nmatch:\n  - comm: leakgame\ntunables:\n  roles: {game: %s}\nthreads:\n  - {name: "Idle", role: game}\n'
put leak "$(printf "$game" 3)"

# libbpf's own uninitialised bytes in bpf() are not ours: definite leaks only.
valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --undef-value-errors=no \
	--suppressions="${SRCDIR:-.}/tests/host/valgrind.supp" --error-exitcode=99 \
	--log-file="$T/valgrind.log" \
	"$SCX_GAMER" --pin-dir "$pin" --run-dir "$T/run" --config-dir "$etc" \
	--profile-dir "$shipped" --no-attach run >"$T/daemon.log" 2>&1 &
pid=$!
up() { grep -q "configuration loaded" "$T/daemon.log" 2>/dev/null && daemon_up; }
if ! wait_until 600 up; then
	check "the daemon starts under valgrind" false
	sed 's/^/#   /' "$T/daemon.log"
	done_testing
	exit
fi

reloads() { grep -c "configuration reloaded" "$T/daemon.log"; }
r0=$(reloads)
i=0
while [ $i -lt 24 ]; do
	i=$((i + 1))
	case $((i % 6)) in
	0) put leak "$(printf "$game" $((i % 7)))" ;;
	1) put leak 'schema: 1\nmatch: [\n' ;;
	2) put "extra$i" "schema: 1\nmatch:\n  - comm: x$i\n" ;;
	3) rm -f "$etc/profiles/extra$((i - 1)).yaml"; kill -HUP "$pid" ;;
	4) printf 'schema: 1\nlog_level: debug\n' >"$etc/.d.tmp" && mv "$etc/.d.tmp" "$etc/scx_gamer.yaml" ;;
	5) put leak "$(printf "$game" 2)" ;;
	esac
	"$bin/leakgame" --seconds 1 Idle >/dev/null 2>&1 &
	sleep 0.5
done
more_reloads() { [ "$(reloads)" -ge $((r0 + 8)) ]; }
check "(setup) the daemon reloaded along (8 reloads at least)" wait_until 300 more_reloads
echo "# reloads: $(($(reloads) - r0)); daemon log lines: $(wc -l <"$T/daemon.log")"
stop_daemon
sed 's/^/# /' "$T/valgrind.log" | head -n 60
check "no block definitely lost, no memory error (valgrind's status $rc)" [ "$rc" -eq 0 ]
done_testing
