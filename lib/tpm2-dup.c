// SPDX-License-Identifier: LGPL-2.1-or-later
/* Sender side of TPM 2.0 duplication; see tpm2-dup.h. */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "macro.h"
#include "tpm2-crypto.h"
#include "tpm2-dup.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MAC *, EVP_MAC_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MAC_CTX *, EVP_MAC_CTX_free)

/* Common part of the sensitive area: seedValue and authValue. */
static int sensitive_init(TPMI_ALG_PUBLIC type, const uint8_t *auth,
			  size_t auth_len, TPMI_ALG_HASH name_alg,
			  TPMT_SENSITIVE *ret)
{
	size_t hs = tpm2_hash_size(name_alg);

	if (!hs)
		return -ENOTSUP;
	if (auth_len > hs || (auth_len && !auth))
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	ret->sensitiveType = type;
	if (auth_len)
		memcpy(ret->authValue.buffer, auth, auth_len);
	ret->authValue.size = auth_len;
	/* Part 2 12.3.2.4 TPMT_SENSITIVE: seedValue, the obfuscation value, of nameAlg digest size. */
	if (RAND_bytes(ret->seedValue.buffer, hs) != 1) {
		wipe(ret, sizeof(*ret));
		return -EIO;
	}
	ret->seedValue.size = hs;
	return 0;
}

int tpm2_sensitive_symcipher(const uint8_t *key, size_t key_len,
			     const uint8_t *auth, size_t auth_len,
			     TPMI_ALG_HASH name_alg, TPMT_SENSITIVE *ret)
{
	int r;

	if (!key || !ret || (key_len != 16 && key_len != 24 && key_len != 32))
		return -EINVAL;
	r = sensitive_init(TPM2_ALG_SYMCIPHER, auth, auth_len, name_alg, ret);
	if (r < 0)
		return r;
	memcpy(ret->sensitive.sym.buffer, key, key_len);
	ret->sensitive.sym.size = key_len;
	return 0;
}

int tpm2_sensitive_keyedhash(const uint8_t *data, size_t data_len,
			     const uint8_t *auth, size_t auth_len,
			     TPMI_ALG_HASH name_alg, TPMT_SENSITIVE *ret)
{
	int r;

	/* MAX_SYM_DATA (TPM2B_SENSITIVE_DATA) is 128 on TPMs (tss2 allows 256). */
	if (!data || !ret || !data_len || data_len > 128)
		return -EINVAL;
	r = sensitive_init(TPM2_ALG_KEYEDHASH, auth, auth_len, name_alg, ret);
	if (r < 0)
		return r;
	memcpy(ret->sensitive.bits.buffer, data, data_len);
	ret->sensitive.bits.size = data_len;
	return 0;
}

int tpm2_public_bind(TPMT_PUBLIC *pub, const TPMT_SENSITIVE *sens)
{
	const TPM2B_DIGEST *seed;
	struct tpm2_buf parts[2];
	TPM2B_DIGEST *unique;
	size_t hs;
	int r;

	if (!pub || !sens || pub->type != sens->sensitiveType)
		return -EINVAL;
	hs = tpm2_hash_size(pub->nameAlg);
	if (!hs)
		return -ENOTSUP;
	seed = &sens->seedValue;
	if (seed->size != hs)
		return -EINVAL;
	parts[0] = (struct tpm2_buf){ seed->buffer, seed->size };
	if (pub->type == TPM2_ALG_SYMCIPHER) {
		if (sens->sensitive.sym.size > sizeof(sens->sensitive.sym.buffer))
			return -EINVAL;
		parts[1] = (struct tpm2_buf){ sens->sensitive.sym.buffer,
					      sens->sensitive.sym.size };
		unique = &pub->unique.sym;
	} else if (pub->type == TPM2_ALG_KEYEDHASH) {
		if (sens->sensitive.bits.size > sizeof(sens->sensitive.bits.buffer))
			return -EINVAL;
		parts[1] = (struct tpm2_buf){ sens->sensitive.bits.buffer,
					      sens->sensitive.bits.size };
		unique = &pub->unique.keyedHash;
	} else {
		return -ENOTSUP;
	}
	/* Part 2 12.2.3.2 TPMU_PUBLIC_ID: unique = H_nameAlg(seedValue || sensitive). */
	r = tpm2_hashv(pub->nameAlg, parts, 2, unique->buffer);
	if (r < 0)
		return r;
	unique->size = hs;
	return 0;
}

/* authPolicy and the user-role attributes for a policy (or no policy). */
static int set_policy(TPMT_PUBLIC *pub, const TPM2B_DIGEST *policy)
{
	if (policy && policy->size) {
		if (policy->size != tpm2_hash_size(pub->nameAlg))
			return -EINVAL;
		pub->authPolicy = *policy;
		/* Part 2 8.3 TPMA_OBJECT: USER role only through the policy. */
		pub->objectAttributes |= TPMA_OBJECT_ADMINWITHPOLICY;
	} else {
		pub->objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	}
	return 0;
}

static TPMI_ALG_HASH sens_name_alg(const TPMT_SENSITIVE *sens)
{
	switch (sens->seedValue.size) {
	case TPM2_SHA1_DIGEST_SIZE:
		return TPM2_ALG_SHA1;
	case TPM2_SHA256_DIGEST_SIZE:
		return TPM2_ALG_SHA256;
	case TPM2_SHA384_DIGEST_SIZE:
		return TPM2_ALG_SHA384;
	case TPM2_SHA512_DIGEST_SIZE:
		return TPM2_ALG_SHA512;
	default:
		return TPM2_ALG_NULL;
	}
}

int tpm2_template_aes128_sign(const TPM2B_DIGEST *policy,
			      TPMI_ALG_SYM_MODE mode,
			      const TPMT_SENSITIVE *sens, TPMT_PUBLIC *ret)
{
	TPMS_SYMCIPHER_PARMS *sp;
	int r;

	if (!sens || !ret || sens->sensitiveType != TPM2_ALG_SYMCIPHER ||
	    sens->sensitive.sym.size != 16)
		return -EINVAL;
	if (mode != TPM2_ALG_NULL && mode != TPM2_ALG_ECB && mode != TPM2_ALG_CFB &&
	    mode != TPM2_ALG_CBC && mode != TPM2_ALG_OFB && mode != TPM2_ALG_CTR)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	ret->type = TPM2_ALG_SYMCIPHER;
	ret->nameAlg = sens_name_alg(sens);
	if (ret->nameAlg == TPM2_ALG_NULL)
		return -EINVAL;
	/*
	 * Part 3 15.2/15.3: encryption needs sign SET, decryption decrypt SET; with
	 * sign only, the TPM computes E_K but never D_K.  Not fixedTPM or
	 * fixedParent (Part 3 13.3: an imported object cannot have them).
	 */
	ret->objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_NODA;
	sp = &ret->parameters.symDetail;
	sp->sym.algorithm = TPM2_ALG_AES;
	sp->sym.keyBits.aes = 128;
	sp->sym.mode.aes = mode;
	r = set_policy(ret, policy);
	if (r < 0)
		return r;
	return tpm2_public_bind(ret, sens);
}

int tpm2_template_sealed(const TPM2B_DIGEST *policy,
			 const TPMT_SENSITIVE *sens, TPMT_PUBLIC *ret)
{
	int r;

	if (!sens || !ret || sens->sensitiveType != TPM2_ALG_KEYEDHASH)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	ret->type = TPM2_ALG_KEYEDHASH;
	ret->nameAlg = sens_name_alg(sens);
	if (ret->nameAlg == TPM2_ALG_NULL)
		return -EINVAL;
	/* Part 2 8.3 TPMA_OBJECT: sign and decrypt CLEAR make a sealed data object. */
	ret->objectAttributes = TPMA_OBJECT_NODA;
	ret->parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	r = set_policy(ret, policy);
	if (r < 0)
		return r;
	return tpm2_public_bind(ret, sens);
}

static int aes_cfb_encrypt(const uint8_t *key, size_t key_len,
			   const uint8_t *in, size_t len, uint8_t *out)
{
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	static const uint8_t iv[16];
	const EVP_CIPHER *c;
	int l1 = 0, l2 = 0;

	switch (key_len) {
	case 16:
		c = EVP_aes_128_cfb128();
		break;
	case 24:
		c = EVP_aes_192_cfb128();
		break;
	case 32:
		c = EVP_aes_256_cfb128();
		break;
	default:
		return -ENOTSUP;
	}
	if (!ctx)
		return -ENOMEM;
	if (!EVP_EncryptInit_ex(ctx, c, NULL, key, iv) ||
	    !EVP_EncryptUpdate(ctx, out, &l1, in, len) ||
	    !EVP_EncryptFinal_ex(ctx, out + l1, &l2) || (size_t)(l1 + l2) != len)
		return -EIO;
	return 0;
}

/* out = HMAC_md(key, a || b), out_len bytes. */
static int hmac2(const EVP_MD *md, const uint8_t *key, size_t key_len,
		 const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
		 uint8_t *out, size_t out_len)
{
	_cleanup_(EVP_MAC_freep) EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	_cleanup_(EVP_MAC_CTX_freep) EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t len = 0;

	if (!mac)
		return -ENOTSUP;
	ctx = EVP_MAC_CTX_new(mac);
	if (!ctx)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)EVP_MD_get0_name(md), 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, key, key_len, params) ||
	    !EVP_MAC_update(ctx, a, a_len) || !EVP_MAC_update(ctx, b, b_len) ||
	    !EVP_MAC_final(ctx, out, &len, out_len) || len != out_len)
		return -EIO;
	return 0;
}

int tpm2_outer_wrap(TPMI_ALG_HASH name_alg, uint16_t sym_bits,
		    const uint8_t *seed, size_t seed_len,
		    const TPM2B_NAME *name, const uint8_t *plain,
		    size_t plain_len, uint8_t *out, size_t out_max,
		    size_t *ret_len)
{
	const EVP_MD *md = tpm2_hash_md(name_alg);
	size_t hs = tpm2_hash_size(name_alg);
	uint8_t sym_key[32], hmac_key[TPM2_SEED_MAX];
	size_t off = 0;
	int r;

	if (!md)
		return -ENOTSUP;
	if (!seed || !seed_len || !name || name->size > sizeof(name->name) ||
	    !plain || !out || !ret_len || sym_bits % 8 || sym_bits / 8 > sizeof(sym_key))
		return -EINVAL;
	if (2 + hs + plain_len > out_max)
		return -EMSGSIZE;
	/* Part 1 23.3.2.3 / 24.4: symKey and HMACkey from the seed. */
	r = tpm2_kdfa(name_alg, seed, seed_len, "STORAGE", name->name, name->size,
		      NULL, 0, sym_key, sym_bits / 8);
	if (r < 0)
		goto out;
	r = tpm2_kdfa(name_alg, seed, seed_len, "INTEGRITY", NULL, 0, NULL, 0,
		      hmac_key, hs);
	if (r < 0)
		goto out;
	/* out = TPM2B_DIGEST(outerHMAC) || encrypted data */
	r = aes_cfb_encrypt(sym_key, sym_bits / 8, plain, plain_len, out + 2 + hs);
	if (r < 0)
		goto out;
	/* outerHMAC = HMAC(HMACkey, encrypted || name) */
	r = hmac2(md, hmac_key, hs, out + 2 + hs, plain_len, name->name,
		  name->size, out + 2, hs);
	if (r < 0)
		goto out;
	if (Tss2_MU_UINT16_Marshal(hs, out, 2, &off)) {
		r = -EIO;
		goto out;
	}
	*ret_len = 2 + hs + plain_len;
	r = 0;
out:
	wipe(sym_key, sizeof(sym_key));
	wipe(hmac_key, sizeof(hmac_key));
	return r;
}

/* Checks the new parent and returns its AES key size in bits. */
static int parent_sym_bits(const TPMT_PUBLIC *parent, uint16_t *ret_bits)
{
	const TPMT_SYM_DEF_OBJECT *sym = &parent->parameters.asymDetail.symmetric;
	TPMA_OBJECT a = parent->objectAttributes;

	if (parent->type != TPM2_ALG_RSA && parent->type != TPM2_ALG_ECC)
		return -ENOTSUP;
	/* Part 1 "Protected Storage": a parent is a restricted decryption key. */
	if (!(a & TPMA_OBJECT_RESTRICTED) || !(a & TPMA_OBJECT_DECRYPT) ||
	    (a & TPMA_OBJECT_SIGN_ENCRYPT))
		return -EINVAL;
	if (sym->algorithm != TPM2_ALG_AES || sym->mode.aes != TPM2_ALG_CFB)
		return -ENOTSUP;
	*ret_bits = sym->keyBits.aes;
	return 0;
}

int tpm2_duplicate_with_seed(const TPMT_PUBLIC *new_parent,
			     const TPMT_PUBLIC *object,
			     const TPMT_SENSITIVE *sens, const uint8_t *seed,
			     size_t seed_len, TPM2B_PRIVATE *ret_duplicate)
{
	uint8_t plain[sizeof(TPM2B_SENSITIVE)];
	TPM2B_SENSITIVE s2b = { 0 };
	TPM2B_NAME name;
	uint16_t bits;
	size_t off = 0, len = 0;
	int r;

	if (!new_parent || !object || !sens || !seed || !ret_duplicate)
		return -EINVAL;
	if (seed_len != tpm2_hash_size(new_parent->nameAlg))
		return -EINVAL;
	/*
	 * Part 3 13.3 TPM2_Import: without an inner wrapper the object may not
	 * require encryptedDuplication; fixedTPM / fixedParent objects are
	 * never duplicated.
	 */
	if (object->objectAttributes & (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					TPMA_OBJECT_ENCRYPTEDDUPLICATION))
		return -EINVAL;
	if (object->type != sens->sensitiveType)
		return -EINVAL;
	r = parent_sym_bits(new_parent, &bits);
	if (r < 0)
		return r;
	r = tpm2_public_name(object, &name);
	if (r < 0)
		return r;
	/* Part 1 23.3: no inner wrapper, the plaintext is TPM2B_SENSITIVE. */
	s2b.sensitiveArea = *sens;
	if (Tss2_MU_TPM2B_SENSITIVE_Marshal(&s2b, plain, sizeof(plain), &off)) {
		r = -EINVAL;
		goto out;
	}
	r = tpm2_outer_wrap(new_parent->nameAlg, bits, seed, seed_len, &name,
			    plain, off, ret_duplicate->buffer,
			    sizeof(ret_duplicate->buffer), &len);
	if (r < 0)
		goto out;
	ret_duplicate->size = len;
out:
	wipe(&s2b, sizeof(s2b));
	wipe(plain, sizeof(plain));
	return r;
}

int tpm2_duplicate(const TPMT_PUBLIC *new_parent, const TPMT_PUBLIC *object,
		   const TPMT_SENSITIVE *sens, TPM2B_PRIVATE *ret_duplicate,
		   TPM2B_ENCRYPTED_SECRET *ret_in_sym_seed)
{
	uint8_t seed[TPM2_SEED_MAX];
	size_t seed_len = 0;
	uint16_t bits;
	int r;

	if (!new_parent || !object || !sens || !ret_duplicate || !ret_in_sym_seed)
		return -EINVAL;
	r = parent_sym_bits(new_parent, &bits);
	if (r < 0)
		return r;
	r = tpm2_seed_new(new_parent, "DUPLICATE", seed, &seed_len, ret_in_sym_seed);
	if (r < 0)
		return r;
	r = tpm2_duplicate_with_seed(new_parent, object, sens, seed, seed_len,
				     ret_duplicate);
	wipe(seed, sizeof(seed));
	return r;
}
