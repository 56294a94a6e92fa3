#!/bin/sh
# The command line: help, version, and bad usage rejected with status 2.
. "${SRCDIR:-.}/tests/host/tap.sh"
: "${SCX_GAMER:?SCX_GAMER must name the scx_gamer binary}"

run "$SCX_GAMER" --help
check "--help exits 0" [ "$rc" -eq 0 ]
check "--help lists the run command and -v" sh -c 'case "$1" in *"run "*"--verbose"*) exit 0;; esac; exit 1' _ "$out"
check "--help does not advertise the test hook" sh -c 'case "$1" in *test-error*) exit 1;; esac' _ "$out"

run "$SCX_GAMER" --version
check "--version exits 0" [ "$rc" -eq 0 ]
check "--version prints 'scx_gamer X.Y.Z'" sh -c 'printf "%s\n" "$1" | grep -Eqx "scx_gamer [0-9]+\.[0-9]+\.[0-9]+"' _ "$out"

run "$SCX_GAMER" --no-such-option
check "an unknown option exits 2" [ "$rc" -eq 2 ]

run "$SCX_GAMER" frobnicate
check "an unknown command exits 2" [ "$rc" -eq 2 ]
check "an unknown command is named in the error" contains "$out" "unknown command 'frobnicate'"

run "$SCX_GAMER" run extra
check "an extra argument exits 2" [ "$rc" -eq 2 ]

run "$SCX_GAMER" --test-error-after=soon
check "a non-numeric --test-error-after exits 2" [ "$rc" -eq 2 ]

done_testing
