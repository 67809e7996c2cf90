// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/tpm2-dup: templates, the unique binding, and the duplicate unwrapped
 * in software the way TPM2_Import does (Part 1 23.3: check outerHMAC,
 * decrypt with AES-CFB, unmarshal TPM2B_SENSITIVE).  The real TPM import is
 * in tests/integration/tpm2lib.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "tpm2-crypto.h"
#include "tpm2-dup.h"

static const uint8_t key16[16] = { 0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
				   0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc };

static void parent_public(TPMT_PUBLIC *pub)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	assert_int_equal(tpm2_public_from_evp(k, TPM2_ALG_SHA256,
					      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
					      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT,
					      pub), 0);
	pub->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	pub->parameters.eccDetail.symmetric.keyBits.aes = 128;
	pub->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	EVP_PKEY_free(k);
}

/* Import's check and decryption, written out with OpenSSL (Part 1 23.3). */
static int unwrap(const uint8_t *seed, const TPMT_PUBLIC *obj,
		  const TPM2B_PRIVATE *dup, TPMT_SENSITIVE *out)
{
	uint8_t sym[16], hkey[32], mac[32], plain[sizeof(TPM2B_SENSITIVE)];
	uint8_t hin[sizeof(TPM2B_PRIVATE) + sizeof(TPM2B_NAME)];
	static const uint8_t iv[16];
	TPM2B_SENSITIVE s2b;
	TPM2B_NAME name;
	EVP_CIPHER_CTX *c;
	unsigned int ml = 0;
	size_t enc_len, off = 0;
	int l = 0;

	assert_int_equal(tpm2_public_name(obj, &name), 0);
	assert_int_equal(tpm2_kdfa(TPM2_ALG_SHA256, seed, 32, "STORAGE", name.name,
				   name.size, NULL, 0, sym, 16), 0);
	assert_int_equal(tpm2_kdfa(TPM2_ALG_SHA256, seed, 32, "INTEGRITY", NULL, 0,
				   NULL, 0, hkey, 32), 0);
	if (dup->size < 34 || dup->buffer[0] != 0 || dup->buffer[1] != 32)
		return -EBADMSG;
	enc_len = dup->size - 34;
	memcpy(hin, dup->buffer + 34, enc_len);
	memcpy(hin + enc_len, name.name, name.size);
	HMAC(EVP_sha256(), hkey, 32, hin, enc_len + name.size, mac, &ml);
	if (memcmp(mac, dup->buffer + 2, 32))
		return -EBADMSG;	/* TPM_RC_INTEGRITY */
	c = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_128_cfb128(), NULL, sym, iv), 1);
	assert_int_equal(EVP_DecryptUpdate(c, plain, &l, dup->buffer + 34, enc_len), 1);
	EVP_CIPHER_CTX_free(c);
	memset(&s2b, 0, sizeof(s2b));
	if (Tss2_MU_TPM2B_SENSITIVE_Unmarshal(plain, enc_len, &off, &s2b) || off != enc_len)
		return -EINVAL;
	*out = s2b.sensitiveArea;
	return 0;
}

static void test_sensitive_and_template(void **state)
{
	TPMT_SENSITIVE s;
	TPMT_PUBLIC pub;
	TPM2B_DIGEST policy = { .size = 32 };
	uint8_t h[32], in[64];

	(void)state;
	assert_int_equal(tpm2_sensitive_symcipher(key16, 16, NULL, 0, TPM2_ALG_SHA256, &s), 0);
	assert_int_equal(s.sensitiveType, TPM2_ALG_SYMCIPHER);
	assert_int_equal(s.seedValue.size, 32);
	assert_int_equal(s.authValue.size, 0);
	memset(policy.buffer, 0xab, 32);
	assert_int_equal(tpm2_template_aes128_sign(&policy, TPM2_ALG_ECB, &s, &pub), 0);
	assert_int_equal(pub.type, TPM2_ALG_SYMCIPHER);
	assert_int_equal(pub.objectAttributes,
			 TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_NODA | TPMA_OBJECT_ADMINWITHPOLICY);
	assert_int_equal(pub.parameters.symDetail.sym.mode.aes, TPM2_ALG_ECB);
	assert_memory_equal(pub.authPolicy.buffer, policy.buffer, 32);
	/* unique = SHA-256(seedValue || key), Part 2 12.2.3.2 */
	memcpy(in, s.seedValue.buffer, 32);
	memcpy(in + 32, key16, 16);
	SHA256(in, 48, h);
	assert_int_equal(pub.unique.sym.size, 32);
	assert_memory_equal(pub.unique.sym.buffer, h, 32);

	/* no policy: usable with the authValue */
	assert_int_equal(tpm2_template_aes128_sign(NULL, TPM2_ALG_NULL, &s, &pub), 0);
	assert_true(pub.objectAttributes & TPMA_OBJECT_USERWITHAUTH);
	assert_int_equal(pub.authPolicy.size, 0);

	/* sealed object */
	assert_int_equal(tpm2_sensitive_keyedhash((const uint8_t *)"K and OPc", 9,
						  (const uint8_t *)"pw", 2, TPM2_ALG_SHA256, &s), 0);
	assert_int_equal(tpm2_template_sealed(&policy, &s, &pub), 0);
	assert_int_equal(pub.type, TPM2_ALG_KEYEDHASH);
	assert_false(pub.objectAttributes & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT));
	memcpy(in, s.seedValue.buffer, 32);
	memcpy(in + 32, "K and OPc", 9);
	SHA256(in, 41, h);
	assert_memory_equal(pub.unique.keyedHash.buffer, h, 32);

	/* wrong sizes */
	assert_int_equal(tpm2_sensitive_symcipher(key16, 15, NULL, 0, TPM2_ALG_SHA256, &s), -EINVAL);
	assert_int_equal(tpm2_sensitive_keyedhash(key16, 129, NULL, 0, TPM2_ALG_SHA256, &s), -EINVAL);
	policy.size = 20;
	assert_int_equal(tpm2_sensitive_symcipher(key16, 16, NULL, 0, TPM2_ALG_SHA256, &s), 0);
	assert_int_equal(tpm2_template_aes128_sign(&policy, TPM2_ALG_ECB, &s, &pub), -EINVAL);
}

static void test_duplicate_unwraps(void **state)
{
	TPMT_PUBLIC parent, obj;
	TPMT_SENSITIVE s, back;
	TPM2B_PRIVATE dup;
	uint8_t seed[32];

	(void)state;
	parent_public(&parent);
	for (int i = 0; i < 32; i++)
		seed[i] = i * 7;
	assert_int_equal(tpm2_sensitive_symcipher(key16, 16, (const uint8_t *)"auth", 4,
						  TPM2_ALG_SHA256, &s), 0);
	assert_int_equal(tpm2_template_aes128_sign(NULL, TPM2_ALG_ECB, &s, &obj), 0);
	assert_int_equal(tpm2_duplicate_with_seed(&parent, &obj, &s, seed, 32, &dup), 0);
	/* TPM2B_DIGEST(HMAC) + TPM2B_SENSITIVE(2 + 2 + (2+4) + (2+32) + (2+16)) */
	assert_int_equal(dup.size, 34 + 62);
	assert_int_equal(unwrap(seed, &obj, &dup, &back), 0);
	assert_memory_equal(&back.sensitive.sym, &s.sensitive.sym, sizeof(s.sensitive.sym));
	assert_memory_equal(&back.seedValue, &s.seedValue, sizeof(s.seedValue));
	assert_memory_equal(&back.authValue, &s.authValue, sizeof(s.authValue));

	/* any flipped bit of the blob, or another public area, fails the HMAC */
	dup.buffer[40] ^= 0x10;
	assert_int_equal(unwrap(seed, &obj, &dup, &back), -EBADMSG);
	dup.buffer[40] ^= 0x10;
	obj.parameters.symDetail.sym.mode.aes = TPM2_ALG_CFB;
	assert_int_equal(unwrap(seed, &obj, &dup, &back), -EBADMSG);
	explicit_bzero(&s, sizeof(s));
}

static void test_duplicate_random_seed(void **state)
{
	TPMT_PUBLIC parent, obj;
	TPMT_SENSITIVE s;
	TPM2B_PRIVATE d1, d2;
	TPM2B_ENCRYPTED_SECRET e1, e2;

	(void)state;
	parent_public(&parent);
	assert_int_equal(tpm2_sensitive_keyedhash(key16, 16, NULL, 0, TPM2_ALG_SHA256, &s), 0);
	assert_int_equal(tpm2_template_sealed(NULL, &s, &obj), 0);
	assert_int_equal(tpm2_duplicate(&parent, &obj, &s, &d1, &e1), 0);
	assert_int_equal(tpm2_duplicate(&parent, &obj, &s, &d2, &e2), 0);
	/* TPMS_ECC_POINT of P-256: 2 + 32 + 2 + 32 */
	assert_int_equal(e1.size, 68);
	assert_int_equal(d1.size, d2.size);
	assert_memory_not_equal(d1.buffer, d2.buffer, d1.size);
	assert_memory_not_equal(e1.secret, e2.secret, e1.size);
}

static void test_duplicate_rejects(void **state)
{
	TPMT_PUBLIC parent, obj;
	TPMT_SENSITIVE s;
	TPM2B_PRIVATE d;
	TPM2B_ENCRYPTED_SECRET e;
	uint8_t seed[32] = { 1 };

	(void)state;
	parent_public(&parent);
	assert_int_equal(tpm2_sensitive_symcipher(key16, 16, NULL, 0, TPM2_ALG_SHA256, &s), 0);
	assert_int_equal(tpm2_template_aes128_sign(NULL, TPM2_ALG_ECB, &s, &obj), 0);
	/* fixedTPM / encryptedDuplication objects cannot go without inner wrapper */
	obj.objectAttributes |= TPMA_OBJECT_FIXEDTPM;
	assert_int_equal(tpm2_duplicate(&parent, &obj, &s, &d, &e), -EINVAL);
	obj.objectAttributes ^= TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_ENCRYPTEDDUPLICATION;
	assert_int_equal(tpm2_duplicate_with_seed(&parent, &obj, &s, seed, 32, &d), -EINVAL);
	obj.objectAttributes ^= TPMA_OBJECT_ENCRYPTEDDUPLICATION;
	/* seed of the wrong size */
	assert_int_equal(tpm2_duplicate_with_seed(&parent, &obj, &s, seed, 20, &d), -EINVAL);
	/* a parent that is not a storage key */
	parent.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	assert_int_equal(tpm2_duplicate(&parent, &obj, &s, &d, &e), -EINVAL);
	parent.objectAttributes |= TPMA_OBJECT_RESTRICTED;
	parent.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	assert_int_equal(tpm2_duplicate(&parent, &obj, &s, &d, &e), -ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sensitive_and_template),
		cmocka_unit_test(test_duplicate_unwraps),
		cmocka_unit_test(test_duplicate_random_seed),
		cmocka_unit_test(test_duplicate_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
