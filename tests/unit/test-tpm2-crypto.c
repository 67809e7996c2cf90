// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/tpm2-crypto: KDFa and KDFe against published vectors, names, key
 * conversion, signatures and the secret-sharing seed (checked by recovering
 * it with the private key, the way the TPM does).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "hex.h"
#include "tpm2-crypto.h"

static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	int n = hex_decode(s, out, max);

	assert_true(n >= 0);
	return n;
}

/*
 * KDFa self-test vector of the TCG TPM 2.0 reference implementation
 * (KdfTestData.h): 20-byte key, label "KDFSELFTESTLABEL", 8-byte contexts,
 * 160 bits of output for each hash.
 */
static void test_kdfa_tcg_vectors(void **state)
{
	static const struct {
		TPMI_ALG_HASH alg;
		const char *out;
	} v[] = {
		{ TPM2_ALG_SHA1, "55b5a7184aa07423c47dae766c26a2377d7cf851" },
		{ TPM2_ALG_SHA256, "bb0259e1c8ba607e6a2cd704b69a902e9ade84c4" },
		{ TPM2_ALG_SHA384, "1dce70c9113eb2dba47bd9cfc72bf46f45b09312" },
		{ TPM2_ALG_SHA512, "8be2c1b85b78569b9fa759f5857c56d684810fd3" },
	};
	uint8_t key[20], u[8], vv[8], want[20], got[20];

	(void)state;
	unhex("271FA08BBDC5060EC3DFA928FF9B73123A12DA0C", key, sizeof(key));
	unhex("CE244F395DCA7391", u, sizeof(u));
	unhex("DA504031DDF12E83", vv, sizeof(vv));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unhex(v[i].out, want, sizeof(want));
		assert_int_equal(tpm2_kdfa(v[i].alg, key, sizeof(key), "KDFSELFTESTLABEL",
					   u, sizeof(u), vv, sizeof(vv), got, sizeof(got)), 0);
		assert_memory_equal(got, want, sizeof(want));
	}
}

/* KDFa built by hand from HMAC (Part 1 11.4.10.2), more than one block. */
static void test_kdfa_by_hand(void **state)
{
	uint8_t key[32], got[48], want[64], in[64];
	size_t len;
	unsigned int ml;

	(void)state;
	memset(key, 0x5a, sizeof(key));
	assert_int_equal(tpm2_kdfa(TPM2_ALG_SHA256, key, sizeof(key), "STORAGE",
				   (const uint8_t *)"\x00\x0b\x01\x02", 4, NULL, 0,
				   got, sizeof(got)), 0);
	for (uint32_t i = 1; i <= 2; i++) {
		len = 0;
		in[len++] = 0, in[len++] = 0, in[len++] = 0, in[len++] = i;
		memcpy(in + len, "STORAGE", 8), len += 8;
		memcpy(in + len, "\x00\x0b\x01\x02", 4), len += 4;
		in[len++] = 0, in[len++] = 0, in[len++] = 0x01, in[len++] = 0x80;
		assert_non_null(HMAC(EVP_sha256(), key, sizeof(key), in, len,
				     want + 32 * (i - 1), &ml));
	}
	assert_memory_equal(got, want, sizeof(got));
}

/*
 * KDFe vectors from chrisfenner/tpm-test-vectors (vectors/kdfe.json, made
 * with go-tpm against a TPM simulator), the whole-byte ones.
 */
static void test_kdfe_vectors(void **state)
{
	static const struct {
		TPMI_ALG_HASH alg;
		const char *z, *use, *u, *v, *out;
	} v[] = {
		{ TPM2_ALG_SHA1, "9b050039c8e5ca60deeb978f2faf573c94af61", "IDENTITY",
		  "ff1a1852db7b60a5c963f17eb306f3a905d100ae", "0047ee45771a256d58b091b6d6",
		  "94c3c160" },
		{ TPM2_ALG_SHA256, "8995a6318a0217c7c7bf543f50da29016c4ff2a1ea5daf54ebcb00",
		  "INTEGRITY", "8852f14d8e9b68", "74ff",
		  "92343ef558feb95fd14838f9ca39c8618598a7eeb31af7fc276030b8c3ff326d4870f190e54abbec9da4" },
		{ TPM2_ALG_SHA256, "00", "OBFUSCATE",
		  "ebcb3cd4a002941ed496ef1d32a70b0b7f6f05b8a51803d5a9ff9b",
		  "a1f79a7ee2beee21e2bfaee67769874687bfe21b2468fc8e721b6e967e12ff",
		  "dcd14d72e0d5d8ec15b5ea15ae060e02f0e042f3af7efbd73650bb4457d73b060ef8f78bdf8cea099fe98fad6359bcfe92c1c6be8a157c1064c85ada3ad2" },
	};
	uint8_t z[64], u[64], vv[64], want[128], got[128];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t zl = unhex(v[i].z, z, sizeof(z));
		size_t ul = unhex(v[i].u, u, sizeof(u));
		size_t vl = unhex(v[i].v, vv, sizeof(vv));
		size_t ol = unhex(v[i].out, want, sizeof(want));

		assert_int_equal(tpm2_kdfe(v[i].alg, z, zl, v[i].use, u, ul, vv, vl,
					   got, ol), 0);
		assert_memory_equal(got, want, ol);
	}
}

static void test_kdf_errors(void **state)
{
	uint8_t k[4] = { 1 }, o[4];

	(void)state;
	assert_int_equal(tpm2_kdfa(TPM2_ALG_NULL, k, 4, "X", NULL, 0, NULL, 0, o, 4),
			 -ENOTSUP);
	assert_int_equal(tpm2_kdfa(TPM2_ALG_SHA256, k, 0, "X", NULL, 0, NULL, 0, o, 4),
			 -EINVAL);
	assert_int_equal(tpm2_kdfe(TPM2_ALG_SHA256, k, 4, NULL, NULL, 0, NULL, 0, o, 4),
			 -EINVAL);
	assert_int_equal(tpm2_hash_size(TPM2_ALG_SM3_256), 0);
}

static EVP_PKEY *gen_ec(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

static EVP_PKEY *gen_rsa(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);

	assert_non_null(k);
	return k;
}

/* A storage parent (restricted decrypt, AES-128-CFB) made of a software key. */
static void storage_public(EVP_PKEY *k, TPMT_PUBLIC *pub)
{
	assert_int_equal(tpm2_public_from_evp(k, TPM2_ALG_SHA256,
					      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
					      pub), 0);
	pub->parameters.asymDetail.symmetric.algorithm = TPM2_ALG_AES;
	pub->parameters.asymDetail.symmetric.keyBits.aes = 128;
	pub->parameters.asymDetail.symmetric.mode.aes = TPM2_ALG_CFB;
}

static void test_public_roundtrip(void **state)
{
	EVP_PKEY *keys[2] = { gen_ec(), gen_rsa() };

	(void)state;
	for (int i = 0; i < 2; i++) {
		TPMT_PUBLIC pub;
		EVP_PKEY *back = NULL;
		TPM2B_NAME name;
		uint8_t buf[sizeof(TPMT_PUBLIC)], h[32];
		size_t off = 0;

		storage_public(keys[i], &pub);
		assert_int_equal(tpm2_public_to_evp(&pub, &back), 0);
		assert_int_equal(EVP_PKEY_eq(keys[i], back), 1);
		EVP_PKEY_free(back);
		/* name = 000b || SHA-256(marshalled public) */
		assert_int_equal(tpm2_public_name(&pub, &name), 0);
		assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(&pub, buf, sizeof(buf), &off), 0);
		SHA256(buf, off, h);
		assert_int_equal(name.size, 34);
		assert_memory_equal(name.name, "\x00\x0b", 2);
		assert_memory_equal(name.name + 2, h, 32);
		EVP_PKEY_free(keys[i]);
	}
}

static void test_handle_name(void **state)
{
	TPM2B_NAME n;

	(void)state;
	tpm2_handle_name(TPM2_RH_ENDORSEMENT, &n);
	assert_int_equal(n.size, 4);
	assert_memory_equal(n.name, "\x40\x00\x00\x0b", 4);
}

static void test_signatures(void **state)
{
	static const struct {
		int rsa;
		TPMI_ALG_SIG_SCHEME scheme;
	} v[] = { { 0, TPM2_ALG_ECDSA }, { 1, TPM2_ALG_RSASSA }, { 1, TPM2_ALG_RSAPSS } };
	EVP_PKEY *ec = gen_ec(), *rsa = gen_rsa();
	uint8_t digest[32];

	(void)state;
	SHA256((const uint8_t *)"message", 7, digest);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		EVP_PKEY *k = v[i].rsa ? rsa : ec;
		TPMT_PUBLIC pub;
		TPMT_SIGNATURE sig;

		assert_int_equal(tpm2_public_from_evp(k, TPM2_ALG_SHA256,
						      TPMA_OBJECT_SIGN_ENCRYPT, &pub), 0);
		assert_int_equal(tpm2_signature_make(k, v[i].scheme, TPM2_ALG_SHA256,
						     digest, 32, &sig), 0);
		assert_int_equal(sig.sigAlg, v[i].scheme);
		assert_int_equal(tpm2_signature_verify(&pub, digest, 32, &sig), 0);
		digest[0] ^= 1;
		assert_int_equal(tpm2_signature_verify(&pub, digest, 32, &sig), -EBADMSG);
		digest[0] ^= 1;
		/* a signature of the other key type is an argument error */
		sig.sigAlg = v[i].rsa ? TPM2_ALG_ECDSA : TPM2_ALG_RSASSA;
		assert_int_equal(tpm2_signature_verify(&pub, digest, 32, &sig), -EINVAL);
	}
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

/* The seed an ECC parent recovers: ECDH(parent, ephemeral) + KDFe (Part 1 Annex C.6). */
static void test_seed_ecc(void **state)
{
	EVP_PKEY *parent = gen_ec(), *eph = NULL;
	TPMT_PUBLIC pub, eph_pub = { 0 };
	TPM2B_ENCRYPTED_SECRET secret;
	uint8_t seed[TPM2_SEED_MAX], want[32], z[32];
	size_t seed_len = 0, off = 0, zl = sizeof(z);
	EVP_PKEY_CTX *ctx;

	(void)state;
	storage_public(parent, &pub);
	assert_int_equal(tpm2_seed_new(&pub, "DUPLICATE", seed, &seed_len, &secret), 0);
	assert_int_equal(seed_len, 32);
	eph_pub.type = TPM2_ALG_ECC;
	eph_pub.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	assert_int_equal(Tss2_MU_TPMS_ECC_POINT_Unmarshal(secret.secret, secret.size, &off,
							  &eph_pub.unique.ecc), 0);
	assert_int_equal(off, secret.size);
	assert_int_equal(tpm2_public_to_evp(&eph_pub, &eph), 0);
	ctx = EVP_PKEY_CTX_new(parent, NULL);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, eph), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, z, &zl), 1);
	assert_int_equal(tpm2_kdfe(TPM2_ALG_SHA256, z, zl, "DUPLICATE",
				   eph_pub.unique.ecc.x.buffer, eph_pub.unique.ecc.x.size,
				   pub.unique.ecc.x.buffer, pub.unique.ecc.x.size, want, 32), 0);
	assert_memory_equal(seed, want, 32);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(eph);
	EVP_PKEY_free(parent);
}

/* The seed an RSA parent recovers: OAEP-SHA256 with label "IDENTITY\0" (B.10.3). */
static void test_seed_rsa(void **state)
{
	EVP_PKEY *parent = gen_rsa();
	TPMT_PUBLIC pub;
	TPM2B_ENCRYPTED_SECRET secret;
	uint8_t seed[TPM2_SEED_MAX], out[256];
	size_t seed_len = 0, ol = sizeof(out);
	EVP_PKEY_CTX *ctx;

	(void)state;
	storage_public(parent, &pub);
	assert_int_equal(tpm2_seed_new(&pub, "IDENTITY", seed, &seed_len, &secret), 0);
	assert_int_equal(seed_len, 32);
	assert_int_equal(secret.size, 256);
	ctx = EVP_PKEY_CTX_new(parent, NULL);
	assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, OPENSSL_memdup("IDENTITY", 9), 9), 1);
	assert_int_equal(EVP_PKEY_decrypt(ctx, out, &ol, secret.secret, secret.size), 1);
	assert_int_equal(ol, 32);
	assert_memory_equal(out, seed, 32);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(parent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kdfa_tcg_vectors),
		cmocka_unit_test(test_kdfa_by_hand),
		cmocka_unit_test(test_kdfe_vectors),
		cmocka_unit_test(test_kdf_errors),
		cmocka_unit_test(test_public_roundtrip),
		cmocka_unit_test(test_handle_name),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_seed_ecc),
		cmocka_unit_test(test_seed_rsa),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
