#!/usr/bin/env bash
# mcimd's package verifier (docs/package-format.md 1), on swtpm with tabrmd:
# the download request (mcimctl provision --request), a good package built by
# pkg-forge with lib/package as the DPF would (installed, its K used by
# AUTHENTICATE), and each refusal with the check it fails, the device
# unchanged (profile list, the store's security state and the TPM's NV
# counters the same before and after).
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl $B/tests/pkg-forge; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen sqlite3 openssl tpm2_createek tpm2_pcrread tpm2_nvread tpm2-abrmd xxd; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --tabrmd -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-package.XXXXXX)
mcimd_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
. tests/integration/provision/package-lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0
t "a test operator PKI (root, DPF with id-mcim-kp-package, variants)" pki
write_conf "$dir/mcimd.conf" 0 "[provisioning]
ca = $P/root.pem"
t "mcimd starts on the TPM (tabrmd)" "start_mcimd $dir/mcimd.conf"
CTL provision --request $dir/req0.json >$dir/out 2>&1; rc=$?
t "a download request without a validation ticket is refused (exit $rc)" \
	"[ $rc = 5 ] && grep -q 'no validation ticket' $dir/out"
stop_mcimd
fake_registration
t "mcimd restarts with a registration and a ticket" "start_mcimd $dir/mcimd.conf"

device_facts
t "the EK's name and the PCR values read with tpm2-tools" "[ \${#EK} = 68 ] && [ \$(stat -c %s $dir/pcrs.bin) = 160 ]"
# Another TPM's SRK: an ECC primary key of another template.
tpm2_createprimary -C o -G ecc -c $dir/other.ctx -a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda' >/dev/null 2>&1 &&
	tpm2_readpublic -c $dir/other.ctx -o $dir/other-srk.pub -f tss >/dev/null 2>&1 && tpm2_flushcontext -t >/dev/null 2>&1

CTL provision --request $dir/req.json >$dir/out 2>&1; rc=$?
t "provision --request writes the download request (exit $rc)" \
	"[ $rc = 0 ] && grep -q 'key_form' $dir/req.json && grep -q '\"nonce\"' $dir/req.json"
t "  key_form aes: the TPM runs AES and the algorithm is MILENAGE" \
	"[ \"\$(jget '[\"key_form\"]' <$dir/req.json)\" = aes ]"
t "  the pending nonce is the request's" \
	"[ \"\$(sqlite3 $dir/store.db \"SELECT lower(hex(data)) FROM device_blobs WHERE kind = 'package-nonce'\")\" = \"\$(jget '[\"nonce\"]' <$dir/req.json)\" ]"

snap() { # what must not change: profiles, blobs, the MAC'd device state, NV
	CTL profile list
	sqlite3 $dir/store.db "SELECT key, value FROM meta ORDER BY key;
		SELECT id, iccid, class, state FROM profiles ORDER BY id;
		SELECT profile_id, kind, hex(data) FROM blobs ORDER BY 1, 2;
		SELECT kind, hex(data) FROM device_blobs ORDER BY kind;
		SELECT count(*) FROM sqn" | sha256sum
	nv
}
refused() { # WHAT CHECK PKG: installing PKG fails check CHECK, nothing changes
	local before after rc
	before=$(snap)
	CTL profile install --package $3 >$dir/out 2>&1; rc=$?
	after=$(snap)
	t "$1: refused by check $2 (exit $rc), the device unchanged" \
		"[ $rc = 13 ] && grep -q 'check $2 ' $dir/out && [ \"\$before\" = \"\$after\" ]"
	grep -q "check $2 " $dir/out || sed 's/^/# /' $dir/out
}

t "pkg-forge builds the packages" "forge $dir/good.der --sequence 5 &&
	forge $dir/sig.der --sequence 5 --variant sig &&
	forge $dir/content.der --sequence 5 --variant content &&
	forge $dir/blob-k.der --sequence 5 --variant blob-k &&
	forge $dir/blob-opc.der --sequence 5 --variant blob-opc &&
	forge $dir/blob-pin.der --sequence 5 --variant blob-pin &&
	forge $dir/attrs.der --sequence 5 --variant attrs &&
	forge $dir/policy-sig.der --sequence 5 --variant policy-sig &&
	forge $dir/expired.der --sequence 5 --issued -700 --expires -10 &&
	forge $dir/ahead.der --sequence 5 --issued 3600 --expires 4000 &&
	forge $dir/nonce.der --sequence 5 --nonce \$(head -c 32 /dev/urandom | xxd -p -c 64) &&
	forge $dir/device.der --sequence 5 --device \$(head -c 32 /dev/urandom | xxd -p -c 64) &&
	forge $dir/srk.der --sequence 5 --srk-public $dir/other-srk.pub"
echo "# good package: $(stat -c %s $dir/good.der) bytes"
$FORGE --request $dir/req.json --profile $P1 --device $DEV --ek-name $EK --key $P/dpf.key \
	--cert $P/dpf-noeku.pem --policy-key $P/policy.key --pcr-values $dir/pcrs.bin \
	--out $dir/noeku.der >/dev/null
$FORGE --request $dir/req.json --profile $P1 --device $DEV --ek-name $EK --key $P/other-dpf.key \
	--cert $P/other-dpf.pem --policy-key $P/policy.key --pcr-values $dir/pcrs.bin \
	--out $dir/other-root.der >/dev/null
head -c 100 $dir/good.der >$dir/truncated.der

refused "a truncated package" 1 $dir/truncated.der
refused "a bit flipped in the signature" 2 $dir/sig.der
refused "a bit flipped in the signed content" 2 $dir/content.der
refused "a signer under another root" 2 $dir/other-root.der
refused "a signer without the package-signing EKU" 3 $dir/noeku.der
refused "an object whose attributes differ from the table (userWithAuth)" 4 $dir/attrs.der
refused "a package for another device id" 5 $dir/device.der
refused "a package for another TPM's SRK" 5 $dir/srk.der
refused "a package with another nonce" 6 $dir/nonce.der
refused "an expired package" 8 $dir/expired.der
refused "a package issued an hour ahead" 8 $dir/ahead.der
refused "an approval whose signature is flipped" 10 $dir/policy-sig.der
refused "a bit flipped in K's duplicate" 11 $dir/blob-k.der
refused "a bit flipped in OPc's duplicate" 11 $dir/blob-opc.der
refused "a bit flipped in a PIN's duplicate" 11 $dir/blob-pin.der
t "each refusal is audited (package-refused)" \
	"[ \"\$(sqlite3 $dir/store.db \"SELECT count(*) FROM audit WHERE event = 'package-refused'\")\" = 15 ]"

nv0=$(nv)
s0=$(date +%s%N)
CTL --json profile install --package --enable $dir/good.der >$dir/out 2>&1; rc=$?
s1=$(date +%s%N)
echo "# install --package --enable: $(( (s1 - s0) / 1000000 )) ms"
t "the good package installs and enables (exit $rc)" \
	"[ $rc = 0 ] && [ \"\$(jget '[\"iccid\"]' <$dir/out)\" = $P1_ICCID ] && [ \"\$(jget '[\"state\"]' <$dir/out)\" = enabled ]"
t "  one generation step: the NV counter moved by one" "[ \$(( 0x\$(nv) - 0x$nv0 )) = 1 ]"
t "  the nonce is consumed, the sequence recorded" \
	"[ -z \"\$(sqlite3 $dir/store.db \"SELECT 1 FROM device_blobs WHERE kind = 'package-nonce'\")\" ] && [ \"\$(sqlite3 $dir/store.db \"SELECT hex(data) FROM device_blobs WHERE kind LIKE 'pkgseq:%'\")\" = 0000000000000005 ]"
t "  the operator's policy stored with the profile, no clear K or OPc in the store" \
	"[ \"\$(sqlite3 $dir/store.db \"SELECT count(*) FROM blobs WHERE kind = 'policy'\")\" = 1 ] && ! sqlite3 $dir/store.db .dump | grep -qi -e $K -e $OPC && ! grep -qi -e $K -e $OPC $dir/store.db"
r=$(auth 32)
t "AUTHENTICATE with the imported K and OPc: RES $RES1" "[ \"\${r:0:20}\" = db08$RES1 ]"
CTL apdu 00a40004023f00 >/dev/null
t "a PIN value imported from the package: VERIFY PIN2 5678 answers 9000" \
	"[ \"\$(CTL apdu 002000810835363738ffffffff)\" = 9000 ]"
# The TRE's mode (a): K never in mcimd's memory; OPc (MILENAGE's XORs run on
# the host) only in mlock'ed pages (docs/tre.md 3, docs/security.md).
ICCID_HEX=$(printf %s $P1_ICCID | xxd -p)
python3 tests/integration/provision/memscan.py $mcimd_pid $K $OPC $ICCID_HEX >$dir/scan 2>&1
sed 's/^/# memory scan: /' $dir/scan
t "the memory scan finds what is there (the ICCID's text, unlocked)" \
	"grep -q '^$ICCID_HEX total=[1-9][0-9]* unlocked=[1-9]' $dir/scan"
t "memory scan of mcimd after the install: no K" "grep -q '^$K total=0 ' $dir/scan"
t "  OPc only in locked memory" "grep -q '^$OPC total=[0-9]* unlocked=0$' $dir/scan"
stop_mcimd
t "mcimd restarts: the operator policy is loaded again" "start_mcimd $dir/mcimd.conf"
r=$(auth_resync 64; echo "$rsp")
t "  and the card authenticates after the restart" "[ \"\${r:0:20}\" = db08$RES1 ]"
refused "the same package again (its nonce is used)" 6 $dir/good.der

CTL provision --request $dir/req.json >/dev/null
forge $dir/seq5.der --sequence 5
forge $dir/seq4.der --sequence 4
refused "a sequence number equal to the last" 7 $dir/seq5.der
refused "a sequence number below the last" 7 $dir/seq4.der
forge $dir/again.der --sequence 6
refused "a package of an ICCID that is installed" 9 $dir/again.der
P2=$dir/p2.json P2_ICCID=89001010000000000019
sed -e 's/"98000101000000000081"/"98000101000000000091"/' \
    -e 's/"080910101032547698"/"080910101032547699"/' $P1 >$P2
P3=$dir/p3.json
sed -e 's/"98000101000000000081"/"98000101000000000072"/' \
    -e 's/"080910101032547698"/"080910101032547697"/' $P1 >$P3
$FORGE --request $dir/req.json --profile $P2 --device $DEV --ek-name $EK --key $P/dpf.key \
	--cert $P/dpf.pem --policy-key $P/policy.key --pcr-values $dir/pcrs.bin \
	--sequence 7 --out $dir/p2.der >/dev/null
$FORGE --request $dir/req.json --profile $P3 --device $DEV --ek-name $EK --key $P/dpf.key \
	--cert $P/dpf.pem --policy-key $P/policy.key --pcr-values $dir/pcrs.bin \
	--sequence 8 --out $dir/p3.der >/dev/null
t "a second package for the same request installs" "CTL profile install --package $dir/p2.der >/dev/null"
refused "a third package reusing that request's nonce" 6 $dir/p3.der
t "profiles: the first enabled, the second installed" \
	"CTL profile list | grep -q '^$P1_ICCID  *enabled  *operational' && CTL profile list | grep -q '^$P2_ICCID  *installed'"
CTL tamper test >/dev/null
CTL provision --request $dir/req.json >/dev/null
before=$(snap)
CTL profile install --package $dir/p3.der >$dir/out 2>&1; rc=$?
t "after a tamper event no package installs (exit $rc), the device unchanged" \
	"[ $rc = 4 ] && grep -q 'tamper' $dir/out && [ \"\$before\" = \"\$(snap)\" ]"
stop_mcimd
mcimd_pid=
t "store integrity after the run" "[ \"\$(sqlite3 $dir/store.db 'PRAGMA integrity_check')\" = ok ]"
echo "1..$n"
