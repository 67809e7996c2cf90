#!/usr/bin/env bash
# hlr-download.sh in the test VM: vusim.ko, mcimd on the guest TPM, the operator
# and osmo-hlr on the guest loopback.
exec "$(dirname "$0")/hlr-download.sh" --vm "$@"
