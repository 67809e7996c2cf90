#!/usr/bin/env bash
# mcim-operator in the test VM (tests/kernel/vm-run --tpm --ek-cert, booted
# with ima_policy=tcb ima_template=ima-ng): the operator serves on the
# guest's loopback, with its PKI in the run directory and swtpm's local CA as
# the trusted manufacturer; the fleet CSV holds the guest TPM's EK
# certificate; op-device (daemon/tre on /dev/tpmrm0) registers and is
# validated with the guest's real firmware log and IMA list.  The reference
# values come from the guest at run time (SeaBIOS's measurements depend on
# -m and -smp): the model's allowlists are the logs' own digests.  Then:
# a model without one firmware event type and without op-device's IMA entry
# is refused with both reasons; the full model is valid (every remote-mode
# check passed); a tamper extension of PCR 23 is refused by pcr_reference
# alone.  tests/integration/operator/vm-lib.sh has the pieces (shared with
# the demo).  Group "operator"; TAP.
set -u
cd "$(dirname "$0")/../../.." || exit 1
B=${BUILD:-build}
if [ -z "${VM:-}" ]; then
	for f in "$B/bin/mcim-operator" "$B/tests/op-device" "$B/tests/evlog-replay"; do
		[ -x "$f" ] || { echo "1..0 # SKIP not built: $f"; exit 77; }
	done
	for x in qemu-system-x86_64 swtpm swtpm_setup tpm2_nvread; do
		command -v $x >/dev/null || { echo "1..0 # SKIP $x is not installed"; exit 77; }
	done
	exec tests/kernel/vm-run --tpm --ek-cert --name operator-vm --timeout 300 \
		--append "ima_policy=tcb ima_template=ima-ng" -- "$0" "$@"
fi
. tests/integration/operator/vm-lib.sh
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }
show() { sed 's/^/# /' "$@" | tail -n 8; }
bail() { echo "Bail out! $1"; show "${2:-/dev/null}"; exit 1; }
S=/tmp/opvm K=$MCIM_OUT/operator
# The tamper event of mcimd (daemon/tre: SHA-256("mcim-tamper:" || reason)
# into PCR 23), computed now: sha256sum must not start after the reference
# values are read (vm-lib.sh).
tamper=$(printf 'mcim-tamper:%s' "enclosure opened" | sha256sum | cut -c1-64)

[ -r "$OPVM_BIOS" ] && [ -r "$OPVM_IMA" ] || bail "the guest has no firmware log or no IMA list"
ok "the guest has a firmware log and an IMA list"
opvm_init "$S" "$K" && op pki init >"$S.init" 2>&1 || bail "mcim-operator pki init" "$S.init"
certs=("$K"/pki/*.pem)
ok "mcim-operator pki init in the run directory (${#certs[@]} certificates)"
opvm_serve && op sho add op-a "Operator A" "$OPVM_URL" "$OPVM_URL" >"$S/out" 2>&1 ||
	bail "mcim-operator serve" "$S/serve.log" "$S/out"
ok "mcim-operator serves HTTPS on the guest's loopback ($OPVM_URL)"
out=$(opvm_csv && op device import "$K/fleet.csv" --sho op-a 2>&1) && ok "the fleet CSV with this TPM's EK certificate is imported: $out" ||
	bail "device import: $out"
opdev register >"$S/out" 2>&1 && grep -q '"sho":{"id":"op-a"' "$S/out" &&
	ok "register: the DRF knows the EK and names the SHO" || { nok "register"; show "$S/out"; }

# Everything that runs from here to a quote has run once (vm-lib.sh).
opvm_warmup
# Model v1: without op-device's own IMA entry and the separators' digest.
opvm_reference 1 "/$B/tests/op-device\$" EV_SEPARATOR >"$S/v1.json" &&
	op model set "$S/v1.json" >"$S/out" 2>&1 || bail "model set v1" "$S/out"
opvm_validate "$S/v1"
rc=$?
opvm_failures "$S/v1" >"$S/v1.failed"
if [ $rc = 1 ] && [ "$(wc -l <"$S/v1.failed")" = 2 ] &&
	grep -q '^firmware_allowlist: .* first: event [0-9]* (PCR 0, type 0x4)$' "$S/v1.failed" &&
	grep -q "^ima_allowlist: 1 measurement(s) not allowed, first: .*/$B/tests/op-device\$" \
		"$S/v1.failed"; then
	ok "a model without the EV_SEPARATOR digest and op-device's IMA entry: refused for both"
	show "$S/v1.failed"
else
	nok "model v1: exit $rc, want 1 with firmware_allowlist and ima_allowlist only"
	show "$S/v1"
fi

# Model v2: the logs' digests as they are now.
opvm_reference 2 >"$S/v2.json" && op model set "$S/v2.json" >"$S/out" 2>&1 ||
	bail "model set v2" "$S/out"
fw=$(grep -c '^# event .* bytes$' "$S/ref-tcg") ima=$(grep -c '^# entry ' "$S/ref-ima")
opvm_validate "$S/v2"
rc=$?
opvm_checks "$S/v2" >"$S/v2.passed"
if [ $rc = 0 ] && grep -q '"result":"valid"' "$S/v2"; then
	ok "validation with the real firmware log ($fw events) and IMA list ($ima entries): valid"
else
	nok "validation with the real logs: exit $rc"
	show "$S/v2"
fi
missing=
for c in credential quote_signature quote_nonce pcr_selection pcr_digest clock srk_certify \
	tcg_log ima_log pcr_reference firmware_allowlist ima_allowlist; do
	grep -qx "$c" "$S/v2.passed" || missing="$missing $c"
done
[ -z "$missing" ] && ok "the answer lists the 12 remote-mode checks as passed" ||
	nok "checks not passed:$missing"

# Tamper (as mcimd's tamper does), then a second validation.
TPM2TOOLS_TCTI=$OPVM_TCTI tpm2_pcrextend "23:sha256=$tamper" ||
	nok "tpm2_pcrextend 23"
opvm_validate "$S/v3"
rc=$?
opvm_failures "$S/v3" >"$S/v3.failed"
if [ $rc = 1 ] &&
	[ "$(cat "$S/v3.failed")" = "pcr_reference: PCR 23 (sha256) differs from the reference" ]; then
	ok "after a tamper extension of PCR 23: refused, pcr_reference names PCR 23 (the only failure)"
else
	nok "after the tamper: exit $rc, want 1 and pcr_reference alone"
	show "$S/v3"
fi

audit=$(op audit 2>&1)
[ "$(grep -c 'validation refused' <<<"$audit")" = 2 ] &&
	[ "$(grep -c 'validation valid' <<<"$audit")" = 1 ] &&
	ok "the audit log keeps the three decisions" || { nok "audit"; echo "$audit" | sed 's/^/# /'; }
opvm_stop && ok "the server stops cleanly" || { nok "the server's exit"; show "$S/serve.log"; }
cp "$S"/v[123]* "$S"/ref-* "$K/" 2>/dev/null
echo "1..$n"
exit $failed
