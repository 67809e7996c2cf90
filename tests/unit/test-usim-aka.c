// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The USIM side of AKA (aka_usim_authenticate, aka_usim_gsm) against the
 * network side: the 3 E_K calls per authentication (+1 for a resync)
 * through a counting cipher, MAC failure, synchronisation failure with an
 * AUTS that the network side verifies back to SQN_MS, the AMF separation
 * bit rule, MILENAGE on a secret instead of an E_K, and TUAK resync.
 * Keys and the expected RES/CK/IK/SRES/Kc come from TS 35.208 set 1 and
 * TS 55.205 set 1 (tests/data/milenage.json).
 */
#include "aka-test.h"

#define DATA "tests/data/milenage.json"

struct fixture {
	struct json_object *o;
	uint8_t k[16], rand[16], sqn[6], amf[2];
	struct aka_cipher soft;  /* network side */
	struct counting_cipher count;
	struct aka_key usim_key; /* E_K through the counter */
	struct aka_key net_key;
	struct aka_algo_config cfg;
	struct aka_sqn_config sc;
	struct aka_sqn_state st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->o = json_object_array_get_idx(load_array(DATA, "sets"), 0);
	jhex(f->o, "K", f->k, 16);
	jhex(f->o, "RAND", f->rand, 16);
	jhex(f->o, "SQN", f->sqn, 6);
	jhex(f->o, "AMF", f->amf, 2);
	f->cfg.algo = AKA_ALGO_MILENAGE;
	aka_milenage_params_default(&f->cfg.milenage);
	jhex(f->o, "OPc", f->cfg.milenage.opc, 16);
	assert_int_equal(aka_soft_cipher_new(f->k, &f->soft), 0);
	f->count.inner = f->soft;
	f->usim_key.cipher = counting_cipher(&f->count);
	f->net_key.cipher = f->soft;
	aka_sqn_config_default(&f->sc);
	/* SQN_MS a little below the set's SQN (ff9bb4d0b607), same IND */
	{
		uint64_t v = 0;

		for (int i = 0; i < 6; i++)
			v = v << 8 | f->sqn[i];
		f->st.seq_ms[v & 31] = (v >> 5) - 3;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	aka_soft_cipher_free(&f->soft);
	free(f);
	return 0;
}

static void generate(struct fixture *f, const uint8_t sqn[6],
		     const uint8_t amf[2], struct aka_vector *v)
{
	assert_int_equal(aka_network_generate(&f->cfg, &f->net_key, f->rand,
					      sqn, amf, v), 0);
}

static void test_three_calls(void **state)
{
	struct fixture *f = *state;
	struct json_object *gsm = jget(f->o, "gsm");
	struct aka_vector v;
	struct aka_auth_result r;

	generate(f, f->sqn, f->amf, &v);
	f->count.calls = f->count.blocks = 0;
	assert_int_equal(aka_usim_authenticate(&f->cfg, &f->usim_key, &f->sc,
					       &f->st, f->rand, v.autn, 16, 0,
					       &r), 0);
	assert_int_equal(r.status, AKA_STATUS_OK);
	/* TEMP (1 block); OUT2..OUT4 (3 blocks); OUT1 (1 block) */
	assert_int_equal(f->count.calls, 3);
	assert_int_equal(f->count.blocks, 5);
	assert_hex_field(f->o, "f2", r.res, r.res_len);
	assert_hex_field(f->o, "f3", r.ck, r.ck_len);
	assert_hex_field(f->o, "f4", r.ik, r.ik_len);
	assert_hex_field(gsm, "Kc", r.kc, 8);
	assert_true(r.sqn_change.accepted);
	assert_int_equal(aka_sqn_commit(&f->sc, &f->st, &r.sqn_change), 0);

	/* the same AUTN again: replay -> AUTS, one more (2-block) call */
	f->count.calls = f->count.blocks = 0;
	assert_int_equal(aka_usim_authenticate(&f->cfg, &f->usim_key, &f->sc,
					       &f->st, f->rand, v.autn, 16, 0,
					       &r), 0);
	assert_int_equal(r.status, AKA_STATUS_SYNC_FAILURE);
	assert_int_equal(f->count.calls, 4);
	assert_int_equal(f->count.blocks, 7);
	assert_int_equal(r.res_len, 0);
	aka_auth_result_wipe(&r);
}

static void test_gsm_two_calls(void **state)
{
	struct fixture *f = *state;
	struct json_object *gsm = jget(f->o, "gsm");
	uint8_t sres[4], kc[8];

	f->count.calls = f->count.blocks = 0;
	assert_int_equal(aka_usim_gsm(&f->cfg, &f->usim_key, f->rand, sres, kc),
			 0);
	assert_int_equal(f->count.calls, 2);
	assert_hex_field(gsm, "SRES#1", sres, 4);
	assert_hex_field(gsm, "Kc", kc, 8);
}

static void test_mac_failure(void **state)
{
	struct fixture *f = *state;
	struct aka_sqn_state before = f->st;
	struct aka_vector v;
	struct aka_auth_result r;

	generate(f, f->sqn, f->amf, &v);
	/* any bit of SQN xor AK, AMF or MAC is covered by the MAC */
	for (unsigned bit = 0; bit < 16 * 8; bit += 5) {
		uint8_t autn[16];

		memcpy(autn, v.autn, 16);
		autn[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		f->count.calls = 0;
		assert_int_equal(aka_usim_authenticate(&f->cfg, &f->usim_key,
						       &f->sc, &f->st, f->rand,
						       autn, 16, 0, &r), 0);
		assert_int_equal(r.status, AKA_STATUS_MAC_FAILURE);
		assert_int_equal(f->count.calls, 3);
		assert_false(r.sqn_change.accepted);
		assert_int_equal(r.res_len, 0);
		assert_int_equal(r.auts_len, 0);
	}
	assert_memory_equal(&before, &f->st, sizeof(before));
	/* wrong AUTN length for MILENAGE */
	assert_int_equal(aka_usim_authenticate(&f->cfg, &f->usim_key, &f->sc,
					       &f->st, f->rand, v.autn, 15, 0,
					       &r), -EINVAL);
}

static void test_resync_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct aka_vector v;
	struct aka_auth_result r;
	uint8_t sqn_ms[6], want_ms[6], next[6];
	uint64_t ms = 0;

	/* an SQN below SQN_MS(IND) (SEQ - 8, same IND): sync failure */
	uint8_t old[6];
	uint64_t o = 0;

	for (int i = 0; i < 6; i++)
		o = o << 8 | f->sqn[i];
	o -= 8 * 32;
	for (int i = 5; i >= 0; i--, o >>= 8)
		old[i] = (uint8_t)o;
	generate(f, old, f->amf, &v);
	assert_int_equal(aka_usim_authenticate(&f->cfg, &f->usim_key, &f->sc,
					       &f->st, f->rand, v.autn, 16, 0,
					       &r), 0);
	assert_int_equal(r.status, AKA_STATUS_SYNC_FAILURE);
	assert_int_equal(r.sqn_change.verdict, AKA_SQN_REPLAY);
	assert_int_equal(r.auts_len, 14);

	/* the network recovers SQN_MS = the highest accepted SQN */
	aka_sqn_ms(&f->sc, &f->st, want_ms);
	assert_int_equal(aka_network_resync(&f->cfg, &f->net_key, f->rand,
					    r.auts, r.auts_len, sqn_ms), 0);
	assert_memory_equal(sqn_ms, want_ms, 6);
	/* a corrupted AUTS is refused */
	r.auts[13] ^= 0x40;
	assert_int_equal(aka_network_resync(&f->cfg, &f->net_key, f->rand,
					    r.auts, r.auts_len, sqn_ms), -EBADMSG);

	/* the network continues from SQN_MS: next SEQ, same IND -> accepted */
	for (int i = 0; i < 6; i++)
		ms = ms << 8 | want_ms[i];
	ms += 32;
	for (int i = 5; i >= 0; i--, ms >>= 8)
		next[i] = (uint8_t)ms;
	generate(f, next, f->amf, &v);
	assert_int_equal(aka_usim_authenticate(&f->cfg, &f->usim_key, &f->sc,
					       &f->st, f->rand, v.autn, 16, 0,
					       &r), 0);
	assert_int_equal(r.status, AKA_STATUS_OK);
}

static void test_separation_bit(void **state)
{
	struct fixture *f = *state;
	const uint8_t amf_eps[2] = { 0x80, 0x00 }, amf_3g[2] = { 0x00, 0x00 };
	struct aka_vector v;
	struct aka_auth_result r;

	/* the USIM itself does not check the bit (TS 33.102 Annex H) */
	generate(f, f->sqn, amf_3g, &v);
	assert_int_equal(aka_usim_authenticate(&f->cfg, &f->usim_key, &f->sc,
					       &f->st, f->rand, v.autn, 16, 0,
					       &r), 0);
	assert_int_equal(r.status, AKA_STATUS_OK);
	/* the ME check (TS 33.401 6.1.1) on request: bit 0 must be 1 */
	assert_int_equal(aka_usim_authenticate(&f->cfg, &f->usim_key, &f->sc,
					       &f->st, f->rand, v.autn, 16,
					       AKA_AUTH_CHECK_SEPARATION_BIT,
					       &r), 0);
	assert_int_equal(r.status, AKA_STATUS_AMF_FAILURE);
	assert_false(r.sqn_change.accepted);
	assert_int_equal(r.res_len, 0);
	generate(f, f->sqn, amf_eps, &v);
	assert_int_equal(aka_usim_authenticate(&f->cfg, &f->usim_key, &f->sc,
					       &f->st, f->rand, v.autn, 16,
					       AKA_AUTH_CHECK_SEPARATION_BIT,
					       &r), 0);
	assert_int_equal(r.status, AKA_STATUS_OK);
	assert_true(r.sqn_change.accepted);
	/* unknown flags are refused */
	assert_int_equal(aka_usim_authenticate(&f->cfg, &f->usim_key, &f->sc,
					       &f->st, f->rand, v.autn, 16, 0x2,
					       &r), -EINVAL);
}

/* MILENAGE with no E_K interface: K from the secret, software AES. */
static void test_milenage_on_secret(void **state)
{
	struct fixture *f = *state;
	struct aka_plain_secret ps = { .len = 16 };
	struct aka_key key = { .secret = aka_plain_secret(&ps) };
	struct aka_vector v;
	struct aka_auth_result r;

	memcpy(ps.k, f->k, 16);
	generate(f, f->sqn, f->amf, &v);
	assert_int_equal(aka_usim_authenticate(&f->cfg, &key, &f->sc, &f->st,
					       f->rand, v.autn, 16, 0, &r), 0);
	assert_int_equal(r.status, AKA_STATUS_OK);
	assert_hex_field(f->o, "f2", r.res, r.res_len);
	ps.len = 32; /* MILENAGE K is 128 bits */
	assert_int_equal(aka_usim_authenticate(&f->cfg, &key, &f->sc, &f->st,
					       f->rand, v.autn, 16, 0, &r),
			 -EINVAL);
	/* no key at all */
	key = (struct aka_key){ 0 };
	assert_int_equal(aka_usim_authenticate(&f->cfg, &key, &f->sc, &f->st,
					       f->rand, v.autn, 16, 0, &r),
			 -ENOKEY);
}

/* TUAK with 256-bit K, 128-bit MAC, 256-bit RES/CK/IK: resync round trip. */
static void test_tuak_resync(void **state)
{
	struct fixture *f = *state;
	struct aka_plain_secret ps = { .len = 32 };
	struct aka_key key = { .secret = aka_plain_secret(&ps) };
	struct aka_algo_config cfg = {
		.algo = AKA_ALGO_TUAK,
		.tuak = { .mac_bits = 128, .res_bits = 256, .ck_bits = 256,
			  .ik_bits = 256, .iterations = 2 },
	};
	const uint8_t top[32] = { 0x5a };
	struct aka_vector v;
	struct aka_auth_result r;
	uint8_t sqn_ms[6], want[6], sres[4], kc[8];

	for (int i = 0; i < 32; i++)
		ps.k[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(aka_tuak_topc(&key.secret, top, 2, cfg.tuak.topc), 0);
	assert_int_equal(aka_network_generate(&cfg, &key, f->rand, f->sqn,
					      f->amf, &v), 0);
	assert_int_equal(v.autn_len, 24);
	assert_int_equal(v.xres_len, 32);
	assert_int_equal(aka_usim_authenticate(&cfg, &key, &f->sc, &f->st,
					       f->rand, v.autn, v.autn_len, 0,
					       &r), 0);
	assert_int_equal(r.status, AKA_STATUS_OK);
	assert_int_equal(r.res_len, 32);
	assert_memory_equal(r.res, v.xres, 32);
	assert_memory_equal(r.ck, v.ck, 32);
	assert_memory_equal(r.ik, v.ik, 32);
	assert_int_equal(aka_sqn_commit(&f->sc, &f->st, &r.sqn_change), 0);
	/* GSM context on TUAK: c2/c3 on the first 128 bits */
	assert_int_equal(aka_usim_gsm(&cfg, &key, f->rand, sres, kc), 0);
	assert_memory_equal(sres, v.sres, 4);
	assert_memory_equal(kc, v.kc, 8);

	assert_int_equal(aka_usim_authenticate(&cfg, &key, &f->sc, &f->st,
					       f->rand, v.autn, v.autn_len, 0,
					       &r), 0);
	assert_int_equal(r.status, AKA_STATUS_SYNC_FAILURE);
	assert_int_equal(r.auts_len, 6 + 16);
	aka_sqn_ms(&f->sc, &f->st, want);
	assert_int_equal(aka_network_resync(&cfg, &key, f->rand, r.auts,
					    r.auts_len, sqn_ms), 0);
	assert_memory_equal(sqn_ms, want, 6);
	assert_memory_equal(sqn_ms, f->sqn, 6);
}

/* c2/c3 (TS 33.102 6.8.1.2) on the TS 55.205 set 1 figures. */
static void test_conversion(void **state)
{
	struct fixture *f = *state;
	struct json_object *gsm = jget(f->o, "gsm");
	uint8_t res[8], ck[16], ik[16], sres[4], kc[8];

	jhex(f->o, "f2", res, 8);
	jhex(f->o, "f3", ck, 16);
	jhex(f->o, "f4", ik, 16);
	aka_c2(res, 8, sres);
	aka_c3(ck, ik, kc);
	assert_hex_field(gsm, "SRES#1", sres, 4);
	assert_hex_field(gsm, "Kc", kc, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_three_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gsm_two_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resync_roundtrip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_separation_bit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_milenage_on_secret, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tuak_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conversion, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
