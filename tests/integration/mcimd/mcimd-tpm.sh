#!/usr/bin/env bash
# mcimd with the TPM (swtpm, tests/lib/with-swtpm) and no slots
# ([slots] count = 0; the card answers the `apdu` control method):
# install, enable, switch, delete, AUTHENTICATE (TS 35.208 set 1 RES, SQN
# replay refused), attestation checked by tpm2_checkquote, restart with SQN
# state intact, the store rollback refused, tamper, the SRK pinned.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen tpm2_checkquote xxd sqlite3; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-tpm.XXXXXX)
mcimd_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0

# A second profile: test-usim.json with another ICCID and IMSI.
P2=$dir/p2.json P2_ICCID=89001010000000000019
sed -e 's/"98000101000000000081"/"98000101000000000091"/' \
    -e 's/"080910101032547698"/"080910101032547699"/' $P1 >$P2
# The TUAK test profile, also with an ICCID and IMSI of its own.
P3=$dir/p3.json P3_ICCID=89001010000000000020
sed -e 's/"98000101000000000081"/"98000101000000000002"/' \
    -e 's/"080910101032547698"/"080910101032547600"/' \
    daemon/usim/profiles/test-usim-tuak.json >$P3

# An OpenSSL configuration that leaves no algorithm to fetch (no FIPS
# provider here): mcimd must not read it (docs/security.md).
cat >"$dir/fips-only.cnf" <<EOF
openssl_conf = init
[init]
alg_section = evp
[evp]
default_properties = fips=yes
EOF
t "that OpenSSL configuration stops a program that reads it" \
	"! OPENSSL_CONF=$dir/fips-only.cnf openssl dgst -sha256 </dev/null >/dev/null 2>&1"
write_conf "$dir/mcimd.conf" 0
t "mcimd starts on the TPM without slots (OPENSSL_CONF ignored)" \
	"OPENSSL_CONF=$dir/fips-only.cnf start_mcimd $dir/mcimd.conf"
st=$(CTL --json status)
t "status: TPM connected, platform state approved" \
	"[ \"\$(echo '$st' | jget '[\"tpm\"][\"connected\"]')\" = True ] && [ \"\$(echo '$st' | jget '[\"tpm\"][\"platform_ok\"]')\" = True ]"
t "slot list is empty without slots" "[ \"\$(CTL --json slot list | jget '[\"slots\"]')\" = '[]' ]"

s0=$(date +%s%N)
t "profile install --enable (K wrapped to the SRK and imported)" \
	"CTL profile install --enable --nickname one $P1 >/dev/null"
s1=$(date +%s%N)
echo "# install + enable: $(( (s1 - s0) / 1000000 )) ms"
t "the profile is listed enabled" "CTL profile list | grep -q '^$P1_ICCID  *enabled'"
t "no clear K or OPc in the store" \
	"! sqlite3 $dir/store.db .dump | grep -qi -e $K -e $OPC && ! grep -qi -e $K -e $OPC $dir/store.db"
CTL profile install $P1 >/dev/null 2>&1; rc=$?
t "installing the same ICCID again is a conflict (exit $rc)" "[ $rc = 1 ]"

r=$(auth 32)
t "AUTHENTICATE (set 1 RAND, SQN 32): RES $RES1 through the TPM" "[ \"\${r:0:20}\" = db08$RES1 ] && [ \"\${r: -4}\" = 9000 ]"
want=$(osmo-auc-gen -3 -a milenage -k $K -o $OPC -r $RAND -s 32 -f b9b9 | sed -n 's/^CK:\t*//p')
t "CK matches osmo-auc-gen" "[ \"\${r:22:32}\" = $want ]"
# Timing: AUTHENTICATE alone through mcimctl (AUTNs made beforehand).
for q in 64 96 128 160 192 224 256 288 320 352; do autn $q; done >$dir/autns
CTL apdu 00a4040c10$ADF_USIM >/dev/null
s0=$(date +%s%N)
while read -r a; do CTL apdu "0088008122""10$RAND""10$a""00" >/dev/null; done <$dir/autns
s1=$(date +%s%N)
CTL apdu 00a4040c10$ADF_USIM >/dev/null
s2=$(date +%s%N)
for q in 1 2 3 4 5 6 7 8 9 10; do CTL apdu 00a4040c10$ADF_USIM >/dev/null; done
s3=$(date +%s%N)
echo "# AUTHENTICATE through mcimctl, TPM and store commit: mean $(( (s1 - s0) / 10000 )) us; a SELECT through mcimctl: $(( (s3 - s2) / 10000 )) us"
r=$(auth 32)
t "a replayed AUTN is refused with a sync failure (AUTS)" "[ \"\${r:0:4}\" = dc0e ]"

t "a second profile installs (disabled)" "CTL profile install $P2 >/dev/null"
t "switch: enabling it disables the first" \
	"CTL profile enable $P2_ICCID >/dev/null && CTL profile list | grep -q '^$P1_ICCID  *disabled' && CTL profile list | grep -q '^$P2_ICCID  *enabled'"
t "the card is the second profile" "[ \"\$(CTL --json status | jget '[\"card\"]')\" = $P2_ICCID ]"
t "the TUAK profile installs and enables (sealed K)" "CTL profile install --enable $P3 >/dev/null && [ \"\$(CTL --json status | jget '[\"card\"]')\" = $P3_ICCID ]"
r=$(CTL apdu 00a4040c10$ADF_USIM && CTL apdu 00a4080c047fff6f07 && CTL apdu 00b0000009)
t "its card answers (EF.IMSI read)" "echo '$r' | tail -1 | grep -q '9000$'"
t "switch back to the first profile" "CTL profile enable $P1_ICCID >/dev/null && [ \"\$(CTL --json status | jget '[\"card\"]')\" = $P1_ICCID ]"
r=$(auth 384)
t "its SQN state survived the switches (SQN 384 fresh)" "[ \"\${r:0:20}\" = db08$RES1 ]"
r=$(auth 352)
t "... and SQN 352 is a replay" "[ \"\${r:0:4}\" = dc0e ]"
t "delete the second profile" "CTL profile delete $P2_ICCID >/dev/null"
CTL profile show $P2_ICCID >/dev/null 2>&1; rc=$?
t "it is gone (profile show: not found, exit $rc)" "[ $rc = 5 ]"
t "its rows and blobs are gone" "[ \$(sqlite3 $dir/store.db \"select count(*) from profiles where iccid='$P2_ICCID'\") = 0 ] && [ \$(sqlite3 $dir/store.db 'select count(*) from blobs') = \$(sqlite3 $dir/store.db 'select count(*) from blobs b join profiles p on p.id = b.profile_id') ]"
CTL profile delete $P3_ICCID >/dev/null

nonce=00112233445566778899aabbccddeeff
CTL --json attest $nonce >$dir/quote.json; rc=$?
for f in attest signature pcrs ak_public; do
	jget "[\"$f\"]" <$dir/quote.json 2>/dev/null | xxd -r -p >$dir/$f.bin
done
t "attest: the quote verifies with tpm2_checkquote (exit $rc)" \
	"tpm2_checkquote -u $dir/ak_public.bin -m $dir/attest.bin -s $dir/signature.bin -f $dir/pcrs.bin -g sha256 -q $nonce >/dev/null 2>&1"
t "attest: a short nonce is refused" "! CTL attest 0011 >/dev/null 2>&1"

stop_mcimd; rc=$?
t "SIGTERM: clean exit ($rc), card removed, TPM flushed" "[ $rc = 0 ] && grep -q 'removed (shutdown)' $dir/mcimd.log"
t "restart: the card of the enabled profile is back" "start_mcimd $dir/mcimd.conf && [ \"\$(CTL --json status | jget '[\"card\"]')\" = $P1_ICCID ]"
r=$(auth 384)
t "after the restart SQN 384 is still a replay" "[ \"\${r:0:4}\" = dc0e ]"
r=$(auth 416)
t "... and SQN 416 authenticates" "[ \"\${r:0:20}\" = db08$RES1 ]"

# Rollback: keep a copy, make a life-cycle change, bring the copy back.
stop_mcimd
cp $dir/store.db $dir/old.db
start_mcimd $dir/mcimd.conf && CTL profile disable $P1_ICCID >/dev/null && CTL profile enable $P1_ICCID >/dev/null
stop_mcimd
cp $dir/store.db $dir/new.db
cp $dir/old.db $dir/store.db; rm -f $dir/store.db-wal $dir/store.db-shm
: >$dir/mcimd.log
timeout -s KILL 30 "${MCIMD:-$B/bin/mcimd}" -c $dir/mcimd.conf >$dir/rb.log 2>&1; rc=$?
t "an older copy of the store is refused (exit $rc)" "[ $rc = 3 ] && grep -qi 'refused' $dir/rb.log"
echo "# $(grep -i refused $dir/rb.log | head -1)"
cp $dir/new.db $dir/store.db
t "the current store is accepted again" "start_mcimd $dir/mcimd.conf"

CTL tamper "test tamper" >/dev/null; rc=$?
t "tamper: recorded ($rc), the card is gone" "[ $rc = 0 ] && [ \"\$(CTL --json status | jget '[\"card\"]')\" = None ]"
t "tamper: no authentication possible" "! auth 448 >/dev/null 2>&1"
t "tamper: audited and a report queued" "[ \$(sqlite3 $dir/store.db \"select count(*) from audit where event in ('tamper','tamper-report')\") = 2 ]"
CTL profile enable $P1_ICCID >/dev/null 2>$dir/enable.err; rc=$?
t "tamper: profile enable says the card is not served (exit $rc)" \
	"[ $rc = 7 ] && grep -q 'not served: a tamper event since mcimd started' $dir/enable.err"
t "tamper: ... and --json carries card false with the reason" \
	"CTL --json profile enable $P1_ICCID 2>/dev/null | jget '[\"card_error\"]' | grep -q tamper"
stop_mcimd
start_mcimd $dir/mcimd.conf
t "after a restart the PCR still says tamper: no card" \
	"[ \"\$(CTL --json status | jget '[\"tpm\"][\"platform_ok\"]')\" = False ] && [ \"\$(CTL --json status | jget '[\"card\"]')\" = None ]"
stop_mcimd
t "the SRK's name was recorded and pinned" \
	"[ \$(sqlite3 $dir/store.db \"select count(*) from audit where event = 'srk-pinned'\") = 1 ]"

# The TPM presents a storage key other than the one recorded for its epoch
# (substituted on the bus, or another TPM): the recorded name is changed.
cp $dir/store.db $dir/pinned.db
sqlite3 $dir/store.db "update device_blobs set data = zeroblob(length(data)) where kind like 'srk-name-epoch-%'"
timeout -s KILL 30 "${MCIMD:-$B/bin/mcimd}" -c $dir/mcimd.conf >$dir/srk.log 2>&1; rc=$?
t "a storage key other than the pinned one is refused (exit $rc)" \
	"[ $rc = 3 ] && grep -q 'not the one recorded' $dir/srk.log"
grep 'not the one recorded' $dir/srk.log | head -n 1 | sed 's/^/# /'
cp $dir/pinned.db $dir/store.db; rm -f $dir/store.db-wal $dir/store.db-shm
t "with the recorded name back, the TPM is used again" "start_mcimd $dir/mcimd.conf"
stop_mcimd
mcimd_pid=
echo "1..$n"
