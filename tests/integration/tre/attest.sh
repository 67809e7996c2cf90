#!/bin/sh
# Runs test-tre-attest against a fresh swtpm with EK certificates.
exec tests/lib/with-swtpm --ek-cert -- "${BUILD:-build}/tests/test-tre-attest"
