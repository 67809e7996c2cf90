#!/bin/sh
# MILENAGE through the TPM behind tpm2-abrmd on a private dbus-daemon
# (TCTI tabrmd:bus_type=session): the first 3 sets and a few random cases.
command -v tpm2-abrmd >/dev/null || { echo "tpm2-abrmd not installed"; exit 77; }
exec tests/lib/with-swtpm --tabrmd -- "${BUILD:-build}/tests/test-tre-milenage" quick
