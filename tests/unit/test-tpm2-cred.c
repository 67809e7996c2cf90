// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/tpm2-cred: the TCG EK templates and MakeCredential opened in software
 * the way TPM2_ActivateCredential does (Part 1 24, Part 3 12.5); the real
 * ActivateCredential is in tests/integration/tpm2lib.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "tpm2-cred.h"
#include "tpm2-crypto.h"

static void test_ek_templates(void **state)
{
	TPMT_PUBLIC rsa, ecc;

	(void)state;
	tpm2_ek_template_rsa2048(&rsa);
	tpm2_ek_template_ecc_p256(&ecc);
	/* TCG EK Credential Profile 2.0 templates L-1/L-2: attributes 0x000300B2, AES-128-CFB */
	assert_int_equal(rsa.objectAttributes, 0x000300b2);
	assert_int_equal(ecc.objectAttributes, 0x000300b2);
	assert_int_equal(rsa.parameters.rsaDetail.keyBits, 2048);
	assert_int_equal(rsa.unique.rsa.size, 256);
	assert_int_equal(ecc.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
	assert_int_equal(ecc.unique.ecc.x.size, 32);
	assert_int_equal(rsa.authPolicy.size, 32);
	assert_memory_equal(rsa.authPolicy.buffer, "\x83\x71\x97\x67\x44\x84\xb3\xf8", 8);
	assert_int_equal(ecc.parameters.asymDetail.symmetric.mode.aes, TPM2_ALG_CFB);
}

/* ActivateCredential's software half: check the HMAC, decrypt, unmarshal. */
static int activate(const uint8_t *seed, const TPM2B_NAME *name,
		    const TPM2B_ID_OBJECT *cred, TPM2B_DIGEST *out)
{
	uint8_t sym[16], hkey[32], mac[32], plain[sizeof(TPM2B_DIGEST)];
	uint8_t hin[sizeof(TPM2B_ID_OBJECT) + sizeof(TPM2B_NAME)];
	static const uint8_t iv[16];
	EVP_CIPHER_CTX *c;
	unsigned int ml;
	size_t enc_len, off = 0;
	int l = 0;

	assert_int_equal(tpm2_kdfa(TPM2_ALG_SHA256, seed, 32, "STORAGE", name->name,
				   name->size, NULL, 0, sym, 16), 0);
	assert_int_equal(tpm2_kdfa(TPM2_ALG_SHA256, seed, 32, "INTEGRITY", NULL, 0,
				   NULL, 0, hkey, 32), 0);
	enc_len = cred->size - 34;
	memcpy(hin, cred->credential + 34, enc_len);
	memcpy(hin + enc_len, name->name, name->size);
	HMAC(EVP_sha256(), hkey, 32, hin, enc_len + name->size, mac, &ml);
	if (memcmp(mac, cred->credential + 2, 32))
		return -EBADMSG;
	c = EVP_CIPHER_CTX_new();
	EVP_DecryptInit_ex(c, EVP_aes_128_cfb128(), NULL, sym, iv);
	EVP_DecryptUpdate(c, plain, &l, cred->credential + 34, enc_len);
	EVP_CIPHER_CTX_free(c);
	if (Tss2_MU_TPM2B_DIGEST_Unmarshal(plain, enc_len, &off, out) || off != enc_len)
		return -EINVAL;
	return 0;
}

static void test_make_credential(void **state)
{
	TPMT_PUBLIC ek;
	TPM2B_NAME ak = { .size = 34 };
	TPM2B_ID_OBJECT cred;
	TPM2B_ENCRYPTED_SECRET secret;
	TPM2B_DIGEST got;
	uint8_t seed[32], big[33] = { 0 };
	EVP_PKEY *k = EVP_RSA_gen(2048);

	(void)state;
	tpm2_ek_template_rsa2048(&ek);
	assert_int_equal(tpm2_public_from_evp(k, TPM2_ALG_SHA256, ek.objectAttributes, &ek), 0);
	ek.parameters.asymDetail.symmetric = (TPMT_SYM_DEF_OBJECT){
		.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB };
	memset(ak.name, 0x11, 34);
	memset(seed, 0x22, 32);
	assert_int_equal(tpm2_make_credential_with_seed(&ek, &ak, (const uint8_t *)"challenge", 9,
							seed, 32, &cred), 0);
	assert_int_equal(cred.size, 34 + 2 + 9);
	assert_int_equal(activate(seed, &ak, &cred, &got), 0);
	assert_int_equal(got.size, 9);
	assert_memory_equal(got.buffer, "challenge", 9);
	/* bound to the AK name */
	ak.name[5] ^= 1;
	assert_int_equal(activate(seed, &ak, &cred, &got), -EBADMSG);
	/* random seed: RSA-OAEP encrypted to the 2048-bit EK */
	assert_int_equal(tpm2_make_credential(&ek, &ak, seed, 32, &cred, &secret), 0);
	assert_int_equal(secret.size, 256);
	/* secret longer than the EK's digest */
	assert_int_equal(tpm2_make_credential(&ek, &ak, big, 33, &cred, &secret), -EINVAL);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ek_templates),
		cmocka_unit_test(test_make_credential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
