// SPDX-License-Identifier: LGPL-2.1-or-later
/* Hashing, PCR extension, algorithm names and errors for lib/eventlog-*.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "eventlog-internal.h"

static const struct {
	TPMI_ALG_HASH alg;
	uint16_t size;
	const char *name;	/* tpm2-tools' bank name */
	const char *ossl;	/* OpenSSL's */
} hashes[] = {
	{ TPM2_ALG_SHA1, 20, "sha1", "SHA1" },
	{ TPM2_ALG_SHA256, 32, "sha256", "SHA256" },
	{ TPM2_ALG_SHA384, 48, "sha384", "SHA384" },
	{ TPM2_ALG_SHA512, 64, "sha512", "SHA512" },
	{ TPM2_ALG_SM3_256, 32, "sm3_256", "SM3" },
	{ TPM2_ALG_SHA3_256, 32, "sha3_256", "SHA3-256" },
	{ TPM2_ALG_SHA3_384, 48, "sha3_384", "SHA3-384" },
	{ TPM2_ALG_SHA3_512, 64, "sha3_512", "SHA3-512" },
};

uint16_t evlog_hash_size(TPMI_ALG_HASH alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++)
		if (hashes[i].alg == alg)
			return hashes[i].size;
	return 0;
}

const char *evlog_bank_name(TPMI_ALG_HASH alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++)
		if (hashes[i].alg == alg)
			return hashes[i].name;
	return NULL;
}

TPMI_ALG_HASH evlog_bank_from_name(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(hashes); i++)
		if (strcmp(hashes[i].name, name) == 0)
			return hashes[i].alg;
	return 0;
}

int evlog_hash_init(struct evlog_hash *h, TPMI_ALG_HASH alg)
{
	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++) {
		if (hashes[i].alg != alg)
			continue;
		h->md = EVP_MD_fetch(NULL, hashes[i].ossl, NULL);
		if (!h->md)
			return -ENOTSUP;
		h->ctx = EVP_MD_CTX_new();
		if (!h->ctx) {
			evlog_hash_done(h);
			return -ENOMEM;
		}
		h->size = hashes[i].size;
		return 0;
	}
	return -ENOTSUP;
}

void evlog_hash_done(struct evlog_hash *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	memset(h, 0, sizeof(*h));
}

int evlog_hash2(struct evlog_hash *h, const uint8_t *a, size_t a_len, const uint8_t *b,
		size_t b_len, uint8_t *out)
{
	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, a, a_len) != 1 ||
	    (b_len && EVP_DigestUpdate(h->ctx, b, b_len) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, NULL) != 1)
		return -ENOMEM;
	return 0;
}

int evlog_extend(struct evlog_hash *h, struct evlog_pcrs *p, uint32_t pcr, const uint8_t *digest)
{
	int r = evlog_hash2(h, p->value[pcr], p->size, digest, p->size, p->value[pcr]);

	if (r == 0)
		p->touched |= UINT32_C(1) << pcr;
	return r;
}
