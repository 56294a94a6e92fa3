#!/bin/sh
# The /proc reader and matcher's fuzzer for a bounded time (fuzz_short.sh).
: "${SRCDIR:=.}"
FUZZ_TARGET=proc exec sh "$SRCDIR/tests/fuzz/fuzz_short.sh" "$@"
