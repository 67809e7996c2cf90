#!/bin/sh
# The key store across TPMs: save on TPM A, reload after restarting TPM A's
# swtpm process on the same state, then try the copied files on a fresh
# TPM B (test-tre-store).  Each step prints its own TAP lines.
set -u
bin=${BUILD:-build}/tests/test-tre-store
state=$(mktemp -d "${TMPDIR:-/tmp}/mcim-tre-a.XXXXXX") || exit 1
store=$(mktemp -d "${TMPDIR:-/tmp}/mcim-tre-store.XXXXXX") || exit 1
trap 'rm -rf "$state" "$store"' EXIT
rc=0
tests/lib/with-swtpm --state "$state" -- "$bin" save "$store" || rc=1
tests/lib/with-swtpm --state "$state" -- "$bin" reload "$store" || rc=1
tests/lib/with-swtpm -- "$bin" clone "$store" || rc=1
exit $rc
