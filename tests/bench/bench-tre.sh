#!/bin/sh
# `make bench` entry for the TRE: bench-tre against a fresh swtpm.
cd "$(dirname "$0")/../.." || exit 1
exec tests/lib/with-swtpm -- "${BUILD:-build}/tests/bench-tre"
