// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/tpm2-quote: a quote built and signed in software with a restricted
 * signing key, accepted as made, and each tampering rejected with its own
 * error; the tpm2-tools pcrs file format; file export/import.  Quotes from
 * a real TPM (and tpm2_checkquote) are in tests/integration/tpm2lib.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "tpm2-crypto.h"
#include "tpm2-policy.h"
#include "tpm2-quote.h"

struct fixture {
	EVP_PKEY *key;
	TPMT_PUBLIC ak;
	TPMI_ALG_SIG_SCHEME scheme;
	struct tpm2_pcr_values pcrs;
	uint8_t msg[sizeof(TPMS_ATTEST)];
	size_t len;
	TPMT_SIGNATURE sig;
};

static const uint8_t nonce[] = "0123456789abcdef";

/* Serialises attest and signs it like TPM2_Quote (Part 3 18.4). */
static void sign(struct fixture *f, const TPMS_ATTEST *attest)
{
	uint8_t d[32];

	f->len = 0;
	assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(attest, f->msg, sizeof(f->msg), &f->len), 0);
	assert_int_equal(tpm2_hash(TPM2_ALG_SHA256, f->msg, f->len, d), 0);
	assert_int_equal(tpm2_signature_make(f->key, f->scheme, TPM2_ALG_SHA256, d, 32, &f->sig), 0);
}

static void make_attest(struct fixture *f, TPMS_ATTEST *a)
{
	TPMS_QUOTE_INFO *q = &a->attested.quote;

	memset(a, 0, sizeof(*a));
	a->magic = TPM2_GENERATED_VALUE;
	a->type = TPM2_ST_ATTEST_QUOTE;
	a->qualifiedSigner.size = 34;
	a->extraData.size = sizeof(nonce) - 1;
	memcpy(a->extraData.buffer, nonce, sizeof(nonce) - 1);
	a->clockInfo.clock = 123456;
	a->clockInfo.safe = 1;
	a->firmwareVersion = 0x2019;
	q->pcrSelect = f->pcrs.selection;
	assert_int_equal(tpm2_pcr_digest(TPM2_ALG_SHA256, f->pcrs.digests, f->pcrs.count,
					 &q->pcrDigest), 0);
}

static int setup(void **state, int rsa, TPMI_ALG_SIG_SCHEME scheme)
{
	struct fixture *f = calloc(1, sizeof(*f));
	TPMS_ATTEST a;

	f->key = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	f->scheme = scheme;
	assert_int_equal(tpm2_public_from_evp(f->key, TPM2_ALG_SHA256,
					      TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_RESTRICTED |
					      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT,
					      &f->ak), 0);
	f->ak.parameters.asymDetail.scheme.scheme = scheme;
	f->ak.parameters.asymDetail.scheme.details.anySig.hashAlg = TPM2_ALG_SHA256;
	/* sha256 PCRs 0, 1, 16 and sha1 PCR 7 */
	f->pcrs.selection.count = 2;
	f->pcrs.selection.pcrSelections[0] = (TPMS_PCR_SELECTION){
		.hash = TPM2_ALG_SHA256, .sizeofSelect = 3, .pcrSelect = { 0x03, 0x00, 0x01 } };
	f->pcrs.selection.pcrSelections[1] = (TPMS_PCR_SELECTION){
		.hash = TPM2_ALG_SHA1, .sizeofSelect = 3, .pcrSelect = { 0x80 } };
	f->pcrs.count = 4;
	for (int i = 0; i < 4; i++) {
		f->pcrs.digests[i].size = i < 3 ? 32 : 20;
		memset(f->pcrs.digests[i].buffer, 0x10 + i, f->pcrs.digests[i].size);
	}
	make_attest(f, &a);
	sign(f, &a);
	*state = f;
	return 0;
}

static int setup_ecdsa(void **state)
{
	return setup(state, 0, TPM2_ALG_ECDSA);
}

static int setup_rsassa(void **state)
{
	return setup(state, 1, TPM2_ALG_RSASSA);
}

static int setup_rsapss(void **state)
{
	return setup(state, 1, TPM2_ALG_RSAPSS);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	EVP_PKEY_free(f->key);
	free(f);
	return 0;
}

static int verify(struct fixture *f)
{
	return tpm2_quote_verify(&f->ak, f->msg, f->len, &f->sig, nonce, sizeof(nonce) - 1,
				 &f->pcrs, NULL);
}

static void test_valid(void **state)
{
	struct fixture *f = *state;
	TPMS_ATTEST a;

	assert_int_equal(tpm2_quote_verify(&f->ak, f->msg, f->len, &f->sig, nonce,
					   sizeof(nonce) - 1, &f->pcrs, &a), 0);
	assert_int_equal(a.clockInfo.clock, 123456);
	assert_int_equal(a.firmwareVersion, 0x2019);
	/* without PCR values only the signature and nonce are checked */
	assert_int_equal(tpm2_quote_verify(&f->ak, f->msg, f->len, &f->sig, nonce,
					   sizeof(nonce) - 1, NULL, NULL), 0);
}

static void test_rejects(void **state)
{
	struct fixture *f = *state;
	TPMT_SIGNATURE good_sig = f->sig;
	TPMS_ATTEST a;

	/* wrong nonce */
	assert_int_equal(tpm2_quote_verify(&f->ak, f->msg, f->len, &f->sig,
					   (const uint8_t *)"other", 5, &f->pcrs, NULL),
			 -TPM2_VERIFY_E_NONCE);
	/* a PCR value differs from what was quoted */
	f->pcrs.digests[2].buffer[0] ^= 1;
	assert_int_equal(verify(f), -TPM2_VERIFY_E_PCR_DIGEST);
	f->pcrs.digests[2].buffer[0] ^= 1;
	/* another PCR set */
	f->pcrs.selection.pcrSelections[0].pcrSelect[2] = 0x02;
	assert_int_equal(verify(f), -TPM2_VERIFY_E_PCR_SELECTION);
	f->pcrs.selection.pcrSelections[0].pcrSelect[2] = 0x01;
	/* a flipped bit in the signed message */
	f->msg[f->len - 1] ^= 1;
	assert_int_equal(verify(f), -TPM2_VERIFY_E_SIGNATURE);
	f->msg[f->len - 1] ^= 1;
	/* a flipped bit in the signature */
	if (f->sig.sigAlg == TPM2_ALG_ECDSA)
		f->sig.signature.ecdsa.signatureS.buffer[5] ^= 1;
	else
		f->sig.signature.rsassa.sig.buffer[5] ^= 1;
	assert_int_equal(verify(f), -TPM2_VERIFY_E_SIGNATURE);
	f->sig = good_sig;
	/* a signature made with another hash than the key's scheme */
	f->sig.signature.any.hashAlg = TPM2_ALG_SHA384;
	assert_int_equal(verify(f), -TPM2_VERIFY_E_SIG_SCHEME);
	f->sig = good_sig;
	assert_int_equal(verify(f), 0);

	/* the same quote signed by a non-restricted key, or one not fixedTPM */
	f->ak.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	assert_int_equal(verify(f), -TPM2_VERIFY_E_KEY_ATTRS);
	f->ak.objectAttributes |= TPMA_OBJECT_RESTRICTED;
	f->ak.objectAttributes &= ~TPMA_OBJECT_FIXEDTPM;
	assert_int_equal(verify(f), -TPM2_VERIFY_E_KEY_ATTRS);
	f->ak.objectAttributes |= TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_DECRYPT;
	assert_int_equal(verify(f), -TPM2_VERIFY_E_KEY_ATTRS);
	f->ak.objectAttributes &= ~TPMA_OBJECT_DECRYPT;

	/* wrong magic, properly signed */
	make_attest(f, &a);
	a.magic = 0xff544348;
	sign(f, &a);
	assert_int_equal(verify(f), -TPM2_VERIFY_E_MAGIC);
	/* a certify structure, properly signed, is not a quote */
	make_attest(f, &a);
	a.type = TPM2_ST_ATTEST_CERTIFY;
	memset(&a.attested, 0, sizeof(a.attested));
	sign(f, &a);
	assert_int_equal(verify(f), -TPM2_VERIFY_E_TYPE);
	/* truncated and with trailing bytes */
	make_attest(f, &a);
	sign(f, &a);
	assert_int_equal(tpm2_quote_verify(&f->ak, f->msg, f->len - 1, &f->sig, nonce,
					   sizeof(nonce) - 1, &f->pcrs, NULL),
			 -TPM2_VERIFY_E_FORMAT);
	assert_int_equal(tpm2_quote_verify(&f->ak, f->msg, f->len + 1, &f->sig, nonce,
					   sizeof(nonce) - 1, &f->pcrs, NULL),
			 -TPM2_VERIFY_E_FORMAT);
	assert_int_equal(tpm2_quote_verify(&f->ak, f->msg, 3, &f->sig, nonce,
					   sizeof(nonce) - 1, &f->pcrs, NULL),
			 -TPM2_VERIFY_E_FORMAT);
	assert_int_equal(verify(f), 0);
}

static void test_ak_check(void **state)
{
	TPMT_PUBLIC ak = { .type = TPM2_ALG_ECC };

	(void)state;
	ak.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
	ak.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_RESTRICTED |
			      TPMA_OBJECT_FIXEDTPM;
	assert_int_equal(tpm2_ak_check(&ak), -TPM2_VERIFY_E_KEY_TYPE);
	ak.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	assert_int_equal(tpm2_ak_check(&ak), 0);
	ak.type = TPM2_ALG_KEYEDHASH;
	assert_int_equal(tpm2_ak_check(&ak), -TPM2_VERIFY_E_KEY_TYPE);
	assert_string_equal(tpm2_verify_strerror(-TPM2_VERIFY_E_NONCE),
			    "nonce (extraData) mismatch");
	assert_string_equal(tpm2_verify_strerror(-ENOENT), "No such file or directory");
}

/* tpm2-tools "serialized" PCR file: 132 + 4 + n * 532 bytes, little-endian. */
static void test_pcrs_format(void **state)
{
	struct fixture *f = *state;
	struct tpm2_pcr_values back;
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(tpm2_pcrs_encode(&f->pcrs, &buf, &len), 0);
	assert_int_equal(len, 132 + 4 + 532);
	assert_memory_equal(buf, "\x02\x00\x00\x00\x0b\x00\x03\x03\x00\x01", 10);
	assert_memory_equal(buf + 132, "\x01\x00\x00\x00\x04\x00\x00\x00\x20\x00\x10", 11);
	assert_int_equal(tpm2_pcrs_decode(buf, len, &back), 0);
	assert_int_equal(back.count, 4);
	assert_memory_equal(&back.selection, &f->pcrs.selection, sizeof(back.selection));
	assert_memory_equal(back.digests, f->pcrs.digests, 4 * sizeof(TPM2B_DIGEST));
	/* truncated, a digest count that does not match the selection, a bad size */
	assert_int_equal(tpm2_pcrs_decode(buf, len - 1, &back), -TPM2_VERIFY_E_FORMAT);
	buf[136] = 3;
	assert_int_equal(tpm2_pcrs_decode(buf, len, &back), -TPM2_VERIFY_E_FORMAT);
	buf[136] = 4;
	buf[140] = 65;
	assert_int_equal(tpm2_pcrs_decode(buf, len, &back), -TPM2_VERIFY_E_FORMAT);
	buf[140] = 32;
	buf[132] = 200;
	assert_int_equal(tpm2_pcrs_decode(buf, len, &back), -TPM2_VERIFY_E_FORMAT);
	free(buf);
}

static void test_files(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/test-tpm2-quote.XXXXXX", m[64], s[64], p[64], k[64];
	struct tpm2_pcr_values pcrs;
	TPMT_SIGNATURE sig;
	TPM2B_PUBLIC pub = { .publicArea = f->ak }, pub2;
	uint8_t *msg = NULL;
	size_t len = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(m, sizeof(m), "%s/quote.msg", dir);
	snprintf(s, sizeof(s), "%s/quote.sig", dir);
	snprintf(p, sizeof(p), "%s/pcrs.bin", dir);
	snprintf(k, sizeof(k), "%s/ak.pub", dir);
	assert_int_equal(tpm2_quote_export(m, s, p, f->msg, f->len, &f->sig, &f->pcrs), 0);
	assert_int_equal(tpm2_public_export(k, &pub, false), 0);
	assert_int_equal(tpm2_quote_import(m, s, p, &msg, &len, &sig, &pcrs), 0);
	assert_int_equal(tpm2_public_import(k, &pub2), 0);
	assert_int_equal(tpm2_quote_verify(&pub2.publicArea, msg, len, &sig, nonce,
					   sizeof(nonce) - 1, &pcrs, NULL), 0);
	free(msg);
	assert_int_equal(tpm2_public_export(k, &pub, true), 0);
	assert_int_equal(tpm2_public_import(k, &pub2), -TPM2_VERIFY_E_FORMAT);
	assert_int_equal(tpm2_quote_import("/nonexistent/q", NULL, NULL, &msg, &len, NULL, NULL),
			 -ENOENT);
	unlink(m), unlink(s), unlink(p), unlink(k);
	assert_int_equal(rmdir(dir), 0);
}

#define QUOTE_TESTS(setup_fn)                                                    \
	cmocka_unit_test_setup_teardown(test_valid, setup_fn, teardown),         \
	cmocka_unit_test_setup_teardown(test_rejects, setup_fn, teardown),       \
	cmocka_unit_test_setup_teardown(test_pcrs_format, setup_fn, teardown),   \
	cmocka_unit_test_setup_teardown(test_files, setup_fn, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		QUOTE_TESTS(setup_ecdsa),
		QUOTE_TESTS(setup_rsassa),
		QUOTE_TESTS(setup_rsapss),
		cmocka_unit_test(test_ak_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
