#!/usr/bin/env bash
# The device side and the operator side together on the host: mcimd (its
# operator client, daemon/mcimd/provision-client.c) on swtpm registers with and
# is validated by mcim-operator (serve, on loopback), through `mcimctl
# register` and `mcimctl validate`; then a tamper event (`mcimctl tamper`)
# makes the next validation fail with the PVA's reason, and the operator's
# audit log shows both decisions.  Then semi-autonomous validation: the
# swtpm's PCRs 0-7 and 10 extended to match built logs (tests/lib/evlog-build),
# mcimd checks them against its reference file and sends the summary; valid,
# then refused (check "summary") when the device's reference lacks one IMA
# entry.  TAP.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl $B/bin/mcim-operator; do
	[ -x "$x" ] || { echo "1..0 # SKIP not built: $x"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --ek-cert -- "$0" "$@"
dir=$(mktemp -d /tmp/mcim-opdev.XXXXXX)
mcimd_pid= srv_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; [ -n "$srv_pid" ] && kill $srv_pid 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
OP() { "$B/bin/mcim-operator" -c "$dir/op.conf" "$@"; }

# The operator: PKI, the swtpm maker's CA, a model whose reference is the
# swtpm's boot state (PCRs 0-7 untouched: zero) and the tamper PCR 23 at zero.
mkdir -p "$dir/mfr"
cp /var/lib/swtpm-localca/issuercert.pem /var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem "$dir/mfr/"
printf '[server]\nlisten = 127.0.0.1:0\n[store]\nurl = sqlite:%s/op.db\n[pki]\ndir = %s/pki\n[drf]\nmanufacturers = %s/mfr\n' \
	"$dir" "$dir" "$dir" >"$dir/op.conf"
zero=0000000000000000000000000000000000000000000000000000000000000000
cat >"$dir/model.json" <<EOF2
{"model": "gw-1000", "version": 1, "mode": "autonomous", "pcrs": [0, 1, 2, 3, 4, 5, 6, 7, 23],
 "reference": {"0": "$zero", "1": "$zero", "2": "$zero", "3": "$zero", "4": "$zero",
               "5": "$zero", "6": "$zero", "7": "$zero", "23": "$zero"}}
EOF2
t "operator: pki init, model set" "OP pki init >/dev/null && OP model set $dir/model.json >/dev/null"
"$B/bin/mcim-operator" -c "$dir/op.conf" serve --port-file "$dir/port" 2>"$dir/serve.log" &
srv_pid=$!
for _ in $(seq 200); do [ -s "$dir/port" ] && break; sleep 0.02; done
url=https://127.0.0.1:$(cat "$dir/port")
ek=$(tpm2_nvread -T "$MCIM_TEST_TCTI" -C o 0x01c00002 2>/dev/null | base64 -w0)
printf 'ek_cert,model,subscriber\n%s,gw-1000,acme-meters\n' "$ek" >"$dir/fleet.csv"
t "operator: the SHO added, the fleet imported from a CSV" \
	"OP sho add op-a 'Operator A' $url $url && OP device import $dir/fleet.csv --sho op-a >/dev/null"

write_conf "$dir/mcimd.conf" 0 "[provisioning]
drf_url = $url
ca = $dir/pki/root-ca.pem
timeout = 10
retries = 1
tcg_log = $dir/tcg.log
ima_log = $dir/ima.log
reference = $dir/reference.json"
t "mcimd starts on the TPM" "start_mcimd $dir/mcimd.conf"
CTL register >"$dir/reg.out" 2>&1
rc=$?
t "mcimctl register: the DRF names SHO op-a (exit $rc)" "[ $rc = 0 ] && grep -q op-a $dir/reg.out"
CTL --json validate >"$dir/val.out" 2>&1
rc=$?
t "mcimctl validate: valid, a ticket kept (exit $rc)" \
	"[ $rc = 0 ] && grep -q '\"result\":\"valid\"' $dir/val.out && grep -q ticket_expires $dir/val.out"
for c in credential quote_signature quote_nonce pcr_selection pcr_digest clock srk_certify pcr_reference; do
	grep -q "$c" "$dir/val.out" || { echo "# $c missing"; cat "$dir/val.out" | sed 's/^/# /'; break; }
done
t "  the PVA's 8 autonomous-mode checks are reported" "grep -q pcr_reference $dir/val.out"
CTL tamper "case opened" >"$dir/tamper.out" 2>&1
t "mcimctl tamper" "[ $? = 0 ]"
CTL validate >"$dir/val2.out" 2>&1
rc=$?
t "mcimctl validate after the tamper: refused (exit $rc), the reason names PCR 23" \
	"[ $rc = 8 ] && grep -q 'PCR 23' $dir/val2.out"
audit=$(OP audit)
t "the operator's audit log has the valid and the refused validation" \
	"grep -q 'validation valid' <<<\"\$audit\" && grep -q 'validation refused .*PCR 23' <<<\"\$audit\""
stop_mcimd

# Semi-autonomous: the boot measured into the swtpm (mcimd stopped: it holds
# the swtpm's one connection), a model version for it on the operator and the
# same document as the device's reference values.
cat >"$dir/boot.desc" <<EOF2
banks sha1 sha256
event 0 EV_S_CRTM_VERSION firmware-1.0
event 4 EV_IPL bootloader-2.3
event 0 EV_SEPARATOR hex:00000000
event 1 EV_SEPARATOR hex:00000000
event 2 EV_SEPARATOR hex:00000000
event 3 EV_SEPARATOR hex:00000000
event 4 EV_SEPARATOR hex:00000000
event 5 EV_SEPARATOR hex:00000000
event 6 EV_SEPARATOR hex:00000000
event 7 EV_SEPARATOR hex:00000000
ima /usr/sbin/mcimd mcimd-binary
ima /etc/mcim/mcimd.conf config-text
EOF2
TPM2TOOLS_TCTI=$MCIM_TEST_TCTI tests/lib/evlog-build --tcg "$dir/tcg.log" --ima "$dir/ima.log" \
	--extend "$dir/boot.desc" >/dev/null
python3 - "$dir" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
fw, ima = [], []
for line in open(f"{d}/boot.desc"):
    f = line.split()
    if f and f[0] == "event":
        data = bytes.fromhex(f[3][4:]) if f[3].startswith("hex:") else f[3].encode()
        fw.append(hashlib.sha256(data).hexdigest())
    elif f and f[0] == "ima":
        ima.append({"path": f[1], "digest": "sha256:" + hashlib.sha256(f[2].encode()).hexdigest()})
m = {"model": "gw-1000", "version": 2, "mode": "semi-autonomous",
     "pcrs": [0, 1, 2, 3, 4, 5, 6, 7, 10], "firmware_allow": sorted(set(fw)), "ima_allow": ima}
json.dump(m, open(f"{d}/model-v2.json", "w"))
m["ima_allow"] = ima[1:]  # /usr/sbin/mcimd left out
json.dump(m, open(f"{d}/reference-short.json", "w"))
PY
cp "$dir/model-v2.json" "$dir/reference.json"
t "semi-autonomous: logs built and the swtpm extended; model version 2 set" \
	"[ -s $dir/ima.log ] && OP model set $dir/model-v2.json | grep -q semi-autonomous"
t "mcimd starts again" "start_mcimd $dir/mcimd.conf"
CTL --json validate >"$dir/val3.out" 2>&1
rc=$?
t "mcimctl validate, semi-autonomous: valid (exit $rc), the PVA's summary check passed" \
	"[ $rc = 0 ] && python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r[\"mode\"] == \"semi-autonomous\"
assert {\"check\": \"summary\", \"result\": \"pass\"} in r[\"checks\"]' $dir/val3.out"
t "  the device's summary: model version 2, no failure" \
	"python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))[\"summary\"] == {\"version\": 1, \"model\": \"gw-1000\",
	\"reference_version\": 2, \"failures\": []}' $dir/val3.out"
cp "$dir/reference-short.json" "$dir/reference.json"
CTL validate >"$dir/val4.out" 2>&1
rc=$?
t "semi-autonomous with a reference lacking an IMA entry: refused (exit $rc), check summary" \
	"[ $rc = 8 ] && grep -q 'summary .*the device reports 1 failed component' $dir/val4.out"
t "  mcimctl shows the device's own finding" \
	"grep -q '\[ok\] summary .*1 failure(s) against gw-1000 version 2, first: /usr/sbin/mcimd: sha256:[0-9a-f]* is not in ima_allow' $dir/val4.out"
audit=$(OP audit)
t "the operator's audit log has the semi-autonomous refusal" \
	"grep -q 'validation refused .*failed component' <<<\"\$audit\""
stop_mcimd
echo "1..$n"
