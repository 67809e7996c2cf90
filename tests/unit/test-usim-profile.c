// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine on the shipped JSON profiles (daemon/usim/profiles/, loaded
 * with the profile loader): the start-up reads a modem makes of every file
 * issue 4 lists, AUTHENTICATE against the network side of daemon/aka for
 * MILENAGE and TUAK, and GET IDENTITY where the USIM computes the SUCI.
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

#include "daemon/usim/profile-json.h"
#include "daemon/usim/usim.h"
#include "hex.h"

struct card {
	struct usim_profile *p;
	struct usim_engine *e;
	struct aka_plain_secret k;
	struct aka_cipher cipher;
	struct aka_key key;
	uint8_t rsp[65538];
	size_t n;
};

static struct card *card_load(const char *path)
{
	struct card *c = calloc(1, sizeof(*c));
	char why[PROFILE_JSON_WHY_SIZE] = "";
	int rc;

	assert_non_null(c);
	rc = profile_json_load_file(path, &c->p, &c->k, why, sizeof(why));
	if (rc)
		fail_msg("%s: %s", path, why);
	assert_int_equal(usim_profile_validate(c->p, why, sizeof(why)), 0);
	c->key.secret = aka_plain_secret(&c->k);
	if (c->p->aka.algo == AKA_ALGO_MILENAGE) {
		assert_int_equal(c->k.len, 16);
		assert_int_equal(aka_soft_cipher_new(c->k.k, &c->cipher), 0);
		c->key.cipher = c->cipher;
	}
	assert_int_equal(usim_engine_new(c->p, &c->key, &c->e), 0);
	return c;
}

static void card_free(struct card *c)
{
	usim_engine_free(c->e);
	usim_profile_free(c->p);
	aka_soft_cipher_free(&c->cipher);
	explicit_bzero(&c->k, sizeof(c->k));
	free(c);
}

static unsigned tx(struct card *c, const char *hex)
{
	uint8_t b[600];
	int n = hex_decode(hex, b, sizeof(b));

	assert_true(n >= 4);
	assert_int_equal(usim_engine_process(c->e, b, (size_t)n, c->rsp,
					     sizeof(c->rsp), &c->n, NULL, NULL),
			 0);
	return (unsigned)c->rsp[c->n - 2] << 8 | c->rsp[c->n - 1];
}

/* The value of a top-level DO of the FCP in the last response. */
static const uint8_t *fcp_do(const struct card *c, uint8_t tag, size_t *len)
{
	for (size_t i = 2; i + 2 <= c->n - 2;) {
		size_t l = c->rsp[i + 1];

		if (c->rsp[i] == tag) {
			*len = l;
			return c->rsp + i + 2;
		}
		i += 2 + l;
	}
	return NULL;
}

/* SELECT by path with the FCP, then read the whole file the way its FCP
 * describes it.  Returns the number of bytes read. */
static size_t select_and_read(struct card *c, const char *path)
{
	char apdu[64];
	const uint8_t *d;
	size_t l = 0, total = 0;
	unsigned sw;

	snprintf(apdu, sizeof(apdu), "00a40804%02zx%s00", strlen(path) / 2,
		 path);
	sw = tx(c, apdu);
	if (sw != 0x9000)
		fail_msg("SELECT %s: %04x", path, sw);
	d = fcp_do(c, 0x82, &l);
	assert_non_null(d);
	if ((d[0] & 0x38) == 0x38)
		return 0; /* a DF */
	if ((d[0] & 0x07) == 0x01) {
		const uint8_t *s = fcp_do(c, 0x80, &l);
		size_t size = (size_t)s[0] << 8 | s[1];

		for (size_t off = 0; off < size; off += 128) {
			size_t n = size - off < 128 ? size - off : 128;

			snprintf(apdu, sizeof(apdu), "00b0%04zx%02zx", off, n);
			sw = tx(c, apdu);
			if (sw != 0x9000)
				fail_msg("READ BINARY %s: %04x", path, sw);
			assert_int_equal(c->n, n + 2);
			total += n;
		}
		return total;
	}
	assert_int_equal(l, 5);
	unsigned rl = d[3], nrec = d[4];

	for (unsigned r = 1; r <= nrec; r++) {
		snprintf(apdu, sizeof(apdu), "00b2%02x04%02x", r, rl);
		sw = tx(c, apdu);
		if (sw != 0x9000)
			fail_msg("READ RECORD %s/%u: %04x", path, r, sw);
		total += rl;
	}
	return total;
}

static const char *const mf_files[] = { "2f00", "2f05", "2f06", "2f08",
					"2fe2" };
static const char *const usim_files[] = {
	"6f05", "6f06", "6f07", "6f08", "6f09", "6f31", "6f38", "6f42",
	"6f46", "6f56", "6f5b", "6f5c", "6f60", "6f61", "6f62", "6f73",
	"6f78", "6f7b", "6f7e", "6fad", "6fb7", "6fc4", "6fd9", "6fe3",
	"6fe4",
};

static void startup(struct card *c)
{
	char path[32];
	size_t bytes = 0;

	assert_int_equal(tx(c, "80f2000000"), 0x9000); /* STATUS */
	for (size_t i = 0; i < sizeof(mf_files) / sizeof(mf_files[0]); i++)
		bytes += select_and_read(c, mf_files[i]);
	/* The USIM by the AID in EF.DIR record 1. */
	assert_int_equal(tx(c, "00a4080c022f00"), 0x9000);
	assert_int_equal(tx(c, "00b2010400"), 0x9000);
	assert_int_equal(c->rsp[0], 0x61);
	assert_int_equal(c->rsp[2], 0x4f);
	char apdu[80];
	int n = snprintf(apdu, sizeof(apdu), "00a40404%02x", c->rsp[3]);

	for (unsigned i = 0; i < c->rsp[3]; i++)
		n += snprintf(apdu + n, sizeof(apdu) - (size_t)n, "%02x",
			      c->rsp[4 + i]);
	snprintf(apdu + n, sizeof(apdu) - (size_t)n, "00");
	assert_int_equal(tx(c, apdu), 0x9000);
	for (size_t i = 0; i < sizeof(usim_files) / sizeof(usim_files[0]);
	     i++) {
		snprintf(path, sizeof(path), "7fff%s", usim_files[i]);
		bytes += select_and_read(c, path);
	}
	for (unsigned f = 0x4f01; f <= 0x4f0a; f++) {
		snprintf(path, sizeof(path), "7fff5fc0%04x", f);
		bytes += select_and_read(c, path);
	}
	assert_true(bytes > 500);
	assert_int_equal(tx(c, "80f2010c"), 0x9000); /* keep-alive */
}

/* AUTHENTICATE with a vector from the network side; SQN fresh. */
static void authenticate(struct card *c)
{
	static const uint8_t rand[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
					  0xcd, 0xef, 0x10, 0x32, 0x54, 0x76,
					  0x98, 0xba, 0xdc, 0xfe };
	static const uint8_t sqn[6] = { 0, 0, 0, 0, 0, 0x21 }; /* SEQ 1 */
	static const uint8_t amf[2] = { 0x80, 0x00 };
	struct aka_vector v;
	char apdu[200];
	int n;

	assert_int_equal(aka_network_generate(&c->p->aka, &c->key, rand, sqn,
					      amf, &v),
			 0);
	n = snprintf(apdu, sizeof(apdu), "00880081%02zx10",
		     2 + 16 + v.autn_len);
	for (int i = 0; i < 16; i++)
		n += snprintf(apdu + n, sizeof(apdu) - (size_t)n, "%02x",
			      rand[i]);
	n += snprintf(apdu + n, sizeof(apdu) - (size_t)n, "%02zx",
		      v.autn_len);
	for (size_t i = 0; i < v.autn_len; i++)
		n += snprintf(apdu + n, sizeof(apdu) - (size_t)n, "%02x",
			      v.autn[i]);
	snprintf(apdu + n, sizeof(apdu) - (size_t)n, "00");
	assert_int_equal(tx(c, apdu), 0x9000);
	assert_int_equal(c->rsp[0], 0xdb);
	assert_int_equal(c->rsp[1], v.xres_len);
	assert_memory_equal(c->rsp + 2, v.xres, v.xres_len);
	size_t o = 2 + v.xres_len;

	assert_int_equal(c->rsp[o], v.ck_len);
	assert_memory_equal(c->rsp + o + 1, v.ck, v.ck_len);
	o += 1 + v.ck_len;
	assert_int_equal(c->rsp[o], v.ik_len);
	assert_memory_equal(c->rsp + o + 1, v.ik, v.ik_len);
	/* Replayed: a sync failure the network resolves to SQN_MS = SQN. */
	assert_int_equal(tx(c, apdu), 0x9000);
	assert_int_equal(c->rsp[0], 0xdc);
	uint8_t sqn_ms[6];

	assert_int_equal(aka_network_resync(&c->p->aka, &c->key, rand,
					    c->rsp + 2, c->rsp[1], sqn_ms),
			 0);
	assert_memory_equal(sqn_ms, sqn, 6);
}

static void milenage_profile(void **state)
{
	struct card *c = card_load("daemon/usim/profiles/test-usim.json");

	(void)state;
	startup(c);
	authenticate(c);
	/* Service 125 is off: the ME computes the SUCI. */
	assert_int_equal(tx(c, "8078000100"), 0x6985);
	card_free(c);
}

static void tuak_profile(void **state)
{
	struct card *c = card_load("daemon/usim/profiles/test-usim-tuak.json");

	(void)state;
	assert_int_equal(c->p->aka.algo, AKA_ALGO_TUAK);
	startup(c);
	authenticate(c);
	/* Service 125 is on: the USIM computes it with profile A (first in
	 * EF.SUCI_Calc_Info), key identifier 1. */
	assert_int_equal(tx(c, "8078000100"), 0x9000);
	assert_int_equal(c->rsp[0], 0xa1);
	assert_int_equal(c->rsp[2], 0x01);
	assert_int_equal(c->rsp[8], 0x01);
	assert_int_equal(c->rsp[9], 0x01);
	assert_int_equal(c->n, 2 + 2 + 8 + 32 + 5 + 8);
	card_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(milenage_profile),
		cmocka_unit_test(tuak_profile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
