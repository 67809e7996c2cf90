/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * MILENAGE through the TPM: mode (a) (K an AES key, E_K by
 * TPM2_EncryptDecrypt2) and mode (b) (K sealed, unsealed per computation)
 * against the TS 35.207/35.208 sets (tests/data/milenage.json) and random
 * cases computed in software, with every TPM command per authentication
 * counted at the TCTI and asserted (target: 3 EncryptDecrypt2, at most 9 in
 * all, docs/tre.md).  Runs under tests/lib/with-swtpm.
 */
#include <json-c/json.h>

#include "daemon/aka/aka.h"
#include "daemon/tre/tre-aka.h"
#include "hex.h"
#include "tre-test.h"

#define DATA "tests/data/milenage.json"

struct set {
	uint8_t k[16], rand[16], sqn[6], amf[2], opc[16];
	uint8_t res[8], ck[16], ik[16], auts[14];
	uint8_t sres[4], kc[8];
	bool have_auts, have_gsm;
};

static int field(struct json_object *o, const char *key, uint8_t *out, size_t len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return -ENOENT;
	return hex_decode(json_object_get_string(v), out, len) == (int)len ? 0 : -EINVAL;
}

static int load_set(struct json_object *o, struct set *s)
{
	struct json_object *der;
	int r;

	memset(s, 0, sizeof(*s));
	r = field(o, "K", s->k, 16) ?: field(o, "RAND", s->rand, 16) ?: field(o, "SQN", s->sqn, 6) ?:
	    field(o, "AMF", s->amf, 2) ?: field(o, "OPc", s->opc, 16) ?: field(o, "f2", s->res, 8) ?:
	    field(o, "f3", s->ck, 16) ?: field(o, "f4", s->ik, 16);
	if (r == 0 && json_object_object_get_ex(o, "derived", &der))
		s->have_auts = field(der, "AUTS", s->auts, 14) == 0;
	if (r == 0 && json_object_object_get_ex(o, "gsm", &der))
		s->have_gsm = field(der, "SRES#1", s->sres, 4) == 0 && field(der, "Kc", s->kc, 8) == 0;
	return r;
}

static void milenage_cfg(const uint8_t opc[16], struct aka_algo_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->algo = AKA_ALGO_MILENAGE;
	aka_milenage_params_default(&cfg->milenage);
	memcpy(cfg->milenage.opc, opc, 16);
}

/* SQN state that accepts sqn as fresh (IND 0 bits: one array entry). */
static void sqn_before(const uint8_t sqn[6], struct aka_sqn_config *sc, struct aka_sqn_state *st)
{
	uint64_t v = 0;

	aka_sqn_config_default(sc);
	sc->ind_bits = 0;
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < 6; i++)
		v = v << 8 | sqn[i];
	st->seq_ms[0] = v - 1;
}

/* The network side in software makes AUTN; the USIM side runs on key. */
static int auth(const struct aka_algo_config *cfg, const uint8_t k[16], const struct aka_key *key,
		const uint8_t rand[16], const uint8_t sqn[6], const uint8_t amf[2],
		struct aka_vector *ret_v, struct aka_auth_result *ret)
{
	struct aka_cipher soft;
	struct aka_key sk = { 0 };
	struct aka_sqn_config sc;
	struct aka_sqn_state st;
	int r;

	r = aka_soft_cipher_new(k, &soft);
	if (r < 0)
		return r;
	sk.cipher = soft;
	r = aka_network_generate(cfg, &sk, rand, sqn, amf, ret_v);
	aka_soft_cipher_free(&soft);
	if (r < 0)
		return r;
	sqn_before(sqn, &sc, &st);
	return aka_usim_authenticate(cfg, key, &sc, &st, rand, ret_v->autn, ret_v->autn_len, 0, ret);
}

struct counts {
	uint64_t all, ed2, unseal, policy;
};

static struct counts counted(struct tre *t)
{
	const struct tre_stats *s = tre_stats(t);

	return (struct counts){
		.all = s->commands,
		.ed2 = tre_stats_cc(s, TPM2_CC_EncryptDecrypt2),
		.unseal = tre_stats_cc(s, TPM2_CC_Unseal),
		.policy = tre_stats_cc(s, TPM2_CC_PolicyPCR) + tre_stats_cc(s, TPM2_CC_PolicyAuthorize),
	};
}

static bool same_result(const struct aka_auth_result *r, const uint8_t *res, const uint8_t *ck,
			const uint8_t *ik)
{
	return r->status == AKA_STATUS_OK && r->res_len == 8 && !memcmp(r->res, res, 8) &&
	       !memcmp(r->ck, ck, 16) && !memcmp(r->ik, ik, 16);
}

static void run_set(struct tre *t, const struct tt_operator *op, const struct tre_policy *pol,
		    unsigned idx, const struct set *s)
{
	_cleanup_tre_key_ struct tre_key *ka = NULL, *kb = NULL;
	struct aka_algo_config cfg;
	struct aka_auth_result r;
	struct aka_vector v;
	struct aka_key key;
	struct counts c;
	int e;

	milenage_cfg(s->opc, &cfg);
	e = tt_key(t, op, pol, TRE_KIND_AES, s->k, 16, &ka);
	if (!tap_ok(e == 0, "set %u: K imported as a TPM AES key (%s)", idx, e ? tre_errmsg(t) : "ok"))
		return;
	tre_aka_key(ka, &key);
	tre_stats_reset(t);
	e = auth(&cfg, s->k, &key, s->rand, s->sqn, s->amf, &v, &r);
	c = counted(t);
	tap_ok(e == 0 && same_result(&r, s->res, s->ck, s->ik),
	       "set %u: mode a RES/CK/IK equal TS 35.208 f2/f3/f4", idx);
	tap_ok(c.ed2 == 3 && c.all <= 9,
	       "set %u: mode a: %llu EncryptDecrypt2, %llu TPM commands in all", idx,
	       (unsigned long long)c.ed2, (unsigned long long)c.all);
	aka_auth_result_wipe(&r);

	/* A resynchronisation costs one more E_K call (OUT5 and the f1* block). */
	if (s->have_auts) {
		struct aka_sqn_config sc;
		struct aka_sqn_state st;

		sqn_before(s->sqn, &sc, &st);
		st.seq_ms[0]++; /* SQN_MS = SQN: the AUTN is a replay */
		tre_stats_reset(t);
		e = aka_usim_authenticate(&cfg, &key, &sc, &st, s->rand, v.autn, v.autn_len, 0, &r);
		c = counted(t);
		tap_ok(e == 0 && r.status == AKA_STATUS_SYNC_FAILURE && r.auts_len == 14 &&
			       !memcmp(r.auts, s->auts, 14) && c.ed2 == 4 && c.all == 12,
		       "set %u: mode a resync: AUTS as derived, %llu EncryptDecrypt2, %llu commands",
		       idx, (unsigned long long)c.ed2, (unsigned long long)c.all);
		aka_auth_result_wipe(&r);
	}

	/* GSM context: f2..f4 only, 2 E_K calls (TS 55.205 values). */
	if (s->have_gsm) {
		uint8_t sres[4], kc[8];

		tre_stats_reset(t);
		e = aka_usim_gsm(&cfg, &key, s->rand, sres, kc);
		c = counted(t);
		tap_ok(e == 0 && !memcmp(sres, s->sres, 4) && !memcmp(kc, s->kc, 8) && c.ed2 == 2 &&
			       c.all == 6,
		       "set %u: mode a GSM context: SRES and Kc as TS 55.205, %llu commands", idx,
		       (unsigned long long)c.all);
	}

	e = tt_key(t, op, pol, TRE_KIND_SEALED, s->k, 16, &kb);
	if (!tap_ok(e == 0, "set %u: K imported as a sealed object", idx))
		return;
	tre_aka_key(kb, &key);
	tre_stats_reset(t);
	e = auth(&cfg, s->k, &key, s->rand, s->sqn, s->amf, &v, &r);
	c = counted(t);
	tap_ok(e == 0 && same_result(&r, s->res, s->ck, s->ik) && c.unseal == 1 && c.all <= 3,
	       "set %u: mode b RES/CK/IK equal TS 35.208, %llu Unseal, %llu TPM commands", idx,
	       (unsigned long long)c.unseal, (unsigned long long)c.all);
	aka_auth_result_wipe(&r);
}

static void random_cases(struct tre *t, const struct tt_operator *op, const struct tre_policy *pol,
			 unsigned n, bool known)
{
	unsigned good = 0, bounded = 0;

	for (unsigned i = 0; i < n; i++) {
		_cleanup_tre_key_ struct tre_key *k = NULL;
		uint8_t key_k[16], opc[16], rand[16], sqn[6], amf[2];
		struct aka_algo_config cfg;
		struct aka_auth_result r;
		struct aka_vector v;
		struct aka_key key;
		struct counts c;
		int e;

		tt_random(key_k, 16);
		tt_random(opc, 16);
		tt_random(rand, 16);
		tt_random(sqn, 6);
		tt_random(amf, 2);
		sqn[5] |= 1; /* SQN > 0 */
		milenage_cfg(opc, &cfg);
		if (known) {
			/* TPM2_Create with the sensitive sent over the encrypted session. */
			TPM2B_PUBLIC tmpl;
			struct tre_blob b;

			e = tre_template(TRE_KIND_AES, &op->auth_policy, &tmpl);
			if (e == 0)
				e = tre_create_known(t, &tmpl, key_k, 16, &b);
			if (e == 0)
				e = tre_key_load(t, &b, &k);
			if (e == 0)
				e = tre_key_set_policy(k, pol);
		} else {
			e = tt_key(t, op, pol, TRE_KIND_AES, key_k, 16, &k);
		}
		if (e < 0) {
			tap_diag("random case %u: %s", i, tre_errmsg(t));
			continue;
		}
		tre_aka_key(k, &key);
		tre_stats_reset(t);
		e = auth(&cfg, key_k, &key, rand, sqn, amf, &v, &r);
		c = counted(t);
		if (e == 0 && same_result(&r, v.xres, v.ck, v.ik))
			good++;
		if (c.ed2 == 3 && c.all <= 9)
			bounded++;
		aka_auth_result_wipe(&r);
	}
	tap_ok(good == n, "%u/%u random cases (%s): TPM result equals software MILENAGE", good, n,
	       known ? "TPM2_Create with known K" : "imported K");
	tap_ok(bounded == n, "%u/%u random cases within 3 EncryptDecrypt2 / 9 commands", bounded, n);
}

static void cfb_mode(const struct tt_operator *op, const struct set *s)
{
	struct tre_config cfg;
	_cleanup_tre_ struct tre *t = NULL;
	_cleanup_tre_key_ struct tre_key *k = NULL;
	struct aka_algo_config acfg;
	struct tre_policy pol;
	struct aka_auth_result r;
	struct aka_vector v;
	struct aka_key key;
	struct counts c;
	int e;

	tre_config_init(&cfg);
	cfg.no_probe_ecb = true;
	t = tt_open(&cfg);
	tap_ok(tre_mode(t) == TRE_MODE_AES_CFB, "without ECB the probe picks CFB (%s)",
	       tre_mode_name(tre_mode(t)));
	e = tt_approve_now(t, op, &pol);
	if (e == 0)
		e = tt_key(t, op, &pol, TRE_KIND_AES, s->k, 16, &k);
	if (!tap_ok(e == 0, "CFB mode: key ready"))
		return;
	milenage_cfg(s->opc, &acfg);
	tre_aka_key(k, &key);
	tre_stats_reset(t);
	e = auth(&acfg, s->k, &key, s->rand, s->sqn, s->amf, &v, &r);
	c = counted(t);
	tap_ok(e == 0 && same_result(&r, s->res, s->ck, s->ik) && c.ed2 == 5 && c.all == 15,
	       "CFB mode (masked: IV = R, input (X xor M) || Z): RES/CK/IK right, %llu EncryptDecrypt2,"
	       " %llu commands",
	       (unsigned long long)c.ed2, (unsigned long long)c.all);
	aka_auth_result_wipe(&r);
}

/* TUAK needs K itself: mode b serves it (TS 35.233 sets, tests/data/tuak.json). */
static void tuak_sets(struct tre *t, const struct tt_operator *op, const struct tre_policy *pol)
{
	struct json_object *doc = json_object_from_file("tests/data/tuak.json"), *sets, *v;
	unsigned good = 0, n = 0, bounded = 0;

	if (!doc || !json_object_object_get_ex(doc, "sets", &sets)) {
		tap_ok(false, "reading tests/data/tuak.json");
		json_object_put(doc);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(sets); i++) {
		struct json_object *o = json_object_array_get_idx(sets, i);
		_cleanup_tre_key_ struct tre_key *k = NULL;
		uint8_t key_k[32], rand[16], res[32], ck[32], ik[32], ak[6];
		uint8_t xres[32], xck[32], xik[32], xak[6];
		struct aka_tuak_params p = { 0 };
		struct aka_key key;
		int klen, e;

		n++;
		klen = json_object_object_get_ex(o, "K", &v) ?
			       hex_decode(json_object_get_string(v), key_k, sizeof(key_k)) : -1;
#define BITS(name) (json_object_object_get_ex(o, name, &v) ? (unsigned)json_object_get_int(v) : 0)
		p.mac_bits = BITS("MAC_len_bits");
		p.res_bits = BITS("RES_len_bits");
		p.ck_bits = BITS("CK_len_bits");
		p.ik_bits = BITS("IK_len_bits");
		p.iterations = BITS("Keccak_iterations");
#undef BITS
		if (klen < 0 || field(o, "RAND", rand, 16) || field(o, "TOPc", p.topc, 32) ||
		    field(o, "RES", xres, p.res_bits / 8) || field(o, "CK", xck, p.ck_bits / 8) ||
		    field(o, "IK", xik, p.ik_bits / 8) || field(o, "AK", xak, 6))
			continue;
		e = tt_key(t, op, pol, TRE_KIND_SEALED, key_k, (size_t)klen, &k);
		if (e == 0)
			e = tre_aka_key(k, &key);
		tre_stats_reset(t);
		if (e == 0)
			e = aka_tuak_f2345(&key.secret, &p, rand, res, ck, ik, ak);
		if (e == 0 && !memcmp(res, xres, p.res_bits / 8) && !memcmp(ck, xck, p.ck_bits / 8) &&
		    !memcmp(ik, xik, p.ik_bits / 8) && !memcmp(ak, xak, 6))
			good++;
		if (tre_stats_cc(tre_stats(t), TPM2_CC_Unseal) == 1 && tre_stats(t)->commands == 3)
			bounded++;
	}
	json_object_put(doc);
	tap_ok(n == 6 && good == n,
	       "TUAK through a sealed K (128 and 256 bits): %u/%u TS 35.233 sets give RES/CK/IK/AK",
	       good, n);
	tap_ok(bounded == n, "TUAK f2-f5: one Unseal, 3 TPM commands each (%u/%u)", bounded, n);
}

/* The ESAPI path (tre_config.no_fast_path): same results, same counts. */
static void esapi_path(const struct tt_operator *op, const struct set *s)
{
	struct tre_config cfg;
	_cleanup_tre_ struct tre *t = NULL;
	_cleanup_tre_key_ struct tre_key *ka = NULL, *kb = NULL;
	struct aka_algo_config acfg;
	struct tre_policy pol;
	struct aka_auth_result r;
	struct aka_vector v;
	struct aka_key key;
	struct counts c;
	int e;

	tre_config_init(&cfg);
	cfg.no_fast_path = true;
	t = tt_open(&cfg);
	e = tt_approve_now(t, op, &pol);
	if (e == 0)
		e = tt_key(t, op, &pol, TRE_KIND_AES, s->k, 16, &ka);
	if (e == 0)
		e = tt_key(t, op, &pol, TRE_KIND_SEALED, s->k, 16, &kb);
	if (!tap_ok(e == 0, "ESAPI path: keys ready"))
		return;
	milenage_cfg(s->opc, &acfg);
	tre_aka_key(ka, &key);
	tre_stats_reset(t);
	e = auth(&acfg, s->k, &key, s->rand, s->sqn, s->amf, &v, &r);
	c = counted(t);
	tap_ok(e == 0 && same_result(&r, s->res, s->ck, s->ik) && c.ed2 == 3 && c.all == 9,
	       "ESAPI path, mode a: RES/CK/IK right, %llu commands", (unsigned long long)c.all);
	aka_auth_result_wipe(&r);
	tre_aka_key(kb, &key);
	tre_stats_reset(t);
	e = auth(&acfg, s->k, &key, s->rand, s->sqn, s->amf, &v, &r);
	c = counted(t);
	tap_ok(e == 0 && same_result(&r, s->res, s->ck, s->ik) && c.unseal == 1 && c.all == 3,
	       "ESAPI path, mode b: RES/CK/IK right, %llu commands", (unsigned long long)c.all);
	aka_auth_result_wipe(&r);
}

int main(int argc, char **argv)
{
	_cleanup_tre_ struct tre *t = NULL;
	struct json_object *doc, *sets;
	struct tt_operator op;
	struct tre_policy pol;
	TPM2B_DIGEST d;
	struct set s0 = { 0 };
	size_t n;
	int e;

	/* "quick": the first 3 sets only (the tabrmd run). */
	bool quick = argc > 1 && !strcmp(argv[1], "quick");

	t = tt_open(NULL);
	tap_diag("TCTI %s, key mode %s", getenv("MCIM_TEST_TCTI"), tre_mode_name(tre_mode(t)));
	tap_ok(tre_mode(t) == TRE_MODE_AES_ECB, "swtpm offers EncryptDecrypt2 with ECB: mode a (%s)",
	       tre_mode_name(tre_mode(t)));
	tt_operator_init(&op);
	e = tre_policy_authorize_digest(t, &op.pub, &op.ref, &d);
	tap_ok(e == 0 && d.size == op.auth_policy.size &&
		       !memcmp(d.buffer, op.auth_policy.buffer, d.size),
	       "PolicyAuthorize digest: TPM trial session equals lib/ software");
	e = tt_approve_now(t, &op, &pol);
	tap_ok(e == 0, "PolicyPCR over the bound PCRs: TPM trial equals lib/ software, signed (%d)", e);

	doc = json_object_from_file(DATA);
	if (!doc || !json_object_object_get_ex(doc, "sets", &sets)) {
		tap_ok(false, "reading %s", DATA);
		return tap_end();
	}
	n = json_object_array_length(sets);
	if (quick && n > 3)
		n = 3;
	for (size_t i = 0; i < n; i++) {
		struct set s;

		if (load_set(json_object_array_get_idx(sets, i), &s) < 0) {
			tap_ok(false, "set %zu parses", i + 1);
			continue;
		}
		if (i == 0)
			s0 = s;
		run_set(t, &op, &pol, (unsigned)i + 1, &s);
	}
	json_object_put(doc);
	random_cases(t, &op, &pol, quick ? 3 : 16, false);
	random_cases(t, &op, &pol, quick ? 2 : 4, true);
	if (!quick)
		tuak_sets(t, &op, &pol);
	if (!quick) {
		tre_close(TAKE_PTR(t));
		cfb_mode(&op, &s0);
		esapi_path(&op, &s0);
	}
	tt_operator_free(&op);
	return tap_end();
}
