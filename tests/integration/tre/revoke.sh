#!/bin/sh
# Runs test-tre-revoke against a fresh swtpm (tests/lib/with-swtpm).
exec tests/lib/with-swtpm -- "${BUILD:-build}/tests/test-tre-revoke"
