/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM2_MakeCredential in software (TPM 2.0 Part 1 24 "Credential
 * Protection", Part 3 12.6) and the TCG default EK templates the verifier
 * needs to recognise an EK (TCG EK Credential Profile 2.0, Annex B, template
 * L-1 RSA 2048 and template L-2 ECC NIST P-256).
 *
 * The PVA (operator) sends MakeCredential(EK public, AK name, secret); the
 * device's TPM2_ActivateCredential(AK, EK, credentialBlob, secret) returns the
 * secret only when that AK is loaded in the TPM that holds that EK.
 *
 * Return values: 0 or a negative errno.
 */
#ifndef MCIM_TPM2_CRED_H
#define MCIM_TPM2_CRED_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

/*
 * ek: the EK public area (RSA 2048 or ECC P-256 storage key); ak_name: the
 * name of the object the credential is bound to; secret: at most
 * H(ek nameAlg) bytes (32 for SHA-256).
 *   seed        = tpm2_seed_new(ek, "IDENTITY")
 *   ret_cred    = TPM2B_ID_OBJECT: tpm2_outer_wrap(ek nameAlg, ek sym bits,
 *                 seed, ak_name, TPM2B_DIGEST(secret))
 *   ret_secret  = the encrypted seed
 */
int tpm2_make_credential(const TPMT_PUBLIC *ek, const TPM2B_NAME *ak_name,
			 const uint8_t *secret, size_t secret_len,
			 TPM2B_ID_OBJECT *ret_cred,
			 TPM2B_ENCRYPTED_SECRET *ret_secret);

/* The same with a given seed: deterministic part, for tests only. */
int tpm2_make_credential_with_seed(const TPMT_PUBLIC *ek,
				   const TPM2B_NAME *ak_name,
				   const uint8_t *secret, size_t secret_len,
				   const uint8_t *seed, size_t seed_len,
				   TPM2B_ID_OBJECT *ret_cred);

/*
 * The TCG default EK templates (low range: empty unique except the zero
 * filled RSA modulus / ECC point sizes the profile prescribes), authPolicy =
 * PolicySecret(TPM_RH_ENDORSEMENT) 837197674484B3F8...  Use them with
 * TPM2_CreatePrimary(TPM_RH_ENDORSEMENT) and to compare an EK's attributes.
 */
void tpm2_ek_template_rsa2048(TPMT_PUBLIC *ret);
void tpm2_ek_template_ecc_p256(TPMT_PUBLIC *ret);

#endif
