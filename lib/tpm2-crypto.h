/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM 2.0 cryptographic building blocks in software (OpenSSL 3 + tpm2-tss MU):
 * hash algorithm lookup, KDFa/KDFe, object and NV names, conversion between
 * TPMT_PUBLIC and OpenSSL keys, TPMT_SIGNATURE making and checking, and the
 * "secret sharing" seed that Duplication and MakeCredential both use.
 *
 * Used by tpm2-dup, tpm2-cred, tpm2-policy and tpm2-quote; the operator side
 * and the tests use it directly (e.g. to sign a PolicyAuthorize aHash).
 *
 * All functions return 0 or a negative errno: -EINVAL for bad arguments,
 * -ENOTSUP for an algorithm we do not implement, -ENOMEM, -EIO when OpenSSL
 * fails, -EBADMSG for a signature that does not verify.  Secrets are wiped.
 */
#ifndef MCIM_TPM2_CRYPTO_H
#define MCIM_TPM2_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

/* Digest size of a TPM hash algorithm (SHA-1/256/384/512), 0 if unknown. */
size_t tpm2_hash_size(TPMI_ALG_HASH alg);

/* The OpenSSL digest for a TPM hash algorithm, NULL if unknown. */
const EVP_MD *tpm2_hash_md(TPMI_ALG_HASH alg);

/* out = H_alg(data); out holds tpm2_hash_size(alg) bytes. */
int tpm2_hash(TPMI_ALG_HASH alg, const void *data, size_t len, uint8_t *out);

/* A piece of a message hashed in parts. */
struct tpm2_buf {
	const void *p;
	size_t n;
};

/* out = H_alg(parts[0] || parts[1] || ...). */
int tpm2_hashv(TPMI_ALG_HASH alg, const struct tpm2_buf *parts, size_t n,
	       uint8_t *out);

/*
 * KDFa, TPM 2.0 Part 1 11.4.10.2: SP 800-108 counter mode with HMAC_alg,
 * K(i) = HMAC(key, [i]32 || label || 0x00 || context_u || context_v || [bits]32).
 * label is a C string without its NUL (the NUL is the separator); out_len
 * bytes are produced (bits = 8 * out_len).
 */
int tpm2_kdfa(TPMI_ALG_HASH alg, const uint8_t *key, size_t key_len,
	      const char *label, const uint8_t *context_u, size_t u_len,
	      const uint8_t *context_v, size_t v_len, uint8_t *out,
	      size_t out_len);

/*
 * KDFe, TPM 2.0 Part 1 11.4.10.3: SP 800-56A concatenation KDF,
 * K(i) = H([i]32 || z || label || 0x00 || party_u || party_v).
 */
int tpm2_kdfe(TPMI_ALG_HASH alg, const uint8_t *z, size_t z_len,
	      const char *label, const uint8_t *party_u, size_t u_len,
	      const uint8_t *party_v, size_t v_len, uint8_t *out,
	      size_t out_len);

/* Object name, Part 1 16: nameAlg || H_nameAlg(marshalled TPMT_PUBLIC). */
int tpm2_public_name(const TPMT_PUBLIC *pub, TPM2B_NAME *ret_name);

/*
 * NV index name, Part 1 16: nameAlg || H(marshalled TPMS_NV_PUBLIC).  The
 * name changes when TPMA_NV_WRITTEN gets set: pass the attributes the index
 * has when the policy is used.
 */
int tpm2_nv_name(const TPMS_NV_PUBLIC *pub, TPM2B_NAME *ret_name);

/* Name of a handle that is its own name (hierarchies, PCRs, sessions): the handle, big-endian. */
void tpm2_handle_name(TPM2_HANDLE handle, TPM2B_NAME *ret_name);

/* OpenSSL public key of an RSA or ECC (NIST P-256/384) TPMT_PUBLIC. */
int tpm2_public_to_evp(const TPMT_PUBLIC *pub, EVP_PKEY **ret_pkey);

/*
 * TPMT_PUBLIC of an OpenSSL RSA or EC public key (e.g. the operator's policy
 * signing key, for TPM2_LoadExternal and for its name in PolicyAuthorize):
 * nameAlg name_alg, attributes attrs, scheme NULL, symmetric NULL, empty
 * authPolicy.
 */
int tpm2_public_from_evp(EVP_PKEY *pkey, TPMI_ALG_HASH name_alg,
			 TPMA_OBJECT attrs, TPMT_PUBLIC *ret_pub);

/*
 * Verifies a TPMT_SIGNATURE (ECDSA, RSASSA, RSAPSS) over a digest made with
 * the signature's own hash algorithm, with the key in pub.  -EBADMSG when the
 * signature is wrong, -EINVAL when its algorithm does not fit the key.
 */
int tpm2_signature_verify(const TPMT_PUBLIC *pub, const uint8_t *digest,
			  size_t digest_len, const TPMT_SIGNATURE *sig);

/*
 * Signs a digest with an OpenSSL private key into a TPMT_SIGNATURE: scheme
 * TPM2_ALG_ECDSA for EC keys, TPM2_ALG_RSASSA or TPM2_ALG_RSAPSS for RSA;
 * hash is the digest's algorithm.  For TPM2_VerifySignature / PolicyAuthorize.
 */
int tpm2_signature_make(EVP_PKEY *key, TPMI_ALG_SIG_SCHEME scheme,
			TPMI_ALG_HASH hash, const uint8_t *digest,
			size_t digest_len, TPMT_SIGNATURE *ret_sig);

/* Largest seed: a SHA-512 digest. */
#define TPM2_SEED_MAX 64

/*
 * Secret sharing with a TPM key (Part 1 11.4.10 and Annex B.10.3 / C.6.1):
 * makes a seed of H(nameAlg) size that only the holder of parent's private
 * key can recover, and the TPM2B_ENCRYPTED_SECRET that carries it.
 *   RSA parent: random seed, RSA-OAEP with nameAlg and the label (with NUL)
 *   ECC parent: ephemeral key on the parent's curve, Z = x(ECDH),
 *               seed = KDFe(nameAlg, Z, label, x_eph, x_parent), secret =
 *               marshalled TPMS_ECC_POINT of the ephemeral public key.
 * label: "DUPLICATE" for Duplication, "IDENTITY" for MakeCredential,
 * "SECRET" for salted sessions.  ret_seed holds TPM2_SEED_MAX bytes; the
 * caller wipes it.
 */
int tpm2_seed_new(const TPMT_PUBLIC *parent, const char *label,
		  uint8_t *ret_seed, size_t *ret_seed_len,
		  TPM2B_ENCRYPTED_SECRET *ret_secret);

#endif
