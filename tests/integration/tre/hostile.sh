#!/bin/sh
# Runs test-tre-hostile (hostile bus: CFB leaks, forged responses, lost
# sessions) against a fresh swtpm (tests/lib/with-swtpm).
exec tests/lib/with-swtpm -- "${BUILD:-build}/tests/test-tre-hostile"
