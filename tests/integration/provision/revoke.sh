#!/usr/bin/env bash
# Revocation in the TPM (docs/change-format.md 7), on swtpm with tabrmd:
# two downloads in a row from the operator (mcim-operator serve on loopback:
# DRF, PVA, DPF; `mcimctl provision` each time), so two profiles, each under
# its own storage parent that the AK certified in its validation, the bounds
# increasing.  Deleting the older revokes it in the TPM (the revocation
# counter R moves past its bound): the newer still authenticates, and the
# older's blobs saved from the store before the delete (an old copy) are
# refused by the TPM (blob-load: TPM2_Load under the SRK and the parent with
# the TRE).  A third download deleted while an older one lives is deleted
# from the store only (audit "revoked: store only"), and says so; so is a
# locally installed profile (no parent).
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl $B/bin/mcim-operator $B/tests/blob-load; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen sqlite3 tpm2_nvread tpm2_pcrread tpm2-abrmd python3; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --ek-cert --tabrmd -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-revoke.XXXXXX)
mcimd_pid= srv_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; [ -n "$srv_pid" ] && kill $srv_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY
. tests/integration/operator/op-lib.sh
n=0
q() { sqlite3 $dir/store.db "$1"; }
blob() { # ICCID KIND: a profile blob, hex
	q "SELECT lower(hex(b.data)) FROM blobs b JOIN profiles p ON p.id = b.profile_id
	   WHERE p.iccid = '$1' AND b.kind = '$2'"
}
bound() { local h; h=$(blob $1 parent); echo $((16#${h:16:16})); }
nvauth() { q "SELECT lower(hex(data)) FROM device_blobs WHERE kind = 'nv-auth'"; }
rnow() { echo $((16#$(tpm2_nvread -T "$MCIM_TEST_TCTI" 0x01800a02 -C 0x01800a02 -P hex:$(nvauth) 2>/dev/null | xxd -p))); }
load() { $B/tests/blob-load "$(nvauth)" "$1" "$2"; } # PARENT_HEX KEY_HEX
download() { # VAR: a subscription for the device, mcimctl provision; VAR its ICCID
	local iccid imsi
	OP subscription create --sho op-a --template "$dir/template.json" --device "$ID" \
		>"$dir/sub.out" || return 1
	read -r iccid imsi <"$dir/sub.out"
	eval "$1=$iccid"
	CTL provision >"$dir/prov-$iccid.out" 2>&1
}
keys() { # ICCID: K and OPc of the subscription (the operator's), for autn
	OP subscription factory "$1" >"$dir/f.json" &&
		K=$(jget '["auth"]["k"]' <"$dir/f.json") && OPC=$(jget '["auth"]["opc"]' <"$dir/f.json")
}
res() { # the RES of RAND under $K/$OPC (osmo-auc-gen)
	osmo-auc-gen -3 -a milenage -k $K -o $OPC -r $RAND -s 32 2>/dev/null | sed -n 's/^RES:\t*//p'
}

t "operator: pki init, model set, serve, the fleet with this TPM" "op_setup && op_serve && op_fleet"
write_conf "$dir/mcimd.conf" 0 "[provisioning]
drf_url = $url
ca = $dir/pki/root-ca.pem
timeout = 10
retries = 1"
t "mcimd starts on the TPM (tabrmd)" "start_mcimd $dir/mcimd.conf"

t "download 1 (mcimctl provision): installed and enabled" "download A"
t "  the validation certified a storage parent" \
	"grep -q 'certify_srk.*storage parent (bound [0-9]*) certified by the AK' $dir/prov-$A.out"
t "download 2: installed and enabled" "download Bi"
t "  two parents, the second's bound above the first's ($(bound $A) < $(bound $Bi)), R = $(rnow) <= both" \
	"[ \$(bound $A) -lt \$(bound $Bi) ] && [ \$(rnow) -le \$(bound $A) ] && [ \"\$(blob $A parent)\" != \"\$(blob $Bi parent)\" ]"
t "  each key blob names its parent (blob version 2)" \
	"[ \"\$(blob $A key | cut -c9-10)\" = 02 ] && [ \"\$(blob $Bi key | cut -c9-10)\" = 02 ]"
keys $Bi
r=$(auth 32) RES2=$(res)
t "  the second authenticates (RES $RES2)" "[ -n '$RES2' ] && [ \"\${r:0:20}\" = db08$RES2 ]"
# An old copy of the store: the first profile's blobs, saved before the delete.
oldp=$(blob $A parent) oldk=$(blob $A key) newp=$(blob $Bi parent) newk=$(blob $Bi key)
t "  the saved blobs of the first load into the TPM before the delete" \
	"load $oldp $oldk | grep -q '^loaded$'"
ba=$(bound $A)

CTL profile delete $A >$dir/del.out 2>&1; rc=$?
sed 's/^/# /' $dir/del.out
t "deleting the older: exit 0, revoked in the TPM (exit $rc)" \
	"[ $rc = 0 ] && grep -q 'deleted $A (revoked: tpm)' $dir/del.out"
t "  R moved past its bound: R = $(rnow) > $ba" "[ \$(rnow) = \$(( ba + 1 )) ]"
t "  audited: revoked, tpm" \
	"q \"SELECT detail FROM audit WHERE event = 'revoked' AND iccid = '$A'\" | grep -q '^tpm: '"
t "  gone from the store" "! CTL profile list | grep -q '^$A '"
r=$(auth 64)
t "the newer still authenticates" "[ \"\${r:0:20}\" = db08$RES2 ]"
load $oldp $oldk >$dir/old.out; rc=$?
sed 's/^/# /' $dir/old.out
t "the older's saved blobs: refused by the TPM (EKEYREVOKED)" \
	"[ $rc = 1 ] && grep -q '^refused: EKEYREVOKED' $dir/old.out"
t "the newer's blobs still load" "load $newp $newk | grep -q '^loaded$'"
stop_mcimd
t "mcimd restarts; the newer still authenticates" \
	"start_mcimd $dir/mcimd.conf && r=\$(auth_resync 96; echo \"\$rsp\") && [ \"\${r:0:20}\" = db08$RES2 ]"

t "download 3: installed and enabled" "download C"
bc=$(bound $C) r0=$(rnow)
CTL profile delete $C >$dir/del3.out 2>&1; rc=$?
t "deleting the newest while an older lives: store only, said so (exit $rc)" \
	"[ $rc = 0 ] && grep -q 'deleted $C (revoked: store only)' $dir/del3.out"
t "  audited 'revoked: store only', R unchanged ($r0)" \
	"q \"SELECT detail FROM audit WHERE event = 'revoked' AND iccid = '$C'\" | grep -q '^store only: a live profile has bound $(bound $Bi) <= $bc' && [ \$(rnow) = $r0 ]"
CTL profile enable $Bi >/dev/null 2>&1
r=$(auth_resync 128; echo "$rsp")
t "  the older one still authenticates" "[ \"\${r:0:20}\" = db08$RES2 ]"

L=89001010000000000018
r0=$(rnow)
CTL profile install $P1 >/dev/null 2>&1
CTL profile delete $L >$dir/del4.out 2>&1; rc=$?
t "a locally installed profile (under the SRK, no parent): deleted from the store only (exit $rc)" \
	"[ $rc = 0 ] && grep -q 'deleted $L (revoked: store only)' $dir/del4.out && [ \$(rnow) = $r0 ]"
stop_mcimd
mcimd_pid=
t "store integrity after the run" "[ \"\$(q 'PRAGMA integrity_check')\" = ok ]"
echo "1..$n"
