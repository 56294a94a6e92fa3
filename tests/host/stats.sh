#!/bin/sh
# `scx_gamer stats` against a `run --no-attach` daemon on the host kernel: the
# counters of each live profile and their total, read from the real per-CPU
# map (written here with bpftool, since no scheduler runs), every counter of
# the GAMER_COUNTERS table in bpf/intf.h, --watch deltas, and a reused slot
# starting from zero.
. "${SRCDIR:-.}/tests/host/tap.sh"
. "${SRCDIR:-.}/tests/host/lib.sh"
: "${SCX_GAMER:?SCX_GAMER must name the scx_gamer binary}"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP creating BPF maps needs root"
	exit 0
fi
if ! command -v bpftool >/dev/null; then
	echo "1..0 # SKIP needs bpftool to write the counters"
	exit 0
fi

T=$(mktemp -d)
pin=/sys/fs/bpf/scx_gamer_stats_test_$$
etc=$T/etc
shipped=$T/shipped
log=$T/daemon.log
mkdir -p "$etc/profiles" "$shipped"
pid=

wpid=
cleanup() {
	# A watch left running by a failed check.
	[ -n "$wpid" ] && kill "$wpid" 2>/dev/null
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$T" "$pin"
}
trap cleanup EXIT

# The counter names, in map order, from the table itself.
names=$(sed -n 's/^[[:space:]]*X([A-Z_0-9]*, *\([a-z_0-9]*\),.*/\1/p' "$SRCDIR/bpf/intf.h")
n_names=$(printf '%s\n' $names | wc -l)
c1=$(printf '%s\n' $names | head -n 1)
c2=$(printf '%s\n' $names | tail -n 1)
ncpu=$(awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { k = split($i, r, "-"); n += k == 2 ? r[2] - r[1] + 1 : 1 } print n }' \
	/sys/devices/system/cpu/possible)
echo "# $n_names counters ($c1 .. $c2), $ncpu possible CPUs"


profile() { printf 'schema: 1\nname: %s\nmatch:\n  - comm: %s\n' "$1" "$1"; }

# counters[SLOT] = NAME=VALUE... (others 0) on every CPU: bpftool writes one
# value to all CPUs of a per-CPU map. Values below 256, little endian.
set_counters() {
	_slot=$1
	shift
	# shellcheck disable=SC2046,SC2086
	bpftool map update pinned "$pin/counters" key "$_slot" 0 0 0 value $(u64s "$names" "$@")
}

# u64s KEYS NAME=VALUE...: one little-endian u64 per key of KEYS, VALUE for
# the key NAME, else 0 (values below 256).
u64s() {
	_keys=$1
	shift
	for _n in $_keys; do
		_v=0
		for _a in "$@"; do
			[ "${_a%%=*}" = "$_n" ] && _v=${_a#*=}
		done
		printf ' %s 0 0 0 0 0 0 0' "$_v"
	done
}

# The value of counter $2 in column $1 (a profile id or "total") of the table.
cell() {
	sg stats 2>/dev/null | awk -v id="$1" -v c="$2" '
		$1 == "counter" && !col { for (i = 2; i <= NF; i++) if ($i == id) col = i }
		col && $1 == c { print $col; exit }'
}

# The slot of profile $1, from the one-profile-per-line JSON.
slot_of() {
	sg stats --json 2>/dev/null | sed -n "s/^ *{\"slot\": \([0-9]*\), \"id\": \"$1\".*/\1/p"
}

# Wait (5 s at most) until profile $1 is listed ($2 = yes) or not ($2 = no).
listed() { if [ -n "$(slot_of "$1")" ]; then [ "$2" = yes ]; else [ "$2" = no ]; fi; }
wait_listed() { wait_until 50 listed "$1" "$2"; }

# Until file $1 has $2 lines (30 s at most: a loaded machine, distcheck). A
# file not there yet (its writer not started yet) has none.
lines_of() { if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi; }
has_lines() { [ "$(lines_of "$1")" -ge "$2" ]; }
wait_lines() { wait_until 300 has_lines "$1" "$2"; }

check "the counter table in intf.h is found" [ "$n_names" -ge 2 ]
undocumented=
for n in $names; do
	grep -q "^| \`$n\` |" "${SRCDIR:-.}/docs/POLICY.md" || undocumented="$undocumented $n"
done
check "every counter has a row in docs/POLICY.md's table (missing:${undocumented:- none})" [ -z "$undocumented" ]

run sg stats
check "no daemon: exit 1" [ "$rc" -eq 1 ]
check "no daemon: one line that says what to do" [ "$out" = \
	"scx_gamer: error: no counters at $pin/counters: is the daemon running? (start it with 'scx_gamer run')" ]
# show and status read other pins, the same way.
run sg show
check "show, no daemon: exit 1" [ "$rc" -eq 1 ]
check "show, no daemon: says what to do" contains "$out" \
	"no profile_ver at $pin/profile_ver: is the daemon running?"

printf 'schema: 1\nlog_level: info\n' >"$etc/scx_gamer.yaml"
profile alpha >"$etc/profiles/alpha.yaml"
profile beta >"$shipped/beta.yaml"
# The pid file is written last, after every pin (start_daemon waits for it).
start_daemon "$log"
check "the daemon starts and pins its maps" [ -e "$pin/counters" ]

run sg stats
check "stats: exit 0" [ "$rc" -eq 0 ]
check "a column for the defaults, each profile and the total" sh -c \
	'printf "%s\n" "$1" | grep -Eq "^counter +defaults +alpha +beta +total$"' _ "$out"
missing=
for n in $names; do
	printf '%s\n' "$out" | grep -Eq "^$n( +0){4}$" || missing="$missing $n"
done
check "a row of zeros for every counter (missing:${missing:- none})" [ -z "$missing" ]
twice=
while IFS= read -r help; do
	[ "$(printf '%s\n' "$out" | grep -cF -- "$help")" -eq 1 ] || twice="$twice '$help'"
done <<EOF
$(sed -n 's/^[[:space:]]*X([A-Z_0-9]*, *[a-z_0-9]*, *"\(.*\)").*/\1/p' "$SRCDIR/bpf/intf.h")
EOF
check "each counter's help is shown once (not:${twice:- none})" [ -z "$twice" ]

a=$(slot_of alpha)
b=$(slot_of beta)
echo "# alpha in slot $a, beta in slot $b"
check "each profile has a slot of its own" sh -c '[ -n "$1" ] && [ -n "$2" ] && [ "$1" -ne 0 ] && [ "$2" -ne 0 ] && [ "$1" -ne "$2" ]' _ "$a" "$b"

set_counters "$a" "$c1=5" "$c2=7"
set_counters 0 "$c2=3"
check "$c1 of alpha is the sum over CPUs" [ "$(cell alpha "$c1")" = $((5 * ncpu)) ]
check "$c2 of alpha is the sum over CPUs" [ "$(cell alpha "$c2")" = $((7 * ncpu)) ]
check "$c2 of the defaults" [ "$(cell defaults "$c2")" = $((3 * ncpu)) ]
check "beta's counts stay 0" [ "$(cell beta "$c1") $(cell beta "$c2")" = "0 0" ]
check "the total of $c1" [ "$(cell total "$c1")" = $((5 * ncpu)) ]
check "the total of $c2 adds the defaults and alpha" [ "$(cell total "$c2")" = $((10 * ncpu)) ]

run sg stats --json
check "stats --json: exit 0" [ "$rc" -eq 0 ]
missing=
for n in $names; do
	# Every profile and the total: defaults, alpha, beta, total.
	[ "$(printf '%s\n' "$out" | grep -o "\"$n\": [0-9]*" | wc -l)" -eq 4 ] || missing="$missing $n"
done
check "--json has every counter for each profile and the total (missing:${missing:- none})" [ -z "$missing" ]
check "--json: alpha's $c1" contains "$out" "\"id\": \"alpha\", \"counters\": {\"$c1\": $((5 * ncpu)),"

if command -v python3 >/dev/null; then
	check "--json is JSON with the layout and sums documented" python3 -c '
import json, sys
names = sys.argv[2].split()
d = json.loads(sys.argv[1])
ids = [p["id"] for p in d["profiles"]]
assert ids == ["defaults", "alpha", "beta"], ids
assert d["profiles"][0]["slot"] == 0
for c in [p["counters"] for p in d["profiles"]] + [d["total"]]:
    assert list(c) == names, list(c)
for n in names:
    assert d["total"][n] == sum(p["counters"][n] for p in d["profiles"]), n
' "$out" "$names"
else
	skip "--json is JSON with the layout and sums documented" "no python3"
fi

# Wait times: wait_hist[SLOT] = wake buckets B=COUNT... (requeue empty) on
# every CPU; 24 + 24 little-endian u64 per CPU.
set_waits() {
	_slot=$1
	shift
	# shellcheck disable=SC2046,SC2086
	bpftool map update pinned "$pin/wait_hist" key "$_slot" 0 0 0 value $(u64s "$(seq 0 47)" "$@")
}
# wrow ROW ID: the wait row's cell for profile ID.
wrow() { cell "$2" "$1"; }
# Three waits in [16, 32) us and one in [512 us, 1 ms) per CPU: half of them
# are at most 32768 ns (bucket 5's upper edge), 99 % at most 2^20 ns.
set_waits "$a" 5=3 10=1
check "wake wait p50 of alpha: the upper edge of its bucket" [ "$(wrow wake_wait_p50 alpha)" = "<=33us" ]
check "wake wait p99 of alpha" [ "$(wrow wake_wait_p99 alpha)" = "<=1.0ms" ]
check "no requeue waits: '-'" [ "$(wrow requeue_wait_p99 alpha)" = "-" ]
check "beta has no waits" [ "$(wrow wake_wait_p50 beta)" = "-" ]
check "the total's waits are alpha's" [ "$(wrow wake_wait_p99 total)" = "<=1.0ms" ]
run sg stats --json
check "--json: alpha's wake waits: count, p50, p99, longest and the buckets" contains "$out" \
	"\"wake\": {\"count\": $((4 * ncpu)), \"p50_ns\": 32768, \"p99_ns\": 1048576, \"longest_ns\": 524288, \"buckets\": [0, 0, 0, 0, 0, $((3 * ncpu)), 0, 0, 0, 0, $ncpu,"
set_waits "$a" 23=1
check "a wait in the last, open-ended bucket: p99 is its lower edge, 4.3 s" [ "$(wrow wake_wait_p99 alpha)" = "<=4.3s" ]
set_waits "$a"

# --watch: samples, deltas.
run sg stats --watch=0.2 --count=3
check "--watch=0.2 --count=3: exit 0" [ "$rc" -eq 0 ]
check "three samples" [ "$(printf '%s\n' "$out" | grep -c '  sample [0-9]*: ')" -eq 3 ]
check "the first sample shows the counts so far" contains "$out" "sample 1: counts so far"
nonzero=$(printf '%s\n' "$out" | awk -v names="$names" '
	BEGIN { split(names, a); for (i in a) is[a[i]] = 1 }
	/  sample [0-9]*: / { s++ }
	s >= 2 && ($1 in is) { for (i = 2; i <= NF; i++) if ($i + 0 != 0) print $1 }')
check "nothing changed: later samples show 0 (not: ${nonzero:-none})" [ -z "$nonzero" ]

run sg stats --json --watch=0.2 --count=3
check "--json --watch: one object per sample" [ "$(printf '%s\n' "$out" | grep -c '^{"sample": ')" -eq 3 ]
check "--json --watch: the first sample's delta is the counts" contains "$out" \
	"\"sample\": 1, \"timestamp\": "
if command -v python3 >/dev/null; then
	check "--json --watch: JSON Lines with deltas 0 after the first sample" python3 -c '
import json, sys
lines = sys.argv[1].splitlines()
assert len(lines) == 3
for i, line in enumerate(lines):
    d = json.loads(line)
    assert d["sample"] == i + 1
    if i == 0:
        assert d["interval_s"] is None
        assert d["delta"] == d["total"]
    else:
        assert 0.1 < d["interval_s"] < 5, d["interval_s"]
        assert set(d["delta"].values()) == {0}, d["delta"]
        for p in d["profiles"]:
            assert set(p["delta"].values()) == {0}, p
' "$out"
else
	skip "--json --watch: JSON Lines with deltas 0 after the first sample" "no python3"
fi

# A change between two samples shows as the delta (5 s leaves time to write it,
# even on a loaded machine).
sg stats --json --watch=5 --count=2 >"$T/watch.out" 2>&1 &
wpid=$!
wait_lines "$T/watch.out" 1
set_counters "$a" "$c1=9" "$c2=7"
wait "$wpid" && rc=0 || rc=$?
sed 's/^/# /' "$T/watch.out"
check "a change between samples: exit 0" [ "$rc" -eq 0 ]
check "alpha's delta is the change" [ "$(sed -n '2{s/.*"id": "alpha"//; s/"id": "beta".*//; p}' "$T/watch.out" |
	sed -n "s/.*\"delta\": {\"$c1\": \([0-9]*\),.*/\1/p")" = $((4 * ncpu)) ]
check "the total's delta is the change" [ "$(sed -n "2s/.*\"delta\": {\"$c1\": \([0-9]*\),[^}]*}}\$/\1/p" "$T/watch.out")" = $((4 * ncpu)) ]

# Stopping a watch by signal is the normal way out. Not through sg(): $! must
# be scx_gamer itself.
"$SCX_GAMER" --pin-dir "$pin" stats --watch=0.2 >"$T/term.out" 2>&1 &
wpid=$!
wait_lines "$T/term.out" 2
kill -TERM "$wpid"
wait "$wpid" && rc=0 || rc=$?
check "--watch stops on SIGTERM with exit 0" [ "$rc" -eq 0 ]
# A background job of a script starts with SIGINT ignored; env puts it back.
if env --default-signal=INT true 2>/dev/null; then
	env --default-signal=INT "$SCX_GAMER" --pin-dir "$pin" stats --watch=0.2 >"$T/int.out" 2>&1 &
	wpid=$!
	wait_lines "$T/int.out" 2
	kill -INT "$wpid"
	wait "$wpid" && rc=0 || rc=$?
	check "--watch stops on SIGINT with exit 0" [ "$rc" -eq 0 ]
else
	skip "--watch stops on SIGINT with exit 0" "env has no --default-signal"
fi

# Bad intervals and counts are usage errors.
for w in 0 -1 abc 1x "" nan inf 3601 0.001; do
	run sg stats --watch="$w"
	check "--watch='$w': exit 2" [ "$rc" -eq 2 ]
done
run sg stats --watch=3600 --count=1
check "--watch=3600 is the largest interval" [ "$rc" -eq 0 ]
check "--watch='abc' is named in the error" contains "$(sg stats --watch=abc 2>&1)" "--watch needs seconds"
run sg stats --watch 2
check "--watch 2 (no '='): exit 2" [ "$rc" -eq 2 ]
check "--watch 2 (no '='): a hint" contains "$out" "write --watch=2"
for n in 0 -3 x; do
	run sg stats --count="$n"
	check "--count='$n': exit 2" [ "$rc" -eq 2 ]
done
run sg show --watch
check "--watch on another command: exit 2" [ "$rc" -eq 2 ]

if command -v setpriv >/dev/null; then
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$SCX_GAMER" --pin-dir "$pin" stats
	check "not root: exit 1" [ "$rc" -eq 1 ]
	check "not root: says root is needed" contains "$out" "needs root"
else
	skip "not root: exit 1" "no setpriv"
	skip "not root: says root is needed" "no setpriv"
fi

# A removed profile's slot keeps its counts until the slot is reused: the
# total leaves them out, and the next profile in the slot starts from 0.
set_counters "$b" "$c1=11"
check "beta's $c1" [ "$(cell beta "$c1")" = $((11 * ncpu)) ]
rm "$shipped/beta.yaml"
wait_listed beta no
check "a removed profile is no longer listed" [ -z "$(slot_of beta)" ]
check "its slot still holds the counts" sh -c 'bpftool -j map lookup pinned "$1" key "$2" 0 0 0 | grep -q "\"value\":\[\"0x0b\","' _ "$pin/counters" "$b"
check "the total leaves out a free slot" [ "$(cell total "$c1")" = $((9 * ncpu)) ]
profile gamma >"$etc/profiles/gamma.yaml"
wait_listed gamma yes
g=$(slot_of gamma)
echo "# gamma in slot $g"
check "a new profile takes the free slot" [ "$g" = "$b" ]
check "and starts from 0" [ "$(cell gamma "$c1")" = 0 ]
check "alpha keeps its counts" [ "$(cell alpha "$c1")" = $((9 * ncpu)) ]

# The daemon stopping under a watch ends it with the same error.
sg stats --watch=0.2 >"$T/stop.out" 2>&1 &
wpid=$!
wait_lines "$T/stop.out" 2
kill -TERM "$pid"
wait "$pid"
pid=
wait "$wpid" && rc=0 || rc=$?
check "the daemon stops during --watch: exit 1" [ "$rc" -eq 1 ]
check "and it says so" grep -q "is the daemon running?" "$T/stop.out"

sed 's/^/# /' "$log"
done_testing
