#!/bin/sh
# Runs test-tre-exposure (memory scan of a child) against a fresh swtpm.
exec tests/lib/with-swtpm -- "${BUILD:-build}/tests/test-tre-exposure"
