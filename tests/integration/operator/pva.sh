#!/usr/bin/env bash
# mcim-operator end to end on the host: a fleet imported from a CSV, a device
# (op-device: daemon/tre on swtpm) registered and validated in the three
# modes, and every refusal of docs/operator-protocol.md section 3 shown with
# its reason and nothing changed for the device.  Independent oracles:
# tpm2_checkquote accepts the quotes the PVA accepts and refuses the tampered
# one; python3-cryptography verifies the ticket.  TAP.
#
#   pva.sh                 the test (starts its swtpms and its server)
#   pva.sh phase NAME      internal: one phase under tests/lib/with-swtpm
set -u
cd "$(dirname "$0")/../../.." || exit 1
B=${BUILD:-build}
OPBIN=$PWD/$B/bin/mcim-operator
DEV=$PWD/$B/tests/op-device
EVB=$PWD/tests/lib/evlog-build
SELF=$PWD/tests/integration/operator/pva.sh

if [ "${1:-}" = phase ]; then
	# State shared with the main script through $W (a work directory).
	. "$W/env"
	n=$(cat "$W/n") fail=0
	ok() { n=$((n + 1)); echo "ok $n - $1"; }
	not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
	export TPM2TOOLS_TCTI=$MCIM_TEST_SWTPM_TCTI
	dev() { "$DEV" --tcti "$MCIM_TEST_TCTI" --ca "$W/pki/root-ca.pem" --url "$URL" "$@"; }
	op() { "$OPBIN" -c "$W/op.conf" "$@"; }
	state() { op --json device show "$ID"; }
	# expect WHAT EXIT CHECK [op-device args]: the answer names CHECK as
	# failed (or as its error code) and the device record is unchanged.
	expect() {
		local what=$1 want=$2 check=$3 before rc
		shift 3
		before=$(state)
		dev "$@" >"$W/out" 2>"$W/err"
		rc=$?
		if [ $rc = "$want" ] && [ "$(state)" = "$before" ] &&
			grep -qE "\{\"check\":\"$check\",\"reason\"|\"code\":\"$check\"" "$W/out"; then
			ok "$what: refused ($check), device unchanged"
		else
			not_ok "$what: exit $rc, want $want and \"$check\""
			sed 's/^/# /' "$W/out" "$W/err" | tail -n 5
		fi
	}
	case $2 in
	main)
		# Firmware and IMA logs, and the PCRs extended to match.
		cat >"$W/boot.desc" <<-EOF
			banks sha1 sha256
			event 0 EV_S_CRTM_VERSION firmware-1.0
			event 0 EV_POST_CODE hex:00112233445566778899
			event 1 EV_EVENT_TAG smbios-table
			event 4 EV_IPL bootloader-2.3
			event 7 EV_EVENT_TAG secure-boot-off
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
		EOF
		"$EVB" --tcg "$W/tcg.log" --ima "$W/ima.log" --extend "$W/boot.desc" >"$W/pcrs.txt" ||
			{ echo "Bail out! evlog-build"; exit 1; }
		"$EVB" --tcg "$W/tcg-bad.log" --ima "$W/ima-bad.log" --break tcg-flip:2 \
			--break ima-flip:1 "$W/boot.desc" >/dev/null
		# The list as read after the quote: one entry more than PCR 10 holds.
		{ cat "$W/boot.desc"; echo "ima /usr/bin/later started-after-the-quote"; } >"$W/later.desc"
		"$EVB" --ima "$W/ima-later.log" "$W/later.desc" >/dev/null
		tpm2_nvread 0x01c00002 2>/dev/null | base64 -w0 >"$W/ek.b64"
		# The remote-mode model: allowlists from the description.
		python3 - "$W" <<-'PY'
			import hashlib, json, sys
			w = sys.argv[1]
			fw, ima = [], []
			for line in open(f"{w}/boot.desc"):
			    f = line.split()
			    if f and f[0] == "event":
			        d = f[3].encode() if not f[3].startswith("hex:") else bytes.fromhex(f[3][4:])
			        fw.append(hashlib.sha256(d).hexdigest())
			    elif f and f[0] == "ima":
			        ima.append({"path": f[1], "digest": "sha256:" + hashlib.sha256(f[2].encode()).hexdigest()})
			m = {"model": "gw-1000", "version": 1, "mode": "remote",
			     "pcrs": [0, 1, 2, 3, 4, 5, 6, 7, 10, 23],
			     "reference": {"23": "00" * 32},
			     "firmware_allow": sorted(set(fw)), "ima_allow": ima}
			json.dump(m, open(f"{w}/model-v1.json", "w"))
			m.update(version=2, ima_allow=ima[:1])
			json.dump(m, open(f"{w}/model-v2.json", "w"))
			m.update(version=3, ima_allow=ima)
			json.dump(m, open(f"{w}/model-v3.json", "w"))
		PY
		printf 'ek_cert,model,subscriber\n%s,gw-1000,acme-meters\n' "$(cat "$W/ek.b64")" >"$W/fleet.csv"
		out=$(op device import "$W/fleet.csv" --sho op-a 2>&1) &&
			ok "device import: $out" || not_ok "device import: $out"
		ID=$(op --json device list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["device_id"])')
		echo "ID=$ID" >>"$W/env"
		op device import "$W/fleet.csv" --sho op-a >/dev/null 2>"$W/err"
		[ $? = 1 ] && grep -q "line 2: device .* already registered; nothing was imported" "$W/err" &&
			ok "importing the same EK again is refused with its line number" ||
			{ not_ok "re-import"; cat "$W/err"; }
		op model set "$W/model-v1.json" >/dev/null || not_ok "model set"

		dev register >"$W/out" && grep -q '"sho":{"id":"op-a"' "$W/out" &&
			ok "register: the DRF names the chosen SHO and its PVA" || not_ok "register"
		mkdir -p "$W/q"
		dev validate --tcg-log "$W/tcg.log" --ima-log "$W/ima.log" --save "$W/q" >"$W/out" 2>"$W/err" &&
			grep -q '"result":"valid"' "$W/out" &&
			ok "remote validation with firmware and IMA logs: valid" ||
			{ not_ok "remote validation"; cat "$W/out" "$W/err" | sed 's/^/# /'; }
		for c in credential quote_signature quote_nonce pcr_selection pcr_digest clock srk_certify \
			tcg_log ima_log pcr_reference firmware_allowlist ima_allowlist; do
			grep -q "{\"check\":\"$c\",\"result\":\"pass\"}" "$W/out" || { not_ok "check $c not passed"; }
		done
		ok "the answer lists the 12 remote-mode checks as passed"
		tpm2_checkquote -u "$W/q/ak.pub" -m "$W/q/quote.msg" -s "$W/q/quote.sig" -f "$W/q/quote.pcrs" \
			-g sha256 -q "$(od -An -tx1 "$W/q/nonce" | tr -d ' \n')" >/dev/null 2>&1 &&
			ok "tpm2_checkquote accepts the quote the PVA accepted" || not_ok "tpm2_checkquote"
		tpm2_pcrread sha256:0,1,2,3,4,5,6,7,23 -o "$W/keypcrs.bin" >/dev/null 2>&1
		python3 - "$W/out" "$W/pki/ticket.pem" "$ID" "$W/keypcrs.bin" <<-'PY' && ok "the ticket verifies (ES256, python3-cryptography), names the device, kpd = SHA-256 of the key PCRs (pcrs without 10)" || not_ok "ticket"
			import hashlib
			import base64, json, sys
			from cryptography import x509
			from cryptography.hazmat.primitives import hashes
			from cryptography.hazmat.primitives.asymmetric import ec, utils
			tok = json.loads(open(sys.argv[1]).read().splitlines()[-1])["ticket"]
			h, p, s = tok.split(".")
			d = lambda x: base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
			sig = d(s)
			der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
			key = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read()).public_key()
			key.verify(der, f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256()))
			c = json.loads(d(p))
			assert c["sub"] == sys.argv[3] and c["mode"] == "remote" and c["policy_version"] == 1, c
			assert c["kpd"] == hashlib.sha256(open(sys.argv[4], "rb").read()).hexdigest(), c
		PY

		# Refusals: each with its own reason, nothing changed.
		valid=$(op audit | grep -c "validation valid")
		dev validate --tcg-log "$W/tcg.log" --ima-log "$W/ima.log" --replay >"$W/out" 2>&1
		[ $? = 2 ] && grep -q '"code":"session_used"' "$W/out" &&
			[ "$(op audit | grep -c "validation valid")" = $((valid + 1)) ] &&
			ok "replayed evidence (same session and nonce): 409 session_used, one ticket only" ||
			{ not_ok "replay"; tail -n 2 "$W/out" | sed 's/^/# /'; }
		expect "tampered quote" 1 quote_signature validate --tcg-log "$W/tcg.log" --ima-log "$W/ima.log" \
			--flip-quote --save "$W/q"
		tpm2_checkquote -u "$W/q/ak.pub" -m "$W/q/quote.msg" -s "$W/q/quote.sig" -f "$W/q/quote.pcrs" \
			-g sha256 -q "$(od -An -tx1 "$W/q/nonce" | tr -d ' \n')" >/dev/null 2>&1 &&
			not_ok "tpm2_checkquote accepted a tampered quote" ||
			ok "tpm2_checkquote refuses the tampered quote too"
		expect "quote over a stale nonce" 1 quote_nonce validate --tcg-log "$W/tcg.log" \
			--ima-log "$W/ima.log" --stale-nonce
		expect "quote by another AK than the one challenged" 1 quote_signature \
			validate --tcg-log "$W/tcg.log" --ima-log "$W/ima.log" --second-ak
		expect "AK of another TPM (foreign AK)" 1 credential --foreign-tcti "$FOREIGN_TCTI" \
			validate --tcg-log "$W/tcg.log" --ima-log "$W/ima.log"
		expect "wrong credential answer" 1 credential validate --tcg-log "$W/tcg.log" \
			--ima-log "$W/ima.log" --wrong-secret
		expect "AK that is not restricted" 1 ak_attributes validate --ak-no-restricted
		expect "AK with decrypt" 1 ak_attributes validate --ak-decrypt
		expect "wrong PCR selection" 1 pcr_selection validate --tcg-log "$W/tcg.log" \
			--ima-log "$W/ima.log" --pcrs 0,1,2,3,4,5,6,7,23
		expect "firmware log that does not replay" 1 tcg_log validate --tcg-log "$W/tcg-bad.log" \
			--ima-log "$W/ima.log"
		expect "IMA log that does not replay" 1 ima_log validate --tcg-log "$W/tcg.log" \
			--ima-log "$W/ima-bad.log"
		expect "no firmware log" 1 tcg_log validate --ima-log "$W/ima.log"
		dev validate --tcg-log "$W/tcg.log" --ima-log "$W/ima-later.log" >"$W/out" 2>&1 &&
			ok "an IMA list read after the quote, one entry longer: its prefix that gives PCR 10 is valid" ||
			{ not_ok "IMA list longer than PCR 10"; tail -n 1 "$W/out" | sed 's/^/# /'; }
		op model set "$W/model-v2.json" >/dev/null
		expect "an IMA digest not in the allowlist (model v2)" 1 ima_allowlist \
			validate --tcg-log "$W/tcg.log" --ima-log "$W/ima.log"
		op model set "$W/model-v3.json" >/dev/null
		tpm2_pcrextend 23:sha256=$(printf 'mcim-tamper:test' | sha256sum | cut -c1-64) ||
			not_ok "pcrextend"
		expect "PCRs that differ from the reference (tamper before attestation)" 1 pcr_reference \
			validate --tcg-log "$W/tcg.log" --ima-log "$W/ima.log"
		grep -q "PCR 23 (sha256) differs from the reference" "$W/out" &&
			ok "the reason names PCR 23" || not_ok "reason for PCR 23"
		tpm2_pcrreset 23 >/dev/null 2>&1
		expect "expired session" 2 session_expired validate --tcg-log "$W/tcg.log" \
			--ima-log "$W/ima.log" --wait "$((TTL + 1))"

		# Semi-autonomous and autonomous, on the same device.
		python3 - "$W" <<-'PY'
			import json, sys
			w = sys.argv[1]
			pcrs = {}
			for line in open(f"{w}/pcrs.txt"):
			    bank_pcr, value = line.split()
			    bank, pcr = bank_pcr.split(":")
			    if bank == "sha256":
			        pcrs[pcr] = value
			pcrs["23"] = "00" * 32
			base = {"model": "gw-1000", "pcrs": [0, 1, 2, 3, 4, 5, 6, 7, 10, 23]}
			json.dump(dict(base, version=4, mode="semi-autonomous", reference={"23": "00" * 32}),
			          open(f"{w}/model-v4.json", "w"))
			json.dump(dict(base, version=5, mode="autonomous", reference=pcrs),
			          open(f"{w}/model-v5.json", "w"))
			json.dump({"version": 1, "model": "gw-1000", "reference_version": 4, "failures": []},
			          open(f"{w}/summary-ok.json", "w"))
			json.dump({"version": 1, "model": "gw-1000", "reference_version": 4,
			           "failures": [{"pcr": 4, "event": 4, "reason": "digest not in the allowlist"}]},
			          open(f"{w}/summary-bad.json", "w"))
		PY
		op model set "$W/model-v4.json" >/dev/null
		dev validate --summary "$W/summary-ok.json" >"$W/out" 2>&1 &&
			grep -q '"check":"summary","result":"pass"' "$W/out" &&
			ok "semi-autonomous validation: the device's summary, bound into the quote, is accepted" ||
			{ not_ok "semi-autonomous"; sed 's/^/# /' "$W/out"; }
		expect "semi-autonomous: the device reports a failed component" 1 summary \
			validate --summary "$W/summary-bad.json"
		op model set "$W/model-v5.json" >/dev/null
		dev validate >"$W/out" 2>&1 && ! grep -q tcg_log "$W/out" &&
			ok "autonomous validation: genuine TRE and the reference PCR digest, no logs needed" ||
			{ not_ok "autonomous"; sed 's/^/# /' "$W/out"; }
		# Two TPM resets (orderly) for the clock test in phase "rollback";
		# a copy of the TPM state from before them.
		for i in 1 2; do
			tpm2_shutdown -c || not_ok "TPM2_Shutdown"
			[ $i = 1 ] && cp -a "$MCIM_TEST_SWTPM_STATE" "$W/old-tpm"
			swtpm_ioctl --tcp "$MCIM_TEST_SWTPM_CTRL" -i && tpm2_startup -c || not_ok "TPM reset"
		done
		"$EVB" --extend "$W/boot.desc" >/dev/null # the boot measured again
		dev validate >"$W/out" 2>&1 && ok "validation after two TPM resets (resetCount up by 2)" ||
			{ not_ok "validation after resets"; sed 's/^/# /' "$W/out"; }
		;;
	rollback)
		# The TPM state from before the resets: resetCount is lower.
		expect "resetCount going backwards (an old copy of the TPM state)" 1 clock validate
		grep -q "resetCount went backwards" "$W/out" && ok "the reason says resetCount went backwards" ||
			{ not_ok "resetCount reason"; tail -n 1 "$W/out" | sed 's/^/# /'; }
		# An IMA violation commits to nothing but itself: an allowlist that
		# names its path and (zero) digest must still not let it through.
		printf 'banks sha1 sha256\nima /usr/bin/tool tool-binary\nima-violation /etc/shadow\n' \
			>"$W/violation.desc"
		"$EVB" --ima "$W/ima-violation.log" --extend "$W/violation.desc" >/dev/null
		python3 - "$W" <<-'PY'
			import hashlib, json, sys
			w = sys.argv[1]
			json.dump({"model": "gw-1000", "version": 6, "mode": "remote", "pcrs": [10, 23],
			           "reference": {"23": "00" * 32},
			           "ima_allow": [{"path": "/usr/bin/tool",
			                          "digest": "sha256:" + hashlib.sha256(b"tool-binary").hexdigest()},
			                         {"path": "/etc/shadow", "digest": "sha256:" + "00" * 32}]},
			          open(f"{w}/model-v6.json", "w"))
		PY
		"$OPBIN" -c "$W/op.conf" model set "$W/model-v6.json" >/dev/null
		expect "an IMA violation entry, even with its path and digest allowlisted" 1 ima_allowlist \
			validate --ima-log "$W/ima-violation.log"
		grep -q "(a violation)" "$W/out" && ok "the reason names the violation" ||
			{ not_ok "violation reason"; tail -n 1 "$W/out" | sed 's/^/# /'; }
		;;
	foreign)
		# A TPM whose EK certificate chains to the same CA but was never imported.
		dev register >"$W/out" 2>&1
		[ $? = 1 ] && grep -q '"code":"not_registered"' "$W/out" &&
			ok "register: an unknown EK is refused (not_registered)" || not_ok "unknown EK"
		echo "FOREIGN_TCTI=$MCIM_TEST_TCTI" >>"$W/env"
		echo $n >"$W/n"
		# Keep this TPM for the main phase (foreign AK case).
		"$SELF" phase main-with-foreign || fail=1
		exit $fail
		;;
	main-with-foreign)
		# Runs phase main on the first TPM with this one as the foreign TPM.
		FOREIGN_TCTI=$MCIM_TEST_TCTI
		export FOREIGN_TCTI
		MCIM_TEST_TCTI=$DEVICE_TCTI MCIM_TEST_SWTPM_TCTI=$DEVICE_SWTPM_TCTI \
			MCIM_TEST_SWTPM_CTRL=$DEVICE_CTRL MCIM_TEST_SWTPM_STATE=$DEVICE_STATE \
			"$SELF" phase main
		exit $?
		;;
	esac
	echo $n >"$W/n"
	exit $fail
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/mcim-pva.XXXXXX") || exit 1
spid=
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
export W
TTL=5
mkdir -p "$W/mfr"
cp /var/lib/swtpm-localca/issuercert.pem /var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem "$W/mfr/" 2>/dev/null
cat >"$W/op.conf" <<EOF
[server]
listen = 127.0.0.1:0
[store]
url = sqlite:$W/op.db
[pki]
dir = $W/pki
[drf]
manufacturers = $W/mfr
[pva]
session_ttl = $TTL
[limits]
device_rate = 10000
EOF
op() { "$OPBIN" -c "$W/op.conf" "$@"; }
echo 0 >"$W/n"
op pki init >/dev/null || { echo "Bail out! pki init"; exit 1; }
# The manufacturers' CA exists once swtpm_setup ran: make one device first.
state=$W/tpm
tests/lib/with-swtpm --ek-cert --state "$state" -- true || { echo "Bail out! swtpm_setup"; exit 1; }
cp /var/lib/swtpm-localca/issuercert.pem /var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem "$W/mfr/"
"$OPBIN" -c "$W/op.conf" serve --port-file "$W/port" 2>"$W/serve.log" &
spid=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
URL=https://127.0.0.1:$(cat "$W/port")
op sho add op-a "Operator A" "$URL" "$URL" || { echo "Bail out! sho add"; exit 1; }
echo "URL=$URL" >"$W/env"
echo "TTL=$TTL" >>"$W/env"

# The device's TPM (kept in $state), and inside it a second, foreign TPM.
rc=0
tests/lib/with-swtpm --state "$state" -- bash -c '
	echo "DEVICE_TCTI=$MCIM_TEST_TCTI" >>"$W/env"
	echo "DEVICE_SWTPM_TCTI=$MCIM_TEST_SWTPM_TCTI" >>"$W/env"
	echo "DEVICE_CTRL=$MCIM_TEST_SWTPM_CTRL" >>"$W/env"
	echo "DEVICE_STATE=$MCIM_TEST_SWTPM_STATE" >>"$W/env"
	exec tests/lib/with-swtpm --ek-cert -- "$0" phase foreign' "$SELF" || rc=1
[ -d "$W/old-tpm" ] && { tests/lib/with-swtpm --state "$W/old-tpm" -- "$SELF" phase rollback || rc=1; }

# Rate limit per source address: a second server with a limit of 3 a minute.
sed -i 's/^device_rate = .*/address_rate = 3\nconnections_per_address = 2/' "$W/op.conf"
rm -f "$W/port2"
"$OPBIN" -c "$W/op.conf" serve --port-file "$W/port2" 2>/dev/null &
rpid=$!
for _ in $(seq 100); do [ -s "$W/port2" ] && break; sleep 0.05; done
codes=$(for _ in 1 2 3 4; do
	curl -s -o /dev/null -w '%{http_code} ' --cacert "$W/pki/root-ca.pem" \
		"https://127.0.0.1:$(cat "$W/port2")/v1/health"
done)
retry=$(curl -s -D - -o /dev/null --cacert "$W/pki/root-ca.pem" "https://127.0.0.1:$(cat "$W/port2")/v1/health" |
	tr -d '\r' | sed -n 's/^Retry-After: //Ip')
# Connections per address: of three opened at once with a limit of two, one
# is closed at once (which one depends on the order the workers accept them).
conns=$(python3 - "$(cat "$W/port2")" <<'PY'
import socket, sys
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
closed = 0
for s in socks:
    s.settimeout(2)
    try:
        closed += s.recv(1) == b""
    except ConnectionResetError:
        closed += 1
    except socket.timeout:
        pass
print(closed)
PY
)
kill $rpid
wait $rpid
n=$(cat "$W/n")
if [ "$conns" = 1 ]; then
	echo "ok $((n + 1)) - connections per address: of three at once with a limit of two, one is closed at once"
else
	echo "not ok $((n + 1)) - connections per address: $conns of three closed, want 1"
	rc=1
fi
n=$((n + 1))
if [ "$codes" = "200 200 200 429 " ] && [ -n "$retry" ]; then
	echo "ok $((n + 1)) - rate limit per address: the 4th request in a minute gets 429 with Retry-After $retry"
else
	echo "not ok $((n + 1)) - rate limit: $codes (Retry-After '$retry')"
	rc=1
fi
n=$((n + 1))
audit=$(op audit)
grep -q "validation refused .*quote_signature" <<<"$audit" && grep -q "validation valid" <<<"$audit" &&
	echo "ok $((n + 1)) - the audit log keeps every decision with its reasons" ||
	{ echo "not ok $((n + 1)) - audit"; rc=1; }
exit $rc
