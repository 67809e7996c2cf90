#!/usr/bin/env bash
# The NV counters that guard mcimd's security decisions (the TRE's epoch,
# the store's generation) cannot be changed by a process that merely has
# TPM access (issue 15, finding 6; docs/security.md): mcimd defines them
# with an authValue only it holds (the store's device blob "nv-auth"), so
# tpm2_nvincrement (empty or wrong authorization) fails, the keys are not
# revoked and the store is not refused.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen tpm2_nvincrement tpm2_nvread; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-nvauth.XXXXXX)
mcimd_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0
T=$MCIM_TEST_SWTPM_TCTI

write_conf "$dir/mcimd.conf" 0
start_mcimd $dir/mcimd.conf && CTL profile install --enable $P1 >/dev/null &&
	r=$(auth 32) && [ "${r:0:4}" = db08 ] || { echo "Bail out! setup failed"; exit 1; }
stop_mcimd
for i in 0x01800a00:epoch 0x01800a01:generation; do
	idx=${i%%:*} name=${i#*:}
	t "tpm2_nvincrement of the $name counter without its authorization fails" \
		"! tpm2_nvincrement -T $T -C $idx $idx >/dev/null 2>&1"
	t "... nor with a guessed one" "! tpm2_nvincrement -T $T -C $idx -P guess $idx >/dev/null 2>&1"
	t "... and it cannot be read either" "! tpm2_nvread -T $T -C $idx -s 8 $idx >/dev/null 2>&1"
done
t "mcimd still accepts its store" "start_mcimd $dir/mcimd.conf"
r=$(auth 64)
t "the key is not revoked: SQN 64 authenticates" "[ \"\${r:0:4}\" = db08 ]"
stop_mcimd
echo "1..$n"
