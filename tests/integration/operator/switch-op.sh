#!/usr/bin/env bash
# A change of subscription, the operators' side (docs/change-format.md 4),
# end to end: two `mcim-operator serve` with their own databases and PKIs,
# SHO A (also the device's DRF) and SHO B, and one device on swtpm
# (op-device).  A downloads a version 2 package (subscriber, contract lock;
# openssl cms verifies it); the subscriber signs consents; A records them and
# issues releases (and refuses one without a consent); the DRF's switch order
# shows in the registration answer; B builds a package that replaces A's for
# a download carrying consent and release, and refuses every bad switch
# member with its HTTP code, audited, the database unchanged; receipts
# fallback and switched at B, release reports at A, the subscription states
# after each; A's export leaves the ended subscription out.  TAP.
#
#   switch-op.sh               the test (starts its swtpm and both servers)
#   switch-op.sh phase main    internal: under tests/lib/with-swtpm
set -u
cd "$(dirname "$0")/../../.." || exit 1
B=${BUILD:-build}
OPBIN=$PWD/$B/bin/mcim-operator
DEV=$PWD/$B/tests/op-device
SELF=$PWD/tests/integration/operator/switch-op.sh

if [ "${1:-}" = phase ]; then
	. "$W/env"
	n=0 fail=0
	ok() { n=$((n + 1)); echo "ok $n - $1"; }
	not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
	check() { if eval "$2"; then ok "$1"; else not_ok "$1"; sed 's/^/# /' "$W/out" "$W/err" 2>/dev/null | tail -n 4; fi; }
	export TPM2TOOLS_TCTI=$MCIM_TEST_SWTPM_TCTI
	SA=$W/state-a SB=$W/state-b
	mkdir -p "$SA" "$SB"
	opa() { "$OPBIN" -c "$W/a/op.conf" "$@"; }
	opb() { "$OPBIN" -c "$W/b/op.conf" "$@"; }
	deva() { "$DEV" --tcti "$MCIM_TEST_TCTI" --ca "$W/a/pki/root-ca.pem" --url "$URL_A" "$@"; }
	devb() { "$DEV" --tcti "$MCIM_TEST_TCTI" --ca "$W/b/pki/root-ca.pem" --url "$URL_B" "$@"; }
	# Everything a decision may change in one operator's database.
	db() {
		sqlite3 "$W/$1/op.db" "SELECT * FROM packages ORDER BY device_id, sequence;
			SELECT jti, used FROM tickets ORDER BY jti;
			SELECT iccid, device_id, state, lock_until FROM subscriptions ORDER BY iccid;
			SELECT * FROM device_sequences; SELECT * FROM tokens_used ORDER BY kind, id;
			SELECT id FROM consents ORDER BY id; SELECT id FROM releases ORDER BY id;
			SELECT * FROM switch_orders; SELECT id, sho FROM devices" | sha256sum
	}
	refusals() { "$OPBIN" -c "$W/$1/op.conf" audit | grep -c " refused "; }
	# refused OP WHAT STATUS CODE COMMAND...: that answer from OP (a or b), audited, nothing changed.
	refused() {
		local o=$1 what=$2 status=$3 code=$4 before audits rc
		shift 4
		before=$(db "$o")
		audits=$(refusals "$o")
		"$@" >"$W/out" 2>"$W/err"
		rc=$?
		if [ $rc != 0 ] && grep -q "HTTP $status\$" "$W/err" &&
			grep -q "\"code\":\"$code\"" "$W/out" && [ "$(db "$o")" = "$before" ] &&
			[ "$(refusals "$o")" -gt "$audits" ]; then
			ok "$what: $status $code, audited, database unchanged"
		else
			not_ok "$what: exit $rc, want HTTP $status $code"
			sed 's/^/# /' "$W/out" "$W/err" | tail -n 4
		fi
	}
	state() { "$OPBIN" -c "$W/$1/op.conf" --json subscription show "$2" | jq -r .state; }
	content() { openssl cms -verify -binary -inform DER -in "$1" -CAfile "$2" -purpose any 2>/dev/null; }
	sign() { # sign OUT ICCID ROOT [KEY CERT]: a consent of the subscriber
		"$OPBIN" consent sign --key "${4:-$W/sub.key}" --cert "${5:-$W/sub.pem}" --device "$ID" \
			--iccid "$2" --to-sho-root "$3" --out "$1" >/dev/null
	}

	ek=$(tpm2_nvread 0x01c00002 2>/dev/null | base64 -w0)
	printf 'ek_cert,model,subscriber\n%s,gw-1000,acme-meters\n' "$ek" >"$W/fleet.csv"
	tpm2_pcrread sha256:0,1,2,3,4,5,6,7,23 -o "$W/pcrs.bin" >/dev/null
	tests/lib/model-from-pcrs "$W/pcrs.bin" 1 "$W/model.json"
	for o in a b; do
		"$OPBIN" -c "$W/$o/op.conf" device import "$W/fleet.csv" --sho "op-$o" >/dev/null &&
			"$OPBIN" -c "$W/$o/op.conf" model set "$W/model.json" >/dev/null &&
			"$OPBIN" -c "$W/$o/op.conf" subscriber add acme-meters --cert "$W/sub.pem" >/dev/null ||
			{ echo "Bail out! setup of $o"; exit 1; }
	done
	ID=$(opa --json device list | jq -r '.[0].device_id')
	SHO_B=$(opb pki show | sed -n 's/^sho_id //p')
	check "pki show prints B's sho_id, the SHA-256 of its root's public key" \
		"[ \"\$SHO_B\" = \"\$(openssl x509 -in \$W/b/pki/root-ca.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)\" ]"

	# ---- A: a version 2 package (subscriber, contract lock) ----
	ICCID_A=$(opa subscription create --sho op-a --template "$W/template.json" --subscriber acme-meters | cut -d' ' -f1)
	LOCK=$(($(date +%s) + 365 * 86400))
	opa subscription lock "$ICCID_A" --until "$LOCK" >/dev/null || not_ok "subscription lock"
	deva validate --state "$SA" >/dev/null 2>&1 || not_ok "validate at A"
	deva download --state "$SA" >"$W/out" 2>"$W/err"
	check "A's download: version 2, subscriber acme-meters, lock until $LOCK, replaces nothing" \
		"grep -q \"package 1 for \$ICCID_A: 5 objects.*version 2: subscriber acme-meters, lock until \$LOCK, replaces nothing\" \$W/out"
	content "$SA/package.der" "$W/a/pki/root-ca.pem" >"$W/content-a.json"
	check "openssl cms verifies A's package with A's root; its content holds the subscriber's certificate and the lock" \
		"jq -e --arg c \"\$(openssl x509 -in \$W/sub.pem -outform DER | base64 -w0)\" --argjson l $LOCK \
			'.version == 2 and .subscriber.name == \"acme-meters\" and .subscriber.cert == \$c and .lock.until == \$l and .replaces == null' \$W/content-a.json >/dev/null"
	deva receipt --state "$SA" >/dev/null 2>&1
	check "receipt installed at A: A's subscription active" "[ \"\$(state a \$ICCID_A)\" = active ]"

	# ---- A: consents and releases ----
	sign "$W/c1.der" "$ICCID_A" "$W/b/pki/root-ca.pem"
	before=$(db a) audits=$(refusals a)
	opa release issue --iccid "$ICCID_A" --to-sho-root "$W/b/pki/root-ca.pem" --out "$W/r0.der" >"$W/out" 2>"$W/err"
	check "release issue without a recorded consent: refused (exit 1), audited, nothing written, database unchanged" \
		"[ \$? = 1 ] && grep -q 'no recorded, unexpired consent' \$W/err && [ ! -e \$W/r0.der ] && [ \"\$(db a)\" = \"\$before\" ] && [ \$(refusals a) -gt \$audits ]"
	sign "$W/c-other.der" "$ICCID_A" "$W/b/pki/root-ca.pem" "$W/other.key" "$W/other.pem"
	opa consent add "$W/c-other.der" >"$W/out" 2>"$W/err"
	check "consent add of a consent signed by another key: refused (exit 1)" \
		"[ \$? = 1 ] && grep -q 'another key' \$W/err"
	opa consent add "$W/c1.der" >"$W/out" 2>"$W/err"
	check "consent add: recorded and listed" \
		"grep -q 'recorded: subscriber acme-meters lets ICCID $ICCID_A go to SHO op-b' \$W/out && [ \$(opa --json consent list | jq length) = 1 ]"
	opa release issue --iccid "$ICCID_A" --to-sho-root "$W/b/pki/root-ca.pem" --out "$W/r1.der" >"$W/out" 2>"$W/err"
	check "release issue: signed with A's DPF key under A's root; the subscription is releasing" \
		"content \$W/r1.der \$W/a/pki/root-ca.pem | jq -e --arg d \$ID --arg s \$SHO_B '.format == \"mcim-release\" and .device == \$d and .iccid == \"$ICCID_A\" and .to_sho == \$s' >/dev/null && [ \"\$(state a \$ICCID_A)\" = releasing ]"
	# a release to a third operator C, for the mismatch at B
	sign "$W/c-c.der" "$ICCID_A" "$W/c/pki/root-ca.pem"
	opa consent add "$W/c-c.der" >/dev/null &&
		opa release issue --iccid "$ICCID_A" --to-sho-root "$W/c/pki/root-ca.pem" --out "$W/r-c.der" >/dev/null ||
		not_ok "a release to SHO C"

	# ---- the DRF (A): the switch order in the registration answer ----
	deva register >"$W/out" 2>/dev/null
	check "registration answer without a switch order: no \"switch\" member" "! jq -e 'has(\"switch\")' \$W/out >/dev/null"
	opa device switch "$ID" --to op-b --consent "$W/c1.der" --release "$W/r1.der" >/dev/null || not_ok "device switch"
	deva register >"$W/out" 2>/dev/null
	check "registration answer with the order: switch {sho {id op-b, name}, pva, dpf, consent, release}" \
		"jq -e --arg u \$URL_B --arg c \"\$(base64 -w0 \$W/c1.der)\" --arg r \"\$(base64 -w0 \$W/r1.der)\" \
			'.switch == {sho: {id: \"op-b\", name: \"Operator B\"}, pva: \$u, dpf: \$u, consent: \$c, release: \$r}' \$W/out >/dev/null"

	# ---- B: every bad switch member refused, then the package that replaces A's ----
	ICCID_B=$(opb subscription create --sho op-b --template "$W/template.json" --subscriber acme-meters | cut -d' ' -f1)
	devb validate --state "$SB" >/dev/null 2>&1 || not_ok "validate at B"
	sign "$W/c-a.der" "$ICCID_A" "$W/a/pki/root-ca.pem"
	sw() { devb download --state "$SB" --switch "$ICCID_A" --consent "$@"; }
	refused b "a consent signed by another key than the subscriber's" 403 consent_invalid sw "$W/c-other.der" --release "$W/r1.der"
	refused b "a consent that is a release" 403 consent_invalid sw "$W/r1.der" --release "$W/r1.der"
	refused b "a consent for another SHO" 403 consent_mismatch sw "$W/c-a.der" --release "$W/r1.der"
	refused b "a consent for another subscription" 403 consent_mismatch devb download --state "$SB" --switch 89882110000000000000 --consent "$W/c1.der"
	refused b "a release that is a consent" 403 release_invalid sw "$W/c1.der" --release "$W/c1.der"
	refused b "a release for another SHO" 403 release_mismatch sw "$W/c1.der" --release "$W/r-c.der"
	devb download --state "$SB" --switch "$ICCID_A" --consent "$W/c1.der" --release "$W/r1.der" >"$W/out" 2>"$W/err"
	check "B's download with consent and release: version 2, replaces $ICCID_A" \
		"grep -q \"package 1 for \$ICCID_B: 5 objects.*version 2: subscriber acme-meters, lock until 0, replaces \$ICCID_A\" \$W/out"
	content "$SB/package.der" "$W/b/pki/root-ca.pem" >"$W/content-b.json"
	check "openssl cms verifies B's package; replaces carries the consent and the release" \
		"jq -e --arg c \"\$(base64 -w0 \$W/c1.der)\" --arg r \"\$(base64 -w0 \$W/r1.der)\" \
			'.replaces == {iccid: \"$ICCID_A\", consent: \$c, release: \$r}' \$W/content-b.json >/dev/null"
	devb validate --state "$SB" >/dev/null 2>&1
	refused b "the same consent again (a fresh ticket)" 409 consent_used sw "$W/c1.der" --release "$W/r1.der"
	sign "$W/c2.der" "$ICCID_A" "$W/b/pki/root-ca.pem"
	refused b "the same release again with a fresh consent" 409 release_used sw "$W/c2.der" --release "$W/r1.der"

	# ---- fallback: B's subscription failed, A's back to active ----
	refused b "receipt installed for a package that replaces a subscription" 400 receipt_mismatch devb receipt --state "$SB"
	devb receipt --state "$SB" --result fallback --reason "no AUTN within 600 s" >"$W/out" 2>&1
	check "receipt fallback at B: B's subscription failed, the reason recorded" \
		"grep -q '\"result\":\"failed\"' \$W/out && [ \"\$(state b \$ICCID_B)\" = failed ] && [ \"\$(sqlite3 \$W/b/op.db 'SELECT reason FROM packages')\" = 'no AUTN within 600 s' ]"
	deva released --state "$SA" --iccid "$ICCID_A" --result fallback --reason "no AUTN within 600 s" >"$W/out" 2>&1
	check "release report fallback at A: A's subscription back to active" \
		"grep -q '\"result\":\"active\"' \$W/out && [ \"\$(state a \$ICCID_A)\" = active ]"
	refused a "the same fallback report again" 409 report_used deva released --state "$SA" --iccid "$ICCID_A" --result fallback
	refused a "a release report with a wrong quote" 403 quote_invalid deva released --state "$SA" --iccid "$ICCID_A" --result switched --flip-quote

	# ---- switched: B's subscription active, A's ended and out of the export ----
	sign "$W/c3.der" "$ICCID_A" "$W/b/pki/root-ca.pem"
	opa consent add "$W/c3.der" >/dev/null &&
		opa release issue --iccid "$ICCID_A" --to-sho-root "$W/b/pki/root-ca.pem" --out "$W/r3.der" >/dev/null ||
		not_ok "second consent and release at A"
	opa device switch "$ID" --to op-b --consent "$W/c3.der" --release "$W/r3.der" >/dev/null || not_ok "device switch again"
	ICCID_B2=$(opb subscription create --sho op-b --template "$W/template.json" --subscriber acme-meters | cut -d' ' -f1)
	devb validate --state "$SB" >/dev/null 2>&1
	devb download --state "$SB" --switch "$ICCID_A" --consent "$W/c3.der" --release "$W/r3.der" >"$W/out" 2>"$W/err"
	check "B's second download: replaces $ICCID_A" "grep -q \"package 2 for \$ICCID_B2: .*replaces \$ICCID_A\" \$W/out"
	devb receipt --state "$SB" --result switched >"$W/out" 2>&1
	check "receipt switched at B: B's subscription active" \
		"grep -q '\"result\":\"active\"' \$W/out && [ \"\$(state b \$ICCID_B2)\" = active ]"
	deva released --state "$SA" --iccid "$ICCID_A" --result switched >"$W/out" 2>&1
	check "release report switched at A: A's subscription ended; the DRF's order done, the device's SHO op-b" \
		"grep -q '\"result\":\"ended\"' \$W/out && [ \"\$(state a \$ICCID_A)\" = ended ] && [ \"\$(opa --json device show \$ID | jq -r .sho)\" = op-b ]"
	deva register >"$W/out" 2>/dev/null
	check "registration answer after the switch: SHO op-b, no switch member" \
		"jq -e '.sho.id == \"op-b\" and (has(\"switch\") | not)' \$W/out >/dev/null"
	refused a "the same release report again" 409 report_used deva released --state "$SA" --iccid "$ICCID_A" --result switched
	check "A's export leaves the ended subscription out; --state ended lists it" \
		"! opa export 2>/dev/null | grep -q \$ICCID_A && opa export --state ended 2>/dev/null | grep -q \",\$ICCID_A,.*,ended\$\""
	check "A's audit: consents recorded, releases issued, switch ordered, reports" \
		"[ \$(opa audit | grep -cE ' (consent +recorded|release +issued|switch +ordered|released +(switched|fallback)) ') = 10 ]"
	echo $n >"$W/n"
	exit $fail
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/mcim-switch-op.XXXXXX") || exit 1
pids=
cleanup() { for p in $pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
export W
mkdir -p "$W/mfr"
cp /var/lib/swtpm-localca/issuercert.pem /var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem "$W/mfr/"
tests/lib/sho-template daemon/usim/profiles/test-usim.json "$W/template.json"
# A, B (servers) and C (a PKI only: a third operator's root).
i=0
for o in a b c; do
	i=$((i + 1))
	mkdir -p "$W/$o"
	cat >"$W/$o/op.conf" <<EOF
[server]
listen = 127.0.0.1:0
[store]
url = sqlite:$W/$o/op.db
[pki]
dir = $W/$o/pki
[drf]
manufacturers = $W/mfr
[pva]
ticket_ttl = 300
[sho]
imsi_first = 0010${i}0000000001
imsi_last = 0010${i}0000000099
iccid_prefix = 898821$i
[limits]
device_rate = 10000
EOF
	"$OPBIN" -c "$W/$o/op.conf" pki init >/dev/null || { echo "Bail out! pki init $o"; exit 1; }
done
for o in a b; do
	"$OPBIN" -c "$W/$o/op.conf" serve --port-file "$W/$o/port" 2>"$W/$o/serve.log" &
	pids="$pids $!"
done
for o in a b; do
	for _ in $(seq 100); do [ -s "$W/$o/port" ] && break; sleep 0.05; done
	[ -s "$W/$o/port" ] || { echo "Bail out! serve $o: $(cat "$W/$o/serve.log")"; exit 1; }
done
URL_A=https://127.0.0.1:$(cat "$W/a/port") URL_B=https://127.0.0.1:$(cat "$W/b/port")
A() { "$OPBIN" -c "$W/a/op.conf" "$@" >/dev/null; }
Bo() { "$OPBIN" -c "$W/b/op.conf" "$@" >/dev/null; }
A sho add op-a "Operator A" "$URL_A" "$URL_A" &&
	A sho add op-b "Operator B" "$URL_B" "$URL_B" --root "$W/b/pki/root-ca.pem" &&
	A sho add op-c "Operator C" https://c.invalid https://c.invalid --root "$W/c/pki/root-ca.pem" &&
	Bo sho add op-b "Operator B" "$URL_B" "$URL_B" &&
	Bo sho add op-a "Operator A" "$URL_A" "$URL_A" --root "$W/a/pki/root-ca.pem" ||
	{ echo "Bail out! sho add"; exit 1; }
# The subscriber's key and self-signed certificate, and someone else's.
for k in sub other; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/$k.key" \
		-out "$W/$k.pem" -subj "/O=acme-meters/CN=$k" -days 30 2>/dev/null ||
		{ echo "Bail out! openssl req"; exit 1; }
done
printf 'URL_A=%s\nURL_B=%s\n' "$URL_A" "$URL_B" >"$W/env"
echo 0 >"$W/n"
state=$W/tpm
tests/lib/with-swtpm --ek-cert --state "$state" -- true || { echo "Bail out! swtpm_setup"; exit 1; }
rc=0
tests/lib/with-swtpm --state "$state" -- "$SELF" phase main || rc=1
echo "1..$(cat "$W/n")"
exit $rc
