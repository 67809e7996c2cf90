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
OPBIN=$B/bin/mcim-operator
opa() { "$OPBIN" -c "$dir/a/op.conf" "$@"; }
opb() { "$OPBIN" -c "$dir/b/op.conf" "$@"; }
q() { sqlite3 $dir/store.db "$1"; }
blob() { q "SELECT lower(hex(b.data)) FROM blobs b JOIN profiles p ON p.id = b.profile_id
	   WHERE p.iccid = '$1' AND b.kind = '$2'"; }
nvauth() { q "SELECT lower(hex(data)) FROM device_blobs WHERE kind = 'nv-auth'"; }
state() { "$OPBIN" -c "$dir/$1/op.conf" --json subscription show "$2" | jq -r .state; }
sw() { CTL --json switch status | jq -r "$1"; }
keys() { # OP ICCID: K and OPc of the subscription at that operator
	"$OPBIN" -c "$dir/$1/op.conf" subscription factory "$2" >"$dir/f.json" &&
		K=$(jq -r .auth.k "$dir/f.json") && OPC=$(jq -r .auth.opc "$dir/f.json")
}
res() { osmo-auc-gen -3 -a milenage -k $K -o $OPC -r $RAND -s 32 2>/dev/null | sed -n 's/^RES:\t*//p'; }
wait_state() { # STATE SECONDS
	for _ in $(seq $(($2 * 10))); do [ "$(sw .state)" = "$1" ] && return 0; sleep 0.1; done
	return 1
}
settled() { # SECONDS: done or fallback and nothing owed
	for _ in $(seq $(($1 * 10))); do
		[ "$(sw '.owed.receipt or .owed.report')" = false ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- two operators: A (also the DRF) and B ----
mkdir -p $dir/mfr
cp /var/lib/swtpm-localca/issuercert.pem /var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem $dir/mfr/
tests/lib/sho-template daemon/usim/profiles/test-usim.json $dir/template.json
tpm2_pcrread -T "$MCIM_TEST_TCTI" sha256:0,1,2,3,4,5,6,7,23 -o $dir/pcrs.bin >/dev/null
tests/lib/model-from-pcrs $dir/pcrs.bin 1 $dir/model.json
ek=$(tpm2_nvread -T "$MCIM_TEST_TCTI" -C o 0x01c00002 2>/dev/null | base64 -w0)
printf 'ek_cert,model,subscriber\n%s,gw-1000,acme-meters\n' "$ek" >$dir/fleet.csv
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $dir/sub.key \
	-out $dir/sub.pem -subj "/O=acme-meters/CN=sub" -days 30 2>/dev/null
i=0
for o in a b; do
	i=$((i + 1))
	mkdir -p $dir/$o
	cat >$dir/$o/op.conf <<EOC
[server]
listen = 127.0.0.1:0
[store]
url = sqlite:$dir/$o/op.db
[pki]
dir = $dir/$o/pki
[drf]
manufacturers = $dir/mfr
[sho]
imsi_first = 0010${i}0000000001
imsi_last = 0010${i}0000000099
iccid_prefix = 898821$i
[limits]
device_rate = 10000
EOC
	"$OPBIN" -c $dir/$o/op.conf pki init >/dev/null || { echo "Bail out! pki init $o"; exit 1; }
	"$OPBIN" -c $dir/$o/op.conf serve --port-file $dir/$o/port 2>$dir/$o/serve.log &
	pids="$pids $!"
done
for o in a b; do
	for _ in $(seq 100); do [ -s $dir/$o/port ] && break; sleep 0.05; done
done
URL_A=https://127.0.0.1:$(cat $dir/a/port) URL_B=https://127.0.0.1:$(cat $dir/b/port)
t "two operators serve, each set up with the device, the model and the subscriber" \
	"opa sho add op-a 'Operator A' $URL_A $URL_A >/dev/null &&
	 opa sho add op-b 'Operator B' $URL_B $URL_B --root $dir/b/pki/root-ca.pem >/dev/null &&
	 opb sho add op-b 'Operator B' $URL_B $URL_B >/dev/null &&
	 opb sho add op-a 'Operator A' $URL_A $URL_A --root $dir/a/pki/root-ca.pem >/dev/null &&
	 opa device import $dir/fleet.csv --sho op-a >/dev/null && opb device import $dir/fleet.csv --sho op-b >/dev/null &&
	 opa model set $dir/model.json >/dev/null && opb model set $dir/model.json >/dev/null &&
	 opa subscriber add acme-meters --cert $dir/sub.pem >/dev/null &&
	 opb subscriber add acme-meters --cert $dir/sub.pem >/dev/null"
ID=$(opa --json device list | jq -r '.[0].device_id')
# The device checks one package sequence over all its operators
# (package-format.md 1, check 7) while mcim-operator numbers a device's
# packages per DPF from 1: B starts above A here (docs/security.md, open points).
sqlite3 $dir/b/op.db "INSERT INTO device_sequences (device_id, next_sequence) VALUES ('$ID', 100)
	ON CONFLICT (device_id) DO UPDATE SET next_sequence = 100"
cat $dir/a/pki/root-ca.pem $dir/b/pki/root-ca.pem >$dir/roots.pem
write_conf "$dir/mcimd.conf" 0 "[provisioning]
drf_url = $URL_A
ca = $dir/roots.pem
timeout = 10
retries = 1
[switch]
proof_timeout = ${SWITCH_PROOF_TIMEOUT:-6}"
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
