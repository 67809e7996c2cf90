/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdarg.h>

#include <openssl/ec.h>
#include <openssl/rand.h>

#include "lib/tpm2-crypto.h"
#include "lib/tpm2-dup.h"
#include "lib/tpm2-policy.h"
#include "tre-test.h"

static unsigned tap_n, tap_failed;

bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %u - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

void tap_skip(const char *fmt, ...)
{
	va_list ap;

	printf("ok %u # SKIP ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

int tap_end(void)
{
	printf("1..%u\n", tap_n);
	return tap_failed ? 1 : 0;
}

struct tre *tt_open(struct tre_config *cfg)
{
	struct tre_config c;
	struct tre *t;
	const char *tcti = getenv("MCIM_TEST_TCTI");
	int r;

	if (!tcti) {
		printf("MCIM_TEST_TCTI unset: run under tests/lib/with-swtpm\n");
		exit(77);
	}
	if (!cfg) {
		tre_config_init(&c);
		cfg = &c;
	}
	cfg->tcti = tcti;
	r = tre_open(cfg, &t);
	if (r < 0) {
		printf("not ok 1 - tre_open(%s): %s: %s\n", tcti, strerror(-r), tre_open_error());
		exit(1);
	}
	return t;
}

void tt_random(uint8_t *p, size_t n)
{
	if (RAND_bytes(p, (int)n) != 1)
		abort();
}

void tt_operator_init(struct tt_operator *op)
{
	struct tpm2_policy p;

	memset(op, 0, sizeof(*op));
	op->key = EVP_EC_gen("P-256");
	if (!op->key ||
	    tpm2_public_from_evp(op->key, TPM2_ALG_SHA256,
				 TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH,
				 &op->pub.publicArea) < 0 ||
	    tpm2_public_name(&op->pub.publicArea, &op->name) < 0)
		abort();
	op->ref.size = 16;
	memcpy(op->ref.buffer, "mcim-k-policy-01", 16);
	if (tpm2_policy_init(&p, TPM2_ALG_SHA256) < 0 ||
	    tpm2_policy_authorize(&p, &op->name, op->ref.buffer, op->ref.size) < 0)
		abort();
	op->auth_policy = p.digest;
}

void tt_operator_free(struct tt_operator *op)
{
	EVP_PKEY_free(op->key);
	op->key = NULL;
}

int tt_approve(const struct tt_operator *op, const TPML_PCR_SELECTION *sel,
	       const TPM2B_DIGEST *pcr_digest, struct tre_policy *ret)
{
	struct tpm2_policy p;
	TPM2B_DIGEST ahash;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = tpm2_policy_init(&p, TPM2_ALG_SHA256);
	if (r == 0)
		r = tpm2_policy_pcr(&p, sel, pcr_digest);
	if (r == 0)
		r = tpm2_policy_authorize_ahash(TPM2_ALG_SHA256, &p.digest, op->ref.buffer,
						op->ref.size, &ahash);
	if (r == 0)
		r = tpm2_signature_make(op->key, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, ahash.buffer,
					ahash.size, &ret->signature);
	if (r < 0)
		return r;
	ret->op_key = op->pub;
	ret->policy_ref = op->ref;
	ret->pcrs = *sel;
	ret->pcr_digest = *pcr_digest;
	ret->approved = p.digest;
	return 0;
}

int tt_approve_now(struct tre *t, const struct tt_operator *op, struct tre_policy *ret)
{
	TPM2B_DIGEST pcr_digest, policy;
	TPML_PCR_SELECTION sel;
	int r;

	tre_pcr_selection(t, &sel);
	r = tre_policy_pcr_now(t, &sel, &pcr_digest, &policy);
	if (r < 0)
		return r;
	r = tt_approve(op, &sel, &pcr_digest, ret);
	if (r < 0)
		return r;
	/* The TPM's trial digest and lib/'s software digest must agree. */
	if (policy.size != ret->approved.size ||
	    memcmp(policy.buffer, ret->approved.buffer, policy.size) != 0)
		return -EPROTO;
	return 0;
}

int tt_wrap(const TPM2B_PUBLIC *srk, const struct tt_operator *op, enum tre_kind kind,
	    const uint8_t *secret, size_t len, TPM2B_PUBLIC *ret_pub, TPM2B_PRIVATE *ret_dup,
	    TPM2B_ENCRYPTED_SECRET *ret_seed)
{
	TPMT_SENSITIVE sens;
	int r;

	memset(ret_pub, 0, sizeof(*ret_pub));
	if (kind == TRE_KIND_AES) {
		r = tpm2_sensitive_symcipher(secret, len, NULL, 0, TPM2_ALG_SHA256, &sens);
		if (r == 0)
			r = tpm2_template_aes128_sign(&op->auth_policy, TPM2_ALG_NULL, &sens,
						      &ret_pub->publicArea);
	} else {
		r = tpm2_sensitive_keyedhash(secret, len, NULL, 0, TPM2_ALG_SHA256, &sens);
		if (r == 0)
			r = tpm2_template_sealed(&op->auth_policy, &sens, &ret_pub->publicArea);
	}
	if (r == 0)
		r = tpm2_duplicate(&srk->publicArea, &ret_pub->publicArea, &sens, ret_dup, ret_seed);
	explicit_bzero(&sens, sizeof(sens));
	return r;
}

int tt_import(struct tre *t, const struct tt_operator *op, enum tre_kind kind,
	      const uint8_t *secret, size_t len, struct tre_blob *ret)
{
	TPM2B_ENCRYPTED_SECRET seed;
	TPM2B_PRIVATE dup;
	TPM2B_PUBLIC srk, pub;
	int r;

	r = tre_srk_public(t, &srk);
	if (r == 0)
		r = tt_wrap(&srk, op, kind, secret, len, &pub, &dup, &seed);
	if (r == 0)
		r = tre_import(t, &pub, &dup, &seed, NULL, NULL, ret);
	return r;
}

int tt_key(struct tre *t, const struct tt_operator *op, const struct tre_policy *pol,
	   enum tre_kind kind, const uint8_t *secret, size_t len, struct tre_key **ret)
{
	struct tre_blob b;
	int r;

	r = tt_import(t, op, kind, secret, len, &b);
	if (r == 0)
		r = tre_key_load(t, &b, ret);
	if (r == 0) {
		r = tre_key_set_policy(*ret, pol);
		if (r < 0)
			tre_key_free(*ret);
	}
	return r;
}

int tt_blob_save(const char *path, const struct tre_blob *b)
{
	uint8_t buf[TRE_BLOB_MAX];
	size_t len;
	FILE *f;
	int r;

	r = tre_blob_marshal(b, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	f = fopen(path, "wbe");
	if (!f)
		return -errno;
	r = fwrite(buf, 1, len, f) == len ? 0 : -EIO;
	if (fclose(f) != 0)
		r = -EIO;
	return r;
}

int tt_blob_read(const char *path, struct tre_blob *ret)
{
	uint8_t buf[TRE_BLOB_MAX];
	size_t len;
	FILE *f;

	f = fopen(path, "rbe");
	if (!f)
		return -errno;
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return tre_blob_unmarshal(buf, len, ret);
}
