#!/usr/bin/env bash
# Independent checks of tools/mcim-operator/pki and ticket: openssl(1)
# verifies the certificates `pki init` made, and python3-cryptography
# verifies a ticket's ES256 signature over its JWS signing input (RFC 7515
# 5.2, RFC 7518 3.4) with the ticket certificate.  TAP.
set -u
cd "$(dirname "$0")/../../.." || exit 1
tool=$PWD/${BUILD:-build}/tests/opcrypto-tool
t=$(mktemp -d "${TMPDIR:-/tmp}/mcim-ticket.XXXXXX") || exit 1
trap 'rm -rf "$t"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }

if ! "$tool" ticket "$t/pki" >"$t/token" 2>"$t/err"; then
	echo "Bail out! opcrypto-tool ticket: $(cat "$t/err")"
	exit 1
fi
for c in server ticket dpf; do
	purpose=any
	[ $c = server ] && purpose=sslserver
	if out=$(openssl verify -x509_strict -purpose $purpose -CAfile "$t/pki/root-ca.pem" "$t/pki/$c.pem" 2>&1); then
		ok "openssl verify -x509_strict: $c.pem chains to root-ca.pem ($purpose)"
	else
		not_ok "openssl verify: $c.pem"; echo "$out" | sed 's/^/# /'
	fi
done
san=$(openssl x509 -in "$t/pki/server.pem" -noout -ext subjectAltName | tail -n 1 | tr -d ' ')
[ "$san" = "DNS:localhost,IPAddress:127.0.0.1" ] && ok "server subjectAltName is $san" ||
	{ not_ok "server subjectAltName"; echo "# $san"; }
modes=$(cd "$t/pki" && stat -c '%n=%a' root-ca.key server.key ticket.key dpf.key | tr '\n' ' ')
[ "$modes" = "root-ca.key=600 server.key=600 ticket.key=600 dpf.key=600 " ] && ok "private keys are mode 0600" ||
	{ not_ok "private keys are mode 0600"; echo "# $modes"; }

python3 - "$t/token" "$t/pki/ticket.pem" "$n" <<'PY'
import base64, hashlib, json, sys
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

token = open(sys.argv[1]).read().strip()
cert = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
n, failed = int(sys.argv[3]), 0
def check(cond, what):
    global n, failed
    n += 1
    failed += not cond
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, what))

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

h64, p64, s64 = token.split(".")
header, claims, sig = json.loads(b64d(h64)), json.loads(b64d(p64)), b64d(s64)
kid = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
check(header == {"alg": "ES256", "typ": "mcim-ticket+jwt", "kid": kid},
      "header is alg ES256, typ mcim-ticket+jwt, kid = SHA-256 of the certificate")
check(len(sig) == 64 and "=" not in token, "signature is r||s, 64 bytes, base64url without padding")

def verify(data, sig):
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        cert.public_key().verify(der, data, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False

signing_input = (h64 + "." + p64).encode()
check(verify(signing_input, sig), "python3-cryptography verifies ES256 over the JWS signing input")
check(not verify(signing_input + b"x", sig), "and refuses it over other bytes")
check(sorted(claims) == sorted(["iss", "jti", "sub", "ak_name", "srk_name", "pcr_digest", "kpd", "model",
                                "policy_version", "mode", "iat", "exp"])
      and claims["iss"] == "pva" and claims["mode"] == "remote" and claims["exp"] - claims["iat"] == 600
      and claims["pcr_digest"] == "a5" * 32 and claims["kpd"] == "5c" * 32 and claims["policy_version"] == 3,
      "claims are those of docs/operator-protocol.md section 5")
sys.exit(1 if failed or n != int(sys.argv[3]) + 5 else 0)
PY
[ $? = 0 ] || fail=1
n=$((n + 5))
echo "1..$n"
exit $fail
