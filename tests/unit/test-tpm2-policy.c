// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/tpm2-policy: well-known policy digests and the update rules of Part 3
 * 23 written out by hand.  The comparison with a TPM trial session is in
 * tests/integration/tpm2lib.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "hex.h"
#include "tpm2-crypto.h"
#include "tpm2-policy.h"

static void check_digest(const struct tpm2_policy *p, const char *hex)
{
	uint8_t want[32];

	assert_int_equal(hex_decode(hex, want, sizeof(want)), 32);
	assert_int_equal(p->digest.size, 32);
	assert_memory_equal(p->digest.buffer, want, 32);
}

static void digest_from_hex(TPM2B_DIGEST *d, const char *hex)
{
	assert_int_equal(hex_decode(hex, d->buffer, sizeof(d->buffer)), 32);
	d->size = 32;
}

/* TCG EK Credential Profile 2.0, Annex B: PolicySecret(TPM_RH_ENDORSEMENT). */
static void test_ek_policy(void **state)
{
	struct tpm2_policy p;
	TPM2B_NAME n;

	(void)state;
	assert_int_equal(tpm2_policy_init(&p, TPM2_ALG_SHA256), 0);
	check_digest(&p, "0000000000000000000000000000000000000000000000000000000000000000");
	tpm2_handle_name(TPM2_RH_ENDORSEMENT, &n);
	assert_int_equal(tpm2_policy_secret(&p, &n, NULL, 0), 0);
	check_digest(&p, "837197674484B3F81A90CC8D46A5D724FD52D76E06520B64F2A1DA1B331469AA");
}

/* PolicyAuthValue and PolicyPassword share a digest (values also in systemd's test-tpm2.c). */
static void test_auth_value(void **state)
{
	struct tpm2_policy p;

	(void)state;
	tpm2_policy_init(&p, TPM2_ALG_SHA256);
	assert_int_equal(tpm2_policy_auth_value(&p), 0);
	check_digest(&p, "8fcd2169ab92694e0c633f1ab772842b8241bbc20288981fc7ac1eddc1fddb0e");
	assert_int_equal(tpm2_policy_auth_value(&p), 0);
	check_digest(&p, "759ebd5ed65100e0b4aa2d04b4b789c2672d92ecc9cdda4b5fa16a303132e008");
}

/* PolicyPCR over sha256 PCRs 4, 7, 8 (the vector of systemd's test-tpm2.c). */
static void test_pcr(void **state)
{
	TPML_PCR_SELECTION sel = {
		.count = 1,
		.pcrSelections[0] = { .hash = TPM2_ALG_SHA256, .sizeofSelect = 3,
				      .pcrSelect = { 0x90, 0x01, 0x00 } },
	};
	TPM2B_DIGEST v[3];
	struct tpm2_policy p;

	(void)state;
	digest_from_hex(&v[0], "368f85b3013041dfe203faaa364f00b07c5da7b1e5f1dbf2efb06fa6b9bd92de");
	digest_from_hex(&v[1], "aa1154c9e0a774854ccbed4c8ce7e9b906b3d700a1a8db1772d0341a62dbe51b");
	digest_from_hex(&v[2], "cfde439a2c06af3479ca6bdc60429b90553d65300c5cfcc40004a08c6b5ad81a");
	tpm2_policy_init(&p, TPM2_ALG_SHA256);
	assert_int_equal(tpm2_policy_pcr_values(&p, &sel, v, 3), 0);
	check_digest(&p, "76532a0e16f7e6bf6b02918c11f75d99d729fab0cc81d0df2c4284a2c4fe6e05");
	assert_int_equal(tpm2_policy_pcr_values(&p, &sel, v, 3), 0);
	check_digest(&p, "97e64bcabb64c1fa4b726528644926c8029f5b4458b0575c98c04fe225629a0b");
}

/* The rules of Part 3 23 written out with SHA-256 for the other commands. */
static void test_update_rules(void **state)
{
	struct tpm2_policy p;
	TPM2B_NAME name = { .size = 34 };
	TPM2B_DIGEST br[2];
	uint8_t buf[256], want[32], args[32];
	size_t n;

	(void)state;
	memset(name.name, 0x42, sizeof(name.name));
	name.name[0] = 0x00, name.name[1] = 0x0b;

	/* PolicyCommandCode(TPM_CC_EncryptDecrypt2) */
	tpm2_policy_init(&p, TPM2_ALG_SHA256);
	assert_int_equal(tpm2_policy_command_code(&p, TPM2_CC_EncryptDecrypt2), 0);
	memset(buf, 0, 32);
	memcpy(buf + 32, "\x00\x00\x01\x6c\x00\x00\x01\x93", 8);
	SHA256(buf, 40, want);
	assert_memory_equal(p.digest.buffer, want, 32);

	/* PolicyNV: args = H(operand || offset || op), d' = H(d || CC || args || name) */
	tpm2_policy_init(&p, TPM2_ALG_SHA256);
	assert_int_equal(tpm2_policy_nv(&p, &name, (const uint8_t *)"\0\0\0\0\0\0\0\5", 8, 0,
					TPM2_EO_UNSIGNED_LE), 0);
	memcpy(buf, "\0\0\0\0\0\0\0\5\x00\x00\x00\x09", 12);
	SHA256(buf, 12, args);
	memset(buf, 0, 32);
	memcpy(buf + 32, "\x00\x00\x01\x49", 4);
	memcpy(buf + 36, args, 32);
	memcpy(buf + 68, name.name, 34);
	SHA256(buf, 102, want);
	assert_memory_equal(p.digest.buffer, want, 32);

	/* PolicyAuthorize from a non-zero digest: reset, name, then policyRef */
	assert_int_equal(tpm2_policy_authorize(&p, &name, (const uint8_t *)"ref", 3), 0);
	memset(buf, 0, 32);
	memcpy(buf + 32, "\x00\x00\x01\x6a", 4);
	memcpy(buf + 36, name.name, 34);
	SHA256(buf, 70, want);
	memcpy(buf, want, 32);
	memcpy(buf + 32, "ref", 3);
	SHA256(buf, 35, want);
	assert_memory_equal(p.digest.buffer, want, 32);

	/* PolicyOR of two branches */
	memset(br[0].buffer, 1, 32), br[0].size = 32;
	memset(br[1].buffer, 2, 32), br[1].size = 32;
	assert_int_equal(tpm2_policy_or(&p, br, 2), 0);
	n = 0;
	memset(buf, 0, 32), n += 32;
	memcpy(buf + n, "\x00\x00\x01\x71", 4), n += 4;
	memcpy(buf + n, br[0].buffer, 32), n += 32;
	memcpy(buf + n, br[1].buffer, 32), n += 32;
	SHA256(buf, n, want);
	assert_memory_equal(p.digest.buffer, want, 32);

	/* PolicyAuthorizeNV: H(zeros || CC || name) */
	assert_int_equal(tpm2_policy_authorize_nv(&p, &name), 0);
	memset(buf, 0, 32);
	memcpy(buf + 32, "\x00\x00\x01\x92", 4);
	memcpy(buf + 36, name.name, 34);
	SHA256(buf, 70, want);
	assert_memory_equal(p.digest.buffer, want, 32);
}

static void test_ahash(void **state)
{
	TPM2B_DIGEST approved = { .size = 32 }, a;
	uint8_t buf[64], want[32];

	(void)state;
	memset(approved.buffer, 0x77, 32);
	assert_int_equal(tpm2_policy_authorize_ahash(TPM2_ALG_SHA256, &approved,
						     (const uint8_t *)"epoch", 5, &a), 0);
	memcpy(buf, approved.buffer, 32);
	memcpy(buf + 32, "epoch", 5);
	SHA256(buf, 37, want);
	assert_int_equal(a.size, 32);
	assert_memory_equal(a.buffer, want, 32);

	/* PolicySigned: H(nonceTPM || expiration || cpHashA || policyRef) */
	assert_int_equal(tpm2_policy_signed_ahash(TPM2_ALG_SHA256, (const uint8_t *)"nonce", 5,
						  -60, NULL, 0, NULL, 0, &a), 0);
	memcpy(buf, "nonce\xff\xff\xff\xc4", 9);
	SHA256(buf, 9, want);
	assert_memory_equal(a.buffer, want, 32);
}

static void test_errors(void **state)
{
	struct tpm2_policy p;
	TPM2B_DIGEST br[9] = { 0 };
	TPM2B_NAME empty = { 0 };

	(void)state;
	assert_int_equal(tpm2_policy_init(&p, TPM2_ALG_NULL), -ENOTSUP);
	tpm2_policy_init(&p, TPM2_ALG_SHA256);
	for (int i = 0; i < 9; i++)
		br[i].size = 32;
	assert_int_equal(tpm2_policy_or(&p, br, 1), -EINVAL);
	assert_int_equal(tpm2_policy_or(&p, br, 9), -EINVAL);
	br[1].size = 20;
	assert_int_equal(tpm2_policy_or(&p, br, 2), -EINVAL);
	assert_int_equal(tpm2_policy_secret(&p, &empty, NULL, 0), -EINVAL);
	p.digest.size = 20;
	assert_int_equal(tpm2_policy_auth_value(&p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ek_policy),
		cmocka_unit_test(test_auth_value),
		cmocka_unit_test(test_pcr),
		cmocka_unit_test(test_update_rules),
		cmocka_unit_test(test_ahash),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
