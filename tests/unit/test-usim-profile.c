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
#include <stdbool.h>
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
/* On the channel of class byte cla; kc: the answer carries Kc (a USIM
 * with service 27), else it ends after IK (the ISIM's IMS AKA context). */
static void authenticate_on(struct card *c, unsigned cla, bool kc)
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
	n = snprintf(apdu, sizeof(apdu), "%02x880081%02zx10", cla,
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
	o += 1 + v.ik_len;
	if (kc)
		assert_int_equal(c->rsp[o++], 8);
	assert_int_equal(c->n, o + (kc ? 8 : 0) + 2);
	/* Replayed: a sync failure the network resolves to SQN_MS = SQN. */
	assert_int_equal(tx(c, apdu), 0x9000);
	assert_int_equal(c->rsp[0], 0xdc);
	uint8_t sqn_ms[6];

	assert_int_equal(aka_network_resync(&c->p->aka, &c->key, rand,
					    c->rsp + 2, c->rsp[1], sqn_ms),
			 0);
	assert_memory_equal(sqn_ms, sqn, 6);
}

static void authenticate(struct card *c)
{
	authenticate_on(c, 0x00, true);
}

static void milenage_profile(void **state)
{
	struct card *c = card_load("daemon/usim/profiles/test-usim.json");

	(void)state;
	startup(c);
	authenticate(c);
	/* Services 124 and 125 are on: the USIM computes the SUCI
	 * (TS 31.102 7.5) with profile A, key identifier 1. */
	assert_int_equal(tx(c, "8078000100"), 0x9000);
	assert_int_equal(c->rsp[0], 0xa1);
	card_free(c);
}

/* A service of EF.UST/EF.IST and the files it needs (TS 31.102 4.2.8 and
 * 4.2 ff., TS 31.103 4.2.7): paths from the application (7FFF). */
struct service_files {
	unsigned n;
	const char *files[4];
};

static const struct service_files ust_files[] = {
	{ 10, { "6f3c", "6f43" } }, { 11, { "6f47" } }, { 12, { "6f42" } },
	{ 15, { "6f45" } }, { 16, { "6f50" } }, { 17, { "6f3e" } },
	{ 18, { "6f3f" } }, { 19, { "6f46" } }, { 20, { "6f60" } },
	{ 21, { "6f40" } }, { 27, { "5f3b4f20", "5f3b4f52" } },
	{ 29, { "6f48" } }, { 34, { "6f56" } }, { 42, { "6f61" } },
	{ 43, { "6f62" } }, { 45, { "6fc5" } }, { 46, { "6fc6" } },
	{ 47, { "6fc7", "6fc9" } }, { 48, { "6fca" } }, { 51, { "6fcd" } },
	{ 71, { "6fd9" } }, { 85, { "6fe3", "6fe4" } },
	{ 122, { "5fc04f01", "5fc04f02", "5fc04f03", "5fc04f04" } },
	{ 123, { "5fc04f05" } }, { 124, { "5fc04f07", "5fc04f0a" } },
	{ 126, { "5fc04f06" } }, { 129, { "5fc04f08" } },
	/* Services that are off: their files must be absent too. */
	{ 1, { "5f3a" } }, { 2, { "6f3b" } }, { 4, { "6f49" } },
	{ 6, { "6f4d" } }, { 13, { "6f37" } }, { 49, { "6fcb" } },
	{ 68, { "6fd5" } },
};

static const struct service_files ist_files[] = {
	{ 1, { "6f09" } },
	{ 2, { "6fd5", "6fd7" } }, /* GBA: off */
	{ 6, { "6f3c", "6f43" } }, /* SMS over IP: off */
};

static bool service_on(const uint8_t *table, size_t len, unsigned n)
{
	return (n - 1) / 8 < len && (table[(n - 1) / 8] >> ((n - 1) % 8) & 1);
}

/* Selects the application at EF.DIR record rec on channel ch. */
static void select_app(struct card *c, unsigned ch, unsigned rec)
{
	char apdu[80];
	int n;

	snprintf(apdu, sizeof(apdu), "0%xa4080c022f00", ch);
	assert_int_equal(tx(c, apdu), 0x9000);
	snprintf(apdu, sizeof(apdu), "0%xb2%02x0400", ch, rec);
	assert_int_equal(tx(c, apdu), 0x9000);
	assert_int_equal(c->rsp[2], 0x4f);
	n = snprintf(apdu, sizeof(apdu), "0%xa4040c%02x", ch, c->rsp[3]);
	for (unsigned i = 0; i < c->rsp[3]; i++)
		n += snprintf(apdu + n, sizeof(apdu) - (size_t)n, "%02x",
			      c->rsp[4 + i]);
	assert_int_equal(tx(c, apdu), 0x9000);
}

static void check_services(struct card *c, const struct service_files *t,
			   size_t n, const char *table_fid)
{
	uint8_t table[32];
	char apdu[64], path[32];
	size_t len;

	snprintf(apdu, sizeof(apdu), "00a4000c02%s", table_fid);
	assert_int_equal(tx(c, apdu), 0x9000);
	assert_int_equal(tx(c, "00b0000000"), 0x9000);
	len = c->n - 2;
	assert_true(len <= sizeof(table));
	memcpy(table, c->rsp, len);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < 4 && t[i].files[j]; j++) {
			snprintf(path, sizeof(path), "7fff%s", t[i].files[j]);
			if (service_on(table, len, t[i].n)) {
				select_and_read(c, path);
				continue;
			}
			snprintf(apdu, sizeof(apdu), "00a4080c%02zx%s",
				 strlen(path) / 2, path);
			if (tx(c, apdu) != 0x6a82)
				fail_msg("service %u is off but %s is there",
					 t[i].n, path);
		}
	}
}

/*
 * The default profile is laid out like an operator's card (issue 18,
 * docs/test-usim-profile.md): EF.DIR names the USIM and the ISIM; every
 * UST/IST service marked available has its files and the services that
 * are off have none; DF.TELECOM with DF.PHONEBOOK and DF.GSM read as a
 * terminal reads them; the ISIM on logical channel 1 answers AUTHENTICATE
 * in the IMS AKA context like the USIM's 3G context, without Kc.
 */
static void operator_layout(void **state)
{
	static const char *const mf_level[] = {
		"7f106f3a", "7f106f3c", "7f106f40", "7f106f42", "7f106f43",
		"7f106f47", "7f105f3a4f30", "7f105f3a4f3a", "7f105f3a4f09",
		"7f105f3a4f4a", "7f206f07", "7f206f38", "7f206fad", "7f206f7e",
		"7f206fae",
	};
	static const char *const isim_files[] = { "6f02", "6f03", "6f04",
						  "6f06", "6f07", "6fad" };
	struct card *c = card_load("daemon/usim/profiles/test-usim.json");
	char path[32];

	(void)state;
	for (size_t i = 0; i < sizeof(mf_level) / sizeof(mf_level[0]); i++)
		select_and_read(c, mf_level[i]);
	select_app(c, 0, 1);
	check_services(c, ust_files, sizeof(ust_files) / sizeof(ust_files[0]),
		       "6f38");
	/* The ISIM on channel 1, as phones open it. */
	assert_int_equal(tx(c, "0070000001"), 0x9000);
	assert_int_equal(c->rsp[0], 0x01);
	select_app(c, 1, 2);
	assert_int_equal(tx(c, "81f2000100"), 0x9000);
	assert_memory_equal(c->rsp + 2, "\xa0\x00\x00\x00\x87\x10\x04", 7);
	/* select_and_read() works on channel 0: the ISIM there too. */
	select_app(c, 0, 2);
	for (size_t i = 0; i < sizeof(isim_files) / sizeof(isim_files[0]);
	     i++) {
		snprintf(path, sizeof(path), "7fff%s", isim_files[i]);
		select_and_read(c, path);
	}
	check_services(c, ist_files, sizeof(ist_files) / sizeof(ist_files[0]),
		       "6f07");
	/* IMS AKA on channel 1 (TS 31.103 7.1.2), then the GSM context,
	 * which the ISIM does not have. */
	authenticate_on(c, 0x01, false);
	assert_int_equal(tx(c, "0188008011" "10" "00112233445566778899aabbccddeeff"),
			 0x6a86);
	/* EF.IMPI: the NAI derived from the IMSI (TS 23.003 13.3). */
	assert_int_equal(tx(c, "00a4000c026f02"), 0x9000);
	assert_int_equal(tx(c, "00b0000000"), 0x9000);
	assert_int_equal(c->rsp[0], 0x80);
	assert_memory_equal(c->rsp + 2, "001010123456789@ims.mnc001.mcc001",
			    33);
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
		cmocka_unit_test(operator_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
