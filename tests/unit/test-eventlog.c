// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/eventlog: TCG crypto-agile and IMA logs built here, replayed and
 * checked against PCR values computed independently with OpenSSL; every
 * malformed case (truncation at every byte offset, bad sizes, unknown
 * algorithms, digest count mismatches, trailing bytes, limits); and the real
 * logs of the test VM (tests/data/seabios-tpm.bin, ima-ng-vm.bin) against
 * the PCR values the VM's TPM reported.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "eventlog.h"
#include "fileio.h"
#include "hex.h"
#include "macro.h"

#define EV_NO_ACTION 3
#define EV_SEPARATOR 4
#define EV_ACTION 5
#define EV_S_CRTM_VERSION 8

struct buf {
	uint8_t *d;
	size_t n, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = MAX(b->cap * 2, b->n + n + 4096);
		b->d = realloc(b->d, b->cap);
		assert_non_null(b->d);
	}
	if (n)
		memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { v, v >> 8, v >> 16, v >> 24 };

	put(b, x, 4);
}

static void put16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { v, v >> 8 };

	put(b, x, 2);
}

static void put8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static const char *md_name(TPMI_ALG_HASH alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1: return "SHA1";
	case TPM2_ALG_SHA256: return "SHA256";
	case TPM2_ALG_SHA384: return "SHA384";
	default: return "SHA512";
	}
}

/* out = H_alg(a || b), independent of the library. */
static void hash2(TPMI_ALG_HASH alg, const void *a, size_t an, const void *b, size_t bn,
		  uint8_t *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	assert_int_equal(EVP_DigestInit_ex(c, EVP_get_digestbyname(md_name(alg)), NULL), 1);
	EVP_DigestUpdate(c, a, an);
	EVP_DigestUpdate(c, b, bn);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

/* ---- TCG logs ---- */

struct alg {
	uint16_t alg, size;
};

static const struct alg two[] = { { TPM2_ALG_SHA1, 20 }, { TPM2_ALG_SHA256, 32 } };

static void tcg_header_raw(struct buf *b, const struct alg *algs, uint32_t n, uint32_t declared,
			   uint8_t vendor_size, size_t vendor_len)
{
	uint8_t zero[20] = {};
	uint32_t size = 24 + 4 + 4 * n + 1 + (uint32_t)vendor_len;

	put32(b, 0);
	put32(b, EV_NO_ACTION);
	put(b, zero, 20);
	put32(b, size);
	put(b, "Spec ID Event03", 16);
	put32(b, 0);			/* platformClass */
	put8(b, 0);			/* specVersionMinor */
	put8(b, 2);			/* specVersionMajor */
	put8(b, 0);			/* specErrata */
	put8(b, 2);			/* uintnSize */
	put32(b, declared);
	for (uint32_t i = 0; i < n; i++) {
		put16(b, algs[i].alg);
		put16(b, algs[i].size);
	}
	put8(b, vendor_size);
	for (size_t i = 0; i < vendor_len; i++)
		put8(b, 0xaa);
}

static void tcg_header(struct buf *b, const struct alg *algs, uint32_t n)
{
	tcg_header_raw(b, algs, n, n, 0, 0);
}

/* The digest of data in alg, as a firmware would measure it. */
static void tcg_event(struct buf *b, const struct alg *algs, uint32_t n, uint32_t pcr,
		      uint32_t type, const void *data, uint32_t len)
{
	uint8_t d[64];

	put32(b, pcr);
	put32(b, type);
	put32(b, n);
	for (uint32_t i = 0; i < n; i++) {
		hash2(algs[i].alg, data, len, "", 0, d);
		put16(b, algs[i].alg);
		put(b, d, algs[i].size);
	}
	put32(b, len);
	put(b, data, len);
}

/* Expected PCR: extend H(data_i) for each datum, in alg, from init. */
static void expect_extend(TPMI_ALG_HASH alg, uint8_t *pcr, const void *data, size_t len)
{
	uint8_t d[64];
	size_t size = evlog_hash_size(alg);

	hash2(alg, data, len, "", 0, d);
	hash2(alg, pcr, size, d, size, pcr);
}

/* the separator as SeaBIOS measures it (0xffffffff, PFP 10.4.1 EV_SEPARATOR) */
static const uint8_t sep[4] = { 0xff, 0xff, 0xff, 0xff };

/* header, S-CRTM version in 0, an action in 4, separators in 0-7 */
static void tcg_sample(struct buf *b)
{
	tcg_header(b, two, 2);
	tcg_event(b, two, 2, 0, EV_S_CRTM_VERSION, "SeaBIOS 1.16", 12);
	tcg_event(b, two, 2, 4, EV_ACTION, "Calling INT 19h", 15);
	tcg_event(b, two, 2, 5, EV_NO_ACTION, "not extended", 12);
	for (uint32_t i = 0; i < 8; i++)
		tcg_event(b, two, 2, i, EV_SEPARATOR, sep, 4);
}

static void test_tcg_replay(void **state)
{
	struct buf b = {};
	struct evlog_pcrs p;
	char why[200] = "x";

	(void)state;
	tcg_sample(&b);
	for (size_t k = 0; k < 2; k++) {
		TPMI_ALG_HASH alg = two[k].alg;
		uint8_t want[8][64] = {};

		expect_extend(alg, want[0], "SeaBIOS 1.16", 12);
		expect_extend(alg, want[4], "Calling INT 19h", 15);
		for (int i = 0; i < 8; i++)
			expect_extend(alg, want[i], sep, 4);
		assert_int_equal(evlog_tcg_replay(b.d, b.n, alg, NULL, NULL, &p, why, sizeof(why)), 0);
		assert_string_equal(why, "");
		assert_int_equal(p.bank, alg);
		assert_int_equal(p.size, two[k].size);
		assert_int_equal(p.touched, 0xff);
		for (int i = 0; i < 8; i++)
			assert_memory_equal(p.value[i], want[i], two[k].size);
	}
	/* a separator alone, as the VM's TPM computed it (PCRs 3, 5, 6, 7 of
	 * tests/data/seabios-tpm.pcrs) */
	assert_int_equal(evlog_tcg_replay(b.d, b.n, TPM2_ALG_SHA256, NULL, NULL, &p, NULL, 0), 0);
	{
		uint8_t want[32];

		assert_int_equal(hex_decode("e21b703ee69c77476bccb43ec0336a9a1b2914b378944f7b00a10214ca8fea93",
					    want, 32), 32);
		assert_memory_equal(p.value[7], want, 32);
	}
	assert_int_equal(evlog_tcg_replay(b.d, b.n, TPM2_ALG_SHA384, NULL, NULL, &p, why,
					  sizeof(why)), -ENOTSUP);
	assert_non_null(strstr(why, "not in the log"));
	assert_int_equal(evlog_tcg_replay(b.d, b.n, TPM2_ALG_SHA1, NULL, NULL, NULL, NULL, 0), -EINVAL);
	assert_int_equal(evlog_tcg_replay(NULL, 10, TPM2_ALG_SHA1, NULL, NULL, &p, NULL, 0), -EINVAL);
	free(b.d);
}

struct seen {
	unsigned n, stop_at;
	uint32_t types[32];
	bool header_ok;
};

static int count_events(const struct evlog_tcg_event *ev, void *user)
{
	struct seen *s = user;

	if (ev->index == 0)
		s->header_ok = !ev->digest && ev->digest_len == 0 && ev->data_len >= 33 &&
			       memcmp(ev->data, "Spec ID Event03", 16) == 0;
	else if (ev->type == EV_S_CRTM_VERSION) {
		uint8_t d[32];

		hash2(TPM2_ALG_SHA256, "SeaBIOS 1.16", 12, "", 0, d);
		assert_int_equal(ev->digest_len, 32);
		assert_memory_equal(ev->digest, d, 32);
		assert_int_equal(ev->data_len, 12);
		assert_true(ev->extended);
	} else if (ev->type == EV_NO_ACTION)
		assert_false(ev->extended);
	assert_int_equal(ev->index, s->n);
	s->types[s->n % 32] = ev->type;
	s->n++;
	return s->n == s->stop_at ? 42 : 0;
}

static void test_tcg_callback(void **state)
{
	struct buf b = {};
	struct seen s = {};
	struct evlog_pcrs p;

	(void)state;
	tcg_sample(&b);
	assert_int_equal(evlog_tcg_replay(b.d, b.n, TPM2_ALG_SHA256, count_events, &s, &p, NULL, 0), 0);
	assert_int_equal(s.n, 12);
	assert_true(s.header_ok);
	assert_int_equal(s.types[3], EV_NO_ACTION);
	assert_false(p.touched & ~0xffu);
	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	assert_int_equal(evlog_tcg_replay(b.d, b.n, TPM2_ALG_SHA256, count_events, &s, &p, NULL, 0), 42);
	assert_int_equal(s.n, 3);
	free(b.d);
}

static void test_tcg_banks(void **state)
{
	static const struct alg four[] = { { TPM2_ALG_SHA1, 20 }, { TPM2_ALG_SHA256, 32 },
					   { TPM2_ALG_SHA384, 48 }, { TPM2_ALG_SHA512, 64 } };
	TPMI_ALG_HASH banks[4];
	struct buf b = {};

	(void)state;
	tcg_header(&b, four, 4);
	assert_int_equal(evlog_tcg_banks(b.d, b.n, banks, 4, NULL, 0), 4);
	assert_int_equal(banks[2], TPM2_ALG_SHA384);
	assert_int_equal(evlog_tcg_banks(b.d, b.n, banks, 1, NULL, 0), 4);
	assert_string_equal(evlog_tcg_type_name(EV_SEPARATOR), "EV_SEPARATOR");
	assert_null(evlog_tcg_type_name(0x7777));
	free(b.d);
}

/* Every prefix that does not end at an event boundary is malformed and
 * says where; a prefix that ends at one replays. */
static void truncate_everywhere(const struct buf *b, bool ima, const size_t *ends, size_t nends)
{
	struct evlog_pcrs p;
	char why[200];

	for (size_t cut = 0; cut < b->n; cut++) {
		uint8_t *copy = malloc(cut + 1);	/* exact size: ASan sees overreads */
		bool boundary = false;
		int r;

		memcpy(copy, b->d, cut);
		for (size_t i = 0; i < nends; i++)
			boundary |= ends[i] == cut;
		if (ima)
			r = evlog_ima_replay(cut ? copy : NULL, cut, TPM2_ALG_SHA256, NULL, NULL, &p, why, sizeof(why));
		else
			r = evlog_tcg_replay(cut ? copy : NULL, cut, TPM2_ALG_SHA256, NULL, NULL, &p, why, sizeof(why));
		if (boundary || (ima && cut == 0)) {
			if (r != 0)
				fail_msg("cut at %zu: %d %s", cut, r, why);
		} else {
			if (r != -EBADMSG)
				fail_msg("cut at %zu: %d, expected -EBADMSG", cut, r);
			if (!strstr(why, "at offset"))
				fail_msg("cut at %zu: why \"%s\"", cut, why);
		}
		free(copy);
	}
}

static void test_tcg_truncated(void **state)
{
	struct buf b = {};
	size_t ends[16], n = 0;

	(void)state;
	tcg_header(&b, two, 2);
	ends[n++] = b.n;
	tcg_event(&b, two, 2, 0, EV_S_CRTM_VERSION, "v", 1);
	ends[n++] = b.n;
	tcg_event(&b, two, 2, 5, EV_NO_ACTION, "", 0);
	ends[n++] = b.n;
	tcg_event(&b, two, 2, 7, EV_SEPARATOR, sep, 4);
	ends[n++] = b.n;
	truncate_everywhere(&b, false, ends, n);
	free(b.d);
}

static int tcg_err(const struct buf *b, const char *want_why)
{
	struct evlog_pcrs p;
	char why[200];
	int r = evlog_tcg_replay(b->d, b->n, TPM2_ALG_SHA256, NULL, NULL, &p, why, sizeof(why));

	if (want_why && !strstr(why, want_why))
		fail_msg("why \"%s\" lacks \"%s\"", why, want_why);
	free(b->d);
	return r;
}

static void test_tcg_bad_header(void **state)
{
	static const struct alg bad_size[] = { { TPM2_ALG_SHA256, 20 } };
	static const struct alg dup[] = { { TPM2_ALG_SHA256, 32 }, { TPM2_ALG_SHA256, 32 } };
	static const struct alg big[] = { { 0x7777, 65 } };
	struct alg many[17];
	struct buf b = {};

	(void)state;
	/* known algorithm with the wrong size, duplicate, oversize unknown */
	tcg_header(&b, bad_size, 1);
	assert_int_equal(tcg_err(&b, "digest size 20"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, dup, 2);
	assert_int_equal(tcg_err(&b, "listed twice"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, big, 1);
	assert_int_equal(tcg_err(&b, "digest size 65"), -EBADMSG);
	/* numberOfAlgorithms 0, 17, or more than the event holds */
	b = (struct buf){};
	tcg_header(&b, two, 0);
	assert_int_equal(tcg_err(&b, "numberOfAlgorithms 0"), -EBADMSG);
	for (int i = 0; i < 17; i++)
		many[i] = (struct alg){ (uint16_t)(0x100 + i), 32 };
	b = (struct buf){};
	tcg_header(&b, many, 17);
	assert_int_equal(tcg_err(&b, "numberOfAlgorithms 17"), -E2BIG);
	b = (struct buf){};
	tcg_header_raw(&b, two, 2, 3, 0, 0);
	assert_int_equal(tcg_err(&b, "truncated in its algorithms"), -EBADMSG);
	/* vendorInfoSize disagrees with the bytes left (trailing bytes) */
	b = (struct buf){};
	tcg_header_raw(&b, two, 2, 2, 0, 3);
	assert_int_equal(tcg_err(&b, "vendorInfoSize 0 but 3"), -EBADMSG);
	b = (struct buf){};
	tcg_header_raw(&b, two, 2, 2, 3, 3);
	assert_int_equal(tcg_err(&b, NULL), 0);
	/* signature, version, PCR, type, digest of event 0 */
	b = (struct buf){};
	tcg_header(&b, two, 2);
	b.d[32 + 14] = '0';	/* "Spec ID Event00": the SHA-1 log format */
	assert_int_equal(tcg_err(&b, "not a crypto-agile log"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	b.d[32 + 21] = 1;
	assert_int_equal(tcg_err(&b, "specVersionMajor 1"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	b.d[0] = 1;
	assert_int_equal(tcg_err(&b, "expected PCR 0 EV_NO_ACTION"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	b.d[4] = 4;
	assert_int_equal(tcg_err(&b, "expected PCR 0 EV_NO_ACTION"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	b.d[9] = 1;
	assert_int_equal(tcg_err(&b, "header digest is not zero"), -EBADMSG);
	/* eventSize of event 0 over the rest, over the limit */
	b = (struct buf){};
	tcg_header(&b, two, 2);
	b.d[28] += 1;
	assert_int_equal(tcg_err(&b, "eventSize"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	b.d[30] = 0x20;		/* 2 MiB */
	assert_int_equal(tcg_err(&b, "over the limit"), -E2BIG);
}

static void test_tcg_bad_events(void **state)
{
	static const struct alg one[] = { { TPM2_ALG_SHA1, 20 } };
	static const struct alg three[] = { { TPM2_ALG_SHA1, 20 }, { TPM2_ALG_SHA256, 32 },
					    { TPM2_ALG_SHA384, 48 } };
	static const struct alg other[] = { { TPM2_ALG_SHA1, 20 }, { TPM2_ALG_SHA384, 48 } };
	static const struct alg twice[] = { { TPM2_ALG_SHA256, 32 }, { TPM2_ALG_SHA256, 32 } };
	struct buf b = {};

	(void)state;
	/* digest count below and above the header's */
	tcg_header(&b, two, 2);
	tcg_event(&b, one, 1, 0, EV_SEPARATOR, sep, 4);
	assert_int_equal(tcg_err(&b, "event 1 at offset 77: 1 digests, the header declares 2"),
			 -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	tcg_event(&b, two, 2, 0, EV_SEPARATOR, sep, 4);
	tcg_event(&b, three, 3, 0, EV_SEPARATOR, sep, 4);
	assert_int_equal(tcg_err(&b, "event 2"), -EBADMSG);
	/* an algorithm the header does not declare; one twice */
	b = (struct buf){};
	tcg_header(&b, two, 2);
	tcg_event(&b, other, 2, 0, EV_SEPARATOR, sep, 4);
	assert_int_equal(tcg_err(&b, "digest algorithm 0x000c is not in the header"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	tcg_event(&b, twice, 2, 0, EV_SEPARATOR, sep, 4);
	assert_int_equal(tcg_err(&b, "two digests of algorithm 0x000b"), -EBADMSG);
	/* PCR 24 */
	b = (struct buf){};
	tcg_header(&b, two, 2);
	tcg_event(&b, two, 2, 24, EV_SEPARATOR, sep, 4);
	assert_int_equal(tcg_err(&b, "PCR index 24"), -EBADMSG);
	/* eventSize past the end, over the limit */
	b = (struct buf){};
	tcg_header(&b, two, 2);
	tcg_event(&b, two, 2, 0, EV_SEPARATOR, sep, 4);
	b.d[b.n - 8] = 5;
	assert_int_equal(tcg_err(&b, "eventSize 5 but 4 bytes left"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	tcg_event(&b, two, 2, 0, EV_SEPARATOR, sep, 4);
	b.d[b.n - 6] = 0x11;	/* 0x110004 */
	assert_int_equal(tcg_err(&b, "over the limit"), -E2BIG);
	/* trailing bytes after the last event */
	for (size_t extra = 1; extra < 12; extra++) {
		b = (struct buf){};
		tcg_sample(&b);
		for (size_t i = 0; i < extra; i++)
			put8(&b, 0);
		assert_int_equal(tcg_err(&b, "truncated"), -EBADMSG);
	}
	/* over 4 MiB */
	b = (struct buf){};
	tcg_header(&b, two, 2);
	{
		size_t n = EVLOG_MAX_LOG + 1;
		uint8_t *big = calloc(1, n);
		struct evlog_pcrs p;

		memcpy(big, b.d, b.n);
		assert_int_equal(evlog_tcg_replay(big, n, TPM2_ALG_SHA1, NULL, NULL, &p, NULL, 0), -E2BIG);
		assert_int_equal(evlog_ima_replay(big, n, TPM2_ALG_SHA1, NULL, NULL, &p, NULL, 0), -E2BIG);
		free(big);
	}
	free(b.d);
}

static void test_tcg_event_limit(void **state)
{
	static const struct alg one[] = { { TPM2_ALG_SHA256, 32 } };
	struct evlog_pcrs p;
	struct buf b = {};
	char why[200];

	(void)state;
	tcg_header(&b, one, 1);
	/* 65535 events after the header: the limit, 65536 in all */
	for (uint32_t i = 1; i < EVLOG_TCG_MAX_EVENTS; i++)
		tcg_event(&b, one, 1, i % 24, EV_SEPARATOR, sep, 4);
	assert_int_equal(evlog_tcg_replay(b.d, b.n, TPM2_ALG_SHA256, NULL, NULL, &p, why, sizeof(why)), 0);
	tcg_event(&b, one, 1, 0, EV_SEPARATOR, sep, 4);
	assert_int_equal(evlog_tcg_replay(b.d, b.n, TPM2_ALG_SHA256, NULL, NULL, &p, why, sizeof(why)),
			 -E2BIG);
	assert_non_null(strstr(why, "more than 65536 events"));
	free(b.d);
}

static void locality_event(struct buf *b, uint32_t pcr, uint8_t locality, uint32_t len)
{
	uint8_t data[20] = "StartupLocality";

	data[16] = locality;
	tcg_event(b, two, 2, pcr, EV_NO_ACTION, data, len);
}

/* StartupLocality (PFP 10.4.5.3): PCR 0 starts at 0...03 */
static void test_tcg_locality(void **state)
{
	struct evlog_pcrs p;
	struct buf b = {};
	uint8_t want[32] = {};

	(void)state;
	tcg_header(&b, two, 2);
	locality_event(&b, 0, 3, 17);
	tcg_event(&b, two, 2, 0, EV_SEPARATOR, sep, 4);
	want[31] = 3;
	expect_extend(TPM2_ALG_SHA256, want, sep, 4);
	assert_int_equal(evlog_tcg_replay(b.d, b.n, TPM2_ALG_SHA256, NULL, NULL, &p, NULL, 0), 0);
	assert_memory_equal(p.value[0], want, 32);
	assert_int_equal(p.touched, 1);
	free(b.d);

	/* alone: PCR 0 = 0...03, touched */
	b = (struct buf){};
	tcg_header(&b, two, 2);
	locality_event(&b, 0, 3, 17);
	assert_int_equal(evlog_tcg_replay(b.d, b.n, TPM2_ALG_SHA1, NULL, NULL, &p, NULL, 0), 0);
	assert_int_equal(p.value[0][19], 3);
	assert_int_equal(p.touched, 1);
	free(b.d);

	/* after PCR 0 was extended, twice, in PCR 1, wrong size, locality 5 */
	b = (struct buf){};
	tcg_header(&b, two, 2);
	tcg_event(&b, two, 2, 0, EV_SEPARATOR, sep, 4);
	locality_event(&b, 0, 3, 17);
	assert_int_equal(tcg_err(&b, "after PCR 0 was extended"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	locality_event(&b, 0, 3, 17);
	locality_event(&b, 0, 3, 17);
	assert_int_equal(tcg_err(&b, "after PCR 0 was initialized"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	locality_event(&b, 1, 3, 17);
	assert_int_equal(tcg_err(&b, "in PCR 1"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	locality_event(&b, 0, 3, 18);
	assert_int_equal(tcg_err(&b, "18 bytes"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	locality_event(&b, 0, 5, 17);
	assert_int_equal(tcg_err(&b, "StartupLocality 5 (0, 3 or 4)"), -EBADMSG);
	b = (struct buf){};
	tcg_header(&b, two, 2);
	locality_event(&b, 0, 2, 17);
	assert_int_equal(tcg_err(&b, "StartupLocality 2"), -EBADMSG);
}

/* ---- IMA logs ---- */

struct ima_spec {
	const char *template;	/* ima-ng, ima-sig, ima */
	const char *path;
	const char *content;	/* the file; its digest goes into d-ng / d */
	const char *algo;	/* d-ng algorithm name */
	TPMI_ALG_HASH alg;
	bool violation;
	uint32_t pcr;
};

/* Appends one entry; returns the template hash input in *data. */
static void ima_entry(struct buf *b, const struct ima_spec *s, struct buf *data)
{
	uint8_t fd[64] = {}, td[20] = {};
	size_t fdlen = evlog_hash_size(s->alg ? s->alg : TPM2_ALG_SHA256);
	bool old = strcmp(s->template, "ima") == 0;

	memset(data, 0, sizeof(*data));
	if (!s->violation)
		hash2(s->alg ? s->alg : TPM2_ALG_SHA256, s->content, strlen(s->content), "", 0, fd);
	if (old) {
		uint8_t padded[256] = {};

		memcpy(padded, s->path, strlen(s->path));
		put(data, fd, 20);
		put(data, padded, 256);		/* what is hashed */
	} else {
		const char *algo = s->algo ? s->algo : "sha256";

		put32(data, (uint32_t)(strlen(algo) + 2 + fdlen));
		put(data, algo, strlen(algo));
		put(data, ":", 2);
		put(data, fd, fdlen);
		put32(data, (uint32_t)strlen(s->path) + 1);
		put(data, s->path, strlen(s->path) + 1);
		if (strcmp(s->template, "ima-sig") == 0 || strcmp(s->template, "ima-buf") == 0) {
			put32(data, 3);
			put(data, "\x03\x02\x01", 3);
		}
	}
	if (!s->violation)
		hash2(TPM2_ALG_SHA1, data->d, data->n, "", 0, td);
	put32(b, s->pcr ? s->pcr : 10);
	put(b, td, 20);
	put32(b, (uint32_t)strlen(s->template));
	put(b, s->template, strlen(s->template));
	if (old) {
		put(b, fd, 20);
		put32(b, (uint32_t)strlen(s->path));
		put(b, s->path, strlen(s->path));
	} else {
		put32(b, (uint32_t)data->n);
		put(b, data->d, data->n);
	}
}

static const struct ima_spec sample[] = {
	{ "ima-ng", "boot_aggregate", "aggregate", "sha256", TPM2_ALG_SHA256, false, 0 },
	{ "ima-ng", "/usr/bin/env", "#!env", "sha256", TPM2_ALG_SHA256, false, 0 },
	{ "ima-ng", "/usr/lib/x.so", "", "sha256", TPM2_ALG_SHA256, true, 0 },
	{ "ima-sig", "/usr/bin/signed", "signed", "sha512", TPM2_ALG_SHA512, false, 0 },
	{ "ima-ng", "/usr/bin/old", "old", "sha1", TPM2_ALG_SHA1, false, 0 },
	{ "ima", "/sbin/init", "init", NULL, TPM2_ALG_SHA1, false, 0 },
	{ "ima-buf", "kexec-cmdline", "console=ttyS0", "sha256", TPM2_ALG_SHA256, false, 0 },
	{ "ima-ng", "/other/pcr", "x", "sha384", TPM2_ALG_SHA384, false, 11 },
};

/* The kernel's rules, written out independently. */
static void ima_expect(TPMI_ALG_HASH bank, uint8_t want[EVLOG_PCRS][64], struct buf *b,
		       size_t *ends)
{
	size_t size = evlog_hash_size(bank);

	memset(want, 0, EVLOG_PCRS * 64);
	for (size_t i = 0; i < ARRAY_SIZE(sample); i++) {
		uint8_t ext[64] = {};
		struct buf data;
		uint32_t pcr = sample[i].pcr ? sample[i].pcr : 10;

		ima_entry(b, &sample[i], &data);
		if (ends)
			ends[i] = b->n;
		if (sample[i].violation)
			memset(ext, 0xff, size);
		else if (bank == TPM2_ALG_SHA256)
			hash2(bank, data.d, data.n, "", 0, ext);
		else
			hash2(TPM2_ALG_SHA1, data.d, data.n, "", 0, ext);
		hash2(bank, want[pcr], size, ext, size, want[pcr]);
		free(data.d);
	}
}

static int ima_check_entry(const struct evlog_ima_entry *e, void *user)
{
	unsigned *n = user;
	const struct ima_spec *s = &sample[e->index];
	uint8_t fd[64] = {};

	assert_int_equal(e->index, *n);
	assert_string_equal(e->template_name, s->template);
	assert_string_equal(e->path, s->path);
	assert_int_equal(e->file_alg, s->alg);
	assert_int_equal(e->file_digest_len, evlog_hash_size(s->alg));
	if (!s->violation)
		hash2(s->alg, s->content, strlen(s->content), "", 0, fd);
	assert_memory_equal(e->file_digest, fd, e->file_digest_len);
	assert_int_equal(e->violation, s->violation);
	assert_int_equal(e->pcr, s->pcr ? s->pcr : 10);
	assert_int_equal(e->template_digest_len, 20);
	(*n)++;
	return 0;
}

static void test_ima_replay(void **state)
{
	static const TPMI_ALG_HASH banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
					       TPM2_ALG_SHA512 };
	uint8_t want[EVLOG_PCRS][64];
	struct evlog_pcrs p;
	char why[200];

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(banks); k++) {
		struct buf b = {};
		unsigned n = 0;

		ima_expect(banks[k], want, &b, NULL);
		assert_int_equal(evlog_ima_replay(b.d, b.n, banks[k], ima_check_entry, &n, &p, why,
						  sizeof(why)), 0);
		assert_int_equal(n, ARRAY_SIZE(sample));
		assert_int_equal(p.touched, (1u << 10) | (1u << 11));
		assert_memory_equal(p.value[10], want[10], evlog_hash_size(banks[k]));
		assert_memory_equal(p.value[11], want[11], evlog_hash_size(banks[k]));
		free(b.d);
	}
	assert_int_equal(evlog_ima_replay(NULL, 0, TPM2_ALG_SM3_256, NULL, NULL, &p, why, sizeof(why)),
			 -ENOTSUP);
	assert_int_equal(evlog_ima_replay(NULL, 0, TPM2_ALG_SHA1, NULL, NULL, &p, why, sizeof(why)), 0);
	assert_int_equal(p.touched, 0);
	assert_int_equal(evlog_ima_replay(NULL, 0, TPM2_ALG_SHA1, NULL, NULL, NULL, NULL, 0), -EINVAL);
}

static void test_ima_truncated(void **state)
{
	uint8_t want[EVLOG_PCRS][64];
	size_t ends[ARRAY_SIZE(sample)];
	struct buf b = {};

	(void)state;
	ima_expect(TPM2_ALG_SHA256, want, &b, ends);
	truncate_everywhere(&b, true, ends, ARRAY_SIZE(ends));
	free(b.d);
}

static int count_entries(const struct evlog_ima_entry *e, void *user)
{
	unsigned *n = user;

	(void)e;
	(*n)++;
	return 0;
}

/* A list read after PCR 10: the prefix that replays to the value read. */
static void test_ima_replay_to(void **state)
{
	uint8_t want[EVLOG_PCRS][64], bad[32] = { 1 };
	size_t ends[ARRAY_SIZE(sample)], entries;
	struct evlog_pcrs p, q;
	struct buf b = {};
	char why[200];

	(void)state;
	ima_expect(TPM2_ALG_SHA256, want, &b, ends);
	for (size_t k = 1; k < ARRAY_SIZE(sample) - 1; k++) {	/* the last is PCR 11 */
		unsigned n = 0;

		assert_int_equal(evlog_ima_replay(b.d, ends[k - 1], TPM2_ALG_SHA256, NULL, NULL, &p,
						  NULL, 0), 0);
		assert_int_equal(evlog_ima_replay_to(b.d, b.n, TPM2_ALG_SHA256, 10, p.value[10],
						     count_entries, &n, &q, &entries, why,
						     sizeof(why)), 0);
		assert_int_equal(entries, k);
		assert_int_equal(n, k);
		assert_memory_equal(q.value[10], p.value[10], 32);
	}
	assert_int_equal(evlog_ima_replay_to(b.d, b.n, TPM2_ALG_SHA256, 10, want[10], NULL, NULL,
					     &q, &entries, NULL, 0), 0);
	assert_int_equal(entries, ARRAY_SIZE(sample) - 1);
	assert_int_equal(evlog_ima_replay_to(b.d, b.n, TPM2_ALG_SHA256, 10, bad, NULL, NULL, &q,
					     &entries, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "no prefix of the 8 entries replays PCR 10"));
	assert_int_equal(evlog_ima_replay_to(b.d, b.n, TPM2_ALG_SHA256, 24, bad, NULL, NULL, &q,
					     NULL, NULL, 0), -EINVAL);
	assert_int_equal(evlog_ima_replay_to(b.d, b.n, TPM2_ALG_SHA256, 10, NULL, NULL, NULL, &q,
					     NULL, NULL, 0), -EINVAL);
	/* a malformed entry before the match is still refused */
	b.d[ends[0] + 4] ^= 1;
	assert_int_equal(evlog_ima_replay_to(b.d, b.n, TPM2_ALG_SHA256, 10, want[10], NULL, NULL,
					     &q, NULL, NULL, 0), -EBADMSG);
	free(b.d);
}

static int ima_err(struct buf *b, const char *want_why)
{
	struct evlog_pcrs p;
	char why[200];
	int r = evlog_ima_replay(b->d, b->n, TPM2_ALG_SHA256, NULL, NULL, &p, why, sizeof(why));

	if (want_why && !strstr(why, want_why))
		fail_msg("why \"%s\" lacks \"%s\"", why, want_why);
	free(b->d);
	*b = (struct buf){};
	return r;
}

/* One ima-ng entry with raw template data: fields as given. */
static void ima_raw(struct buf *b, const char *template, const struct buf *data, bool good_digest)
{
	uint8_t td[20] = { 1 };

	if (good_digest)
		hash2(TPM2_ALG_SHA1, data->d, data->n, "", 0, td);
	put32(b, 10);
	put(b, td, 20);
	put32(b, (uint32_t)strlen(template));
	put(b, template, strlen(template));
	put32(b, (uint32_t)data->n);
	put(b, data->d, data->n);
}

static void field(struct buf *d, const void *p, uint32_t n)
{
	put32(d, n);
	put(d, p, n);
}

static void test_ima_bad(void **state)
{
	static const uint8_t dng[] = "sha256:\0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";	/* 8 + 32 */
	struct buf b = {}, d = {};
	struct buf data;

	(void)state;
	/* template digest does not match the data */
	ima_entry(&b, &sample[1], &data);
	b.d[4] ^= 1;
	assert_int_equal(ima_err(&b, "entry 0 at offset 4: template digest does not match"), -EBADMSG);
	free(data.d);
	/* the file digest flipped under a kept template digest */
	ima_entry(&b, &sample[1], &data);
	b.d[b.n - 20] ^= 1;
	assert_int_equal(ima_err(&b, "does not match"), -EBADMSG);
	free(data.d);
	/* PCR 24 */
	ima_entry(&b, &sample[1], &data);
	b.d[0] = 24;
	assert_int_equal(ima_err(&b, "PCR index 24"), -EBADMSG);
	free(data.d);

	/* unknown template, template name over 255 bytes or with a NUL */
	field(&d, dng, 40);
	field(&d, "/x", 3);
	ima_raw(&b, "ima-foo", &d, true);
	assert_int_equal(ima_err(&b, "template \"ima-foo\" not supported"), -EBADMSG);
	{
		char name[300];

		memset(name, 'a', 256);
		name[256] = '\0';
		ima_raw(&b, name, &d, true);
		assert_int_equal(ima_err(&b, "template name of 256 bytes, at most 255"), -EBADMSG);
	}
	put32(&b, 10);
	put(&b, "aaaaaaaaaaaaaaaaaaaa", 20);
	put32(&b, 6);
	put(&b, "ima\0ng", 6);
	assert_int_equal(ima_err(&b, "template name has a NUL inside"), -EBADMSG);
	free(d.d);

	/* d-ng without "algo:\0", unknown algorithm, wrong digest size */
	d = (struct buf){};
	field(&d, "sha256aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 40);
	field(&d, "/x", 3);
	ima_raw(&b, "ima-ng", &d, true);
	assert_int_equal(ima_err(&b, "no \"<algo>:\\0\" prefix"), -EBADMSG);
	free(d.d);
	d = (struct buf){};
	field(&d, "md5:\0aaaaaaaaaaaaaaaa", 21);
	field(&d, "/x", 3);
	ima_raw(&b, "ima-ng", &d, true);
	assert_int_equal(ima_err(&b, "\"md5\" not supported"), -EBADMSG);
	free(d.d);
	d = (struct buf){};
	field(&d, dng, 39);
	field(&d, "/x", 3);
	ima_raw(&b, "ima-ng", &d, true);
	assert_int_equal(ima_err(&b, "sha256 file digest of 31 bytes"), -EBADMSG);
	free(d.d);

	/* n-ng without its NUL, with a NUL inside, longer than PATH_MAX */
	d = (struct buf){};
	field(&d, dng, 40);
	field(&d, "/x", 2);
	ima_raw(&b, "ima-ng", &d, true);
	assert_int_equal(ima_err(&b, "does not end with a NUL"), -EBADMSG);
	free(d.d);
	d = (struct buf){};
	field(&d, dng, 40);
	field(&d, "/ok\0/evil", 10);
	ima_raw(&b, "ima-ng", &d, true);
	assert_int_equal(ima_err(&b, "path has a NUL inside"), -EBADMSG);
	free(d.d);
	{
		char *path = calloc(1, 4097);

		memset(path, 'p', 4096);
		d = (struct buf){};
		field(&d, dng, 40);
		field(&d, path, 4097);
		ima_raw(&b, "ima-ng", &d, true);
		assert_int_equal(ima_err(&b, "n-ng of 4097 bytes, at most 4096"), -EBADMSG);
		free(d.d);
		free(path);
	}

	/* ima-ng with a third field (trailing bytes in the template data),
	 * ima-sig without its sig, fields longer than the data */
	d = (struct buf){};
	field(&d, dng, 40);
	field(&d, "/x", 3);
	field(&d, "sig", 3);
	ima_raw(&b, "ima-ng", &d, true);
	assert_int_equal(ima_err(&b, "7 bytes after the template's fields"), -EBADMSG);
	free(d.d);
	d = (struct buf){};
	field(&d, dng, 40);
	field(&d, "/x", 3);
	ima_raw(&b, "ima-sig", &d, true);
	assert_int_equal(ima_err(&b, "truncated before the length of sig"), -EBADMSG);
	free(d.d);
	d = (struct buf){};
	field(&d, dng, 40);
	put32(&d, 100);
	put(&d, "/x", 3);
	ima_raw(&b, "ima-ng", &d, true);
	assert_int_equal(ima_err(&b, "n-ng of 100 bytes but 3 left"), -EBADMSG);
	free(d.d);

	/* template data over 1 MiB */
	put32(&b, 10);
	put(&b, "aaaaaaaaaaaaaaaaaaaa", 20);
	put32(&b, 6);
	put(&b, "ima-ng", 6);
	put32(&b, EVLOG_IMA_MAX_TEMPLATE_DATA + 1);
	assert_int_equal(ima_err(&b, "template data of 1048577 bytes"), -E2BIG);

	/* "ima" template: n over 255 bytes */
	put32(&b, 10);
	put(&b, "aaaaaaaaaaaaaaaaaaaa", 20);
	put32(&b, 3);
	put(&b, "ima", 3);
	put(&b, "aaaaaaaaaaaaaaaaaaaa", 20);
	put32(&b, 256);
	for (int i = 0; i < 256; i++)
		put8(&b, 'n');
	assert_int_equal(ima_err(&b, "n of 256 bytes, at most 255"), -EBADMSG);
}

/* ---- the real logs of the test VM ---- */

static void check_fixture(const char *log_path, const char *pcrs_path, bool ima)
{
	_cleanup_free_ char *log = NULL, *pcrs = NULL;
	size_t log_len, pcrs_len;
	unsigned checked = 0;
	char *save = NULL;

	assert_int_equal(read_file_max(log_path, EVLOG_MAX_LOG, &log, &log_len), 0);
	assert_int_equal(read_file_max(pcrs_path, 65536, &pcrs, &pcrs_len), 0);
	for (char *line = strtok_r(pcrs, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char bank[16], hex[129];
		unsigned pcr;
		uint8_t want[64];
		struct evlog_pcrs p;
		char why[200];
		TPMI_ALG_HASH alg;
		int r;

		assert_int_equal(sscanf(line, "%15[^:]:%u %128s", bank, &pcr, hex), 3);
		alg = evlog_bank_from_name(bank);
		assert_int_not_equal(alg, 0);
		assert_int_equal(hex_decode(hex, want, sizeof(want)), evlog_hash_size(alg));
		if (ima)
			r = evlog_ima_replay((uint8_t *)log, log_len, alg, NULL, NULL, &p, why, sizeof(why));
		else
			r = evlog_tcg_replay((uint8_t *)log, log_len, alg, NULL, NULL, &p, why, sizeof(why));
		if (r)
			fail_msg("%s %s: %d %s", log_path, bank, r, why);
		assert_true(p.touched & (1u << pcr));
		assert_memory_equal(p.value[pcr], want, p.size);
		checked++;
	}
	assert_true(checked >= 2);
}

static void test_fixture_seabios(void **state)
{
	(void)state;
	check_fixture("tests/data/seabios-tpm.bin", "tests/data/seabios-tpm.pcrs", false);
}

/* the same kernel with the ima-ng, ima-sig and (with ima_hash=sha1) ima templates */
static void test_fixture_ima(void **state)
{
	(void)state;
	check_fixture("tests/data/ima-ng-vm.bin", "tests/data/ima-ng-vm.pcrs", true);
	check_fixture("tests/data/ima-sig-vm.bin", "tests/data/ima-sig-vm.pcrs", true);
	check_fixture("tests/data/ima-vm.bin", "tests/data/ima-vm.pcrs", true);
}

struct offsets {
	size_t n, at[64];
};

static int collect_offsets(const struct evlog_tcg_event *ev, void *user)
{
	struct offsets *o = user;

	if (ev->index > 0 && o->n < ARRAY_SIZE(o->at))
		o->at[o->n++] = ev->offset;	/* where the previous event ends */
	return 0;
}

/* Every prefix of the real SeaBIOS log that does not end at an event
 * boundary is refused as malformed; one that does replays. */
static void test_fixture_seabios_truncated(void **state)
{
	_cleanup_free_ char *log = NULL;
	struct offsets o = {};
	struct evlog_pcrs p;
	struct buf b;
	size_t len;

	(void)state;
	assert_int_equal(read_file_max("tests/data/seabios-tpm.bin", EVLOG_MAX_LOG, &log, &len), 0);
	assert_int_equal(evlog_tcg_replay((uint8_t *)log, len, TPM2_ALG_SHA256, collect_offsets, &o,
					  &p, NULL, 0), 0);
	assert_int_equal(o.n, 14);	/* 15 events with the header (RECIPES) */
	o.at[o.n++] = len;
	b = (struct buf){ .d = (uint8_t *)log, .n = len };
	truncate_everywhere(&b, false, o.at, o.n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcg_replay),
		cmocka_unit_test(test_tcg_callback),
		cmocka_unit_test(test_tcg_banks),
		cmocka_unit_test(test_tcg_truncated),
		cmocka_unit_test(test_tcg_bad_header),
		cmocka_unit_test(test_tcg_bad_events),
		cmocka_unit_test(test_tcg_event_limit),
		cmocka_unit_test(test_tcg_locality),
		cmocka_unit_test(test_ima_replay),
		cmocka_unit_test(test_ima_truncated),
		cmocka_unit_test(test_ima_replay_to),
		cmocka_unit_test(test_ima_bad),
		cmocka_unit_test(test_fixture_seabios),
		cmocka_unit_test(test_fixture_ima),
		cmocka_unit_test(test_fixture_seabios_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
