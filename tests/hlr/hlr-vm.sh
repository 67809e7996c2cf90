#!/usr/bin/env bash
# hlr-aka.sh in the test VM: osmo-hlr's vectors to the card on /dev/vusim0.
exec "$(dirname "$0")/hlr-aka.sh" --vm "$@"
