#!/usr/bin/env bash
# The MCIM download end to end (docs/package-format.md sections 3-5) against
# a real `mcim-operator serve` and a device on swtpm (op-device on daemon/tre):
# register, validate (autonomous), download a package whose every blob the TPM
# imports under its SRK (TPM2_Import), confirm it with the receipt, report a
# tamper, and every refusal with its HTTP status and error code while the
# database stays unchanged.  Independent oracle: openssl cms verifies the
# package with the operator root.  TAP.
#
#   dpf.sh                 the test (starts its swtpm and its server)
#   dpf.sh phase main      internal: under tests/lib/with-swtpm
set -u
cd "$(dirname "$0")/../../.." || exit 1
B=${BUILD:-build}
OPBIN=$PWD/$B/bin/mcim-operator
DEV=$PWD/$B/tests/op-device
SELF=$PWD/tests/integration/operator/dpf.sh
TTL=10 # [pva] ticket_ttl, its minimum

if [ "${1:-}" = phase ]; then
	. "$W/env"
	n=0 fail=0
	ok() { n=$((n + 1)); echo "ok $n - $1"; }
	not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
	export TPM2TOOLS_TCTI=$MCIM_TEST_SWTPM_TCTI
	S=$W/state
	mkdir -p "$S"
	dev() { "$DEV" --tcti "$MCIM_TEST_TCTI" --ca "$W/pki/root-ca.pem" --url "$URL" "$@"; }
	op() { "$OPBIN" -c "$W/op.conf" "$@"; }
	# Everything a download decision may change.
	db() {
		sqlite3 "$W/op.db" "SELECT * FROM packages ORDER BY device_id, sequence;
			SELECT jti, used FROM tickets ORDER BY jti;
			SELECT iccid, device_id, state FROM subscriptions ORDER BY iccid;
			SELECT * FROM device_sequences; SELECT device_id, cleared FROM tamper_reports" |
			sha256sum
	}
	# refused WHAT STATUS CODE COMMAND [ARGS]: that answer, audited, nothing changed.
	refused() {
		local what=$1 status=$2 code=$3 before audits rc
		shift 3
		before=$(db)
		audits=$(op audit | grep -c "refused")
		dev "$@" >"$W/out" 2>"$W/err"
		rc=$?
		if [ $rc != 0 ] && grep -q "HTTP $status\$" "$W/err" &&
			grep -q "\"code\":\"$code\"" "$W/out" && [ "$(db)" = "$before" ] &&
			{ [ "$code" = bad_request ] || [ "$(op audit | grep -c "refused")" -gt "$audits" ]; }; then
			ok "$what: $status $code, audited, database unchanged"
		else
			not_ok "$what: exit $rc, want HTTP $status $code"
			sed 's/^/# /' "$W/out" "$W/err" | tail -n 4
		fi
	}
	validate() {
		dev validate --state "$S" >"$W/out" 2>"$W/err" ||
			{ not_ok "validate"; sed 's/^/# /' "$W/out" "$W/err" | tail -n 4; }
	}
	state() { op --json subscription list | python3 -c 'import json,sys; print(" ".join(s["state"] for s in json.load(sys.stdin)))'; }

	tpm2_nvread 0x01c00002 2>/dev/null | base64 -w0 >"$W/ek.b64"
	printf 'ek_cert,model,subscriber\n%s,gw-1000,acme-meters\n' "$(cat "$W/ek.b64")" >"$W/fleet.csv"
	op device import "$W/fleet.csv" --sho op-a >/dev/null || { echo "Bail out! import"; exit 1; }
	ID=$(op --json device list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["device_id"])')
	# Autonomous model: reference values = this TPM's PCRs; key_pcrs default (pcrs without 10).
	tpm2_pcrread sha256:0,1,2,3,4,5,6,7,23 >"$W/pcrs.txt" 2>/dev/null
	python3 - "$W" <<-'PY'
		import json, re, sys
		w = sys.argv[1]
		ref = {m.group(1): m.group(2).lower() for m in
		       (re.match(r"\s*(\d+)\s*:\s*0x([0-9A-Fa-f]{64})", l) for l in open(f"{w}/pcrs.txt")) if m}
		json.dump({"model": "gw-1000", "version": 1, "mode": "autonomous",
		           "pcrs": [0, 1, 2, 3, 4, 5, 6, 7, 23], "reference": ref},
		          open(f"{w}/model.json", "w"))
	PY
	op model set "$W/model.json" >/dev/null || { echo "Bail out! model"; exit 1; }
	dev register >/dev/null 2>&1 || { echo "Bail out! register"; exit 1; }

	validate
	refused "a device without a subscription" 409 no_subscription download --state "$S"
	op subscription create --sho op-a --template "$W/template.json" --subscriber acme-meters \
		>"$W/sub1" || not_ok "subscription create"
	refused "a request without a ticket" 400 bad_request download --state "$S" --no-ticket
	refused "an AK that is not the ticket's" 403 ak_mismatch download --state "$S" --other-ak
	refused "an SRK that is not the ticket's" 403 srk_mismatch download --state "$S" --other-srk
	if dev download --state "$S" >"$W/out" 2>"$W/err" &&
		grep -q "package 1 for $(cut -d' ' -f1 "$W/sub1"): 5 objects imported (K form aes), policy for PCRs 0x8000ff" "$W/out"; then
		ok "download: package 1, its 5 blobs (K, OPc, PIN1, PIN2, ADM1) imported by the TPM under the SRK"
	else
		not_ok "download"; sed 's/^/# /' "$W/out" "$W/err" | tail -n 4
	fi
	cp "$S/nonce" "$S/nonce.1"
	[ "$(state)" = packaged ] && ok "the subscription is packaged" || not_ok "state $(state)"
	if openssl cms -verify -binary -inform DER -in "$S/package.der" -CAfile "$W/pki/root-ca.pem" \
		-purpose any -out "$W/content.json" 2>/dev/null &&
		python3 - "$W/content.json" "$ID" "$(op subscription show "$(cut -d' ' -f1 "$W/sub1")" --show-secrets)" <<-'PY'
			import json, sys
			c, show = json.load(open(sys.argv[1])), json.loads(sys.argv[3])
			text = open(sys.argv[1]).read()
			assert c["device"] == sys.argv[2] and c["sequence"] == 1, c["sequence"]
			assert c["subscription"]["iccid"] == show["iccid"] and c["subscription"]["imsi"] == show["imsi"]
			assert show["k"] not in text and show["opc"] not in text  # secrets never in clear
			assert c["policy"]["pcrs"] == [0, 1, 2, 3, 4, 5, 6, 7, 23]
		PY
	then
		ok "openssl cms verifies the package with the operator root; K and OPc are not in its content"
	else
		not_ok "openssl cms / content"
	fi
	# Secrets at rest and on screen: only with --show-secrets / --with-secrets.
	iccid=$(cut -d' ' -f1 "$W/sub1")
	! op subscription show "$iccid" | grep -qE '"(k|opc)":' &&
		op subscription show "$iccid" --show-secrets | grep -qE '"k":"[0-9a-f]{32}","opc":"[0-9a-f]{32}"' &&
		! sqlite3 "$W/op.db" "SELECT secrets FROM subscriptions" | grep -q "$(op subscription show "$iccid" --show-secrets | python3 -c 'import json,sys; print(json.load(sys.stdin)["k"])')" &&
		ok "subscription show prints K and OPc only with --show-secrets; the database holds neither" ||
		not_ok "show --show-secrets"
	exp=$(op export 2>/dev/null)
	[ "$(echo "$exp" | head -n 1)" = "imsi,iccid,msisdn,algorithm,k,opc,amf,sqn,ind_bitlen,state" ] &&
		echo "$exp" | grep -qE '^001010000000001,'"$iccid"',,milenage,,,8000,0,5,packaged$' &&
		op export --with-secrets --format osmo-hlr 2>/dev/null | grep -qE \
			'^subscriber imsi 001010000000001 update aud3g milenage k [0-9a-f]{32} opc [0-9a-f]{32} ind-bitlen 5$' &&
		ok "export: the CSV of package-format.md 6 without secrets; osmo-hlr commands with --with-secrets" ||
		{ not_ok "export"; echo "$exp" | sed 's/^/# /'; }
	refused "the same ticket again" 409 ticket_used download --state "$S"
	validate
	refused "the same nonce again (a fresh ticket)" 409 nonce_used download --state "$S" \
		--nonce "$(cat "$S/nonce.1")"
	echo 1 >"$S/sequence"
	refused "a receipt with a wrong quote" 403 quote_invalid receipt --state "$S" --flip-quote
	refused "a receipt quoting other PCRs" 403 pcr_mismatch receipt --state "$S" --pcrs 0,1,2
	if dev receipt --state "$S" >"$W/out" 2>"$W/err" && grep -q '"result":"active"' "$W/out" &&
		[ "$(state)" = active ]; then
		ok "receipt: the AK's quote over SHA-256(receipt) verifies; the subscription is active"
	else
		not_ok "receipt"; sed 's/^/# /' "$W/out" "$W/err" | tail -n 4
	fi
	refused "the same receipt again" 409 receipt_used receipt --state "$S"
	echo 99 >"$S/sequence"
	refused "a receipt for a package never issued" 404 no_package receipt --state "$S"
	echo 1 >"$S/sequence"

	dev tamper --state "$S" --reason "pcr 23 extended" >"$W/out" 2>"$W/err" &&
		grep -q '"result":"recorded"' "$W/out" && ok "tamper report recorded" ||
		{ not_ok "tamper"; sed 's/^/# /' "$W/out" "$W/err" | tail -n 4; }
	op subscription create --sho op-a --template "$W/template.json" --device "$ID" >"$W/sub2" ||
		not_ok "subscription create --device"
	refused "a download while a tamper report is outstanding" 409 tamper_reported download --state "$S"
	out=$(op device clear-tamper "$ID") && [ "$out" = "1 tamper report cleared" ] &&
		ok "device clear-tamper: $out" || not_ok "clear-tamper: $out"
	dev download --state "$S" >"$W/out" 2>"$W/err" &&
		grep -q "package 2 for $(cut -d' ' -f1 "$W/sub2"): 5 objects" "$W/out" &&
		ok "after clear-tamper the same ticket buys package 2 (the device's own subscription)" ||
		{ not_ok "download after clear-tamper"; sed 's/^/# /' "$W/out" "$W/err" | tail -n 4; }

	# docs/package-format.md 5: the offline path.
	op subscription create --sho op-a --template "$W/template.json" --device "$ID" >/dev/null
	validate
	dev download --state "$S" --key-form sealed --write-request "$W/request.json" >/dev/null 2>&1
	if out=$(op package build --request "$W/request.json" --out "$W/offline.der") &&
		[[ $out == "package 3 for ICCID "*" written to $W/offline.der" ]] &&
		openssl cms -verify -binary -inform DER -in "$W/offline.der" -CAfile "$W/pki/root-ca.pem" \
			-purpose any -out "$W/offline.json" 2>/dev/null &&
		grep -q '"k":{"form":"sealed"' "$W/offline.json"; then
		ok "package build --request: $out (K sealed as asked)"
	else
		not_ok "package build: $out"
	fi
	op package build --request "$W/request.json" --out "$W/offline2.der" 2>"$W/err"
	[ $? = 1 ] && grep -q "refused (nonce_used)" "$W/err" && [ ! -e "$W/offline2.der" ] &&
		ok "package build of the same request again: refused (nonce_used), nothing written" ||
		{ not_ok "package build twice"; cat "$W/err"; }

	# A ticket, then the platform changes and fails a validation on its own
	# evidence: the earlier ticket buys nothing (docs/operator-protocol.md 6).
	validate
	tpm2_pcrextend "23:sha256=$(printf 'mcim-tamper:case' | sha256sum | cut -c1-64)" >/dev/null
	dev validate --state "$S" >"$W/out" 2>"$W/err"
	rc=$?
	[ $rc != 0 ] && grep -q pcr_reference "$W/out" &&
		ok "a validation after PCR 23 changed: refused by pcr_reference (exit $rc)" ||
		{ not_ok "validation after the PCR change: exit $rc"; sed 's/^/# /' "$W/out" | tail -n 3; }
	refused "the earlier ticket after a refused validation" 409 ticket_revoked download --state "$S"
	tpm2_pcrreset 23 >/dev/null
	validate
	sleep $((TTL + 1))
	refused "an expired ticket" 401 ticket_expired download --state "$S"
	issued=$(op audit "$ID" | grep -cE " package +issued ")
	[ "$issued" = 3 ] && ok "the audit log holds the 3 packages issued and every refusal" ||
		not_ok "audit: $issued issued"
	echo $n >"$W/n"
	exit $fail
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/mcim-dpf.XXXXXX") || exit 1
spid=
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
export W
mkdir -p "$W/mfr"
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
ticket_ttl = $TTL
[sho]
imsi_first = 001010000000001
imsi_last = 001010000000099
iccid_prefix = 8988211
[limits]
device_rate = 10000
EOF
"$OPBIN" -c "$W/op.conf" pki init >/dev/null || { echo "Bail out! pki init"; exit 1; }
# The test profile without its secrets: the SHO's template.
tests/lib/sho-template daemon/usim/profiles/test-usim.json "$W/template.json"
state=$W/tpm
tests/lib/with-swtpm --ek-cert --state "$state" -- true || { echo "Bail out! swtpm_setup"; exit 1; }
cp /var/lib/swtpm-localca/issuercert.pem /var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem "$W/mfr/"
"$OPBIN" -c "$W/op.conf" serve --port-file "$W/port" 2>"$W/serve.log" &
spid=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
[ -s "$W/port" ] || { echo "Bail out! serve: $(cat "$W/serve.log")"; exit 1; }
URL=https://127.0.0.1:$(cat "$W/port")
"$OPBIN" -c "$W/op.conf" sho add op-a "Operator A" "$URL" "$URL" || { echo "Bail out! sho add"; exit 1; }
echo "URL=$URL" >"$W/env"
echo 0 >"$W/n"
rc=0
tests/lib/with-swtpm --state "$state" -- "$SELF" phase main || rc=1
echo "1..$(cat "$W/n")"
exit $rc
