/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policy digests computed in software, TPM 2.0 Part 3 23 "Enhanced
 * Authorization (EA) Commands": each function extends the digest exactly as
 * the TPM does for the same command in a trial session, so the result can be
 * put in an object's authPolicy or an NV index's policy, or signed for
 * PolicyAuthorize.  Every update is
 *	policyDigest' = H(policyDigest || TPM_CC_PolicyX || args)
 * (PolicyOR, PolicyAuthorize and PolicyAuthorizeNV start from zeros).
 *
 *	struct tpm2_policy p;
 *	tpm2_policy_init(&p, TPM2_ALG_SHA256);
 *	tpm2_policy_pcr_values(&p, &sel, values, n);
 *	tpm2_policy_nv(&p, &epoch_name, epoch, 8, 0, TPM2_EO_UNSIGNED_LE);
 *	... p.digest is the authPolicy
 *
 * Return values: 0 or a negative errno (-EINVAL, -ENOTSUP unknown hash,
 * -EMSGSIZE argument too large, -EIO).
 */
#ifndef MCIM_TPM2_POLICY_H
#define MCIM_TPM2_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

struct tpm2_policy {
	TPMI_ALG_HASH alg;	/* the session's hash (sha256) */
	TPM2B_DIGEST digest;	/* current policyDigest */
};

/* Starts a policy: digest = H-size zeros (Part 3 11.1: a policy session starts so). */
int tpm2_policy_init(struct tpm2_policy *p, TPMI_ALG_HASH alg);

/*
 * The PCR digest TPM2_PolicyPCR and TPM2_Quote use (Part 3 23.7, 18.4):
 * H_alg(value[0] || value[1] || ...), the values in selection order (bank by
 * bank as listed, PCR index ascending within a bank).
 */
int tpm2_pcr_digest(TPMI_ALG_HASH alg, const TPM2B_DIGEST *values, size_t n,
		    TPM2B_DIGEST *ret);

/* PolicyPCR (Part 3 23.7): H(d || CC || TPML_PCR_SELECTION || pcrDigest). */
int tpm2_policy_pcr(struct tpm2_policy *p, const TPML_PCR_SELECTION *sel,
		    const TPM2B_DIGEST *pcr_digest);

/* PolicyPCR with the digest of values computed with p->alg. */
int tpm2_policy_pcr_values(struct tpm2_policy *p,
			   const TPML_PCR_SELECTION *sel,
			   const TPM2B_DIGEST *values, size_t n);

/*
 * PolicyNV (Part 3 23.9): args = H(operandB || offset[16] || operation[16]),
 * d' = H(d || CC || args || nvIndex name).  nv_name from tpm2_nv_name() with
 * TPMA_NV_WRITTEN set.
 */
int tpm2_policy_nv(struct tpm2_policy *p, const TPM2B_NAME *nv_name,
		   const uint8_t *operand, size_t operand_len, uint16_t offset,
		   TPM2_EO operation);

/* PolicyCommandCode (Part 3 23.11): H(d || CC || code). */
int tpm2_policy_command_code(struct tpm2_policy *p, TPM2_CC code);

/* PolicyAuthValue (23.17) and PolicyPassword (23.18): same digest, H(d || CC_PolicyAuthValue). */
int tpm2_policy_auth_value(struct tpm2_policy *p);

/*
 * PolicySecret (Part 3 23.4): d' = H(d || CC || authObject name), then
 * PolicyUpdate's d'' = H(d' || policyRef).  Name of a hierarchy: its handle
 * (tpm2_handle_name()).  PolicySecret(TPM_RH_ENDORSEMENT) from zeros is the
 * TCG EK policy 837197674484B3F8....
 */
int tpm2_policy_secret(struct tpm2_policy *p, const TPM2B_NAME *auth_name,
		       const uint8_t *policy_ref, size_t ref_len);

/* PolicySigned (Part 3 23.3): as PolicySecret with the signing key's name. */
int tpm2_policy_signed(struct tpm2_policy *p, const TPM2B_NAME *key_name,
		       const uint8_t *policy_ref, size_t ref_len);

/*
 * The aHash a PolicySigned authority signs (Part 3 23.3):
 * H_alg(nonceTPM || expiration[32] || cpHashA || policyRef).
 */
int tpm2_policy_signed_ahash(TPMI_ALG_HASH alg, const uint8_t *nonce_tpm,
			     size_t nonce_len, int32_t expiration,
			     const uint8_t *cp_hash, size_t cp_len,
			     const uint8_t *policy_ref, size_t ref_len,
			     TPM2B_DIGEST *ret);

/*
 * PolicyAuthorize (Part 3 23.16): d' = H(zeros || CC || keySign name), then
 * H(d' || policyRef).  The TPM only accepts it when the session's current
 * digest is an approvedPolicy with a ticket from TPM2_VerifySignature over
 * tpm2_policy_authorize_ahash(); the trial digest does not depend on it.
 */
int tpm2_policy_authorize(struct tpm2_policy *p, const TPM2B_NAME *key_name,
			  const uint8_t *policy_ref, size_t ref_len);

/*
 * What the operator signs to approve a policy for PolicyAuthorize
 * (Part 3 23.16): aHash = H_alg(approvedPolicy || policyRef), alg = the
 * signing scheme's hash (the same alg goes into TPM2_VerifySignature).
 */
int tpm2_policy_authorize_ahash(TPMI_ALG_HASH alg,
				const TPM2B_DIGEST *approved,
				const uint8_t *policy_ref, size_t ref_len,
				TPM2B_DIGEST *ret);

/* PolicyAuthorizeNV (Part 3 23.22): d' = H(zeros || CC || nvIndex name). */
int tpm2_policy_authorize_nv(struct tpm2_policy *p, const TPM2B_NAME *nv_name);

/*
 * PolicyOR (Part 3 23.6): d' = H(zeros || CC || branch[0] || ... ), 2 to 8
 * branches of p->alg's size.  The TPM requires the current digest to be one
 * of the branches; the software (trial) computation does not check it.
 */
int tpm2_policy_or(struct tpm2_policy *p, const TPM2B_DIGEST *branches,
		   size_t n);

#endif
