#!/usr/bin/env bash
# hlr-download.sh: issue #11's story end to end on the host, every piece the
# real one: mcim-operator serve (DRF, PVA, DPF, SHO) and mcimd (swtpm with EK
# certificates) on loopback, osmo-hlr loaded from the operator's export.
#
#   factory: a bootstrap (provisioning) subscription of the registration
#     operator, its profile installed by `mcimctl factory-install`; the
#     modem authenticates with it against osmo-hlr (the bootstrap attach);
#   mcimctl provision: register -> validate -> download -> install ->
#     receipt -> enable -> release the provisioning profile;
#   the network: osmo-hlr's vectors for the downloaded subscription answered
#     by the USIM (RES == XRES, CK, IK), a resynchronisation (AUTS);
#   the operator: the subscription active only after the receipt; the
#     tamper report recorded, and no further package for the device.
# Runs in its own network namespace (tests/lib/hlr.sh: osmo-hlr's ports are
# fixed).  With --vm, all of it in the test VM (tests/kernel/vm-run --tpm
# --ek-cert) on the guest's loopback, the card on /dev/vusim0 of vusim.ko:
# the modem's start-up reads and AUTHENTICATE go through the slot.  TAP.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
vm=
[ "${1:-}" = --vm ] && vm=1
for x in $B/bin/mcimd $B/bin/mcimctl $B/bin/mcim-operator $B/tests/gsup-client \
	${vm:+$B/bin/vusim-modem kernel/vusim.ko}; do
	[ -e "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in sqlite3 tpm2_nvread tpm2_pcrread python3 ${vm:+qemu-system-x86_64 swtpm}; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
. tests/lib/hlr.sh
if [ -n "$vm" ] && [ -z "${VM:-}" ]; then
	exec tests/kernel/vm-run --tpm --ek-cert --name hlr-download-vm --timeout 400 -- "$0" "$@"
fi
hlr_netns "$0" "$@"
if [ -n "$vm" ]; then
	MCIM_TEST_TCTI=device:/dev/tpmrm0
	insmod kernel/vusim.ko || { echo "not ok 1 - insmod vusim.ko"; exit 1; }
else
	[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --ek-cert -- "$0" "$@"
fi
dir=$(mktemp -d /tmp/hlr-download.XXXXXX)
mcimd_pid= srv_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; [ -n "$srv_pid" ] && kill $srv_pid 2>/dev/null; hlr_stop; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY
n=0 fails=0
nok() { n=$((n + 1)) fails=$((fails + 1)); echo "not ok $n - $1"; }
. tests/hlr/lib.sh
OP() { "$B/bin/mcim-operator" -c "$dir/op.conf" "$@"; }
plist() { CTL profile list | awk 'NR > 1 {print $1 ":" $2 ":" $3}' | tr '\n' ' '; }
substate() { OP --json subscription show "$1" | jget '["state"]'; }

# The operator: PKI, the TPM maker's CA, a model whose reference is the
# swtpm's boot state (PCRs 0-7 and the tamper PCR 23 at zero), its SHO and
# the registration operator's ICF as an SHO of its own.
mkdir -p "$dir/mfr"
cp /var/lib/swtpm-localca/issuercert.pem /var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem "$dir/mfr/"
cat >"$dir/op.conf" <<EOF
[server]
listen = 127.0.0.1:0
[store]
url = sqlite:$dir/op.db
[pki]
dir = $dir/pki
[drf]
manufacturers = $dir/mfr
[sho]
imsi_first = 001010000000001
imsi_last = 001010000000099
iccid_prefix = 8988211
EOF
# The reference values: the platform's PCRs now (zero on a bare swtpm; in the
# VM, SeaBIOS's measurements), PCR 23 (tamper) included.
tpm2_pcrread -T "$MCIM_TEST_TCTI" sha256:0,1,2,3,4,5,6,7,23 -o "$dir/pcrs.bin" >/dev/null ||
	{ echo "Bail out! tpm2_pcrread"; exit 1; }
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
raw = open(d + "/pcrs.bin", "rb").read()
pcrs = [0, 1, 2, 3, 4, 5, 6, 7, 23]
ref = {str(p): raw[32 * i:32 * i + 32].hex() for i, p in enumerate(pcrs)}
json.dump({"model": "gw-1000", "version": 1, "mode": "autonomous", "pcrs": pcrs,
           "reference": ref}, open(d + "/model.json", "w"))
PY
# The SHO's template: the test profile without its secrets.
python3 - "$dir" <<'PY'
import json, sys
p = json.load(open("daemon/usim/profiles/test-usim.json"))
for k in ("k", "opc"):
    p["auth"].pop(k)
for pin in p["pins"]:
    for k in ("value", "puk"):
        pin.pop(k, None)
json.dump(p, open(sys.argv[1] + "/template.json", "w"))
PY
t "operator: pki init, model set" "OP pki init >/dev/null && OP model set $dir/model.json >/dev/null"
"$B/bin/mcim-operator" -c "$dir/op.conf" serve --port-file "$dir/port" 2>"$dir/serve.log" &
srv_pid=$!
for _ in $(seq 200); do [ -s "$dir/port" ] && break; sleep 0.02; done
url=https://127.0.0.1:$(cat "$dir/port")
ek=$(tpm2_nvread -T "$MCIM_TEST_TCTI" -C o 0x01c00002 2>/dev/null | base64 -w0)
printf 'ek_cert,model,subscriber\n%s,gw-1000,acme-meters\n' "$ek" >"$dir/fleet.csv"
t "operator: SHO op-a and the ICF added, the fleet imported" \
	"OP sho add op-a 'Operator A' $url $url && OP sho add icf 'Registration operator' $url $url &&
	 OP device import $dir/fleet.csv --sho op-a >/dev/null"
ID=$(OP --json device list | jget '[0]["device_id"]')

# The factory: a bootstrap subscription of the ICF (a batch's), its profile
# with secrets for the production line, installed with an expiry.
OP subscription create --sho icf --template "$dir/template.json" --subscriber batch-7 >"$dir/boot.out"
read -r BOOT_ICCID BOOT_IMSI <"$dir/boot.out"
t "ICF: bootstrap subscription $BOOT_ICCID / $BOOT_IMSI created" "[ \${#BOOT_IMSI} = 15 ]"
OP subscription factory "$BOOT_ICCID" >"$dir/factory.json"
t "ICF: subscription factory prints the profile with K, OPc and the PIN values" \
	"[ \"\$(jget '[\"auth\"][\"k\"]' <$dir/factory.json | wc -c)\" = 33 ] &&
	 jget '[\"pins\"][0][\"value\"]' <$dir/factory.json >/dev/null"
write_conf "$dir/mcimd.conf" ${vm:-0} "[provisioning]
drf_url = $url
ca = $dir/pki/root-ca.pem
timeout = 10
retries = 1"
t "mcimd starts on the TPM" "start_mcimd $dir/mcimd.conf"
t "mcimctl factory-install: the provisioning profile, time-limited" \
	"CTL factory-install --expires $(($(date +%s) + 86400)) $dir/factory.json >/dev/null"
t "  mcimd enables it: no operational profile exists" \
	"[ \"\$(plist)\" = '$BOOT_ICCID:enabled:provisioning ' ]"
[ -z "$vm" ] || t "  its card is inserted in /dev/vusim0" \
	"$B/bin/vusim-modem -s 0 wait --for inserted --timeout 5000 >/dev/null"

# The network knows the bootstrap subscription (the export) and the modem
# attaches with it.
t "osmo-hlr starts" "hlr_start $dir/hlr"
OP export --format osmo-hlr --with-secrets >"$dir/export1.vty"
t "osmo-hlr: the operator's export loads through the VTY" "hlr_vty_load $dir/export1.vty >/dev/null"
IMSI=$BOOT_IMSI
t "bootstrap attach: SendAuthInfo for $IMSI" "sai"
check_vector 0 "bootstrap attach"

# The operational subscription of op-a for this device, and the download.
OP subscription create --sho op-a --template "$dir/template.json" --device "$ID" >"$dir/sub.out"
read -r ICCID OPIMSI <"$dir/sub.out"
t "SHO: subscription $ICCID / $OPIMSI for the device (state created)" \
	"[ \"\$(substate $ICCID)\" = created ]"
t0=$(date +%s%N)
CTL provision >"$dir/prov.out" 2>&1
rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
sed 's/^/# /' "$dir/prov.out"
t "mcimctl provision: exit $rc in $ms ms" "[ $rc = 0 ]"
for step in register evidence download install receipt enable release; do
	grep -q "\\[ok\\] $step " "$dir/prov.out" || nok "  the $step step is reported"
done
[ -z "$vm" ] || for _ in $(seq 50); do
	"$B/bin/vusim-modem" -s 0 status 2>/dev/null | grep -q 'card: *present' && break; sleep 0.1
done
t "  the profiles: $ICCID enabled, the provisioning profile released" \
	"[ \"\$(plist)\" = '$ICCID:enabled:operational ' ]"
t "  the operator: the subscription is active (the receipt arrived)" "[ \"\$(substate $ICCID)\" = active ]"
t "  the operator's audit: package issued, receipt recorded" \
	"OP audit | grep -q 'package *issued *sequence 1, iccid $ICCID' && OP audit | grep -q 'receipt *installed *sequence 1'"
t "  K never reached mcimd's store: no K column, only TPM blobs" \
	"! sqlite3 $dir/store.db .dump | grep -qi \"\$(OP --json subscription show --show-secrets $ICCID | jget '[\"k\"]')\""

# The modem's start-up reads (TS 31.102 5.1.1): EF.ICCID of the new card,
# then the USIM and its EF.IMSI (the IMSI TBCD-coded, TS 31.102 4.2.2).
tbcd() { local x=$1 o=; [ $((${#x} % 2)) = 1 ] && x=${x}f; for ((i = 0; i < ${#x}; i += 2)); do o+=${x:i+1:1}${x:i:1}; done; echo "$o"; }
ef_iccid=$(card 00a40004023f00 00a40004022fe2 00b000000a)
ef_imsi=$(card "00a4040c10$ADF_USIM" 00a4080c047fff6f07 00b0000009)
t "the modem reads EF.ICCID: $ICCID" "[ \"\$ef_iccid\" = \"\$(tbcd $ICCID)9000\" ]"
t "the modem reads EF.IMSI: $OPIMSI" "[ \"\$ef_imsi\" = \"08\$(tbcd 9$OPIMSI)9000\" ]"

# The network authenticates the downloaded subscription.
OP export --format osmo-hlr --with-secrets --sho op-a >"$dir/export2.vty"
t "osmo-hlr: op-a's export loads" "hlr_vty_load $dir/export2.vty >/dev/null"
IMSI=$OPIMSI
t "SendAuthInfo for $IMSI: two vectors" "sai --num 2 && [ \$(wc -l <$dir/sai.txt) = 2 ]"
check_vector 0 "the downloaded profile, vector 1"
check_vector 1 "the downloaded profile, vector 2"
# The HLR set back (an older database): its vector is stale, the AUTS resyncs it.
hlr_sqn "$IMSI" 0
sai
card_auth "$(vec 0 rand)" "$(vec 0 autn)"
t "an HLR behind: its vector refused with a sync failure (AUTS)" "[ \"\${rsp:0:4}\" = dc0e ]"
auts=${rsp:4:28} rand=$(vec 0 rand)
t "SendAuthInfo with AUTS + RAND: osmo-hlr resynchronises" "sai --auts $auts --rand $rand"
check_vector 0 "the vector after the resynchronisation"

# A tamper event: the credentials stop, the operator hears of it and sells
# this device nothing more.
CTL tamper "case opened" >/dev/null
for _ in $(seq 250); do OP audit | grep -q 'tamper *recorded' && break; sleep 0.02; done
t "tamper: the report reaches the operator (audited)" "OP audit | grep -q 'tamper *recorded .*case opened'"
sai
card_auth "$(vec 0 rand)" "$(vec 0 autn)"
t "tamper: the card no longer answers AUTHENTICATE with RES" "! card_ok"
OP subscription create --sho op-a --template "$dir/template.json" --device "$ID" >/dev/null
CTL provision >"$dir/prov2.out" 2>&1
rc=$?
t "tamper: a further provisioning is refused (exit $rc), PCR 23 named" "[ $rc = 8 ] && grep -q 'PCR 23' $dir/prov2.out"
sed 's/^/# /' "$dir/prov2.out" | tail -3
stop_mcimd
if [ $fails != 0 ]; then
	tail -20 "$dir/serve.log" | sed 's/^/# operator: /'
	tail -20 "$dir/mcimd.log" | sed 's/^/# mcimd: /'
fi
echo "1..$n"
