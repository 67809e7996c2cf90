#!/usr/bin/env bash
# tools/mcim-operator/ekcert against swtpm's real EK certificates: swtpm_setup
# --create-ek-cert signs them with its local CA (/var/lib/swtpm-localca); that
# CA copied into a trusted directory verifies the RSA EK certificate read from
# the TPM's NV index, and the EK public area rebuilt from the TCG template has
# the name of the EK the TPM makes (tpm2_createek); the same for an ECC P-256
# EK that swtpm_localca certifies.  openssl gives the expected device_id, TPM
# attributes and CA fingerprint.  TAP.
set -u
cd "$(dirname "$0")/../../.." || exit 1
if [ -z "${MCIM_TEST_TCTI:-}" ]; then
	exec tests/lib/with-swtpm --ek-cert -- "$0" "$@"
fi
tool=$PWD/${BUILD:-build}/tests/opcrypto-tool
localca=/var/lib/swtpm-localca
export TPM2TOOLS_TCTI=$MCIM_TEST_TCTI
t=$(mktemp -d "${TMPDIR:-/tmp}/mcim-ekcert.XXXXXX") || exit 1
trap 'rm -rf "$t"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
check() { if [ -n "$2" ] && [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "# got '$2', expected '$3'"; fi; }
field() { sed -n "s/^$1=//p" "$2"; }

mkdir "$t/trusted" "$t/root-only" "$t/inter-only" "$t/wrong"
cp "$localca/swtpm-localca-rootca-cert.pem" "$t/trusted/root.pem"
cp "$localca/issuercert.pem" "$t/trusted/issuer.pem"
cp "$localca/swtpm-localca-rootca-cert.pem" "$t/root-only/root.pem"
openssl x509 -in "$localca/issuercert.pem" -outform der -out "$t/inter-only/issuer.der"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=wrong-ca \
	-addext basicConstraints=critical,CA:TRUE -keyout "$t/wrong/key" -out "$t/wrong/ca.pem" 2>/dev/null
rm -f "$t/wrong/key"

tpm2_nvread 0x01c00002 -o "$t/ek-rsa.der" 2>/dev/null || { echo "Bail out! tpm2_nvread of the RSA EK certificate"; exit 1; }
tpm2_nvread 0x01c00016 -o "$t/ek-ecc.der" 2>/dev/null || { echo "Bail out! tpm2_nvread of the ECC EK certificate"; exit 1; }
tpm2_createek -c "$t/ek.ctx" -G rsa -u "$t/ek.pub" >/dev/null || { echo "Bail out! tpm2_createek"; exit 1; }
tpm2_readpublic -c "$t/ek.ctx" -n "$t/ek.name" >/dev/null
tpm2_flushcontext -t >/dev/null 2>&1

# 1-6: the RSA EK certificate verifies and gives what the TPM and openssl say
if "$tool" ekcert "$t/trusted" "$t/ek-rsa.der" >"$t/info" 2>&1; then
	ok "swtpm's RSA EK certificate verifies against its local CA"
else
	not_ok "swtpm's RSA EK certificate verifies against its local CA"; sed 's/^/# /' "$t/info"
fi
check "the rebuilt EK public area has the name of tpm2_createek's EK" \
	"$(field name "$t/info")" "$(od -An -v -tx1 "$t/ek.name" | tr -d ' \n')"
check "device_id is the SHA-256 of the DER SubjectPublicKeyInfo" "$(field device_id "$t/info")" \
	"$(openssl x509 -inform der -in "$t/ek-rsa.der" -noout -pubkey | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)"
san=$(openssl x509 -inform der -in "$t/ek-rsa.der" -noout -ext subjectAltName | tail -n 1)
check "TPM manufacturer, model, version as openssl reads the subjectAltName" \
	"$(field manufacturer "$t/info")/$(field model "$t/info")/$(field version "$t/info")" \
	"$(echo "$san" | sed -n 's|.*2.23.133.2.1=\([^/]*\)/2.23.133.2.2=\([^/]*\)/2.23.133.2.3=\([^/,]*\).*|\1/\2/\3|p')"
check "the matching CA is swtpm's local CA (fingerprint)" "$(field ca_sha256 "$t/info")" \
	"$(openssl x509 -in "$localca/issuercert.pem" -outform der | sha256sum | cut -d' ' -f1)"
check "type rsa" "$(field type "$t/info")" rsa

# 7: the same certificate as PEM
openssl x509 -inform der -in "$t/ek-rsa.der" -out "$t/ek-rsa.pem"
"$tool" ekcert "$t/trusted" "$t/ek-rsa.pem" >"$t/info-pem" 2>&1
check "the PEM form gives the same device_id" "$(field device_id "$t/info-pem")" "$(field device_id "$t/info")"

# 8: the bare EK public key (tpm2_createek -u, a TPM2B_PUBLIC) gives the same identity
"$tool" ekpub "$t/ek.pub" >"$t/info-pub" 2>&1
check "the EK's TPM2B_PUBLIC gives the same device_id and name" \
	"$(field device_id "$t/info-pub") $(field name "$t/info-pub")" \
	"$(field device_id "$t/info") $(field name "$t/info")"

# 9-12: refusals
refused() { # NAME REASON CADIR CERT [NOW]
	local out
	out=$("$tool" ekcert "$3" "$4" ${5:+"$5"} 2>&1)
	case $out in
	"refused: $2:"*) ok "$1 (${out#refused: })" ;;
	*) not_ok "$1"; echo "$out" | sed 's/^/# /' ;;
	esac
}
refused "a CA that did not issue it is refused" "not issued by a trusted TPM manufacturer" "$t/wrong" "$t/ek-rsa.der"
refused "the root without the intermediate is not enough" "not issued by a trusted TPM manufacturer" "$t/root-only" "$t/ek-rsa.der"
refused "the intermediate without its root is not a trust anchor" "not issued by a trusted TPM manufacturer" "$t/inter-only" "$t/ek-rsa.der"
refused "before its notBefore (2001) the certificate is not yet valid" "certificate not yet valid" "$t/trusted" "$t/ek-rsa.der" 1000000000
# 13-14: an ECC NIST P-256 EK (template L-2) certified by swtpm_localca, the
# tool swtpm_setup uses (swtpm_setup itself certifies a P-384 ECC EK)
tpm2_createek -c "$t/ek-ecc.ctx" -G ecc -u "$t/ek-ecc.pub" >/dev/null &&
	tpm2_readpublic -c "$t/ek-ecc.ctx" -n "$t/ek-ecc.name" >"$t/ek-ecc.yaml" || { echo "Bail out! tpm2_createek -G ecc"; exit 1; }
tpm2_flushcontext -t >/dev/null 2>&1
mkdir "$t/p256"
swtpm_localca --type ek --tpm2 --dir "$t/p256" \
	--ek "x=$(sed -n 's/^x: //p' "$t/ek-ecc.yaml"),y=$(sed -n 's/^y: //p' "$t/ek-ecc.yaml"),id=secp256r1" \
	--tpm-spec-family 2.0 --tpm-spec-level 0 --tpm-spec-revision 164 --tpm-manufacturer id:00001014 \
	--tpm-model swtpm --tpm-version id:20191023 --configfile /etc/swtpm-localca.conf \
	--optsfile /etc/swtpm-localca.options >"$t/p256/log" 2>&1 || { echo "Bail out! swtpm_localca"; cat "$t/p256/log"; exit 1; }
"$tool" ekcert "$t/trusted" "$t/p256/ek.cert" >"$t/info-ecc" 2>&1
check "an ECC P-256 EK certificate (keyAgreement) verifies as type ecc" "$(field type "$t/info-ecc")" ecc
check "its rebuilt EK public area has the name of tpm2_createek -G ecc's EK" \
	"$(field name "$t/info-ecc")" "$(od -An -v -tx1 "$t/ek-ecc.name" | tr -d ' \n')"

# 15: swtpm's ECC EK is NIST P-384 (0x01c00016, not a default low-range template)
refused "swtpm's ECC P-384 EK certificate is an unsupported EK key" "unsupported EK key" "$t/trusted" "$t/ek-ecc.der"

echo "1..$n"
exit $fail
