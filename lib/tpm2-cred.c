// SPDX-License-Identifier: LGPL-2.1-or-later
/* TPM2_MakeCredential in software and the TCG EK templates; see tpm2-cred.h. */
#include <errno.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "macro.h"
#include "tpm2-cred.h"
#include "tpm2-crypto.h"
#include "tpm2-dup.h"

/* PolicySecret(TPM_RH_ENDORSEMENT), TCG EK Credential Profile 2.0, Annex B. */
static const uint8_t ek_policy[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc,
	0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52,
	0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

/* TCG EK Credential Profile 2.0, Annex B: attributes and symmetric of templates L-1/L-2. */
static void ek_common(TPMT_PUBLIC *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->nameAlg = TPM2_ALG_SHA256;
	ret->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				TPMA_OBJECT_SENSITIVEDATAORIGIN |
				TPMA_OBJECT_ADMINWITHPOLICY |
				TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	memcpy(ret->authPolicy.buffer, ek_policy, sizeof(ek_policy));
	ret->authPolicy.size = sizeof(ek_policy);
	ret->parameters.asymDetail.symmetric.algorithm = TPM2_ALG_AES;
	ret->parameters.asymDetail.symmetric.keyBits.aes = 128;
	ret->parameters.asymDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	ret->parameters.asymDetail.scheme.scheme = TPM2_ALG_NULL;
}

void tpm2_ek_template_rsa2048(TPMT_PUBLIC *ret)
{
	ek_common(ret);
	ret->type = TPM2_ALG_RSA;
	ret->parameters.rsaDetail.keyBits = 2048;
	ret->parameters.rsaDetail.exponent = 0;
	ret->unique.rsa.size = 256;
}

void tpm2_ek_template_ecc_p256(TPMT_PUBLIC *ret)
{
	ek_common(ret);
	ret->type = TPM2_ALG_ECC;
	ret->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	ret->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	ret->unique.ecc.x.size = 32;
	ret->unique.ecc.y.size = 32;
}

/* The EK must be a storage key with an AES-CFB symmetric (Part 3 12.6). */
static int ek_sym_bits(const TPMT_PUBLIC *ek, uint16_t *ret_bits)
{
	const TPMT_SYM_DEF_OBJECT *sym = &ek->parameters.asymDetail.symmetric;
	TPMA_OBJECT a = ek->objectAttributes;

	if (ek->type != TPM2_ALG_RSA && ek->type != TPM2_ALG_ECC)
		return -ENOTSUP;
	if (!(a & TPMA_OBJECT_RESTRICTED) || !(a & TPMA_OBJECT_DECRYPT))
		return -EINVAL;
	if (sym->algorithm != TPM2_ALG_AES || sym->mode.aes != TPM2_ALG_CFB)
		return -ENOTSUP;
	*ret_bits = sym->keyBits.aes;
	return 0;
}

int tpm2_make_credential_with_seed(const TPMT_PUBLIC *ek,
				   const TPM2B_NAME *ak_name,
				   const uint8_t *secret, size_t secret_len,
				   const uint8_t *seed, size_t seed_len,
				   TPM2B_ID_OBJECT *ret_cred)
{
	uint8_t plain[sizeof(TPM2B_DIGEST)];
	TPM2B_DIGEST cv = { 0 };
	uint16_t bits;
	size_t off = 0, len = 0;
	int r;

	if (!ek || !ak_name || !secret || !seed || !ret_cred)
		return -EINVAL;
	/* Part 3 12.6: credential is a TPM2B_DIGEST, at most H(nameAlg) long. */
	if (!secret_len || secret_len > tpm2_hash_size(ek->nameAlg) ||
	    seed_len != tpm2_hash_size(ek->nameAlg) || !ak_name->size ||
	    ak_name->size > sizeof(ak_name->name))
		return -EINVAL;
	r = ek_sym_bits(ek, &bits);
	if (r < 0)
		return r;
	memcpy(cv.buffer, secret, secret_len);
	cv.size = secret_len;
	if (Tss2_MU_TPM2B_DIGEST_Marshal(&cv, plain, sizeof(plain), &off)) {
		r = -EIO;
		goto out;
	}
	/* Part 1 24: credentialBlob = TPM2B_DIGEST(integrity) || encIdentity. */
	r = tpm2_outer_wrap(ek->nameAlg, bits, seed, seed_len, ak_name, plain, off,
			    ret_cred->credential, sizeof(ret_cred->credential), &len);
	if (r < 0)
		goto out;
	ret_cred->size = len;
out:
	wipe(&cv, sizeof(cv));
	wipe(plain, sizeof(plain));
	return r;
}

int tpm2_make_credential(const TPMT_PUBLIC *ek, const TPM2B_NAME *ak_name,
			 const uint8_t *secret, size_t secret_len,
			 TPM2B_ID_OBJECT *ret_cred,
			 TPM2B_ENCRYPTED_SECRET *ret_secret)
{
	uint8_t seed[TPM2_SEED_MAX];
	size_t seed_len = 0;
	uint16_t bits;
	int r;

	if (!ek || !ret_secret)
		return -EINVAL;
	r = ek_sym_bits(ek, &bits);
	if (r < 0)
		return r;
	/* Part 1 24: the seed is shared with the EK under label "IDENTITY". */
	r = tpm2_seed_new(ek, "IDENTITY", seed, &seed_len, ret_secret);
	if (r < 0)
		return r;
	r = tpm2_make_credential_with_seed(ek, ak_name, secret, secret_len, seed,
					   seed_len, ret_cred);
	wipe(seed, sizeof(seed));
	return r;
}
