#!/usr/bin/env bash
# The switch on the device (docs/change-format.md 5), end to end on swtpm
# with tabrmd: two `mcim-operator serve`, SHO A (also the DRF) and SHO B,
# each with its own PKI and database; mcimd trusts both roots ([provisioning]
# ca is the bundle).  A's subscription installed by `mcimctl provision`; then
# three switches, each with the subscriber's consent, A's release and the
# DRF's order, `mcimctl register` and `mcimctl switch start`:
#   1. fallback: B enabled (trial), an AUTHENTICATE with a wrong-K vector (a
#      MAC failure: no proof), the deadline ([switch] proof_timeout) passes:
#      A enabled and authenticating, B gone, B's subscription failed at B
#      with the reason, A's active again at A, the reason in switch status;
#   2. abort (mcimctl switch abort) in trial: the same, reason "aborted";
#   3. the switch: B's profile answers an AUTHENTICATE with a vector from B's
#      subscriber data (osmo-auc-gen with B's K and OPc): done; B's
#      subscription active at B, A's ended at A, A's profile gone from the
#      device and its saved blobs refused by the TPM (blob-load), B
#      authenticating.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl $B/bin/mcim-operator $B/tests/blob-load; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen sqlite3 tpm2_nvread tpm2_pcrread tpm2-abrmd jq openssl; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --ek-cert --tabrmd -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-switch.XXXXXX)
mcimd_pid= pids=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY
n=0
. tests/integration/provision/switch-lib.sh
switch_setup
t "mcimd starts on the TPM (tabrmd)" "start_mcimd $dir/mcimd.conf"

ICCID_A=$(opa subscription create --sho op-a --template $dir/template.json --subscriber acme-meters | cut -d' ' -f1)
opa subscription lock $ICCID_A --until $(( $(date +%s) + 86400 * 365 )) >/dev/null
CTL provision >$dir/prov.out 2>&1
t "A's subscription $ICCID_A installed by mcimctl provision, enabled, active at A" \
	"CTL profile list | grep -q '^$ICCID_A  *enabled' && [ \$(state a $ICCID_A) = active ]"
keys a $ICCID_A; KA=$K OPCA=$OPC RESA=$(res)
sqn=32
authA() { K=$KA OPC=$OPCA; sqn=$((sqn + 32)); r=$(auth $sqn); [ "${r:0:20}" = db08$RESA ]; }
t "A's profile authenticates" authA

# order N: consent, release, the DRF's order, B's subscription; ICCID_B
order() {
	"$OPBIN" consent sign --key $dir/sub.key --cert $dir/sub.pem --device $ID --iccid $ICCID_A \
		--to-sho-root $dir/b/pki/root-ca.pem --out $dir/c$1.der >/dev/null &&
		opa consent add $dir/c$1.der >/dev/null &&
		opa release issue --iccid $ICCID_A --to-sho-root $dir/b/pki/root-ca.pem --out $dir/r$1.der >/dev/null &&
		opa device switch $ID --to op-b --consent $dir/c$1.der --release $dir/r$1.der >/dev/null &&
		ICCID_B=$(opb subscription create --sho op-b --template $dir/template.json --subscriber acme-meters | cut -d' ' -f1) &&
		CTL register >/dev/null 2>&1
}

# ---- 1. fallback: no valid AUTN before the deadline ----
t "switch 1: order, consent and release; the registration brings it (status: switch_order pending)" \
	"order 1 && [ \"\$(CTL --json status | jq -r .switch_order.state)\" = pending ]"
CTL switch start >$dir/start.out 2>&1
t "mcimctl switch start: ordered" "grep -q '^state  *ordered' $dir/start.out"
t "  validated at B, B's package installed, trial: B ($ICCID_B) enabled, A disabled, a deadline" \
	"wait_state trial 20 && [ \"\$(sw .to)\" = $ICCID_B ] && [ \"\$(sw .deadline)\" -gt 0 ] &&
	 CTL profile list | grep -q '^$ICCID_B  *enabled' && CTL profile list | grep -q '^$ICCID_A  *disabled'"
# a vector of another K: the USIM finds a MAC failure, no proof
K=000102030405060708090a0b0c0d0e0f OPC=$OPCA
r=$(auth 64)
t "  an AUTHENTICATE with a wrong-K vector: MAC failure (98 62), still trial" \
	"[ \"\${r: -4}\" = 9862 ] && [ \"\$(sw .state)\" = trial ]"
t "  the deadline passes: fallback" "wait_state fallback 15"
t "  the reason in switch status; reports delivered" \
	"settled 20 && CTL switch status | grep -q '^reason  *no valid AUTN for profile $ICCID_B within'"
t "  A enabled again and authenticating; B deleted" \
	"CTL profile list | grep -q '^$ICCID_A  *enabled' && ! CTL profile list | grep -q '^$ICCID_B ' && authA"
t "  B's subscription failed at B with the reason; A's active again at A" \
	"[ \$(state b $ICCID_B) = failed ] && sqlite3 $dir/b/op.db \"SELECT reason FROM packages WHERE iccid = '$ICCID_B'\" | grep -q 'no valid AUTN' && [ \$(state a $ICCID_A) = active ]"

# ---- 2. abort ----
order 2
CTL switch start >/dev/null 2>&1
wait_state trial 20
CTL switch abort >$dir/abort.out 2>&1; rc=$?
t "switch 2: mcimctl switch abort in trial: fallback, reason aborted (exit $rc)" \
	"[ $rc = 0 ] && grep -q '^state  *fallback' $dir/abort.out && grep -q '^reason  *aborted' $dir/abort.out"
t "  A enabled and authenticating, B gone, B failed at B, A active at A" \
	"settled 20 && CTL profile list | grep -q '^$ICCID_A  *enabled' && ! CTL profile list | grep -q '^$ICCID_B ' && authA &&
	 [ \$(state b $ICCID_B) = failed ] && [ \$(state a $ICCID_A) = active ]"
CTL switch abort >$dir/abort2.out 2>&1; rc=$?
t "  abort with no switch under way: refused (exit $rc)" "[ $rc != 0 ] && grep -q 'no switch is under way' $dir/abort2.out"

# ---- 3. the switch ----
order 3
CTL switch start >/dev/null 2>&1
t "switch 3: trial" "wait_state trial 20"
oldp=$(blob $ICCID_A parent) oldk=$(blob $ICCID_A key)
keys b $ICCID_B; RESB=$(res)
r=$(auth 96)
t "  B's profile answers an AUTHENTICATE with B's vector (RES $RESB)" "[ \"\${r:0:20}\" = db08$RESB ]"
t "  proven, then done; nothing owed" "wait_state done 20 && settled 20"
t "  B's subscription active at B, A's ended at A" \
	"[ \$(state b $ICCID_B) = active ] && [ \$(state a $ICCID_A) = ended ]"
t "  A's profile gone from the device (revoked in the TPM: audit)" \
	"! CTL profile list | grep -q '^$ICCID_A ' && q \"SELECT detail FROM audit WHERE event = 'revoked' AND iccid = '$ICCID_A'\" | grep -q '^tpm'"
$B/tests/blob-load "$(nvauth)" "$oldp" "$oldk" >$dir/old.out; rc=$?
t "  A's saved blobs refused by the TPM (exit $rc)" "[ $rc = 1 ] && grep -q '^refused: EKEYREVOKED' $dir/old.out"
r=$(auth 128)
t "  B authenticates" "[ \"\${r:0:20}\" = db08$RESB ]"
t "  the order done at the DRF: the device is op-b's" "[ \"\$(opa --json device show $ID | jq -r .sho)\" = op-b ]"
stop_mcimd
mcimd_pid=
t "store integrity after the run" "[ \"\$(q 'PRAGMA integrity_check')\" = ok ]"
echo "1..$n"
