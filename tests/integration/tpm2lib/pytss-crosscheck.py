#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Cross-checks lib/tpm2-dup and lib/tpm2-cred against python3-tpm2-pytss.

Run under tests/lib/with-swtpm (TCTI in $MCIM_TEST_TCTI) with the helper
$BUILD/tests/tpm2lib-wrap.  Prints TAP.
  - with the same seed, our duplicate and MakeCredential blobs are byte-equal
    to tpm2_pytss.utils.wrap / make_credential (ECC and RSA parents / EKs);
  - pytss's unwrap(), given a software parent's private key, opens our
    random-seed blobs (checks our ECDH+KDFe and RSA-OAEP seed sharing);
  - on swtpm, the blob pytss makes and the one we make for the same object
    both import and load under an ECC and an RSA SRK and encrypt like
    AES-128-ECB in software.
"""
import os
import subprocess
import sys
import tempfile

try:
    import tpm2_pytss.utils as pu
    from tpm2_pytss import ESAPI
    from tpm2_pytss.types import (TPM2B_PUBLIC, TPM2B_SENSITIVE, TPM2B_PRIVATE,
                                  TPM2B_ENCRYPTED_SECRET, TPM2B_ID_OBJECT,
                                  TPM2B_SENSITIVE_CREATE, TPM2B_DATA,
                                  TPMT_SYM_DEF_OBJECT, TPMT_SENSITIVE,
                                  TPM2B_MAX_BUFFER, TPM2B_IV, TPM2B_NAME)
    from tpm2_pytss.constants import TPM2_ALG, TPMA_OBJECT, ESYS_TR
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError as e:
    print(f"python3-tpm2-pytss not available: {e}")
    sys.exit(77)

BUILD = os.environ.get("BUILD", "build")
WRAP = os.path.join(BUILD, "tests", "tpm2lib-wrap")
n = 0
failed = 0


def tap(ok, what):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print(f"{'ok' if ok else 'not ok'} {n} - {what}", flush=True)


def wrap_tool(*args):
    subprocess.run([WRAP, *args], check=True)


def write(path, obj):
    with open(path, "wb") as f:
        f.write(obj.marshal())


def read(path, cls):
    with open(path, "rb") as f:
        obj, used = cls.unmarshal(f.read())
    return obj


STORAGE = (TPMA_OBJECT.FIXEDTPM | TPMA_OBJECT.FIXEDPARENT | TPMA_OBJECT.SENSITIVEDATAORIGIN
           | TPMA_OBJECT.USERWITHAUTH | TPMA_OBJECT.NODA | TPMA_OBJECT.RESTRICTED
           | TPMA_OBJECT.DECRYPT)
AES_SIGN = TPMA_OBJECT.SIGN_ENCRYPT | TPMA_OBJECT.USERWITHAUTH | TPMA_OBJECT.NODA
SEALED = TPMA_OBJECT.USERWITHAUTH | TPMA_OBJECT.NODA
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")


def soft_parent(kind):
    """A software storage parent: (TPM2B_PUBLIC, TPMT_SENSITIVE)."""
    if kind == "ecc":
        k = ec.generate_private_key(ec.SECP256R1())
    else:
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    pub = TPM2B_PUBLIC.from_pem(pem, symmetric=TPMT_SYM_DEF_OBJECT(
        algorithm=TPM2_ALG.AES, keyBits={"aes": 128}, mode={"aes": TPM2_ALG.CFB}),
        objectAttributes=TPMA_OBJECT.RESTRICTED | TPMA_OBJECT.DECRYPT | TPMA_OBJECT.USERWITHAUTH)
    sens = TPMT_SENSITIVE.from_pem(pem)
    return pub, sens


def objects():
    sym, sym_pub = TPM2B_SENSITIVE.symcipher_from_secret(
        KEY, mode=TPM2_ALG.ECB, objectAttributes=AES_SIGN)
    sealed, sealed_pub = TPM2B_SENSITIVE.keyedhash_from_secret(
        b"K||OPc sealed by pytss", objectAttributes=SEALED)
    return [("AES-128 sign-only key", sym, sym_pub), ("sealed data", sealed, sealed_pub)]


def same_seed_checks(d, parents):
    real_seed = pu._generate_seed
    seed = bytes(range(32))
    try:
        # pytss's seed generation replaced by a fixed seed (the encrypted seed is
        # not part of the duplicate, so any bytes do for it)
        pu._generate_seed = lambda pub, label: (seed, b"\x00" * 4)
        for pname, ppub in parents:
            write(f"{d}/parent.pub", ppub)
            for oname, sens, pub in objects():
                write(f"{d}/obj.pub", pub)
                write(f"{d}/obj.sens", sens)
                _, theirs, _ = pu.wrap(ppub.publicArea, pub, sens)
                wrap_tool("dup-seed", f"{d}/parent.pub", f"{d}/obj.pub", f"{d}/obj.sens",
                          seed.hex(), f"{d}/ours.dup")
                ours = read(f"{d}/ours.dup", TPM2B_PRIVATE)
                tap(ours.marshal() == theirs.marshal(),
                    f"duplicate of {oname} to {pname} parent equals pytss wrap (same seed)")
            # MakeCredential with the same seed, to the same key as an "EK"
            name = TPM2B_NAME(b"\x00\x0b" + bytes(range(100, 132)))
            cred_theirs, _ = pu.make_credential(ppub, b"credential-secret", name)
            wrap_tool("cred-seed", f"{d}/parent.pub", bytes(name).hex(),
                      b"credential-secret".hex(), seed.hex(), f"{d}/ours.cred")
            ours = read(f"{d}/ours.cred", TPM2B_ID_OBJECT)
            tap(ours.marshal() == cred_theirs.marshal(),
                f"MakeCredential to {pname} key equals pytss make_credential (same seed)")
    finally:
        pu._generate_seed = real_seed


def unwrap_checks(d):
    for kind in ("ecc", "rsa"):
        ppub, ppriv = soft_parent(kind)
        write(f"{d}/parent.pub", ppub)
        for oname, sens, pub in objects():
            write(f"{d}/obj.pub", pub)
            write(f"{d}/obj.sens", sens)
            wrap_tool("dup", f"{d}/parent.pub", f"{d}/obj.pub", f"{d}/obj.sens",
                      f"{d}/ours.dup", f"{d}/ours.seed")
            dup = read(f"{d}/ours.dup", TPM2B_PRIVATE)
            seed = read(f"{d}/ours.seed", TPM2B_ENCRYPTED_SECRET)
            try:
                back = pu.unwrap(ppub.publicArea, ppriv, pub, dup, seed)
                ok = back.marshal() == sens.marshal()
            except Exception as e:  # pytss raises on a bad HMAC
                print(f"# unwrap: {e}")
                ok = False
            tap(ok, f"pytss unwrap opens our {oname} blob for a software {kind.upper()} parent")


def tpm_checks(d, esys, parents):
    no_key = TPM2B_DATA()
    no_sym = TPMT_SYM_DEF_OBJECT(algorithm=TPM2_ALG.NULL)
    block = bytes(range(16)) * 3
    enc = Cipher(algorithms.AES(KEY), modes.ECB()).encryptor()
    want = enc.update(block) + enc.finalize()
    _, sens, pub = objects()[0]
    for pname, handle, ppub in parents:
        write(f"{d}/parent.pub", ppub)
        write(f"{d}/obj.pub", pub)
        write(f"{d}/obj.sens", sens)
        wrap_tool("dup", f"{d}/parent.pub", f"{d}/obj.pub", f"{d}/obj.sens",
                  f"{d}/ours.dup", f"{d}/ours.seed")
        blobs = {
            "ours": (read(f"{d}/ours.dup", TPM2B_PRIVATE),
                     read(f"{d}/ours.seed", TPM2B_ENCRYPTED_SECRET)),
            "pytss": pu.wrap(ppub.publicArea, pub, sens)[1:],
        }
        for who, (dup, seed) in blobs.items():
            try:
                priv = esys.import_(handle, no_key, pub, dup, seed, no_sym)
                key = esys.load(handle, priv, pub)
                out, _ = esys.encrypt_decrypt_2(key, False, TPM2_ALG.ECB,
                                                TPM2B_IV(b""), TPM2B_MAX_BUFFER(block))
                esys.flush_context(key)
                ok = bytes(out) == want
            except Exception as e:
                print(f"# {who}: {e}")
                ok = False
            tap(ok, f"{who} blob imports under the {pname} SRK and encrypts like AES-128-ECB")


def main():
    tcti = os.environ.get("MCIM_TEST_TCTI")
    if not tcti:
        print("MCIM_TEST_TCTI not set: run under tests/lib/with-swtpm")
        return 77
    if not os.access(WRAP, os.X_OK):
        print(f"{WRAP} not built")
        return 77
    esys = ESAPI(tcti)
    parents = []
    for pname, alg in (("ECC P-256", "ecc256:aes128cfb"), ("RSA 2048", "rsa2048:aes128cfb")):
        tmpl = TPM2B_PUBLIC.parse(alg, objectAttributes=STORAGE)
        handle, ppub, _, _, _ = esys.create_primary(TPM2B_SENSITIVE_CREATE(), tmpl,
                                                    ESYS_TR.OWNER)
        parents.append((pname, handle, ppub))
    with tempfile.TemporaryDirectory(prefix="tpm2lib-pytss.") as d:
        same_seed_checks(d, [(p, pub) for p, _, pub in parents])
        unwrap_checks(d)
        tpm_checks(d, esys, parents)
    for _, handle, _ in parents:
        esys.flush_context(handle)
    esys.close()
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
