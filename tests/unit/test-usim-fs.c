// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The USIM profile model: building a file tree, its limits and errors,
 * paths, whole-profile validation, and FCP templates of each file kind
 * (TS 102 221 11.1.1.3, 11.1.1.4).
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

#include "test-usim-common.h"

static struct usim_file_spec ef(uint16_t fid, uint32_t size)
{
	return (struct usim_file_spec){ .kind = USIM_FILE_EF_TRANSPARENT,
					.fid = fid,
					.size = size };
}

static void add_errors(void **state)
{
	struct usim_profile *p;
	static const uint8_t aid[16] = { 0xa0, 0, 0, 0, 0x87, 0x10, 0x02 };
	struct usim_file_spec s;
	int df, adf, e1, idx;

	(void)state;
	assert_int_equal(usim_profile_new(&p), 0);
	assert_int_equal(p->n_files, 1);
	assert_int_equal(p->files[0].fid, 0x3f00);
	assert_int_equal(p->aka.algo, AKA_ALGO_MILENAGE);
	assert_int_equal(aka_sqn_config_validate(&p->sqn_cfg), 0);

	s = ef(0x2fe2, 10);
	s.sfi = 2;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &e1), 0);
	assert_int_equal(e1, 1);
	/* Same FID, same SFI, reserved FIDs, bad SFI. */
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EEXIST);
	s = ef(0x2fe3, 1);
	s.sfi = 2;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EEXIST);
	static const uint16_t reserved[] = { 0x3f00, 0x3fff, 0xffff, 0x7fff };

	for (size_t i = 0; i < 4; i++) {
		s = ef(reserved[i], 1);
		assert_int_equal(usim_profile_add_file(p, 0, &s, &idx),
				 -EINVAL);
	}
	s = ef(0x2f01, 1);
	s.sfi = 31;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EINVAL);
	/* Sizes and records. */
	s = ef(0x2f01, USIM_MAX_EF_SIZE + 1);
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EINVAL);
	s = ef(0x2f01, 2);
	s.data = (const uint8_t *)"abc";
	s.data_len = 3;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EINVAL);
	s = (struct usim_file_spec){ .kind = USIM_FILE_EF_LINEAR, .fid = 0x2f01,
				     .rec_len = 0, .rec_count = 1 };
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EINVAL);
	s.rec_len = 256;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EINVAL);
	s.rec_len = 10;
	s.rec_count = 255;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EINVAL);
	s.rec_count = 254;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), 0);
	assert_int_equal(p->files[idx].size, 2540);
	/* Initial contents padded with 'FF'. */
	s = ef(0x2f02, 4);
	s.data = (const uint8_t *)"\x01\x02";
	s.data_len = 2;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), 0);
	assert_memory_equal(p->files[idx].data, "\x01\x02\xff\xff", 4);
	/* Children of an EF; unknown kinds; a second MF; bad LCS. */
	s = ef(0x6f01, 1);
	assert_int_equal(usim_profile_add_file(p, e1, &s, &idx), -EINVAL);
	assert_int_equal(usim_profile_add_file(p, 99, &s, &idx), -EINVAL);
	s.kind = USIM_FILE_MF;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EINVAL);
	s.kind = (enum usim_file_kind)42;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EINVAL);
	s = ef(0x2f03, 1);
	s.lcs = 0x07;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EINVAL);
	/* DFs take no SFI; ADFs only under the MF, AID 5..16 bytes. */
	s = (struct usim_file_spec){ .kind = USIM_FILE_DF, .fid = 0x7f10,
				     .sfi = 1 };
	assert_int_equal(usim_profile_add_file(p, 0, &s, &df), -EINVAL);
	s.sfi = 0;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &df), 0);
	s = (struct usim_file_spec){ .kind = USIM_FILE_ADF, .aid = aid,
				     .aid_len = 16 };
	assert_int_equal(usim_profile_add_file(p, df, &s, &idx), -EINVAL);
	s.aid_len = 4;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EINVAL);
	s.aid_len = 17;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EINVAL);
	s.aid_len = 16;
	s.fid = 0x7f20;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EINVAL);
	s.fid = 0;
	assert_int_equal(usim_profile_add_file(p, 0, &s, &adf), 0);
	assert_int_equal(p->files[adf].fid, 0x7fff);
	assert_int_equal(usim_profile_add_file(p, 0, &s, &idx), -EEXIST);
	/* Depth: paths of at most USIM_MAX_DEPTH (6) FIDs. */
	int cur = df;

	for (uint16_t f = 0x5f01; f <= 0x5f03; f++) {
		s = (struct usim_file_spec){ .kind = USIM_FILE_DF, .fid = f };
		assert_int_equal(usim_profile_add_file(p, cur, &s, &cur), 0);
	}
	s = (struct usim_file_spec){ .kind = USIM_FILE_DF, .fid = 0x5f04 };
	assert_int_equal(usim_profile_add_file(p, cur, &s, &idx), 0);
	s = ef(0x6f01, 1);
	assert_int_equal(usim_profile_add_file(p, idx, &s, &e1), -EINVAL);
	assert_int_equal(usim_profile_add_file(p, cur, &s, &idx), 0);
	uint16_t path[8];

	assert_int_equal(usim_profile_path(p, idx, path, 8), 6);
	assert_int_equal(path[0], 0x3f00);
	assert_int_equal(path[1], 0x7f10);
	assert_int_equal(path[5], 0x6f01);
	assert_int_equal(usim_profile_path(p, idx, path, 5), -ENOBUFS);
	assert_int_equal(usim_profile_find_path(p, path, 6), idx);
	path[5] = 0x6f02;
	assert_int_equal(usim_profile_find_path(p, path, 6), -ENOENT);
	assert_int_equal(usim_profile_find_child(p, 0, 0x7f10), df);
	/* Files of an application: path through 7FFF with the ADF. */
	s = ef(0x6f07, 9);
	assert_int_equal(usim_profile_add_file(p, adf, &s, &idx), 0);
	assert_int_equal(usim_profile_path(p, idx, path, 8), 3);
	assert_int_equal(path[1], 0x7fff);
	assert_int_equal(usim_profile_adf_of(p, idx), adf);
	assert_int_equal(usim_profile_adf_of(p, adf), adf);
	assert_int_equal(usim_profile_adf_of(p, df), -ENOENT);
	assert_int_equal(usim_profile_adf_of(p, 0), -ENOENT);
	assert_int_equal(usim_profile_find_path(p, path, 3), -ENOENT);
	assert_int_equal(usim_profile_find_app_path(p, adf, path, 3), idx);
	assert_int_equal(usim_profile_find_app_path(p, df, path, 3), -EINVAL);
	assert_int_equal(usim_profile_find_adf(p, aid, 7), adf);
	assert_int_equal(usim_profile_find_adf(p, aid, 16), adf);
	assert_int_equal(usim_profile_find_adf(p, (const uint8_t *)"\xa1", 1),
			 -ENOENT);
	assert_int_equal(usim_profile_find_child(p, 0, 0x7f11), -ENOENT);
	usim_profile_free(p);
	usim_profile_free(NULL);
}

static void limits(void **state)
{
	struct usim_profile *p;
	struct usim_file_spec s;
	int idx, rc = 0;
	size_t n = 0;

	(void)state;
	assert_int_equal(usim_profile_new(&p), 0);
	/* Total data: 64 files of 65535 bytes exceed USIM_MAX_PROFILE_DATA. */
	for (uint16_t f = 0x4000; rc == 0 && f < 0x4100; f++, n++) {
		s = ef(f, USIM_MAX_EF_SIZE);
		rc = usim_profile_add_file(p, 0, &s, &idx);
	}
	assert_int_equal(rc, -E2BIG);
	assert_true(p->data_total <= USIM_MAX_PROFILE_DATA);
	assert_int_equal(n - 1, USIM_MAX_PROFILE_DATA / USIM_MAX_EF_SIZE);
	usim_profile_free(p);
	/* File count. */
	assert_int_equal(usim_profile_new(&p), 0);
	rc = 0;
	for (unsigned f = 0x1000; rc == 0 && f < 0x3000; f++) {
		s = ef((uint16_t)f, 0);
		rc = usim_profile_add_file(p, 0, &s, &idx);
	}
	assert_int_equal(rc, -E2BIG);
	assert_int_equal(p->n_files, USIM_MAX_FILES);
	usim_profile_free(p);
}

static void pins(void **state)
{
	struct usim_profile *p;
	struct usim_pin pin = { .key_ref = 0x01, .max_tries = 3,
				.tries_left = 3 };

	(void)state;
	assert_int_equal(usim_profile_new(&p), 0);
	assert_int_equal(usim_profile_add_pin(p, &pin), 0);
	assert_int_equal(usim_profile_add_pin(p, &pin), -EEXIST);
	assert_ptr_equal(usim_profile_pin(p, 0x01), &p->pins[0]);
	assert_null(usim_profile_pin(p, 0x81));
	static const uint8_t bad_refs[] = { 0x00, 0x09, 0x10, 0x12, 0x80,
					    0x89, 0x0f, 0x8f, 0xff };

	for (size_t i = 0; i < sizeof(bad_refs); i++) {
		pin.key_ref = bad_refs[i];
		assert_int_equal(usim_profile_add_pin(p, &pin), -EINVAL);
	}
	pin.key_ref = 0x81;
	pin.tries_left = 4;
	assert_int_equal(usim_profile_add_pin(p, &pin), -EINVAL);
	pin.tries_left = 3;
	pin.max_tries = 16;
	assert_int_equal(usim_profile_add_pin(p, &pin), -EINVAL);
	pin.max_tries = 3;
	pin.has_puk = true;
	pin.puk_max_tries = 0;
	assert_int_equal(usim_profile_add_pin(p, &pin), -EINVAL);
	pin.puk_max_tries = 10;
	pin.puk_tries_left = 10;
	assert_int_equal(usim_profile_add_pin(p, &pin), 0);
	static const uint8_t refs[] = { 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
					0x08, 0x11, 0x0a, 0x0b, 0x0c, 0x0d,
					0x0e, 0x82 };

	for (size_t i = 0; i < sizeof(refs); i++) {
		pin.key_ref = refs[i];
		assert_int_equal(usim_profile_add_pin(p, &pin), 0);
	}
	assert_int_equal(p->n_pins, 16);
	pin.key_ref = 0x83;
	assert_int_equal(usim_profile_add_pin(p, &pin), -E2BIG);
	usim_profile_free(p);
}

static void validate(void **state)
{
	struct tc *t = tc_new(); /* validates the test card itself */
	char why[160];

	(void)state;
	/* An ADF missing from EF.DIR. */
	memset(t->p->files[t->ef_dir].data + 2 * 32, 0xff, 32);
	assert_int_equal(usim_profile_validate(t->p, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "EF.DIR"));
	tc_free(t);

	t = tc_new();
	/* An ARR reference that does not resolve. */
	t->p->files[t->ef_iccid].arr_record = 9;
	assert_int_equal(usim_profile_validate(t->p, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "3F00/2FE2"));
	t->p->files[t->ef_iccid].arr_record = 1;
	/* A rule naming a key reference with no PIN (ADM2 = 0B). */
	memcpy(t->p->files[t->ef_arr].data + 3 * 48,
	       "\x80\x01\x1b\xa4\x06\x83\x01\x0b\x95\x01\x08\xff", 12);
	assert_int_equal(usim_profile_validate(t->p, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "key reference 0B"));
	memcpy(t->p->files[t->ef_arr].data + 3 * 48, "\x80\x01\x1b\x97\x00", 5);
	/* Bad algorithm parameters, SQN settings, ATR. */
	t->p->aka.algo = (enum aka_algo)9;
	assert_int_equal(usim_profile_validate(t->p, NULL, 0), -EINVAL);
	t->p->aka.algo = AKA_ALGO_MILENAGE;
	t->p->sqn_cfg.ind_bits = 9;
	assert_int_equal(usim_profile_validate(t->p, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "SQN"));
	t->p->sqn_cfg.ind_bits = 5;
	assert_int_equal(usim_profile_validate(t->p, why, sizeof(why)), 0);
	t->p->atr_len = USIM_ATR_MAX + 1;
	assert_int_equal(usim_profile_validate(t->p, why, sizeof(why)),
			 -EINVAL);
	struct usim_engine *e;

	assert_int_equal(usim_engine_new(t->p, &t->key, &e), -EINVAL);
	t->p->atr_len = 0;
	assert_int_equal(usim_engine_new(NULL, &t->key, &e), -EINVAL);
	assert_int_equal(usim_engine_new(t->p, NULL, &e), -EINVAL);
	tc_free(t);
}

/* FCP of each file kind, byte by byte (11.1.1.3). */
static void fcp_kinds(void **state)
{
	struct tc *t = *state;

	tc_expect(t, "00a4080c047fff6f07", "6a82");
	tc_expect(t, "00a4040c10" TC_AID_USIM, "9000");
	/* Cyclic 3 x 5, no SFI ('88' empty), ARR record 6. */
	tc_expect(t, "00a40004026f39", "611b");
	tc_expect(t, "00c000001b",
		  "6219 82054621000305 83026f39 8a0105 8b032f0606 8002000f 8800"
		  " 9000");
	/* Linear fixed 16 x 3. */
	tc_expect(t, "00a40004026f3b", "611b");
	tc_expect(t, "00c000001b",
		  "6219 82054221001003 83026f3b 8a0105 8b032f0605 80020030 8800"
		  " 9000");
	/* DF.5GS: descriptor, FID, LCS, ARR, PIN status, total size. */
	tc_expect(t, "00a40004025fc0", "612a");
	tc_expect(t, "00c000002a",
		  "6228 82027821 83025fc0 8a0105 8b032f0601"
		  " c612 9001f0 950108 830101 830181 830111 83010a"
		  " 810200c4 9000");
	/* Not shareable. */
	t->p->files[t->ef_ad].shareable = false;
	tc_expect(t, "00a40804047fff6fad", "6119");
	tc_expect(t, "00c0000019",
		  "6217 82020121 83026fad 8a0105 8b032f0601 80020004 880118"
		  " 9000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_errors),
		cmocka_unit_test(limits),
		cmocka_unit_test(pins),
		cmocka_unit_test(validate),
		cmocka_unit_test_setup_teardown(fcp_kinds, tc_setup,
						tc_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
