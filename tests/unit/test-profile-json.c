// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The JSON profile loader (daemon/usim/profile-json.c): the shipped test
 * profiles load with the values docs/profile-format.md gives them, the
 * defaults and optional forms work, and each kind of invalid input is
 * rejected with the error that names the element at fault.
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
#include "hex.h"
#include "macro.h"

#define K1 "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OPC1 "cd63cb71954a9f4e48a5994e37a02baf"
#define OP1 "cdc202d5123e20f62b6d676ac72cb318"
#define AUTH_OK "{\"algorithm\": \"milenage\", \"k\": \"" K1 "\", \"opc\": \"" OPC1 "\"}"
#define HEAD "\"format\": \"mcim-profile\", \"version\": 1"
/* A document with the given auth object, extra top-level members and files. */
#define DOC(auth, extra, files) \
	"{" HEAD ", \"auth\": " auth extra ", \"files\": [" files "]}"
#define DOCF(files) DOC(AUTH_OK, "", files)
#define ICCID "{\"path\": \"3F00/2FE2\", \"type\": \"transparent\", \"sfi\": 2, \"size\": 10}"

static int load(const char *text, struct usim_profile **p,
		struct aka_plain_secret *k, char *why)
{
	return profile_json_load_buf(text, strlen(text), p, k, why,
				     PROFILE_JSON_WHY_SIZE);
}

static void hexeq(const uint8_t *got, const char *want_hex)
{
	uint8_t want[64];
	int n = hex_decode(want_hex, want, sizeof(want));

	assert_true(n > 0);
	assert_memory_equal(got, want, (size_t)n);
}

static int find(const struct usim_profile *p, int parent, uint16_t fid)
{
	for (size_t i = 1; i < p->n_files; i++)
		if (p->files[i].parent == parent && p->files[i].fid == fid)
			return (int)i;
	return -1;
}

/* ---- the shipped profiles ------------------------------------------------ */

static void test_default_profile(void **state)
{
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	char why[PROFILE_JSON_WHY_SIZE];
	int adf, imsi, dir, gs, ust;
	struct usim_pin *pin;

	(void)state;
	assert_int_equal(profile_json_load_file("daemon/usim/profiles/test-usim.json",
						&p, &k, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	/* TS 35.208 4.3.1: K and OPc of test set 1. */
	assert_int_equal(k.len, 16);
	hexeq(k.k, K1);
	assert_int_equal(p->aka.algo, AKA_ALGO_MILENAGE);
	hexeq(p->aka.milenage.opc, OPC1);
	/* TS 35.206 4.1 default constants. */
	assert_int_equal(p->aka.milenage.r[0], 64);
	assert_int_equal(p->aka.milenage.r[4], 96);
	assert_int_equal(p->aka.milenage.c[4][15], 8);
	/* TS 33.102 C.3.4 defaults. */
	assert_int_equal(p->sqn_cfg.ind_bits, 5);
	assert_int_equal(p->sqn_cfg.delta, 1u << 28);
	assert_int_equal(p->sqn_cfg.limit_l, 0);

	dir = find(p, 0, 0x2f00);
	assert_true(dir > 0);
	assert_int_equal(p->files[dir].kind, USIM_FILE_EF_LINEAR);
	assert_int_equal(p->files[dir].sfi, 0x1e);
	assert_int_equal(p->files[dir].rec_len, 32);
	assert_int_equal(p->files[dir].rec_count, 2);
	/* Record 2 names the ISIM (TS 31.103 4.1), the rest is FF. */
	assert_int_equal(p->files[dir].data[32], 0x61);
	assert_int_equal(p->files[dir].data[32 + 2 + 2 + 5], 0x10);
	assert_int_equal(p->files[dir].data[32 + 2 + 2 + 6], 0x04);
	assert_int_equal(p->files[dir].data[63], 0xff);

	adf = find(p, 0, 0x7fff);
	assert_true(adf > 0);
	assert_int_equal(p->files[adf].kind, USIM_FILE_ADF);
	assert_int_equal(p->files[adf].aid_len, 16);
	hexeq(p->files[adf].aid, "a0000000871002ffffffff8900000100");
	/* EF.DIR record 1 names that AID (TS 102 221 13.1). */
	hexeq(p->files[dir].data, "61184f10a0000000871002ffffffff8900000100");

	imsi = find(p, adf, 0x6f07);
	assert_true(imsi > 0);
	assert_int_equal(p->files[imsi].size, 9);
	assert_int_equal(p->files[imsi].sfi, 7);
	assert_int_equal(p->files[imsi].arr_fid, 0x6f06);
	assert_int_equal(p->files[imsi].arr_record, 2);
	assert_int_equal(p->files[imsi].lcs, USIM_LCS_OPERATIONAL_ACTIVATED);
	hexeq(p->files[imsi].data, "080910101032547698");

	ust = find(p, adf, 0x6f38);
	assert_true(ust > 0);
	/* TS 31.102 4.2.8: service n is bit (n-1)%8 of byte (n-1)/8. */
	assert_true(p->files[ust].data[(124 - 1) / 8] & (1 << ((124 - 1) % 8)));
	/* 125 too: the USIM computes the SUCI (GET IDENTITY, issue 18). */
	assert_true(p->files[ust].data[(125 - 1) / 8] & (1 << ((125 - 1) % 8)));

	gs = find(p, adf, 0x5fc0);
	assert_true(gs > 0);
	assert_int_equal(p->files[gs].kind, USIM_FILE_DF);
	for (uint16_t fid = 0x4f01; fid <= 0x4f0a; fid++)
		assert_true(find(p, gs, fid) > 0);
	/* The 5GS files were declared by name ("DF.5GS/4F07"). */
	hexeq(p->files[find(p, gs, 0x4f07)].data, "a006010102020000a14b800101");
	hexeq(p->files[find(p, gs, 0x4f0a)].data, "f0ffffff");

	pin = usim_profile_pin(p, USIM_KEYREF_PIN1);
	assert_non_null(pin);
	assert_false(pin->enabled);
	assert_true(pin->can_disable);
	assert_true(pin->has_puk);
	assert_int_equal(pin->max_tries, 3);
	assert_int_equal(pin->tries_left, 3);
	assert_int_equal(pin->puk_tries_left, 10);
	assert_memory_equal(pin->value, "1234\xff\xff\xff\xff", 8);
	assert_memory_equal(pin->puk, "12345678", 8);
	pin = usim_profile_pin(p, USIM_KEYREF_PIN2);
	assert_non_null(pin);
	assert_true(pin->enabled);
	assert_false(pin->can_disable);
	pin = usim_profile_pin(p, USIM_KEYREF_ADM1);
	assert_non_null(pin);
	assert_int_equal(pin->max_tries, 10);
	assert_false(pin->has_puk);
	assert_int_equal(p->atr_len, 0);

	usim_profile_free(p);
	wipe(&k, sizeof(k));
}

static void test_tuak_profile(void **state)
{
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	char why[PROFILE_JSON_WHY_SIZE];
	int adf, ust;

	(void)state;
	assert_int_equal(profile_json_load_file("daemon/usim/profiles/test-usim-tuak.json",
						&p, &k, why, sizeof(why)), 0);
	assert_int_equal(p->aka.algo, AKA_ALGO_TUAK);
	assert_int_equal(k.len, 16);
	/* TS 35.233 test set 1: TOPc computed from TOP and K at load time. */
	hexeq(p->aka.tuak.topc,
	      "bd04d9530e87513c5d837ac2ad954623a8e2330c115305a73eb45d1f40cccbff");
	assert_int_equal(p->aka.tuak.mac_bits, 64);
	assert_int_equal(p->aka.tuak.res_bits, 32);
	assert_int_equal(p->aka.tuak.ck_bits, 128);
	assert_int_equal(p->aka.tuak.ik_bits, 128);
	assert_int_equal(p->aka.tuak.iterations, 1);
	adf = find(p, 0, 0x7fff);
	ust = find(p, adf, 0x6f38);
	assert_true(p->files[ust].data[(125 - 1) / 8] & (1 << ((125 - 1) % 8)));
	usim_profile_free(p);
	wipe(&k, sizeof(k));
}

/* The key handle built from the loaded K computes TS 35.208 set 1. */
static void test_key_handle(void **state)
{
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	struct aka_key key;
	char why[PROFILE_JSON_WHY_SIZE];
	uint8_t rand[16], res[8], ck[16];

	(void)state;
	assert_int_equal(profile_json_load_file("daemon/usim/profiles/test-usim.json",
						&p, &k, why, sizeof(why)), 0);
	assert_int_equal(profile_json_key_new(AKA_ALGO_MILENAGE, &k, &key), 0);
	assert_int_equal(hex_decode("23553cbe9637a89d218ae64dae47bf35", rand, 16), 16);
	assert_int_equal(aka_milenage_f2345(&key.cipher, &p->aka.milenage, rand,
					    res, ck, NULL, NULL), 0);
	hexeq(res, "a54211d5e3ba50bf");
	hexeq(ck, "b40ba9a3c58b2a05bbf0d987b21bf8cb");
	profile_json_key_free(&key);
	assert_null(key.cipher.encrypt);
	/* TUAK wants 16 or 32 bytes, MILENAGE 16. */
	k.len = 20;
	assert_int_equal(profile_json_key_new(AKA_ALGO_TUAK, &k, &key), -EINVAL);
	assert_int_equal(profile_json_key_new(AKA_ALGO_MILENAGE, &k, &key), -EINVAL);
	usim_profile_free(p);
	wipe(&k, sizeof(k));
}

/* ---- valid documents: defaults and optional forms ------------------------ */

/* The operator's package: a profile without secrets; any secret refused. */
static void test_public_only(void **state)
{
	static const char ok[] = "{" HEAD ", \"auth\": {\"algorithm\": \"milenage\"},"
		" \"pins\": [{\"ref\": \"PIN1\", \"retries\": 3},"
		"  {\"ref\": \"ADM1\", \"retries\": 10}],"
		" \"files\": [{\"path\": \"3F00\", \"type\": \"MF\"}]}";
	static const char *const bad[] = {
		"{" HEAD ", \"auth\": {\"algorithm\": \"milenage\", \"k\": \"" K1 "\"},"
		" \"files\": [{\"path\": \"3F00\", \"type\": \"MF\"}]}",
		"{" HEAD ", \"auth\": {\"algorithm\": \"milenage\", \"opc\": \"" OPC1 "\"},"
		" \"files\": [{\"path\": \"3F00\", \"type\": \"MF\"}]}",
		"{" HEAD ", \"auth\": {\"algorithm\": \"milenage\"}, \"pins\": [{\"ref\":"
		" \"PIN1\", \"value\": \"1234\"}], \"files\": [{\"path\": \"3F00\", \"type\": \"MF\"}]}",
		"{" HEAD ", \"auth\": {\"algorithm\": \"milenage\"}, \"pins\": [{\"ref\":"
		" \"PIN2\", \"puk\": \"12345678\"}], \"files\": [{\"path\": \"3F00\", \"type\": \"MF\"}]}",
		"{" HEAD ", \"auth\": {\"algorithm\": \"tuak\", \"topc\": \"" OPC1 OPC1 "\"},"
		" \"files\": [{\"path\": \"3F00\", \"type\": \"MF\"}]}",
	};
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	char why[PROFILE_JSON_WHY_SIZE];
	const struct usim_pin *pin;

	(void)state;
	assert_int_equal(profile_json_load_public(ok, strlen(ok), &p, why, sizeof(why)), 0);
	pin = usim_profile_pin(p, USIM_KEYREF_PIN1);
	assert_non_null(pin);
	assert_true(pin->has_puk);
	assert_int_equal(pin->value[0], 0xff);
	pin = usim_profile_pin(p, USIM_KEYREF_ADM1);
	assert_non_null(pin);
	assert_false(pin->has_puk);
	usim_profile_free(p);
	/* The same text is no complete profile for the local path. */
	assert_int_equal(load(ok, &p, &k, why), -EINVAL);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		p = NULL;
		assert_int_equal(profile_json_load_public(bad[i], strlen(bad[i]), &p, why,
							  sizeof(why)), -EINVAL);
		assert_non_null(strstr(why, "not allowed here"));
		assert_null(p);
	}
}

static void test_minimal_and_defaults(void **state)
{
	static const char doc[] =
		"{" HEAD ", \"name\": \"x\", \"description\": \"d\", \"comment\": \"c\","
		" \"atr\": \"3b 9f 96 80 1f c7 80 31 e0 73 fe 21 1b 63 3a 20 4a 83 00 90 00 97\","
		" \"auth\": {\"algorithm\": \"milenage\", \"k\": \"" K1 "\", \"op\": \"" OP1 "\","
		"   \"r\": [64, 0, 32, 64, 96], \"c\": [\"00000000000000000000000000000000\","
		"   \"00000000000000000000000000000001\", \"00000000000000000000000000000002\","
		"   \"00000000000000000000000000000004\", \"00000000000000000000000000000008\"]},"
		" \"sqn\": {\"ind_bits\": 4, \"delta\": 1000, \"limit_l\": 50, \"seq_ms\": [5, 6]},"
		" \"pins\": [{\"ref\": \"ADM1\", \"value_hex\": \"0102030405\"},"
		"            {\"ref\": \"02\", \"value\": \"12345678\", \"retries\": 5, \"retries_left\": 1}],"
		" \"files\": ["
		"  {\"path\": \"3F00\", \"type\": \"MF\", \"lcs\": \"operational-activated\"},"
		"  {\"path\": \"MF/7F20\", \"name\": \"DF.GSM\", \"type\": \"DF\"},"
		"  {\"path\": \"DF.GSM/6F01\", \"type\": \"linear-fixed\", \"record_length\": 4,"
		"   \"contents\": [\"01\", \"0203\"], \"shareable\": false,"
		"   \"lcs\": \"operational-deactivated\"},"
		"  {\"path\": \"3F00/7F20/6F02\", \"type\": \"cyclic\", \"record_length\": 2,"
		"   \"records\": 3},"
		"  {\"path\": \"3F00/2FE2\", \"type\": \"transparent\", \"size\": 4,"
		"   \"contents\": \"12:34\"}]}";
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	char why[PROFILE_JSON_WHY_SIZE];
	int df, ef, cy, tr;
	struct usim_pin *pin;

	(void)state;
	assert_int_equal(load(doc, &p, &k, why), 0);
	/* TS 35.208 4.3.1: OPc = OP xor E_K(OP). */
	hexeq(p->aka.milenage.opc, OPC1);
	assert_int_equal(p->atr_len, 22);
	assert_int_equal(p->sqn_cfg.ind_bits, 4);
	assert_int_equal(p->sqn_cfg.delta, 1000);
	assert_int_equal(p->sqn_cfg.limit_l, 50);
	assert_int_equal(p->sqn.seq_ms[0], 5);
	assert_int_equal(p->sqn.seq_ms[1], 6);
	assert_int_equal(p->sqn.seq_ms[2], 0);

	df = find(p, 0, 0x7f20);
	ef = find(p, df, 0x6f01);
	cy = find(p, df, 0x6f02);
	tr = find(p, 0, 0x2fe2);
	assert_true(df > 0 && ef > 0 && cy > 0 && tr > 0);
	/* Record count from contents; records padded with FF. */
	assert_int_equal(p->files[ef].rec_count, 2);
	hexeq(p->files[ef].data, "01ffffff0203ffff");
	assert_false(p->files[ef].shareable);
	assert_int_equal(p->files[ef].lcs, USIM_LCS_OPERATIONAL_DEACTIVATED);
	assert_int_equal(p->files[cy].kind, USIM_FILE_EF_CYCLIC);
	assert_int_equal(p->files[cy].size, 6);
	hexeq(p->files[cy].data, "ffffffffffff");
	assert_true(p->files[tr].shareable);
	hexeq(p->files[tr].data, "1234ffff");
	assert_int_equal(p->files[tr].arr_fid, 0);

	pin = usim_profile_pin(p, 0x0a);
	assert_non_null(pin);
	assert_memory_equal(pin->value, "\x01\x02\x03\x04\x05\xff\xff\xff", 8);
	assert_int_equal(pin->max_tries, 10);
	assert_false(pin->can_disable);
	pin = usim_profile_pin(p, 0x02);
	assert_non_null(pin);
	assert_int_equal(pin->max_tries, 5);
	assert_int_equal(pin->tries_left, 1);
	assert_true(pin->can_disable);
	assert_false(pin->has_puk);
	usim_profile_free(p);
}

/* Two applications, told apart by name (TS 102 221 8.4.1: no FID). */
static void test_two_adfs(void **state)
{
	static const char doc[] = DOCF(
		"{\"path\": \"3F00/2F00\", \"type\": \"linear-fixed\", \"record_length\": 16,"
		" \"contents\": [\"610b4f07a0000000871002\", \"610b4f07a0000000871004\"]},"
		"{\"path\": \"3F00/7FFF\", \"name\": \"ADF.USIM\", \"type\": \"ADF\", \"aid\": \"a0000000871002\"},"
		"{\"path\": \"3F00/7FFF\", \"name\": \"ADF.ISIM\", \"type\": \"ADF\", \"aid\": \"a0000000871004\"},"
		"{\"path\": \"ADF.USIM/6F07\", \"type\": \"transparent\", \"size\": 9},"
		"{\"path\": \"MF/ADF.ISIM/6F02\", \"type\": \"transparent\", \"size\": 4}");
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	char why[PROFILE_JSON_WHY_SIZE];
	int usim = -1, isim = -1;

	(void)state;
	assert_int_equal(load(doc, &p, &k, why), 0);
	for (size_t i = 1; i < p->n_files; i++)
		if (p->files[i].kind == USIM_FILE_ADF) {
			if (p->files[i].aid[6] == 0x02)
				usim = (int)i;
			else
				isim = (int)i;
		}
	assert_true(usim > 0 && isim > 0);
	assert_true(find(p, usim, 0x6f07) > 0);
	assert_int_equal(find(p, usim, 0x6f02), -1);
	assert_true(find(p, isim, 0x6f02) > 0);
	usim_profile_free(p);
}

static void test_tuak_topc_given(void **state)
{
	static const char doc[] = DOC(
		"{\"algorithm\": \"tuak\", \"topc\": "
		"\"bd04d9530e87513c5d837ac2ad954623a8e2330c115305a73eb45d1f40cccbff\","
		" \"mac_bits\": 256, \"res_bits\": 128, \"ck_bits\": 256, \"ik_bits\": 256,"
		" \"iterations\": 2}", "", ICCID);
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	char why[PROFILE_JSON_WHY_SIZE];

	(void)state;
	assert_int_equal(load(doc, &p, &k, why), 0);
	/* No K in the document: the daemon takes it from the TRE. */
	assert_int_equal(k.len, 0);
	assert_int_equal(p->aka.tuak.mac_bits, 256);
	assert_int_equal(p->aka.tuak.iterations, 2);
	usim_profile_free(p);
}

/* ---- invalid documents -------------------------------------------------- */

struct bad {
	const char *name;
	const char *doc;
	const char *why; /* substring of the message */
};

static const struct bad bad_docs[] = {
	{ "syntax", "{\"format\": \"mcim-profile\",\n \"version\" 1}",
	  "JSON syntax error at line 2 column" },
	{ "truncated", "{\"format\": \"mcim-profile\"", "JSON syntax error at line 1" },
	{ "trailing text", DOCF(ICCID) " x", "JSON syntax error at line 1 column" },
	{ "not an object", "[]", "the profile must be a JSON object, not an array" },
	{ "format", "{\"format\": \"x\", \"version\": 1}", "format: \"x\", must be \"mcim-profile\"" },
	{ "version", "{\"format\": \"mcim-profile\", \"version\": 2}",
	  "version: 2 is not supported" },
	{ "unknown top key", DOC(AUTH_OK, ", \"fils\": []", ICCID), "unknown key \"fils\"" },
	{ "no files", "{" HEAD ", \"auth\": " AUTH_OK "}", "missing \"files\"" },
	{ "no auth", "{" HEAD ", \"files\": []}", "missing \"auth\"" },
	{ "contents too long",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"transparent\", \"size\": 32, \"contents\": "
	       "\"0000000000000000000000000000000000000000000000000000000000000000ffff\"}"),
	  "files[0].contents: 34 bytes, size is 32" },
	{ "record too long",
	  DOCF(ICCID ", {\"path\": \"3F00/6F01\", \"type\": \"linear-fixed\", \"record_length\": 4,"
		     " \"records\": 2, \"contents\": [\"00\", \"0102030405\"]}"),
	  "files[1].contents[1]: 5 bytes, record length is 4" },
	{ "too many records",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"cyclic\", \"record_length\": 1,"
	       " \"records\": 2, \"contents\": [\"00\", \"01\", \"02\"]}"),
	  "files[0].contents: 3 records, the file has 2" },
	{ "records missing",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"linear-fixed\", \"record_length\": 1}"),
	  "files[0]: missing \"records\"" },
	{ "record contents not array",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"linear-fixed\", \"record_length\": 1,"
	       " \"records\": 1, \"contents\": \"00\"}"),
	  "files[0].contents: must be an array of hex records, not a string" },
	{ "size on a record EF",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"linear-fixed\", \"record_length\": 1,"
	       " \"records\": 1, \"size\": 1}"),
	  "files[0].size: only for a transparent EF, not a linear-fixed" },
	{ "contents on a DF",
	  DOCF("{\"path\": \"3F00/7F10\", \"type\": \"DF\", \"contents\": \"00\"}"),
	  "files[0].contents: only for an EF, not a DF" },
	{ "aid on an EF",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"transparent\", \"size\": 1, \"aid\": \"a000000087\"}"),
	  "files[0].aid: only for an ADF" },
	{ "size as string",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"transparent\", \"size\": \"9\"}"),
	  "files[0].size: must be an integer, not a string" },
	{ "size too large",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"transparent\", \"size\": 65536}"),
	  "files[0].size: 65536 out of range 0..65535" },
	{ "record length 0",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"linear-fixed\", \"record_length\": 0, \"records\": 1}"),
	  "files[0].record_length: 0 out of range 1..255" },
	{ "255 records",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"linear-fixed\", \"record_length\": 1, \"records\": 255}"),
	  "files[0].records: 255 out of range 1..254" },
	{ "bad type", DOCF("{\"path\": \"3F00/6F01\", \"type\": \"binary\"}"),
	  "files[0].type: \"binary\" is not MF, DF, ADF, transparent, linear-fixed or cyclic" },
	{ "unknown file key",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"transparent\", \"szie\": 1}"),
	  "files[0]: unknown key \"szie\"" },
	{ "file not an object", DOCF("\"3F00/6F01\""), "files[0]: must be an object, not a string" },
	{ "undeclared parent",
	  DOCF("{\"path\": \"3F00/7F20/6F01\", \"type\": \"transparent\", \"size\": 1}"),
	  "files[0].path: 3F00/7F20 is not declared yet" },
	{ "unknown name",
	  DOCF("{\"path\": \"DF.X/6F01\", \"type\": \"transparent\", \"size\": 1}"),
	  "files[0].path: \"DF.X\" is neither a FID nor the name of a DF declared before" },
	{ "last component a name",
	  DOCF("{\"path\": \"3F00/EF.ICCID\", \"type\": \"transparent\", \"size\": 1}"),
	  "last component \"EF.ICCID\" must be a 4-digit hex FID" },
	{ "path not from MF",
	  DOCF("{\"path\": \"7F10/6F01\", \"type\": \"transparent\", \"size\": 1}"),
	  "files[0].path: must start at 3F00" },
	{ "path through an EF",
	  DOCF(ICCID ", {\"path\": \"3F00/2FE2/6F01\", \"type\": \"transparent\", \"size\": 1}"),
	  "files[1].path: 3F00/2FE2 is an EF, not a DF" },
	{ "empty component",
	  DOCF("{\"path\": \"3F00//6F01\", \"type\": \"transparent\", \"size\": 1}"),
	  "files[0].path: empty component" },
	{ "too deep",
	  DOCF("{\"path\": \"3F00/5F01\", \"type\": \"DF\"},"
	       "{\"path\": \"3F00/5F01/5F02\", \"type\": \"DF\"},"
	       "{\"path\": \"3F00/5F01/5F02/5F03\", \"type\": \"DF\"},"
	       "{\"path\": \"3F00/5F01/5F02/5F03/5F04\", \"type\": \"DF\"},"
	       "{\"path\": \"3F00/5F01/5F02/5F03/5F04/5F05\", \"type\": \"DF\"},"
	       "{\"path\": \"3F00/5F01/5F02/5F03/5F04/5F05/5F06\", \"type\": \"DF\"},"
	       "{\"path\": \"3F00/5F01/5F02/5F03/5F04/5F05/5F06/6F01\", \"type\": \"transparent\", \"size\": 1}"),
	  "files[5].path: deeper than 6 levels" },
	{ "duplicate FID", DOCF(ICCID ", " ICCID), "files[1].path: FID 2FE2 already exists in 3F00" },
	{ "duplicate SFI",
	  DOCF(ICCID ", {\"path\": \"3F00/2F05\", \"type\": \"transparent\", \"sfi\": 2, \"size\": 1}"),
	  "files[1].sfi: SFI 2 already used by 2FE2 in 3F00" },
	{ "SFI 31",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"transparent\", \"sfi\": 31, \"size\": 1}"),
	  "files[0].sfi: 31 out of range 1..30" },
	{ "7FFF for a DF", DOCF("{\"path\": \"3F00/7FFF\", \"type\": \"DF\"}"),
	  "files[0].path: 7FFF is reserved for the current ADF" },
	{ "3FFF", DOCF("{\"path\": \"3F00/3FFF\", \"type\": \"DF\"}"),
	  "files[0].path: FID 3FFF is reserved" },
	{ "ADF under a DF",
	  DOCF("{\"path\": \"3F00/7F10\", \"type\": \"DF\"},"
	       "{\"path\": \"3F00/7F10/7FF0\", \"type\": \"ADF\", \"aid\": \"a0000000871002\"}"),
	  "files[1].path: an ADF lives directly under the MF" },
	{ "ADF FID",
	  DOCF("{\"path\": \"3F00/7FF0\", \"type\": \"ADF\", \"aid\": \"a0000000871002\"}"),
	  "files[0].path: an ADF's FID is 7FFF" },
	{ "7FFF ambiguous",
	  DOCF("{\"path\": \"3F00/7FFF\", \"name\": \"A1\", \"type\": \"ADF\", \"aid\": \"a0000000871002\"},"
	       "{\"path\": \"3F00/7FFF\", \"name\": \"A2\", \"type\": \"ADF\", \"aid\": \"a0000000871004\"},"
	       "{\"path\": \"3F00/7FFF/6F07\", \"type\": \"transparent\", \"size\": 1}"),
	  "files[2].path: 3F00/7FFF is ambiguous with several ADFs: use the ADF's name" },
	{ "same AID twice",
	  DOCF("{\"path\": \"3F00/7FFF\", \"name\": \"A1\", \"type\": \"ADF\", \"aid\": \"a0000000871002\"},"
	       "{\"path\": \"3F00/7FFF\", \"name\": \"A2\", \"type\": \"ADF\", \"aid\": \"a0000000871002\"}"),
	  "files[1].aid: AID already used by ADF 7FFF" },
	{ "ADF without AID", DOCF("{\"path\": \"3F00/7FFF\", \"type\": \"ADF\"}"),
	  "files[0]: missing \"aid\"" },
	{ "AID too short", DOCF("{\"path\": \"3F00/7FFF\", \"type\": \"ADF\", \"aid\": \"a00000\"}"),
	  "files[0].aid: 3 bytes, must be at least 5" },
	{ "MF not first", DOCF(ICCID ", {\"path\": \"3F00\", \"type\": \"MF\"}"),
	  "files[1]: the MF entry, when given, must be files[0]" },
	{ "MF typed as DF", DOCF("{\"path\": \"3F00\", \"type\": \"DF\"}"),
	  "files[0].path: 3F00 is the MF" },
	{ "DF name twice",
	  DOCF("{\"path\": \"3F00/7F10\", \"name\": \"DF.T\", \"type\": \"DF\"},"
	       "{\"path\": \"3F00/7F20\", \"name\": \"DF.T\", \"type\": \"DF\"}"),
	  "files[1].name: DF name \"DF.T\" used twice" },
	{ "DF name like a FID",
	  DOCF("{\"path\": \"3F00/7F10\", \"name\": \"7F10\", \"type\": \"DF\"}"),
	  "files[0].name: a DF name must not look like a FID" },
	{ "bad hex",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"transparent\", \"size\": 2, \"contents\": \"0g\"}"),
	  "files[0].contents: not hex" },
	{ "odd hex",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"transparent\", \"size\": 2, \"contents\": \"012\"}"),
	  "files[0].contents: not hex" },
	{ "bad lcs",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"transparent\", \"size\": 1, \"lcs\": \"dead\"}"),
	  "files[0].lcs: \"dead\" is not creation" },
	{ "bad arr fid",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"transparent\", \"size\": 1,"
	       " \"arr\": {\"fid\": \"6F6\", \"record\": 1}}"),
	  "files[0].arr.fid: \"6F6\" is not a 4-digit hex FID" },
	{ "arr record 0",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"transparent\", \"size\": 1,"
	       " \"arr\": {\"fid\": \"2F06\", \"record\": 0}}"),
	  "files[0].arr.record: 0 out of range 1..254" },
	{ "unresolved arr",
	  DOCF("{\"path\": \"3F00/6F01\", \"type\": \"transparent\", \"size\": 1,"
	       " \"arr\": {\"fid\": \"2F06\", \"record\": 1}}"),
	  "profile: 3F00/6F01: EF.ARR 2F06 record 1 not found" },
	{ "ADF without EF.DIR",
	  DOCF("{\"path\": \"3F00/7FFF\", \"type\": \"ADF\", \"aid\": \"a0000000871002\"}"),
	  "profile: ADF present but no linear EF.DIR" },
	{ "ATR TS", DOC(AUTH_OK, ", \"atr\": \"3c00\"", ICCID), "atr: TS is 3C, must be 3B or 3F" },
	{ "ATR length",
	  DOC(AUTH_OK, ", \"atr\": \"3b02 14\"", ICCID),
	  "atr: 3 bytes, but T0/TDi announce 4 (2 historical)" },
	{ "ATR TCK",
	  DOC(AUTH_OK, ", \"atr\": \"3b 80 01 00\"", ICCID), "atr: TCK 00 is wrong (should be 81)" },
	{ "algorithm",
	  DOC("{\"algorithm\": \"comp128\"}", "", ICCID),
	  "auth.algorithm: \"comp128\", must be \"milenage\" or \"tuak\"" },
	{ "op and opc",
	  DOC("{\"algorithm\": \"milenage\", \"k\": \"" K1 "\", \"opc\": \"" OPC1 "\", \"op\": \"" OP1 "\"}",
	      "", ICCID),
	  "auth: give exactly one of \"op\" and \"opc\"" },
	{ "op without k",
	  DOC("{\"algorithm\": \"milenage\", \"op\": \"" OP1 "\"}", "", ICCID),
	  "auth.op: OPc is computed from OP and K" },
	{ "short k",
	  DOC("{\"algorithm\": \"milenage\", \"k\": \"465b5ce8b199b49faa5f0a2ee238a6\", \"opc\": \"" OPC1 "\"}",
	      "", ICCID),
	  "auth.k: 15 bytes, must be 16" },
	{ "unknown auth key",
	  DOC("{\"algorithm\": \"milenage\", \"opc\": \"" OPC1 "\", \"amf\": \"8000\"}", "", ICCID),
	  "auth: unknown key \"amf\"" },
	{ "r count",
	  DOC("{\"algorithm\": \"milenage\", \"opc\": \"" OPC1 "\", \"r\": [1, 2, 3, 4]}", "", ICCID),
	  "auth.r: 4 values, must be 5 (r1..r5)" },
	{ "r range",
	  DOC("{\"algorithm\": \"milenage\", \"opc\": \"" OPC1 "\", \"r\": [1, 2, 3, 4, 128]}", "",
	      ICCID),
	  "auth.r[4]: 128 out of range 0..127" },
	{ "c length",
	  DOC("{\"algorithm\": \"milenage\", \"opc\": \"" OPC1 "\", \"c\": [\"00\", \"00\", \"00\","
	      " \"00\", \"00\"]}", "", ICCID),
	  "auth.c[0]: 1 bytes, must be 16" },
	{ "tuak res_bits",
	  DOC("{\"algorithm\": \"tuak\", \"topc\": "
	      "\"bd04d9530e87513c5d837ac2ad954623a8e2330c115305a73eb45d1f40cccbff\", \"res_bits\": 48}",
	      "", ICCID),
	  "auth.res_bits: 48, must be 32, 64, 128 or 256" },
	{ "tuak k length",
	  DOC("{\"algorithm\": \"tuak\", \"k\": \"" K1 "0000\", \"topc\": "
	      "\"bd04d9530e87513c5d837ac2ad954623a8e2330c115305a73eb45d1f40cccbff\"}",
	      "", ICCID),
	  "auth.k: 18 bytes, must be 16 or 32" },
	{ "tuak iterations",
	  DOC("{\"algorithm\": \"tuak\", \"topc\": "
	      "\"bd04d9530e87513c5d837ac2ad954623a8e2330c115305a73eb45d1f40cccbff\", \"iterations\": 0}",
	      "", ICCID),
	  "auth.iterations: 0 out of range 1..256" },
	{ "tuak top without k",
	  DOC("{\"algorithm\": \"tuak\", \"top\": "
	      "\"5555555555555555555555555555555555555555555555555555555555555555\"}", "", ICCID),
	  "auth.top: TOPc is computed from TOP and K" },
	{ "ind_bits", DOC(AUTH_OK, ", \"sqn\": {\"ind_bits\": 9}", ICCID),
	  "sqn.ind_bits: 9 out of range 0..8" },
	{ "delta 0", DOC(AUTH_OK, ", \"sqn\": {\"delta\": 0}", ICCID),
	  "sqn.delta: 0 out of range 1.." },
	{ "seq_ms too long",
	  DOC(AUTH_OK, ", \"sqn\": {\"ind_bits\": 1, \"seq_ms\": [1, 2, 3]}", ICCID),
	  "sqn.seq_ms: 3 values, the array has 2 (2^ind_bits)" },
	{ "seq_ms too large",
	  DOC(AUTH_OK, ", \"sqn\": {\"ind_bits\": 8, \"seq_ms\": [1099511627776]}", ICCID),
	  "sqn.seq_ms[0]: 1099511627776 out of range 0..2^40-1" },
	{ "pin ref",
	  DOC(AUTH_OK, ", \"pins\": [{\"ref\": \"PIN9X\", \"value\": \"1234\"}]", ICCID),
	  "pins[0].ref: \"PIN9X\" is not PIN1, PIN2, UPIN, ADM1..ADM10" },
	{ "pin twice",
	  DOC(AUTH_OK, ", \"pins\": [{\"ref\": \"PIN1\", \"value\": \"1234\"},"
		       " {\"ref\": \"01\", \"value\": \"1234\"}]", ICCID),
	  "pins[1].ref: key reference 01 given twice" },
	{ "pin short",
	  DOC(AUTH_OK, ", \"pins\": [{\"ref\": \"PIN1\", \"value\": \"123\"}]", ICCID),
	  "pins[0].value: 3 digits, must be 4..8" },
	{ "pin not digits",
	  DOC(AUTH_OK, ", \"pins\": [{\"ref\": \"PIN1\", \"value\": \"12a4\"}]", ICCID),
	  "pins[0].value: must be decimal digits" },
	{ "puk short",
	  DOC(AUTH_OK, ", \"pins\": [{\"ref\": \"PIN1\", \"value\": \"1234\", \"puk\": \"123456\"}]",
	      ICCID),
	  "pins[0].puk: 6 digits, must be 8" },
	{ "value and value_hex",
	  DOC(AUTH_OK, ", \"pins\": [{\"ref\": \"ADM1\", \"value\": \"1234\", \"value_hex\": \"01\"}]",
	      ICCID),
	  "pins[0]: give exactly one of \"value\" and \"value_hex\"" },
	{ "PIN2 disabled",
	  DOC(AUTH_OK, ", \"pins\": [{\"ref\": \"PIN2\", \"value\": \"1234\", \"enabled\": false}]",
	      ICCID),
	  "pins[0].enabled: false, but this key cannot be disabled" },
	{ "retries_left",
	  DOC(AUTH_OK, ", \"pins\": [{\"ref\": \"PIN1\", \"value\": \"1234\", \"retries_left\": 4}]",
	      ICCID),
	  "pins[0].retries_left: 4 out of range 0..3" },
	{ "retries 16",
	  DOC(AUTH_OK, ", \"pins\": [{\"ref\": \"PIN1\", \"value\": \"1234\", \"retries\": 16}]",
	      ICCID),
	  "pins[0].retries: 16 out of range 1..15" },
	{ "puk retries without puk",
	  DOC(AUTH_OK, ", \"pins\": [{\"ref\": \"PIN1\", \"value\": \"1234\", \"puk_retries\": 3}]",
	      ICCID),
	  "pins[0]: PUK retries given without a \"puk\"" },
	{ "enabled not bool",
	  DOC(AUTH_OK, ", \"pins\": [{\"ref\": \"PIN1\", \"value\": \"1234\", \"enabled\": 1}]",
	      ICCID),
	  "pins[0].enabled: must be true or false, not a number" },
	{ "nesting", DOC(AUTH_OK, ", \"comment\": [[[[[[[[[1]]]]]]]]]", ICCID),
	  "JSON syntax error" },
};

static void test_bad_documents(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_docs); i++) {
		const struct bad *b = &bad_docs[i];
		struct usim_profile *p = (void *)1;
		struct aka_plain_secret k;
		char why[PROFILE_JSON_WHY_SIZE];
		int r;

		r = load(b->doc, &p, &k, why);
		if (r != -EINVAL || !b->why || !strstr(why, b->why))
			print_error("case \"%s\": r=%d why=\"%s\"\n", b->name, r, why);
		assert_int_equal(r, -EINVAL);
		assert_null(p);
		assert_int_equal(k.len, 0);
		if (b->why)
			assert_non_null(strstr(why, b->why));
	}
}

/* A NUL inside the text (the length says where the text ends). */
static void test_nul_in_text(void **state)
{
	static const char doc[] = "{\"format\": \"mcim-profile\"\0}";
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	char why[PROFILE_JSON_WHY_SIZE];

	(void)state;
	assert_int_equal(profile_json_load_buf(doc, sizeof(doc) - 1, &p, &k, why,
					       sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "NUL byte"));
}

static void test_limits(void **state)
{
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	char why[PROFILE_JSON_WHY_SIZE];
	const size_t n = USIM_MAX_FILES + 1;
	char *doc, *q;
	size_t cap = 128 + n * 80;

	(void)state;
	/* Too many files. */
	doc = malloc(cap);
	assert_non_null(doc);
	q = doc + sprintf(doc, "{" HEAD ", \"auth\": " AUTH_OK ", \"files\": [");
	for (size_t i = 0; i < n; i++)
		q += sprintf(q, "%s{\"path\": \"3F00/%04zX\", \"type\": \"transparent\", \"size\": 1}",
			     i ? "," : "", 0x1000 + i);
	strcpy(q, "]}");
	assert_int_equal(load(doc, &p, &k, why), -EINVAL);
	assert_non_null(strstr(why, "files: 1025 entries, at most 1024"));
	free(doc);

	/* Too much EF data: 65 EFs of 65535 bytes pass 4 MiB. */
	doc = malloc(128 + 65 * 80);
	assert_non_null(doc);
	q = doc + sprintf(doc, "{" HEAD ", \"auth\": " AUTH_OK ", \"files\": [");
	for (size_t i = 0; i < 65; i++)
		q += sprintf(q, "%s{\"path\": \"3F00/%04zX\", \"type\": \"transparent\", \"size\": 65535}",
			     i ? "," : "", 0x1000 + i);
	strcpy(q, "]}");
	assert_int_equal(load(doc, &p, &k, why), -EINVAL);
	assert_non_null(strstr(why, "files[64]: the EFs hold more than 4194304 bytes in all"));
	free(doc);

	/* Text over the size limit: refused before parsing. */
	assert_int_equal(profile_json_load_buf("{}", PROFILE_JSON_MAX_TEXT + 1, &p, &k,
					       why, sizeof(why)),
			 -EFBIG);
	assert_null(p);
}

static void test_file_errors(void **state)
{
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	char why[PROFILE_JSON_WHY_SIZE];

	(void)state;
	assert_int_equal(profile_json_load_file("tests/no-such-profile.json", &p, &k,
						why, sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, "tests/no-such-profile.json: "));
	assert_int_equal(profile_json_load_file("tests", &p, &k, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "not a regular file"));
	/* NULL why is allowed. */
	assert_int_equal(load("[]", &p, &k, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_profile),
		cmocka_unit_test(test_tuak_profile),
		cmocka_unit_test(test_key_handle),
		cmocka_unit_test(test_minimal_and_defaults),
		cmocka_unit_test(test_two_adfs),
		cmocka_unit_test(test_tuak_topc_given),
		cmocka_unit_test(test_bad_documents),
		cmocka_unit_test(test_nul_in_text),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_public_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
