#!/usr/bin/env bash
# The store's unit tests (tests/unit/test-operator-core.c: single-use
# sessions and nonces, model versions, the clock rule, all-or-nothing
# imports through COPY, racing threads on a pool of connections, the DPF's
# download decision under races: pool claims, one device's downloads; the
# rules of a change of subscription: consents, releases, switch ids, reports)
# against a real PostgreSQL 15 started for the run (tests/lib/with-postgres);
# `make check` runs the same program on SQLite.  Both builds: plain and ASan.
set -u
cd "$(dirname "$0")/../../.." || exit 1
B=${BUILD:-build}
exec tests/lib/with-postgres -- sh -c "$B/tests/test-operator-core && $B/san/tests/test-operator-core"
