#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A test DRF + PVA for mcimd's operator client (docs/operator-protocol.md v1).

Plays the operator's side with independent tools, so that the exchange is an
interop test and not a mock:
  - registration: the EK certificate's chain is checked against the TPM
    manufacturer's CA (swtpm's local CA) with python3-cryptography, or the
    bare EK public area (ek_public) is taken; the device_id is SHA-256 of the
    EK's SubjectPublicKeyInfo; only the device_ids listed in --known are
    registered;
  - validation: the credential is made by tpm2_makecredential (-T none, -u of
    the EK public key from the certificate, the TCG default EK template) to the
    AK's name computed here from its TPMT_PUBLIC; the quote and the PCR values
    are verified by tpm2_checkquote; the SRK certification is parsed here
    (TPMS_ATTEST, TPM 2.0 Part 2 10.12) and its ECDSA signature verified with
    python3-cryptography against the AK's public key.

Listens on 127.0.0.1 (a free port, written to --port-file) with the
certificate given.  Every request is appended to --log as "METHOD PATH"; the
evidence it accepted is written to --evidence.  --behaviour names a JSON file
read at every request: {"register"|"session"|"evidence": BEHAVIOUR} with
BEHAVIOUR one of ok, malformed, oversize, 403, 409, 410, 429 (Retry-After:
3600), 429-short (Retry-After: 1), 503, hang (no answer for --hang s), slow
(answers after 1.5 s), mode-semi (session only), switch (register only: the
answer carries a switch order, docs/change-format.md 4, with made-up tokens),
switch-big (the same with a 7000-byte consent).  The credential is made
to the EK type of the registered certificate (RSA 2048 or ECC P-256).

With --dpf-forge (a JSON file: {"argv": [pkg-forge and its options but the
request's], "iccid": ...}) it also plays the DPF (docs/package-format.md 3-4):
/v1/dpf/package answers the download request with a package that pkg-forge
builds (lib/package, as the DPF would) for the ticket's device with the next
sequence number; /v1/dpf/receipt checks the AK's quote (the AK of the
package request) over SHA-256(receipt) with python3-cryptography and appends
the receipt to --receipts; /v1/dpf/tamper the same for a tamper report.
Behaviours for "package": 409 (tamper_reported),
sig (a package whose signature is broken).
"""
import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

PCRS = [0, 1, 2, 3, 7, 23]
ALG_SHA256 = 0x000B
TPM_GENERATED = 0xFF544347
ST_ATTEST_QUOTE = 0x8018
ST_ATTEST_CERTIFY = 0x8017

args = None
sessions = {}
lock = threading.Lock()


class Reader:
    """TPM 2.0 Part 2 marshalled structures, big-endian."""

    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, n):
        if self.o + n > len(self.b):
            raise ValueError("short structure")
        v = self.b[self.o:self.o + n]
        self.o += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def tpm2b(self):
        return self.take(self.u16())

    def done(self):
        if self.o != len(self.b):
            raise ValueError("trailing bytes")


def ecc_public(tpm2b_public):
    """The P-256 key of a marshalled TPM2B_PUBLIC (ECC) and its TPMT_PUBLIC."""
    r = Reader(tpm2b_public)
    tpmt = r.tpm2b()
    r.done()
    t = Reader(tpmt)
    typ, name_alg, attrs = t.u16(), t.u16(), t.u32()
    t.tpm2b()  # authPolicy
    if typ != 0x0023:
        raise ValueError("not an ECC key")
    if t.u16() != 0x0010:  # symmetric: a signing key has none
        raise ValueError("a signing AK has a symmetric algorithm")
    scheme = t.u16()
    if scheme != 0x0010:
        t.u16()
    curve = t.u16()
    if t.u16() != 0x0010:  # kdf
        t.u16()
    x, y = t.tpm2b(), t.tpm2b()
    t.done()
    if curve != 0x0003 or name_alg != ALG_SHA256:
        raise ValueError("not P-256 / SHA-256")
    key = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                        ec.SECP256R1()).public_key()
    return key, tpmt, attrs


def rsa_public(tpm2b_public):
    """The RSA key of a marshalled TPM2B_PUBLIC (an EK of template L-1)."""
    t = Reader(Reader(tpm2b_public).tpm2b())
    if t.u16() != 0x0001:
        raise ValueError("not an RSA key")
    t.u16(), t.u32()
    t.tpm2b()  # authPolicy
    if t.u16() != 0x0010:  # symmetric: AES-128-CFB for an EK
        t.u16(), t.u16()
    if t.u16() != 0x0010:  # scheme
        t.u16()
    t.u16()  # keyBits
    e = t.u32() or 65537
    n = t.tpm2b()
    t.done()
    return rsa.RSAPublicNumbers(e, int.from_bytes(n, "big")).public_key()


def name_of(tpmt):
    return struct.pack(">H", ALG_SHA256) + hashlib.sha256(tpmt).digest()


def ecdsa_verify(key, attest, tpmt_signature):
    r = Reader(tpmt_signature)
    if r.u16() != 0x0018 or r.u16() != ALG_SHA256:
        raise ValueError("not ECDSA-SHA256")
    sr, ss = r.tpm2b(), r.tpm2b()
    r.done()
    key.verify(encode_dss_signature(int.from_bytes(sr, "big"), int.from_bytes(ss, "big")),
               attest, ec.ECDSA(hashes.SHA256()))


def parse_attest(b, want_type):
    """TPMS_ATTEST header (Part 2 10.12.12); returns (extraData, rest reader)."""
    r = Reader(b)
    if r.u32() != TPM_GENERATED:
        raise ValueError("magic is not TPM_GENERATED_VALUE")
    if r.u16() != want_type:
        raise ValueError("wrong attestation type")
    r.tpm2b()  # qualifiedSigner
    extra = r.tpm2b()
    r.u64(), r.u32(), r.u32(), r.u8()  # clockInfo
    r.u64()  # firmwareVersion
    return extra, r


def tools_pcrs(values):
    """The tpm2-tools pcrs file (tpm2_quote -o): TPML_PCR_SELECTION, then
    TPML_DIGESTs of 8, host-endian C structures."""
    sel = bytearray(4)
    for p in PCRS:
        sel[p // 8] |= 1 << (p % 8)
    buf = struct.pack("<I", 1) + struct.pack("<HB", ALG_SHA256, 3) + bytes(sel) + b"\0"
    buf += b"\0" * (132 - len(buf))
    groups = (len(values) + 7) // 8
    buf += struct.pack("<I", groups)
    for g in range(groups):
        chunk = values[g * 8:(g + 1) * 8]
        d = struct.pack("<I", len(chunk))
        for v in chunk:
            d += struct.pack("<H", len(v)) + v + b"\0" * (64 - len(v))
        buf += d + b"\0" * (532 - len(d))
    return buf


def b64(b):
    return base64.b64encode(b).decode()


def unb64(s):
    return base64.b64decode(s, validate=True)


def behaviour(step):
    try:
        with open(args.behaviour) as f:
            return json.load(f).get(step, "ok")
    except FileNotFoundError:
        return "ok"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def send(self, status, obj=None, raw=None, headers=()):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, message, failures=None, headers=()):
        e = {"code": code, "message": message}
        if failures is not None:
            e["failures"] = failures
        self.send(status, {"error": e}, headers=headers)

    def misbehave(self, step):
        """A behaviour other than ok: answered here (True), or not (False)."""
        b = behaviour(step)
        if b == "malformed":
            self.send(200 if step != "session" else 201, raw=b'{"device_id": "3f2a", ')
        elif b == "oversize":
            self.send(200, raw=b'{"pad": "' + b"x" * (80 << 10) + b'"}')
        elif b == "403":
            self.error(403, "not_registered", "no such device")
        elif b == "409":
            self.error(409, "session_used", "the session was answered already")
        elif b == "410":
            self.error(410, "session_expired", "the session expired")
        elif b == "429":
            self.error(429, "rate_limited", "too many requests", headers=[("Retry-After", "3600")])
        elif b == "429-short":
            self.error(429, "rate_limited", "too many requests", headers=[("Retry-After", "1")])
        elif b == "503":
            self.error(503, "unavailable", "the store is busy")
        elif b == "hang":
            time.sleep(args.hang)
            self.close_connection = True
        elif b == "slow":
            time.sleep(1.5)
            return False
        else:
            return False
        return True

    def do_POST(self):
        with open(args.log, "a") as f:
            f.write("POST %s\n" % self.path)
        n = int(self.headers.get("Content-Length", "0"))
        if n > (12 << 20):
            return self.error(413, "too_large", "body over 12 MiB")
        body = self.rfile.read(n)
        if self.headers.get("Content-Type") != "application/json":
            return self.error(415, "unsupported_media_type", "not application/json")
        try:
            req = json.loads(body)
        except ValueError:
            return self.error(400, "bad_request", "not JSON")
        try:
            if self.path == "/v1/register":
                return self.register(req)
            if self.path == "/v1/validations":
                return self.start(req)
            p = self.path.split("/")
            if len(p) == 5 and p[1:3] == ["v1", "validations"] and p[4] == "evidence":
                return self.evidence(p[3], req)
            if self.path == "/v1/dpf/package" and args.dpf_forge:
                return self.package(req)
            if self.path == "/v1/dpf/receipt" and args.dpf_forge:
                return self.receipt(req, "receipt", "mcim-receipt")
            if self.path == "/v1/dpf/tamper" and args.dpf_forge:
                return self.receipt(req, "report", "mcim-tamper")
        except (KeyError, ValueError, TypeError) as e:
            return self.error(400, "bad_request", "malformed request: %s" % e)
        except Exception as e:  # noqa: BLE001 - the operator failed: 500, logged
            print("internal error: %r" % e, file=sys.stderr)
            return self.error(500, "internal", "the test operator failed")
        self.error(404, "not_found", "no such path")

    def register(self, req):
        if set(req) not in ({"ek_cert"}, {"ek_public"}):
            return self.error(400, "bad_request", "members: %s" % sorted(req))
        if self.misbehave("register"):
            return
        if "ek_public" in req:
            key = rsa_public(unb64(req["ek_public"]))
        else:
            cert = x509.load_der_x509_certificate(unb64(req["ek_cert"]))
            with open(args.manufacturer_ca, "rb") as f:
                ca = x509.load_pem_x509_certificate(f.read())
            # The chain: signed by the manufacturer's CA (RSA PKCS#1 v1.5 here).
            ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                                   padding.PKCS1v15(), cert.signature_hash_algorithm)
            key = cert.public_key()
        spki = key.public_bytes(serialization.Encoding.DER,
                                serialization.PublicFormat.SubjectPublicKeyInfo)
        device_id = hashlib.sha256(spki).hexdigest()
        with open(args.known) as f:
            known = f.read().split()
        if device_id not in known:
            return self.error(403, "not_registered", "the EK is not registered")
        ek = "rsa" if isinstance(key, rsa.RSAPublicKey) else "ecc"
        with lock:
            sessions["ek_pem:" + device_id] = key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            sessions["ek_type:" + device_id] = ek
        answer = {"device_id": device_id, "model": "gw-1000", "subscriber": "acme-meters",
                  "sho": {"id": "op-a", "name": "Operator A"},
                  "pva_url": args.url + "/", "dpf_url": args.url, "ek": ek}
        if behaviour("register") in ("switch", "switch-big"):
            # The device keeps the order; the tokens are checked when B's
            # package arrives (checks 9b), so any bytes do here.
            answer["switch"] = {"sho": {"id": "op-b", "name": "Operator B"},
                                "pva": args.url + "/b", "dpf": args.url + "/b",
                                "consent": b64(b"consent" * (40 if behaviour("register") == "switch"
                                                             else 1000)),
                                "release": None}
        self.send(200, answer)

    def start(self, req):
        if set(req) != {"device_id", "ak_public"}:
            return self.error(400, "bad_request", "members: %s" % sorted(req))
        if self.misbehave("session"):
            return
        with lock:
            ek_pem = sessions.get("ek_pem:" + req["device_id"])
            ek_type = sessions.get("ek_type:" + req["device_id"])
        if not ek_pem:
            return self.error(403, "not_registered", "the EK is not registered")
        ak_pub = unb64(req["ak_public"])
        key, tpmt, attrs = ecc_public(ak_pub)
        # fixedTPM, fixedParent, sensitiveDataOrigin, restricted, sign; not decrypt
        need = 0x2 | 0x10 | 0x20 | 0x10000 | 0x40000
        if attrs & need != need or attrs & 0x20000:
            return self.error(403, "validation_failed", "1 check failed",
                              [{"check": "ak_attributes", "reason": "0x%08x" % attrs}])
        secret = secrets.token_bytes(32)
        nonce = secrets.token_bytes(32)
        with tempfile.TemporaryDirectory() as d:
            for name, data in (("ek.pem", ek_pem), ("secret", secret)):
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)
            subprocess.run(["tpm2_makecredential", "-T", "none", "-u", d + "/ek.pem", "-G", ek_type,
                            "-s", d + "/secret", "-n", name_of(tpmt).hex(), "-o", d + "/cred"],
                           check=True, capture_output=True)
            with open(d + "/cred", "rb") as f:
                cred = f.read()
        # tpm2-tools' file: magic BADCC0DE, version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET
        r = Reader(cred)
        if r.u32() != 0xBADCC0DE or r.u32() != 1:
            raise ValueError("tpm2_makecredential output")
        blob, enc = r.tpm2b(), r.tpm2b()
        r.done()
        sid = secrets.token_hex(16)
        mode = "semi-autonomous" if behaviour("session") == "mode-semi" else "remote"
        with lock:
            sessions[sid] = {"secret": secret, "nonce": nonce, "ak": ak_pub, "used": False,
                             "device": req["device_id"]}
        self.send(201, {"session": sid, "nonce": b64(nonce),
                        "credential": {"blob": b64(struct.pack(">H", len(blob)) + blob),
                                       "secret": b64(struct.pack(">H", len(enc)) + enc),
                                       "ek": ek_type},
                        "pcr_selection": [{"bank": "sha256", "pcrs": PCRS}],
                        "mode": mode, "expires": int(time.time()) + 120})

    def evidence(self, sid, req):
        allowed = {"credential_secret", "quote", "pcr_values", "srk", "event_logs"}
        if not set(req) <= allowed or "summary" in req:
            return self.error(400, "bad_request", "members: %s" % sorted(req))
        with lock:
            s = sessions.get(sid)
            if not s:
                return self.error(404, "not_found", "no such session")
            if s["used"]:
                return self.error(409, "session_used", "the session was answered already")
            s["used"] = True
        if self.misbehave("evidence"):
            return
        checks, failures = [], []

        def check(name, ok, reason=""):
            (checks if ok else failures).append(
                {"check": name, "result": "pass"} if ok else {"check": name, "reason": reason})

        check("credential", secrets.compare_digest(unb64(req["credential_secret"]), s["secret"]),
              "the secret differs")
        quote = req["quote"]
        attest, sig = unb64(quote["attest"]), unb64(quote["signature"])
        values = []
        for i, v in enumerate(req["pcr_values"]):
            if v["bank"] != "sha256" or v["pcr"] != PCRS[i]:
                raise ValueError("pcr_values not in selection order")
            values.append(bytes.fromhex(v["digest"]))
        with tempfile.TemporaryDirectory() as d:
            files = {"ak.pub": s["ak"], "msg": attest, "sig": sig, "pcrs": tools_pcrs(values)}
            for name, data in files.items():
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)
            p = subprocess.run(["tpm2_checkquote", "-u", d + "/ak.pub", "-m", d + "/msg",
                                "-s", d + "/sig", "-f", d + "/pcrs", "-g", "sha256",
                                "-q", s["nonce"].hex()], capture_output=True, text=True)
        check("quote_signature", p.returncode == 0, "tpm2_checkquote: " + p.stderr.strip()[-200:])
        extra, _ = parse_attest(attest, ST_ATTEST_QUOTE)
        check("quote_nonce", extra == s["nonce"], "extraData is not the nonce")
        srk = req["srk"]
        ak_key, _, _ = ecc_public(s["ak"])
        srk_attest = unb64(srk["attest"])
        try:
            ecdsa_verify(ak_key, srk_attest, unb64(srk["signature"]))
            extra, r = parse_attest(srk_attest, ST_ATTEST_CERTIFY)
            name = r.tpm2b()
            r.tpm2b()  # qualifiedName
            r.done()
            srk_pub = Reader(unb64(srk["public"]))
            srk_tpmt = srk_pub.tpm2b()
            srk_pub.done()
            ok = extra == s["nonce"] and name == name_of(srk_tpmt)
            check("srk_certify", ok, "nonce or certified name differs")
        except Exception as e:  # noqa: BLE001 - every failure is the check's
            check("srk_certify", False, "%s: %s" % (type(e).__name__, e))
        logs = req.get("event_logs", {})
        if args.want_tcg:
            with open(args.want_tcg, "rb") as f:
                check("tcg_log", unb64(logs.get("tcg", "")) == f.read(), "not the device's log")
        check("ima_log", "ima" not in logs, "an absent log was sent")
        with open(args.evidence, "w") as f:
            json.dump({"request": req, "checks": checks, "failures": failures}, f)
        if failures:
            return self.error(403, "validation_failed", "%d checks failed" % len(failures),
                              failures)
        claims = base64.urlsafe_b64encode(json.dumps({"jti": sid, "sub": s["device"]}).encode()).rstrip(b"=")
        self.send(200, {"result": "valid",
                        "ticket": "eyJhbGciOiJFUzI1NiJ9.%s.c2ln" % claims.decode(),
                        "expires": int(time.time()) + 600, "checks": checks})


    def package(self, req):
        if set(req) != {"ticket", "nonce", "ak", "srk", "key_form"}:
            return self.error(400, "bad_request", "members: %s" % sorted(req))
        b = behaviour("package")
        if b == "409":
            return self.error(409, "tamper_reported", "a tamper report is outstanding")
        if self.misbehave("package"):
            return
        claims = req["ticket"].split(".")[1]
        device = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sub"]
        with open(args.dpf_forge) as f:
            forge = json.load(f)
        with lock:
            seq = sessions.get("seq:" + device, 0) + 1
            sessions["seq:" + device] = seq
            sessions["ak:" + device] = unb64(req["ak"])
        with tempfile.TemporaryDirectory() as d:
            with open(d + "/req.json", "w") as f:
                json.dump(req, f)
            argv = forge["argv"] + ["--request", d + "/req.json", "--device", device,
                                    "--sequence", str(seq), "--out", d + "/pkg.der"]
            if b == "sig":
                argv += ["--variant", "sig"]
            subprocess.run(argv, check=True, capture_output=True)
            with open(d + "/pkg.der", "rb") as f:
                der = f.read()
        self.send(200, {"package": b64(der), "sequence": seq, "iccid": forge["iccid"]})

    def receipt(self, req, member, fmt):
        if set(req) != {"device", member, "quote", "signature"}:
            return self.error(400, "bad_request", "members: %s" % sorted(req))
        with lock:
            ak = sessions.get("ak:" + req["device"])
        if not ak:
            return self.error(403, "not_registered", "no package for this device")
        body, attest = unb64(req[member]), unb64(req["quote"])
        key, _, _ = ecc_public(ak)
        try:
            ecdsa_verify(key, attest, unb64(req["signature"]))
        except Exception as e:  # noqa: BLE001 - any failure refuses the receipt
            return self.error(403, "bad_receipt", "the AK's signature: %s" % e)
        extra, _ = parse_attest(attest, ST_ATTEST_QUOTE)
        if extra != hashlib.sha256(body).digest():
            return self.error(403, "bad_receipt", "qualifyingData is not SHA-256(receipt)")
        rec = json.loads(body)
        if rec.get("format") != fmt or rec.get("device") != req["device"]:
            return self.error(400, "bad_request", "not this device's receipt")
        with open(args.receipts, "a") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
        self.send(200, {"result": "active"})


def main():
    global args
    ap = argparse.ArgumentParser()
    for a in ("--cert", "--key", "--port-file", "--log", "--behaviour", "--known",
              "--manufacturer-ca", "--evidence"):
        ap.add_argument(a, required=True)
    ap.add_argument("--want-tcg")
    ap.add_argument("--dpf-forge")
    ap.add_argument("--receipts")
    ap.add_argument("--hang", type=float, default=5)
    args = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    port = srv.server_address[1]
    args.url = "https://127.0.0.1:%d" % port
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
