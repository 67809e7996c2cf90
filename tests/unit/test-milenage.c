// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MILENAGE (TS 35.206) against every set of tests/data/milenage.json:
 * TS 35.207/35.208 OPc, f1, f1*, f2..f5, f5*; TS 55.205 SRES/Kc (GSM
 * context through aka_usim_gsm); derived AUTN (network side) and AUTS
 * (USIM side resync, then verified back by the network side).  And
 * operator-chosen r1..r5/c1..c5 (tests/data/milenage-custom.json, from an
 * independent Python MILENAGE) through the 3-call USIM flow.
 */
#include "aka-test.h"

#define DATA "tests/data/milenage.json"
#define CUSTOM "tests/data/milenage-custom.json"

struct set {
	uint8_t k[16], rand[16], sqn[6], amf[2], op[16], opc[16];
	struct aka_cipher ek;
	struct aka_algo_config cfg;
};

static void load(struct json_object *o, struct set *s)
{
	assert_int_equal(jhex(o, "K", s->k, 16), 16);
	assert_int_equal(jhex(o, "RAND", s->rand, 16), 16);
	assert_int_equal(jhex(o, "SQN", s->sqn, 6), 6);
	assert_int_equal(jhex(o, "AMF", s->amf, 2), 2);
	assert_int_equal(jhex(o, "OP", s->op, 16), 16);
	assert_int_equal(jhex(o, "OPc", s->opc, 16), 16);
	assert_int_equal(aka_soft_cipher_new(s->k, &s->ek), 0);
	s->cfg.algo = AKA_ALGO_MILENAGE;
	aka_milenage_params_default(&s->cfg.milenage);
	memcpy(s->cfg.milenage.opc, s->opc, 16);
}

static void test_set(void **state)
{
	size_t i = *(size_t *)*state;
	struct json_object *o =
		json_object_array_get_idx(load_array(DATA, "sets"), i);
	struct json_object *gsm = jget(o, "gsm"), *der = jget(o, "derived");
	struct set s = { 0 };
	uint8_t opc[16], mac_a[8], mac_s[8], res[8], ck[16], ik[16], ak[6];
	uint8_t ak_star[6], sres[4], kc[8];
	const struct aka_milenage_params *p = &s.cfg.milenage;
	struct aka_key key;
	struct aka_vector v;

	load(o, &s);
	key = (struct aka_key){ .cipher = s.ek };

	assert_int_equal(aka_milenage_opc(&s.ek, s.op, opc), 0);
	assert_hex_field(o, "OPc", opc, 16);
	assert_int_equal(aka_milenage_f1(&s.ek, p, s.rand, s.sqn, s.amf, mac_a,
					 mac_s), 0);
	assert_hex_field(o, "f1", mac_a, 8);
	assert_hex_field(o, "f1*", mac_s, 8);
	assert_int_equal(aka_milenage_f2345(&s.ek, p, s.rand, res, ck, ik, ak),
			 0);
	assert_hex_field(o, "f2", res, 8);
	assert_hex_field(o, "f3", ck, 16);
	assert_hex_field(o, "f4", ik, 16);
	assert_hex_field(o, "f5", ak, 6);
	assert_int_equal(aka_milenage_f5star(&s.ek, p, s.rand, ak_star), 0);
	assert_hex_field(o, "f5*", ak_star, 6);

	/* GSM context (TS 55.205): SRES#1 = c2(RES), Kc = c3(CK, IK);
	 * SRES#2 is the alternative "first 32 bits of RES". */
	if (gsm) {
		assert_int_equal(aka_usim_gsm(&s.cfg, &key, s.rand, sres, kc), 0);
		assert_hex_field(gsm, "SRES#1", sres, 4);
		assert_hex_field(gsm, "Kc", kc, 8);
		assert_hex_field(gsm, "SRES#2", res, 4);
	}

	/* Network side: AUTN = SQN xor AK || AMF || MAC-A */
	assert_int_equal(aka_network_generate(&s.cfg, &key, s.rand, s.sqn,
					      s.amf, &v), 0);
	assert_int_equal(v.autn_len, 16);
	assert_hex_field(der, "AUTN", v.autn, 16);
	assert_hex_field(o, "f2", v.xres, v.xres_len);
	if (gsm) {
		assert_hex_field(gsm, "SRES#1", v.sres, 4);
		assert_hex_field(gsm, "Kc", v.kc, 8);
	}

	/* USIM side with SQN_MS = this SQN: the same AUTN is a replay, and
	 * the AUTS must be the derived one (SQN_MS = SQN, AMF = 0000). */
	{
		struct aka_sqn_config sc;
		struct aka_sqn_state st = { 0 };
		struct aka_sqn_change ch;
		struct aka_auth_result r;
		uint8_t sqn_ms[6];

		aka_sqn_config_default(&sc);
		sc.ind_bits = 0; /* one array entry: SEQ_MS(0) = SQN */
		ch = (struct aka_sqn_change){ .accepted = true, .ind = 0 };
		for (unsigned j = 0; j < 6; j++)
			ch.seq = ch.seq << 8 | s.sqn[j];
		assert_int_equal(aka_sqn_commit(&sc, &st, &ch), 0);
		assert_int_equal(aka_usim_authenticate(&s.cfg, &key, &sc, &st,
						       s.rand, v.autn, 16, 0, &r),
				 0);
		assert_int_equal(r.status, AKA_STATUS_SYNC_FAILURE);
		assert_int_equal(r.sqn_change.verdict, AKA_SQN_REPLAY);
		assert_int_equal(r.auts_len, 14);
		assert_hex_field(der, "AUTS", r.auts, 14);
		assert_hex_field(der, "MAC-S(AMF=0000)", r.auts + 6, 8);
		assert_int_equal(aka_network_resync(&s.cfg, &key, s.rand, r.auts,
						    r.auts_len, sqn_ms), 0);
		assert_memory_equal(sqn_ms, s.sqn, 6);
	}
	aka_soft_cipher_free(&s.ek);
}

/* Non-default r/c (rotations that are not whole octets). */
static void test_custom_constants(void **state)
{
	size_t i = *(size_t *)*state;
	struct json_object *o =
		json_object_array_get_idx(load_array(CUSTOM, "sets"), i);
	struct json_object *r = jget(o, "r"), *c = jget(o, "c");
	struct aka_algo_config cfg = { .algo = AKA_ALGO_MILENAGE };
	struct aka_milenage_params *p = &cfg.milenage;
	uint8_t k[16], rand[16], sqn[6], amf[2], mac_a[8], mac_s[8];
	uint8_t res[8], ck[16], ik[16], ak[6];
	struct aka_cipher ek;
	struct aka_vector v;

	jhex(o, "K", k, 16);
	jhex(o, "OPc", p->opc, 16);
	jhex(o, "RAND", rand, 16);
	jhex(o, "SQN", sqn, 6);
	jhex(o, "AMF", amf, 2);
	for (size_t j = 0; j < 5; j++) {
		p->r[j] = (uint8_t)json_object_get_int(
			json_object_array_get_idx(r, j));
		assert_int_equal(hex_decode(json_object_get_string(
						    json_object_array_get_idx(c, j)),
					    p->c[j], 16), 16);
	}
	assert_int_equal(aka_algo_config_validate(&cfg), 0);
	assert_int_equal(aka_soft_cipher_new(k, &ek), 0);
	assert_int_equal(aka_milenage_f1(&ek, p, rand, sqn, amf, mac_a, mac_s),
			 0);
	assert_hex_field(o, "f1", mac_a, 8);
	assert_hex_field(o, "f1*", mac_s, 8);
	assert_int_equal(aka_milenage_f2345(&ek, p, rand, res, ck, ik, ak), 0);
	assert_hex_field(o, "f2", res, 8);
	assert_hex_field(o, "f3", ck, 16);
	assert_hex_field(o, "f4", ik, 16);
	assert_hex_field(o, "f5", ak, 6);
	assert_int_equal(aka_milenage_f5star(&ek, p, rand, ak), 0);
	assert_hex_field(o, "f5*", ak, 6);

	/* and through the network side + USIM side */
	{
		struct aka_key key = { .cipher = ek };
		struct aka_sqn_config sc;
		struct aka_sqn_state st = { 0 };
		struct aka_auth_result a;

		aka_sqn_config_default(&sc);
		sc.ind_bits = 0;
		sc.delta = (1ULL << 47); /* accept any SQN from a zero state */
		assert_int_equal(aka_network_generate(&cfg, &key, rand, sqn, amf,
						      &v), 0);
		assert_int_equal(aka_usim_authenticate(&cfg, &key, &sc, &st, rand,
						       v.autn, 16, 0, &a), 0);
		assert_int_equal(a.status, AKA_STATUS_OK);
		assert_hex_field(o, "f2", a.res, a.res_len);
	}
	aka_soft_cipher_free(&ek);
}

/* TS 35.206 4.1: rotations are 0..127 bits. */
static void test_bad_rotation(void **state)
{
	struct aka_algo_config cfg = { .algo = AKA_ALGO_MILENAGE };

	(void)state;
	aka_milenage_params_default(&cfg.milenage);
	assert_int_equal(aka_algo_config_validate(&cfg), 0);
	cfg.milenage.r[2] = 128;
	assert_int_equal(aka_algo_config_validate(&cfg), -EINVAL);
}

/* A failing E_K propagates its error and leaves no output behind. */
static int failing_encrypt(void *ctx, const uint8_t *in, uint8_t *out,
			   size_t n)
{
	(void)ctx, (void)in, (void)out, (void)n;
	return -EIO;
}

static void test_cipher_error(void **state)
{
	struct aka_algo_config cfg = { .algo = AKA_ALGO_MILENAGE };
	struct aka_key key = { .cipher = { .encrypt = failing_encrypt } };
	struct aka_sqn_config sc;
	struct aka_sqn_state st = { 0 };
	struct aka_auth_result r;
	uint8_t rand[16] = { 1 }, autn[16] = { 2 };

	(void)state;
	aka_milenage_params_default(&cfg.milenage);
	aka_sqn_config_default(&sc);
	assert_int_equal(aka_usim_authenticate(&cfg, &key, &sc, &st, rand, autn,
					       16, 0, &r), -EIO);
	assert_int_equal(r.res_len, 0);
	assert_int_equal(r.auts_len, 0); /* result wiped */
}

int main(void)
{
	const struct CMUnitTest extra[] = {
		cmocka_unit_test(test_bad_rotation),
		cmocka_unit_test(test_cipher_error),
	};

	int r;

	r = run_per_set("milenage", "TS 35.208 set",
			json_object_array_length(load_array(DATA, "sets")),
			test_set, NULL, 0);
	r |= run_per_set("milenage-custom", "custom r/c set",
			 json_object_array_length(load_array(CUSTOM, "sets")),
			 test_custom_constants, extra, ARRAY_SIZE(extra));
	return r;
}
