#!/usr/bin/env bash
# Revocation in the TPM (docs/change-format.md 7), on swtpm with tabrmd:
# two downloads of the test operator in a row (pkg-forge builds each package
# for mcimd's download request, as the DPF would): two profiles, each under
# its own storage parent, the bounds increasing.  Deleting the older revokes
# it in the TPM (the revocation counter R moves past its bound): the newer
# still authenticates, and the older's blobs saved from the store before the
# delete (an old copy) are refused by the TPM (blob-load: TPM2_Load under
# the SRK and the parent with the TRE).  A third download deleted while an
# older one lives is deleted from the store only (audit "revoked: store
# only"), and says so.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl $B/tests/pkg-forge $B/tests/blob-load; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen sqlite3 openssl tpm2_createek tpm2_pcrread tpm2_nvread tpm2-abrmd xxd; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --tabrmd -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-revoke.XXXXXX)
mcimd_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
. tests/integration/provision/package-lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0
q() { sqlite3 $dir/store.db "$1"; }
blob() { # ICCID KIND: a profile blob, hex
	q "SELECT lower(hex(b.data)) FROM blobs b JOIN profiles p ON p.id = b.profile_id
	   WHERE p.iccid = '$1' AND b.kind = '$2'"
}
bound() { local h; h=$(blob $1 parent); echo $((16#${h:16:16})); }
rnow() { # the revocation counter R
	local auth
	auth=$(q "SELECT lower(hex(data)) FROM device_blobs WHERE kind = 'nv-auth'")
	echo $((16#$(tpm2_nvread 0x01800a02 -C 0x01800a02 -P hex:$auth 2>/dev/null | xxd -p)))
}
load() { # PARENT_HEX KEY_HEX: what the TPM does with them (blob-load)
	$B/tests/blob-load "$(q "SELECT lower(hex(data)) FROM device_blobs WHERE kind = 'nv-auth'")" "$1" "$2"
}
# profile N ICCID: test-usim.json with another ICCID and IMSI (same K, OPc).
profile() {
	sed -e "s/\"98000101000000000081\"/\"$(echo $2 | sed 's/\(.\)\(.\)/\2\1/g')\"/" \
	    -e "s/\"080910101032547698\"/\"08091010103254769$1\"/" $P1 >$dir/p$1.json
}
download() { # N ICCID SEQ: request, package, install and enable
	profile $1 $2
	CTL provision --request $dir/req.json >/dev/null &&
		PROFILE=$dir/p$1.json forge $dir/pkg$1.der --sequence $3 &&
		CTL profile install --package --enable $dir/pkg$1.der >$dir/inst$1.out 2>&1
}

t "a test operator PKI (root, DPF)" pki
write_conf "$dir/mcimd.conf" 0 "[provisioning]
ca = $P/root.pem"
t "mcimd starts on the TPM (tabrmd)" "start_mcimd $dir/mcimd.conf"
stop_mcimd
fake_registration
t "mcimd restarts with a registration and a ticket" "start_mcimd $dir/mcimd.conf"
device_facts

A=89001010000000000117 Bi=89001010000000000125 C=89001010000000000133
t "download 1: installed and enabled under its storage parent" "download 1 $A 1"
t "download 2: installed and enabled under another storage parent" "download 2 $Bi 2"
t "  two parents, the second's bound above the first's ($(bound $A) < $(bound $Bi)), R = $(rnow) <= both" \
	"[ \$(bound $A) -lt \$(bound $Bi) ] && [ \$(rnow) -le \$(bound $A) ] && [ \"\$(blob $A parent)\" != \"\$(blob $Bi parent)\" ]"
t "  each key blob names its parent (blob version 2)" \
	"[ \"\$(blob $A key | cut -c9-10)\" = 02 ] && [ \"\$(blob $Bi key | cut -c9-10)\" = 02 ]"
r=$(auth 32)
t "  the second authenticates (RES $RES1)" "[ \"\${r:0:20}\" = db08$RES1 ]"
# An old copy of the store: the first profile's blobs, saved before the delete.
oldp=$(blob $A parent) oldk=$(blob $A key) newp=$(blob $Bi parent) newk=$(blob $Bi key)
t "  the saved blobs of the first load into the TPM before the delete" \
	"load $oldp $oldk | grep -q '^loaded$'"
ba=$(bound $A)

CTL profile delete $A >$dir/del.out 2>&1; rc=$?
cat $dir/del.out | sed 's/^/# /'
t "deleting the older: exit 0, revoked in the TPM (exit $rc)" \
	"[ $rc = 0 ] && grep -q 'deleted $A (revoked: tpm)' $dir/del.out"
t "  R moved past its bound: R = $(rnow) > $ba" "[ \$(rnow) = \$(( ba + 1 )) ]"
t "  audited: revoked, tpm" \
	"q \"SELECT detail FROM audit WHERE event = 'revoked' AND iccid = '$A'\" | grep -q '^tpm: '"
t "  gone from the store" "! CTL profile list | grep -q '^$A '"
r=$(auth 64)
t "the newer still authenticates (RES $RES1)" "[ \"\${r:0:20}\" = db08$RES1 ]"
load $oldp $oldk >$dir/old.out; rc=$?
sed 's/^/# /' $dir/old.out
t "the older's saved blobs: refused by the TPM (EKEYREVOKED)" \
	"[ $rc = 1 ] && grep -q '^refused: EKEYREVOKED' $dir/old.out"
t "the newer's blobs still load" "load $newp $newk | grep -q '^loaded$'"
stop_mcimd
t "mcimd restarts; the newer still authenticates" \
	"start_mcimd $dir/mcimd.conf && r=\$(auth_resync 96; echo \"\$rsp\") && [ \"\${r:0:20}\" = db08$RES1 ]"

t "download 3: installed and enabled" "download 3 $C 3"
bc=$(bound $C) r0=$(rnow)
CTL profile delete $C >$dir/del3.out 2>&1; rc=$?
t "deleting the newest while an older lives: store only, said so (exit $rc)" \
	"[ $rc = 0 ] && grep -q 'deleted $C (revoked: store only)' $dir/del3.out"
t "  audited 'revoked: store only', R unchanged ($r0)" \
	"q \"SELECT detail FROM audit WHERE event = 'revoked' AND iccid = '$C'\" | grep -q '^store only: a live profile has bound $(bound $Bi) <= $bc' && [ \$(rnow) = $r0 ]"
CTL profile enable $Bi >/dev/null 2>&1
r=$(auth_resync 128; echo "$rsp")
t "  the older one ($Bi) still authenticates" "[ \"\${r:0:20}\" = db08$RES1 ]"
L=89001010000000000141
profile 4 $L
CTL profile install $dir/p4.json >/dev/null 2>&1
r0=$(rnow)
CTL profile delete $L >$dir/del4.out 2>&1; rc=$?
t "a locally installed profile (under the SRK, no parent): deleted from the store only (exit $rc)" \
	"[ $rc = 0 ] && grep -q 'deleted $L (revoked: store only)' $dir/del4.out && [ \$(rnow) = $r0 ]"
stop_mcimd
mcimd_pid=
t "store integrity after the run" "[ \"\$(q 'PRAGMA integrity_check')\" = ok ]"
echo "1..$n"
