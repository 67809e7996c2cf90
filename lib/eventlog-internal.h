/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What lib/eventlog-tcg.c and lib/eventlog-ima.c share: hashing and errors. */
#ifndef MCIM_EVENTLOG_INTERNAL_H
#define MCIM_EVENTLOG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "eventlog.h"
#include "why.h"
#include "macro.h"

struct evlog_hash {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
	uint16_t size;
};

/* Fetches alg's implementation: 0, -ENOTSUP (not a hash we compute), -ENOMEM. */
int evlog_hash_init(struct evlog_hash *h, TPMI_ALG_HASH alg);
void evlog_hash_done(struct evlog_hash *h);
/* out = H(a || b); b may be NULL when b_len is 0. */
int evlog_hash2(struct evlog_hash *h, const uint8_t *a, size_t a_len, const uint8_t *b,
		size_t b_len, uint8_t *out);

static inline void evlog_pcrs_init(struct evlog_pcrs *p, TPMI_ALG_HASH bank, uint16_t size)
{
	memset(p, 0, sizeof(*p));
	p->bank = bank;
	p->size = size;
}

/* PCR pcr = H(PCR pcr || digest), digest of the bank's size. */
int evlog_extend(struct evlog_hash *h, struct evlog_pcrs *p, uint32_t pcr, const uint8_t *digest);


static inline uint32_t evlog_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint16_t evlog_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

#endif
