// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * TUAK (TS 35.231) against tests/data/tuak.json: the six TS 35.233 sets
 * (TOPc, f1, f1*, f2..f5, f5* with their K/MAC/RES/CK/IK lengths and Keccak
 * iterations) and the six Keccak-f[1600] permutation sets (TS 35.232).
 */
#include "aka-test.h"

#define DATA "tests/data/tuak.json"

static void test_keccak(void **state)
{
	size_t i = *(size_t *)*state;
	struct json_object *o = json_object_array_get_idx(
		load_array(DATA, "keccak_p1600_sets"), i);
	uint8_t st[200];

	assert_int_equal(jhex(o, "input", st, sizeof(st)), 200);
	aka_keccak_f1600(st);
	assert_hex_field(o, "output", st, 200);
}

static void test_set(void **state)
{
	size_t i = *(size_t *)*state;
	struct json_object *o =
		json_object_array_get_idx(load_array(DATA, "sets"), i);
	struct aka_plain_secret ps = { 0 };
	struct aka_secret k = aka_plain_secret(&ps);
	struct aka_tuak_params p = { 0 };
	uint8_t rand[16], sqn[6], amf[2], top[32], topc[32], mac[32];
	uint8_t res[32], ck[32], ik[32], ak[6];

	ps.len = jhex(o, "K", ps.k, sizeof(ps.k));
	assert_int_equal(ps.len * 8, jint(o, "K_len_bits"));
	jhex(o, "RAND", rand, 16);
	jhex(o, "SQN", sqn, 6);
	jhex(o, "AMF", amf, 2);
	jhex(o, "TOP", top, 32);
	p.iterations = (unsigned)jint(o, "Keccak_iterations");
	p.mac_bits = (unsigned)jint(o, "MAC_len_bits");
	p.res_bits = (unsigned)jint(o, "RES_len_bits");
	p.ck_bits = (unsigned)jint(o, "CK_len_bits");
	p.ik_bits = (unsigned)jint(o, "IK_len_bits");

	assert_int_equal(aka_tuak_topc(&k, top, p.iterations, topc), 0);
	assert_hex_field(o, "TOPc", topc, 32);
	memcpy(p.topc, topc, 32);
	assert_int_equal(aka_tuak_f1(&k, &p, rand, sqn, amf, mac), 0);
	assert_hex_field(o, "MAC-A", mac, p.mac_bits / 8);
	assert_int_equal(aka_tuak_f1star(&k, &p, rand, sqn, amf, mac), 0);
	assert_hex_field(o, "MAC-S", mac, p.mac_bits / 8);
	assert_int_equal(aka_tuak_f2345(&k, &p, rand, res, ck, ik, ak), 0);
	assert_hex_field(o, "RES", res, p.res_bits / 8);
	assert_hex_field(o, "CK", ck, p.ck_bits / 8);
	assert_hex_field(o, "IK", ik, p.ik_bits / 8);
	assert_hex_field(o, "AK", ak, 6);
	assert_int_equal(aka_tuak_f5star(&k, &p, rand, ak), 0);
	assert_hex_field(o, "AK*", ak, 6);

	/* The same set through the network and USIM sides. */
	{
		struct aka_algo_config cfg = { .algo = AKA_ALGO_TUAK, .tuak = p };
		struct aka_key key = { .secret = k };
		struct aka_sqn_config sc;
		struct aka_sqn_state st = { 0 };
		struct aka_vector v;
		struct aka_auth_result r;

		aka_sqn_config_default(&sc);
		sc.delta = (1ULL << 43) - 1; /* accept this set's SQN from 0 */
		assert_int_equal(aka_network_generate(&cfg, &key, rand, sqn, amf,
						      &v), 0);
		assert_int_equal(v.autn_len, 8 + p.mac_bits / 8);
		assert_int_equal(aka_usim_authenticate(&cfg, &key, &sc, &st, rand,
						       v.autn, v.autn_len, 0, &r),
				 0);
		assert_int_equal(r.status, AKA_STATUS_OK);
		assert_true(r.sqn_change.accepted);
		assert_hex_field(o, "RES", r.res, r.res_len);
		assert_hex_field(o, "CK", r.ck, r.ck_len);
		assert_hex_field(o, "IK", r.ik, r.ik_len);
		aka_auth_result_wipe(&r);
	}
}

static void test_bad_params(void **state)
{
	struct aka_plain_secret ps = { .len = 16 };
	struct aka_secret k = aka_plain_secret(&ps);
	struct aka_tuak_params p = { .mac_bits = 64, .res_bits = 64,
				     .ck_bits = 128, .ik_bits = 128,
				     .iterations = 1 };
	uint8_t rand[16] = { 0 }, res[32];

	(void)state;
	assert_int_equal(aka_tuak_f2345(&k, &p, rand, res, NULL, NULL, NULL), 0);
	p.res_bits = 48;
	assert_int_equal(aka_tuak_f2345(&k, &p, rand, res, NULL, NULL, NULL),
			 -EINVAL);
	p.res_bits = 64;
	p.iterations = 0;
	assert_int_equal(aka_tuak_f2345(&k, &p, rand, res, NULL, NULL, NULL),
			 -EINVAL);
	p.iterations = 1;
	ps.len = 24; /* K is 128 or 256 bits */
	assert_int_equal(aka_tuak_f2345(&k, &p, rand, res, NULL, NULL, NULL),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest extra[] = {
		cmocka_unit_test(test_bad_params),
	};
	int r;

	r = run_per_set("keccak", "TS 35.232 Keccak-f[1600] set",
			json_object_array_length(
				load_array(DATA, "keccak_p1600_sets")),
			test_keccak, NULL, 0);
	r |= run_per_set("tuak", "TS 35.233 set",
			 json_object_array_length(load_array(DATA, "sets")),
			 test_set, extra, ARRAY_SIZE(extra));
	return r;
}
