#!/usr/bin/env bash
# mcimd's operator client (docs/operator-protocol.md v1) against a test DRF
# + PVA (operator-test-server.py) that checks the device's evidence with
# independent tools: tpm2_makecredential (-T none) makes the credential to
# the EK public key of the device's certificate and the AK name it computes,
# tpm2_checkquote verifies the quote and the PCR values, python3-cryptography
# the SRK certification.  swtpm with EK certificates (tests/lib/with-swtpm
# --ek-cert).  Then the device side's refusals: a server certificate not
# under the pinned root, a malformed, an oversize answer, 403
# not_registered, 409, 410, 429 (Retry-After, and the retries), a
# validation refused with its failed check, a server that never answers
# (while the control socket keeps answering), an unreachable operator,
# semi-autonomous mode without reference values: each with its mcimctl message and exit code and
# nothing stored.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl; do
	[ -x "$x" ] || { echo "1..0 # SKIP not built: $x"; exit 77; }
done
for x in tpm2_makecredential tpm2_checkquote tpm2_nvread tpm2_createek openssl sqlite3 swtpm_setup script; do
	command -v $x >/dev/null || { echo "1..0 # SKIP $x is not installed"; exit 77; }
done
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || { echo "1..0 # SKIP python3-cryptography is not installed"; exit 77; }
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --ek-cert -- "$0" "$@"
dir=$(mktemp -d /tmp/mcim-provision.XXXXXX)
mcimd_pid= srv_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; [ -n "$srv_pid" ] && kill $srv_pid 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY
n=0
blob() { sqlite3 "$dir/store.db" "SELECT CAST(data AS TEXT) FROM device_blobs WHERE kind = '$1'"; }
behave() { echo "$1" >"$dir/behaviour"; }
# run NAME CTL-ARGS...: mcimctl's stdout+stderr in $dir/NAME.out, status in $rc
run() { local o=$1; shift; CTL "$@" >"$dir/$o.out" 2>&1; rc=$?; }
says() { grep -q -- "$2" "$dir/$1.out"; }

# ---- the operator's PKI (openssl) and the device's identity ----
pki() { # pki NAME: a P-256 root NAME-ca and a server certificate for 127.0.0.1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$1 root" -keyout "$dir/$1-ca.key" -out "$dir/$1-ca.pem" 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$dir/$1.key" -out "$dir/$1.csr" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/$1.ext" &&
	openssl x509 -req -in "$dir/$1.csr" -CA "$dir/$1-ca.pem" -CAkey "$dir/$1-ca.key" \
		-CAcreateserial -days 2 -extfile "$dir/$1.ext" -out "$dir/$1.pem" 2>/dev/null
}
t "the operator's root and server certificate, and a rogue root (openssl)" "pki op && pki rogue"
# device_id, independently: SHA-256 of the EK certificate's SubjectPublicKeyInfo
tpm2_nvread -T "$MCIM_TEST_TCTI" -C o 0x01c00002 -o "$dir/ek.der" >/dev/null 2>&1
device_id=$(openssl x509 -inform der -in "$dir/ek.der" -noout -pubkey 2>/dev/null |
	openssl pkey -pubin -outform der 2>/dev/null | sha256sum | cut -d' ' -f1)
t "the RSA EK certificate is in the TPM's NV (swtpm_setup)" "[ -s $dir/ek.der ] && [ \${#device_id} = 64 ]"
: >"$dir/known"

# A device log to send (tcg_log) and an absent one (ima_log).
head -c 3000 /dev/urandom >"$dir/tcg.bin"
cp "$dir/tcg.bin" "$dir/tcg.want"

/usr/bin/python3 tests/integration/provision/operator-test-server.py --cert "$dir/op.pem" \
	--key "$dir/op.key" --port-file "$dir/port" --log "$dir/requests" \
	--behaviour "$dir/behaviour" --known "$dir/known" --evidence "$dir/evidence.json" \
	--manufacturer-ca /var/lib/swtpm-localca/issuercert.pem --want-tcg "$dir/tcg.want" \
	--hang 4 2>"$dir/server.log" &
srv_pid=$!
for _ in $(seq 200); do [ -s "$dir/port" ] && break; sleep 0.02; done
port=$(cat "$dir/port" 2>/dev/null)
t "the test operator listens on 127.0.0.1:$port" "[ -n '$port' ]"

# conf NAME CA DRF-URL: a configuration with a [provisioning] section
conf() {
	write_conf "$dir/$1.conf" 0 "[provisioning]
drf_url = $3
ca = $2
timeout = 2
retries = 1
tcg_log = $dir/tcg.bin
ima_log = $dir/absent-ima.bin"
}
conf main "$dir/op-ca.pem" "https://127.0.0.1:$port"
t "mcimd --check-config accepts [provisioning]" "$MCIMD -c $dir/main.conf --check-config >/dev/null"
# An OpenSSL configuration that leaves no algorithm to fetch: mcimd, and
# libcurl inside it, must not read it (docs/security.md).
printf 'openssl_conf = init\n[init]\nalg_section = evp\n[evp]\ndefault_properties = fips=yes\n' \
	>"$dir/fips-only.cnf"
t "mcimd starts on the TPM (OPENSSL_CONF naming a configuration that would break TLS)" \
	"OPENSSL_CONF=$dir/fips-only.cnf start_mcimd $dir/main.conf"
rss() { awk '/^VmRSS/ {print $2}' /proc/$mcimd_pid/status; }
t "libcurl is not loaded before the first request" "! grep -q libcurl /proc/$mcimd_pid/maps"
rss0=$(rss)
# ---- registration ----
run reg-unknown register
echo "# mcimd VmRSS $rss0 KiB before the first request to the operator, $(rss) KiB after (libcurl loaded)"
t "register, EK not known to the operator: exit 8, 'does not know this device' (exit $rc)" \
	"[ $rc = 8 ] && says reg-unknown 'does not know this device' && says reg-unknown not_registered"
t "  nothing stored" "[ -z \"\$(blob provision.registration)\" ]"
echo "$device_id" >"$dir/known"
for b in malformed oversize; do
	behave "{\"register\": \"$b\"}"
	run reg-$b register
	t "register, $b answer: exit 12 (exit $rc)" "[ $rc = 12 ]"
done
t "  malformed: the message names the problem" "says reg-malformed 'not JSON'"
t "  oversize: the message names the limit" "says reg-oversize 'longer than 65536 bytes'"
t "  nothing stored" "[ -z \"\$(blob provision.registration)\" ]"
behave '{"register": "429"}'
: >"$dir/requests"
run reg-429 register
t "register, 429 with Retry-After: 3600: exit 11, 'retry after 3600 s', no retry (exit $rc)" \
	"[ $rc = 11 ] && says reg-429 'retry after 3600 s' && [ \$(wc -l <$dir/requests) = 1 ]"
behave '{"register": "429-short"}'
: >"$dir/requests"
s0=$(date +%s%N)
run reg-429s register
s1=$(date +%s%N)
t "register, 429 with Retry-After: 1: retried once after 1 s (retries = 1), then exit 11 (exit $rc, $(( (s1 - s0) / 1000000 )) ms)" \
	"[ $rc = 11 ] && [ \$(wc -l <$dir/requests) = 2 ] && [ $(( (s1 - s0) / 1000000 )) -ge 1000 ]"
t "  nothing stored" "[ -z \"\$(blob provision.registration)\" ]"
behave '{}'

stop_mcimd
conf rogue "$dir/rogue-ca.pem" "https://127.0.0.1:$port"
# The operator's real root offered through OpenSSL's environment too: only
# the pinned file may count.
SSL_CERT_FILE=$dir/op-ca.pem SSL_CERT_DIR=$dir CURL_CA_BUNDLE=$dir/op-ca.pem \
	start_mcimd "$dir/rogue.conf"
run reg-tls register
t "register, server certificate not under the pinned root (SSL_CERT_FILE naming the right one): exit 10, names the pinned root (exit $rc)" \
	"[ $rc = 10 ] && says reg-tls 'rogue-ca.pem'"
stop_mcimd
# A port nobody listens on (bound, not listening: refused at once).
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
conf dead "$dir/op-ca.pem" "https://127.0.0.1:$dead"
start_mcimd "$dir/dead.conf"
run reg-dead register
t "register, operator unreachable: exit 9, 'cannot reach', 2 attempts (exit $rc)" \
	"[ $rc = 9 ] && says reg-dead 'cannot reach' && says reg-dead '2 attempts'"
t "  nothing stored" "[ -z \"\$(blob provision.registration)\" ]"
stop_mcimd

start_mcimd "$dir/main.conf"
run validate-early validate
t "validate before register: refused, 'not registered yet' (exit $rc)" \
	"[ $rc = 5 ] && says validate-early 'not registered yet'"
run reg register
t "register: exit 0, the home operator and the PVA printed (exit $rc)" \
	"[ $rc = 0 ] && says reg 'home operator Operator A (op-a)' && says reg 'PVA https://127.0.0.1:$port/'"
t "  the steps printed: ek_certificate (RSA), register, store" \
	"says reg '\\[ok\\] ek_certificate *RSA EK certificate' && says reg '\\[ok\\] register' && says reg '\\[ok\\] store'"
t "  the registration kept, device_id = SHA-256 of the EK's SPKI (openssl)" \
	"blob provision.registration | grep -q '\"device_id\":\"$device_id\"'"
run reg-json --json register
t "register --json: the answer as JSON with its steps" \
	"python3 -c 'import json,sys; d=json.load(open(\"$dir/reg-json.out\")); sys.exit(not (d[\"device_id\"] == \"$device_id\" and d[\"ek\"] == \"rsa\" and len(d[\"steps\"]) == 3))'"
behave '{"register": "switch"}'
run reg-switch register
CTL --json status >$dir/status.json
t "register with a switch order (docs/change-format.md 4): kept, pending in status (exit $rc)" \
	"[ $rc = 0 ] && says reg-switch 'a switch order to Operator B is pending' && [ \"\$(jget '[\"switch_order\"][\"sho\"][\"id\"]' <$dir/status.json)\" = op-b ] && [ \"\$(jget '[\"switch_order\"][\"consent_bytes\"]' <$dir/status.json)\" = 280 ] && [ \"\$(jget '[\"switch_order\"][\"release_bytes\"]' <$dir/status.json)\" = 0 ]"
t "  logged and audited" "grep -q 'a switch order is pending: to Operator B (op-b)' $dir/mcimd.log && [ \"\$(sqlite3 $dir/store.db \"SELECT count(*) FROM audit WHERE event = 'switch-ordered'\")\" = 1 ]"
behave '{"register": "switch-big"}'
run reg-big register
t "  an order over the store's blob size (a 7000-byte consent): registered, the order not kept (exit $rc)" \
	"[ $rc = 0 ] && says reg-big 'too large to keep' && [ -z \"\$(blob provision.switch)\" ]"
behave '{"register": "switch"}'
run reg-switch register
behave '{}'
run reg-again register
t "  a registration answer without it withdraws it" \
	"[ $rc = 0 ] && [ \"\$(CTL --json status | jget '[\"switch_order\"]')\" = None ] && [ -z \"\$(blob provision.switch)\" ]"

# ---- validation: refusals first (nothing stored) ----
for b in 409:session_used 410:session_expired; do
	behave "{\"session\": \"${b%%:*}\"}"
	run val-${b%%:*} validate
	t "validate, session answered ${b%%:*} ${b#*:}: exit 8, code named (exit $rc)" \
		"[ $rc = 8 ] && says val-${b%%:*} ${b#*:}"
done
behave '{"session": "mode-semi"}'
run val-semi validate
t "validate, the PVA asks for semi-autonomous, no [provisioning] reference: config error (exit $rc)" \
	"[ $rc = 1 ] && says val-semi 'semi-autonomous validation: \\[provisioning\\] reference is not set'"
behave '{"session": "malformed"}'
run val-malformed validate
t "validate, malformed session answer: exit 12 (exit $rc)" "[ $rc = 12 ]"
behave '{"evidence": "409"}'
run val-409e validate
t "validate, evidence answered 409: exit 8 (exit $rc)" "[ $rc = 8 ] && says val-409e session_used"
t "  nothing stored" "[ -z \"\$(blob provision.ticket)\" ]"
behave '{"session": "hang"}'
CTL validate >"$dir/val-hang.out" 2>&1 &
vpid=$!
sleep 0.5
s0=$(date +%s%N)
CTL status >/dev/null 2>&1; src=$?
s1=$(date +%s%N)
t "while a request hangs, the control socket answers at once ($(( (s1 - s0) / 1000000 )) ms)" \
	"[ $src = 0 ] && [ $(( (s1 - s0) / 1000000 )) -lt 1000 ]"
wait $vpid; rc=$?
t "validate, the PVA never answers: exit 9, 'did not answer within 2 s' (exit $rc)" \
	"[ $rc = 9 ] && says val-hang 'did not answer within 2 s'"
behave '{}'
echo tampered >"$dir/tcg.bin"
run val-refused validate
t "validate, a log that is not the device's: the PVA refuses, exit 8, the failed check printed (exit $rc)" \
	"[ $rc = 8 ] && says val-refused 'failed tcg_log' && says val-refused 'failed *tcg_log *not the device'"
t "  nothing stored" "[ -z \"\$(blob provision.ticket)\" ]"
cp "$dir/tcg.want" "$dir/tcg.bin"

# ---- validation ----
run val validate
t "validate: exit 0, valid, remote mode (exit $rc)" "[ $rc = 0 ] && says val 'valid: device $device_id, remote mode'"
all_steps() { for s in "$@"; do says val "\[ok\] $s" || return 1; done; }
t "  the steps printed: attestation_key, session, activate_credential, quote, event_logs, certify_srk, evidence, store" \
	"all_steps attestation_key session activate_credential quote event_logs certify_srk evidence store"
ev() { python3 -c "import json,sys; d=json.load(open('$dir/evidence.json')); $1"; }
t "  the PVA's credential check passed (tpm2_makecredential to the EK, the AK name)" \
	"ev 'sys.exit(not {\"check\": \"credential\", \"result\": \"pass\"} in d[\"checks\"])'"
t "  the quote and its PCRs verified by tpm2_checkquote with the nonce" \
	"ev 'sys.exit(not {\"check\": \"quote_signature\", \"result\": \"pass\"} in d[\"checks\"])' && says val 'passed quote_signature'"
t "  the SRK certification verified (ECDSA over TPMS_ATTEST, nonce, SRK name)" \
	"ev 'sys.exit(not {\"check\": \"srk_certify\", \"result\": \"pass\"} in d[\"checks\"])'"
t "  the configured firmware log sent, the absent IMA log not sent" \
	"ev 'sys.exit(bool(d[\"failures\"]) or \"ima\" in d[\"request\"][\"event_logs\"])'"
t "  no summary sent" "ev 'sys.exit(\"summary\" in d[\"request\"])'"
t "  the ticket and its expiry kept for the download" \
	"blob provision.ticket | grep -q '\"ticket\":\"eyJhbGciOiJFUzI1NiJ9\\.[A-Za-z0-9_-]*\\.c2ln\",\"expires\":[0-9]*'"
# On a terminal the steps appear as they pass (mcimctl polls `status`).
behave '{"evidence": "slow"}'
script -qec "$MCIMCTL -s $dir/control validate" /dev/null >"$dir/val-tty.out" 2>&1 &
vpid=$!
for _ in $(seq 100); do
	CTL --json status >"$dir/st.json" 2>/dev/null
	grep -q '"step":"evidence"' "$dir/st.json" && break
	sleep 0.05
done
t "status shows the flow under way: validate, step evidence, 6 steps passed" \
	"python3 -c 'import json,sys; p=json.load(open(\"$dir/st.json\"))[\"provisioning\"]; sys.exit(not (p[\"flow\"] == \"validate\" and p[\"step\"] == \"evidence\" and len(p[\"steps\"]) == 6))'"
wait $vpid; rc=$?
t "validate on a terminal: exit 0, each step printed once, the checks after the evidence (exit $rc)" \
	"[ $rc = 0 ] && [ \$(grep -c '\[ok\]' $dir/val-tty.out) = 8 ] && grep -A1 '\[ok\] evidence' $dir/val-tty.out | grep -q 'passed credential'"
behave '{}'
run val-json --json validate
t "validate --json: result valid with the checks" \
	"python3 -c 'import json,sys; d=json.load(open(\"$dir/val-json.out\")); sys.exit(not (d[\"result\"] == \"valid\" and len(d[\"checks\"]) == 6))'"

stop_mcimd
# [provisioning] auto = yes: no operational profile, so mcimd validates at
# start (registered already: no new registration).
conf auto "$dir/op-ca.pem" "https://127.0.0.1:$port"
echo "auto = yes" >>"$dir/auto.conf"
before=$(blob provision.ticket)
: >"$dir/requests"
start_mcimd "$dir/auto.conf"
for _ in $(seq 250); do grep -q 'automatic provisioning' "$dir/mcimd.log" && break; sleep 0.02; done
t "auto = yes without an operational profile: validated at start, no new registration" \
	"grep -q 'automatic provisioning: registered and validated' $dir/mcimd.log && ! grep -q register $dir/requests && [ \"\$(blob provision.ticket)\" != \"\$before\" ]"
stop_mcimd

# A TPM that certifies only its ECC EK (TCG L-2 template, NV 0x01c0000a):
# the RSA certificate removed, an ECC one made by the manufacturer's CA.
T=$MCIM_TEST_TCTI
ecc_tpm() {
	tpm2_nvundefine -T $T -C p 0x01c00002 &&
	tpm2_createek -T $T -G ecc -c $dir/eccek.ctx -u $dir/eccek.pem -f pem &&
	tpm2_flushcontext -T $T -t &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=test ECC EK" \
		-keyout $dir/dummy.key -out $dir/ecc.csr &&
	openssl x509 -req -in $dir/ecc.csr -force_pubkey $dir/eccek.pem -set_serial 7 -days 2 \
		-CA /var/lib/swtpm-localca/issuercert.pem -CAkey /var/lib/swtpm-localca/signkey.pem \
		-outform der -out $dir/ecc-ek.der &&
	tpm2_nvdefine -T $T -C o -s "$(stat -c %s $dir/ecc-ek.der)" \
		-a "ownerread|ownerwrite|authread|authwrite" 0x01c0000a &&
	tpm2_nvwrite -T $T -C o -i $dir/ecc-ek.der 0x01c0000a
}
t "an ECC-only TPM: RSA EK certificate removed, an ECC one written (tpm2-tools, openssl)" \
	"ecc_tpm >$dir/ecc.log 2>&1"
ecc_id=$(openssl x509 -inform der -in "$dir/ecc-ek.der" -noout -pubkey 2>/dev/null |
	openssl pkey -pubin -outform der 2>/dev/null | sha256sum | cut -d' ' -f1)
echo "$ecc_id" >>"$dir/known"
start_mcimd "$dir/main.conf"
run reg-ecc register
t "register with the ECC EK certificate: exit 0, the ECC device id (exit $rc)" \
	"[ $rc = 0 ] && says reg-ecc 'ECC EK certificate' && says reg-ecc \"device $ecc_id\""
run val-ecc validate
t "validate: the credential made to the ECC EK (tpm2_makecredential -G ecc) is activated, valid (exit $rc)" \
	"[ $rc = 0 ] && says val-ecc 'credential of the ecc EK activated' && says val-ecc 'passed quote_signature'"
stop_mcimd
# No EK certificate at all: the RSA EK's public area (protocol 1, ek_public).
t "no EK certificate left (tpm2_nvundefine)" "tpm2_nvundefine -T $T -C o 0x01c0000a >/dev/null 2>&1"
tpm2_createek -T $T -G rsa -c $dir/rsaek.ctx -u $dir/rsaek.pem -f pem >/dev/null 2>&1
tpm2_flushcontext -T $T -t >/dev/null 2>&1
pub_id=$(openssl pkey -pubin -in $dir/rsaek.pem -outform der 2>/dev/null | sha256sum | cut -d' ' -f1)
echo "$pub_id" >>"$dir/known"
start_mcimd "$dir/main.conf"
run reg-pub register
t "register without an EK certificate: the EK public area sent, the device id of that key (exit $rc)" \
	"[ $rc = 0 ] && says reg-pub 'RSA EK.s public area sent' && says reg-pub \"device $pub_id\" && [ \"$pub_id\" = \"$device_id\" ]"
run val-pub validate
t "validate after that registration: valid (exit $rc)" "[ $rc = 0 ] && says val-pub 'passed credential'"
stop_mcimd; rc=$?
t "mcimd stops cleanly (exit $rc)" "[ $rc = 0 ]"
t "no error under the sanitizers or leak reported" "! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error' $dir/mcimd.log"
echo "1..$n"
