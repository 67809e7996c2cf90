// SPDX-License-Identifier: LGPL-2.1-or-later
/* Policy digests in software, TPM 2.0 Part 3 23; see tpm2-policy.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "macro.h"
#include "tpm2-crypto.h"
#include "tpm2-policy.h"

static int check(const struct tpm2_policy *p)
{
	if (!p)
		return -EINVAL;
	if (!tpm2_hash_size(p->alg))
		return -ENOTSUP;
	if (p->digest.size != tpm2_hash_size(p->alg))
		return -EINVAL;
	return 0;
}

static bool name_ok(const TPM2B_NAME *n)
{
	return n && n->size && n->size <= sizeof(n->name);
}

int tpm2_policy_init(struct tpm2_policy *p, TPMI_ALG_HASH alg)
{
	size_t hs = tpm2_hash_size(alg);

	if (!p)
		return -EINVAL;
	if (!hs)
		return -ENOTSUP;
	memset(p, 0, sizeof(*p));
	p->alg = alg;
	p->digest.size = hs;
	return 0;
}

/*
 * digest = H(digest || cc || parts...): the update every policy command
 * makes (Part 3 23.1); from_zero starts from zeros instead of the current
 * digest (PolicyOR, PolicyAuthorize, PolicyAuthorizeNV).
 */
static int extend(struct tpm2_policy *p, bool from_zero, TPM2_CC cc,
		  const struct tpm2_buf *parts, size_t n)
{
	struct tpm2_buf all[2 + 10];
	uint8_t ccb[4];
	size_t off = 0;
	int r;

	r = check(p);
	if (r < 0)
		return r;
	if (n > 10)
		return -EINVAL;
	if (from_zero)
		memset(p->digest.buffer, 0, p->digest.size);
	(void)Tss2_MU_TPM2_CC_Marshal(cc, ccb, sizeof(ccb), &off);
	all[0] = (struct tpm2_buf){ p->digest.buffer, p->digest.size };
	all[1] = (struct tpm2_buf){ ccb, sizeof(ccb) };
	for (size_t i = 0; i < n; i++)
		all[2 + i] = parts[i];
	return tpm2_hashv(p->alg, all, 2 + n, p->digest.buffer);
}

/* PolicyUpdate's second step, Part 3 23.2.3: digest = H(digest || policyRef). */
static int update_ref(struct tpm2_policy *p, const uint8_t *ref, size_t ref_len)
{
	struct tpm2_buf all[2] = {
		{ p->digest.buffer, p->digest.size },
		{ ref, ref_len },
	};

	return tpm2_hashv(p->alg, all, 2, p->digest.buffer);
}

int tpm2_pcr_digest(TPMI_ALG_HASH alg, const TPM2B_DIGEST *values, size_t n,
		    TPM2B_DIGEST *ret)
{
	struct tpm2_buf parts[64];
	size_t hs = tpm2_hash_size(alg);
	int r;

	if (!ret || (n && !values))
		return -EINVAL;
	if (!hs)
		return -ENOTSUP;
	if (n > ARRAY_SIZE(parts))
		return -EMSGSIZE;
	for (size_t i = 0; i < n; i++) {
		if (values[i].size > sizeof(values[i].buffer))
			return -EINVAL;
		parts[i] = (struct tpm2_buf){ values[i].buffer, values[i].size };
	}
	r = tpm2_hashv(alg, parts, n, ret->buffer);
	if (r < 0)
		return r;
	ret->size = hs;
	return 0;
}

int tpm2_policy_pcr(struct tpm2_policy *p, const TPML_PCR_SELECTION *sel,
		    const TPM2B_DIGEST *pcr_digest)
{
	uint8_t buf[sizeof(TPML_PCR_SELECTION)];
	size_t off = 0;

	if (!sel || !pcr_digest || pcr_digest->size > sizeof(pcr_digest->buffer))
		return -EINVAL;
	if (Tss2_MU_TPML_PCR_SELECTION_Marshal(sel, buf, sizeof(buf), &off))
		return -EINVAL;
	/* Part 3 23.7: H(d || CC || pcrs || digestTPM). */
	return extend(p, false, TPM2_CC_PolicyPCR,
		      (struct tpm2_buf[]){ { buf, off },
					   { pcr_digest->buffer, pcr_digest->size } },
		      2);
}

int tpm2_policy_pcr_values(struct tpm2_policy *p,
			   const TPML_PCR_SELECTION *sel,
			   const TPM2B_DIGEST *values, size_t n)
{
	TPM2B_DIGEST d;
	int r;

	r = check(p);
	if (r < 0)
		return r;
	r = tpm2_pcr_digest(p->alg, values, n, &d);
	if (r < 0)
		return r;
	return tpm2_policy_pcr(p, sel, &d);
}

int tpm2_policy_nv(struct tpm2_policy *p, const TPM2B_NAME *nv_name,
		   const uint8_t *operand, size_t operand_len, uint16_t offset,
		   TPM2_EO operation)
{
	uint8_t tail[4], args[TPM2_SHA512_DIGEST_SIZE];
	size_t off = 0;
	int r;

	r = check(p);
	if (r < 0)
		return r;
	if (!name_ok(nv_name) || (operand_len && !operand))
		return -EINVAL;
	if (operand_len > sizeof(((TPM2B_OPERAND *)0)->buffer))
		return -EMSGSIZE;
	(void)Tss2_MU_UINT16_Marshal(offset, tail, sizeof(tail), &off);
	(void)Tss2_MU_UINT16_Marshal(operation, tail, sizeof(tail), &off);
	/* Part 3 23.9: args = H(operandB.buffer || offset || operation). */
	r = tpm2_hashv(p->alg,
		       (struct tpm2_buf[]){ { operand, operand_len }, { tail, 4 } },
		       2, args);
	if (r < 0)
		return r;
	return extend(p, false, TPM2_CC_PolicyNV,
		      (struct tpm2_buf[]){ { args, p->digest.size },
					   { nv_name->name, nv_name->size } },
		      2);
}

int tpm2_policy_command_code(struct tpm2_policy *p, TPM2_CC code)
{
	uint8_t b[4];
	size_t off = 0;

	(void)Tss2_MU_TPM2_CC_Marshal(code, b, sizeof(b), &off);
	return extend(p, false, TPM2_CC_PolicyCommandCode,
		      (struct tpm2_buf[]){ { b, 4 } }, 1);
}

int tpm2_policy_auth_value(struct tpm2_policy *p)
{
	/* Part 3 23.17/23.18: PolicyPassword extends with PolicyAuthValue's code. */
	return extend(p, false, TPM2_CC_PolicyAuthValue, NULL, 0);
}

/* PolicyUpdate (Part 3 23.2.3) with an object name and a policyRef. */
static int policy_update(struct tpm2_policy *p, bool from_zero, TPM2_CC cc,
			 const TPM2B_NAME *name, const uint8_t *ref,
			 size_t ref_len)
{
	int r;

	if (!name_ok(name) || (ref_len && !ref))
		return -EINVAL;
	if (ref_len > sizeof(((TPM2B_NONCE *)0)->buffer))
		return -EMSGSIZE;
	r = extend(p, from_zero, cc,
		   (struct tpm2_buf[]){ { name->name, name->size } }, 1);
	if (r < 0)
		return r;
	return update_ref(p, ref, ref_len);
}

int tpm2_policy_secret(struct tpm2_policy *p, const TPM2B_NAME *auth_name,
		       const uint8_t *policy_ref, size_t ref_len)
{
	return policy_update(p, false, TPM2_CC_PolicySecret, auth_name,
			     policy_ref, ref_len);
}

int tpm2_policy_signed(struct tpm2_policy *p, const TPM2B_NAME *key_name,
		       const uint8_t *policy_ref, size_t ref_len)
{
	return policy_update(p, false, TPM2_CC_PolicySigned, key_name,
			     policy_ref, ref_len);
}

int tpm2_policy_authorize(struct tpm2_policy *p, const TPM2B_NAME *key_name,
			  const uint8_t *policy_ref, size_t ref_len)
{
	return policy_update(p, true, TPM2_CC_PolicyAuthorize, key_name,
			     policy_ref, ref_len);
}

int tpm2_policy_signed_ahash(TPMI_ALG_HASH alg, const uint8_t *nonce_tpm,
			     size_t nonce_len, int32_t expiration,
			     const uint8_t *cp_hash, size_t cp_len,
			     const uint8_t *policy_ref, size_t ref_len,
			     TPM2B_DIGEST *ret)
{
	uint8_t exp[4];
	size_t off = 0;
	int r;

	if (!ret || (nonce_len && !nonce_tpm) || (cp_len && !cp_hash) ||
	    (ref_len && !policy_ref))
		return -EINVAL;
	if (!tpm2_hash_size(alg))
		return -ENOTSUP;
	(void)Tss2_MU_INT32_Marshal(expiration, exp, sizeof(exp), &off);
	/* Part 3 23.3: aHash = H(nonceTPM || expiration || cpHashA || policyRef). */
	r = tpm2_hashv(alg,
		       (struct tpm2_buf[]){ { nonce_tpm, nonce_len }, { exp, 4 },
					    { cp_hash, cp_len },
					    { policy_ref, ref_len } },
		       4, ret->buffer);
	if (r < 0)
		return r;
	ret->size = tpm2_hash_size(alg);
	return 0;
}

int tpm2_policy_authorize_ahash(TPMI_ALG_HASH alg,
				const TPM2B_DIGEST *approved,
				const uint8_t *policy_ref, size_t ref_len,
				TPM2B_DIGEST *ret)
{
	int r;

	if (!approved || !ret || approved->size > sizeof(approved->buffer) ||
	    (ref_len && !policy_ref))
		return -EINVAL;
	if (!tpm2_hash_size(alg))
		return -ENOTSUP;
	/* Part 3 23.16: aHash = H(approvedPolicy || policyRef). */
	r = tpm2_hashv(alg,
		       (struct tpm2_buf[]){ { approved->buffer, approved->size },
					    { policy_ref, ref_len } },
		       2, ret->buffer);
	if (r < 0)
		return r;
	ret->size = tpm2_hash_size(alg);
	return 0;
}

int tpm2_policy_authorize_nv(struct tpm2_policy *p, const TPM2B_NAME *nv_name)
{
	if (!name_ok(nv_name))
		return -EINVAL;
	return extend(p, true, TPM2_CC_PolicyAuthorizeNV,
		      (struct tpm2_buf[]){ { nv_name->name, nv_name->size } }, 1);
}

int tpm2_policy_or(struct tpm2_policy *p, const TPM2B_DIGEST *branches,
		   size_t n)
{
	struct tpm2_buf parts[8];
	int r;

	r = check(p);
	if (r < 0)
		return r;
	/* Part 3 23.6: 2 to 8 digests (TPML_DIGEST). */
	if (!branches || n < 2 || n > ARRAY_SIZE(parts))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (branches[i].size != p->digest.size)
			return -EINVAL;
		parts[i] = (struct tpm2_buf){ branches[i].buffer, branches[i].size };
	}
	return extend(p, true, TPM2_CC_PolicyOR, parts, n);
}
