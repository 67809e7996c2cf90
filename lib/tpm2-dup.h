/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sender side of TPM 2.0 duplication (Part 1 23.3 "Duplication", Part 2
 * 12.3.2.4 TPM2B_PRIVATE): wraps an object made in software (an MCIM key)
 * to one TPM's storage key so that only that TPM can TPM2_Import it.
 *
 * Typical use (operator side, tests):
 *
 *	TPMT_SENSITIVE sens;
 *	TPM2B_PUBLIC pub;
 *	TPM2B_PRIVATE dup;
 *	TPM2B_ENCRYPTED_SECRET seed;
 *
 *	tpm2_sensitive_symcipher(k, 16, NULL, 0, TPM2_ALG_SHA256, &sens);
 *	tpm2_template_aes128_sign(&policy, TPM2_ALG_ECB, &sens, &pub.publicArea);
 *	tpm2_duplicate(&srk.publicArea, &pub.publicArea, &sens, &dup, &seed);
 *	explicit_bzero(&sens, sizeof(sens));
 *	... the device calls TPM2_Import(srk, NULL encryptionKey, pub, dup,
 *	    seed, symmetricAlg = TPM2_ALG_NULL), then TPM2_Load.
 *
 * Only the outer wrapper is applied (no inner wrapper: encryptionKey empty,
 * symmetricAlg TPM2_ALG_NULL), so the object must have encryptedDuplication,
 * fixedTPM and fixedParent CLEAR; tpm2_duplicate() rejects it otherwise.
 *
 * Return values: 0 or a negative errno (-EINVAL bad argument or attributes,
 * -ENOTSUP unsupported algorithm, -EIO OpenSSL or MU failure).
 */
#ifndef MCIM_TPM2_DUP_H
#define MCIM_TPM2_DUP_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

/*
 * Sensitive area of a symmetric key (TPM2_ALG_SYMCIPHER): sym = key,
 * seedValue = random obfuscation value of H(name_alg) size (Part 2 12.3.2.4),
 * authValue = auth (may be NULL/0).  The caller wipes *ret.
 */
int tpm2_sensitive_symcipher(const uint8_t *key, size_t key_len,
			     const uint8_t *auth, size_t auth_len,
			     TPMI_ALG_HASH name_alg, TPMT_SENSITIVE *ret);

/*
 * Sensitive area of a sealed data object (TPM2_ALG_KEYEDHASH, at most
 * 128 bytes of data), seedValue random as above.  The caller wipes *ret.
 */
int tpm2_sensitive_keyedhash(const uint8_t *data, size_t data_len,
			     const uint8_t *auth, size_t auth_len,
			     TPMI_ALG_HASH name_alg, TPMT_SENSITIVE *ret);

/*
 * Sets the public area's unique field from the sensitive area (Part 2 12.2.3.2 TPMU_PUBLIC_ID):
 * unique = H_nameAlg(seedValue || sensitive) for SYMCIPHER and KEYEDHASH.
 * The TPM checks this binding when it loads the object (TPM_RC_BINDING).
 */
int tpm2_public_bind(TPMT_PUBLIC *pub, const TPMT_SENSITIVE *sens);

/*
 * Public area of an AES-128 key that can only encrypt (Part 3 15.2/15.3:
 * TPM2_EncryptDecrypt2 with decrypt = NO needs sign, = YES needs decrypt):
 * type SYMCIPHER, nameAlg = sens's (the size of its seedValue tells it),
 * sym = AES/128/mode (TPM2_ALG_NULL lets each command choose its mode),
 * attributes sign | noDA, plus userWithAuth when policy is NULL or empty
 * (otherwise use is by policy only and adminWithPolicy is set), authPolicy
 * = policy, unique bound to sens.
 */
int tpm2_template_aes128_sign(const TPM2B_DIGEST *policy,
			      TPMI_ALG_SYM_MODE mode,
			      const TPMT_SENSITIVE *sens, TPMT_PUBLIC *ret);

/*
 * Public area of a sealed data object: type KEYEDHASH, scheme NULL,
 * attributes noDA (+ userWithAuth / adminWithPolicy as above), authPolicy =
 * policy, unique bound to sens.  TPM2_Unseal returns the data.
 */
int tpm2_template_sealed(const TPM2B_DIGEST *policy,
			 const TPMT_SENSITIVE *sens, TPMT_PUBLIC *ret);

/*
 * Makes the TPM2_Import inputs for object (public area) with sensitive area
 * sens, to be imported under new_parent (an RSA or ECC storage key: restricted
 * decrypt, symmetric AES-CFB):
 *   seed        = tpm2_seed_new(new_parent, "DUPLICATE")   (tpm2-crypto.h)
 *   symKey      = KDFa(parent nameAlg, seed, "STORAGE", name(object), -, parent sym keyBits)
 *   encSens     = AES-CFB(symKey, IV = 0, TPM2B_SENSITIVE(sens))
 *   hmacKey     = KDFa(parent nameAlg, seed, "INTEGRITY", -, -, digest bits)
 *   outerHMAC   = HMAC(hmacKey, encSens || name(object))
 *   ret_duplicate = TPM2B_DIGEST(outerHMAC) || encSens
 *   ret_in_sym_seed = the encrypted seed
 */
int tpm2_duplicate(const TPMT_PUBLIC *new_parent, const TPMT_PUBLIC *object,
		   const TPMT_SENSITIVE *sens, TPM2B_PRIVATE *ret_duplicate,
		   TPM2B_ENCRYPTED_SECRET *ret_in_sym_seed);

/*
 * The same with a given seed (of H(new_parent nameAlg) size, from
 * tpm2_seed_new(new_parent, "DUPLICATE")) instead of a fresh one: for
 * known-answer tests, and for several objects sharing one seed (their keys
 * are derived with each object's name, Part 1 23.3.2; lib/package.h).  A
 * seed must never be a chosen or predictable value.
 */
int tpm2_duplicate_with_seed(const TPMT_PUBLIC *new_parent,
			     const TPMT_PUBLIC *object,
			     const TPMT_SENSITIVE *sens, const uint8_t *seed,
			     size_t seed_len, TPM2B_PRIVATE *ret_duplicate);

/*
 * The outer wrapper itself, Part 1 23.3 (shared with MakeCredential,
 * Part 1 24): out = TPM2B_DIGEST(HMAC) || AES-CFB(symKey, 0, plain) with
 * the keys derived from seed as above, name as the KDFa context and HMAC
 * tail, sym_bits the parent's / EK's AES key size.  out receives at most
 * out_max bytes; *ret_len its length.
 */
int tpm2_outer_wrap(TPMI_ALG_HASH name_alg, uint16_t sym_bits,
		    const uint8_t *seed, size_t seed_len,
		    const TPM2B_NAME *name, const uint8_t *plain,
		    size_t plain_len, uint8_t *out, size_t out_max,
		    size_t *ret_len);

#endif
