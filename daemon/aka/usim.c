// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The USIM side of AKA (TS 33.102 6.3.3, TS 31.102 7.1.2), the GSM security
 * context and conversion functions (TS 33.102 6.8.1.2), and the network
 * side (AuC: TS 33.102 6.3.2 vector generation, 6.3.5 resynchronisation).
 * Both algorithm sets are driven through one small "run" so that the flow
 * is written once; for MILENAGE the run keeps TEMP, which makes a USIM
 * authentication 3 E_K calls (TEMP; OUT2..OUT4; OUT1) and a resync one more.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "daemon/aka/aka-internal.h"
#include "macro.h"

int aka_algo_config_validate(const struct aka_algo_config *cfg)
{
	if (!cfg)
		return -EINVAL;
	switch (cfg->algo) {
	case AKA_ALGO_MILENAGE:
		for (unsigned i = 0; i < 5; i++)
			if (cfg->milenage.r[i] > 127)
				return -EINVAL;
		return 0;
	case AKA_ALGO_TUAK:
		return tuak_params_validate(&cfg->tuak);
	default:
		return -EINVAL;
	}
}

void aka_c2(const uint8_t *res, size_t res_len, uint8_t ret_sres[AKA_SRES_LEN])
{
	uint8_t x[16] = { 0 };

	/* TS 33.102 6.8.1.2: XRES* = XRES padded with zeros to 128 bits;
	 * SRES = XRES*1 xor XRES*2 xor XRES*3 xor XRES*4.  A 256-bit TUAK RES
	 * is cut to its first 128 bits (decision, daemon/aka/README.md). */
	memcpy(x, res, MIN(res_len, sizeof(x)));
	for (unsigned i = 0; i < AKA_SRES_LEN; i++)
		ret_sres[i] = x[i] ^ x[i + 4] ^ x[i + 8] ^ x[i + 12];
}

void aka_c3(const uint8_t *ck, const uint8_t *ik, uint8_t ret_kc[AKA_KC_LEN])
{
	/* TS 33.102 6.8.1.2: Kc = CK1 xor CK2 xor IK1 xor IK2 (64-bit halves
	 * of the first 128 bits of CK and IK). */
	for (unsigned i = 0; i < AKA_KC_LEN; i++)
		ret_kc[i] = ck[i] ^ ck[i + 8] ^ ik[i] ^ ik[i + 8];
}

/* One computation with one key; see the file comment.  Everything derived
 * from K sits in here and is wiped once by run_close(). */
struct run {
	const struct aka_algo_config *cfg;
	const struct aka_cipher *ek;
	struct aka_cipher soft; /* MILENAGE on a key from the secret */
	struct milenage_work mw;
	bool have_temp;
	uint8_t k[AKA_K_MAX]; /* TUAK */
	size_t klen;
	size_t mac_len, res_len, ck_len, ik_len;
	uint8_t ak[AKA_AK_LEN], ak_star[AKA_AK_LEN], mac[AKA_MAC_MAX];
};

static void run_close(struct run *r)
{
	aka_soft_cipher_free(&r->soft);
	wipe(r, sizeof(*r));
}

static int run_open(struct run *r, const struct aka_algo_config *cfg,
		    const struct aka_key *key)
{
	int ret;

	r->cfg = cfg;
	r->ek = NULL;
	r->soft = (struct aka_cipher){ 0 };
	r->have_temp = false;
	r->klen = 0;
	if (!key || aka_algo_config_validate(cfg) < 0)
		return -EINVAL;
	if (cfg->algo == AKA_ALGO_TUAK) {
		r->mac_len = cfg->tuak.mac_bits / 8;
		r->res_len = cfg->tuak.res_bits / 8;
		r->ck_len = cfg->tuak.ck_bits / 8;
		r->ik_len = cfg->tuak.ik_bits / 8;
		return secret_fetch(&key->secret, r->k, &r->klen);
	}
	r->mac_len = 8;
	r->res_len = 8;
	r->ck_len = 16;
	r->ik_len = 16;
	if (key->cipher.encrypt) {
		r->ek = &key->cipher;
		return 0;
	}
	/* No E_K interface: a software AES on K from the secret, for this
	 * computation only. */
	ret = secret_fetch(&key->secret, r->k, &r->klen);
	if (ret < 0)
		return ret;
	if (r->klen != AKA_MILENAGE_K_LEN)
		ret = -EINVAL;
	else
		ret = aka_soft_cipher_new(r->k, &r->soft);
	wipe(r->k, sizeof(r->k));
	r->klen = 0;
	r->ek = &r->soft;
	return ret;
}

/* f2..f5 into res/ck/ik and r->ak; MILENAGE: E_K calls 1 (TEMP) and 2
 * (OUT2..OUT4). */
static int run_f2345(struct run *r, const uint8_t rand[AKA_RAND_LEN],
		     uint8_t *res, uint8_t *ck, uint8_t *ik)
{
	const struct aka_milenage_params *p = &r->cfg->milenage;
	struct milenage_work *w = &r->mw;
	int ret;

	if (r->cfg->algo == AKA_ALGO_TUAK)
		return tuak_f2345_raw(r->k, r->klen, &r->cfg->tuak, rand, res,
				      ck, ik, r->ak);
	ret = milenage_temp(r->ek, p, rand, w);
	if (ret < 0)
		return ret;
	r->have_temp = true;
	ret = milenage_out234(r->ek, p, w);
	if (ret < 0)
		return ret;
	memcpy(r->ak, w->out[0], AKA_AK_LEN);
	memcpy(res, w->out[0] + 8, 8);
	memcpy(ck, w->out[1], 16);
	memcpy(ik, w->out[2], 16);
	return 0;
}

/* f1 (MAC-A / XMAC-A) into r->mac; MILENAGE: E_K call 3.  Needs
 * run_f2345 first. */
static int run_f1(struct run *r, const uint8_t rand[AKA_RAND_LEN],
		  const uint8_t sqn[AKA_SQN_LEN], const uint8_t amf[AKA_AMF_LEN])
{
	int ret;

	if (r->cfg->algo == AKA_ALGO_TUAK)
		return tuak_f1_raw(r->k, r->klen, &r->cfg->tuak, rand, sqn, amf,
				   false, r->mac);
	if (!r->have_temp)
		return -EINVAL;
	ret = milenage_out1(r->ek, &r->cfg->milenage, &r->mw, sqn, amf);
	if (ret >= 0)
		memcpy(r->mac, r->mw.out1, 8);
	return ret;
}

/* f5* and f1* over (SQN_MS, AMF = 0000) into r->ak_star and r->mac (MAC-S,
 * TS 33.102 6.3.3); MILENAGE: one 2-block E_K call, plus TEMP when the run
 * does not have it yet. */
static int run_resync(struct run *r, const uint8_t rand[AKA_RAND_LEN],
		      const uint8_t sqn_ms[AKA_SQN_LEN])
{
	static const uint8_t amf0[AKA_AMF_LEN] = { 0, 0 };
	int ret;

	if (r->cfg->algo == AKA_ALGO_TUAK) {
		ret = tuak_f5star_raw(r->k, r->klen, &r->cfg->tuak, rand,
				      r->ak_star);
		if (ret < 0)
			return ret;
		return tuak_f1_raw(r->k, r->klen, &r->cfg->tuak, rand, sqn_ms,
				   amf0, true, r->mac);
	}
	if (!r->have_temp) {
		ret = milenage_temp(r->ek, &r->cfg->milenage, rand, &r->mw);
		if (ret < 0)
			return ret;
		r->have_temp = true;
	}
	ret = milenage_out5_out1(r->ek, &r->cfg->milenage, &r->mw, sqn_ms,
				 amf0);
	if (ret >= 0) {
		memcpy(r->ak_star, r->mw.out5, AKA_AK_LEN);
		memcpy(r->mac, r->mw.out1 + 8, 8);
	}
	return ret;
}

void aka_auth_result_wipe(struct aka_auth_result *r)
{
	wipe(r, sizeof(*r));
}

int aka_usim_authenticate(const struct aka_algo_config *cfg,
			  const struct aka_key *key,
			  const struct aka_sqn_config *sqn_cfg,
			  const struct aka_sqn_state *st,
			  const uint8_t rand[AKA_RAND_LEN], const uint8_t *autn,
			  size_t autn_len, unsigned flags,
			  struct aka_auth_result *ret)
{
	uint8_t sqn[AKA_SQN_LEN], sqn_ms[AKA_SQN_LEN];
	struct aka_auth_result *o = ret;
	struct run run;
	int r;

	if (!ret)
		return -EINVAL;
	memset(o, 0, sizeof(*o));
	if (!rand || !autn || !st || aka_sqn_config_validate(sqn_cfg) < 0 ||
	    (flags & ~AKA_AUTH_CHECK_SEPARATION_BIT))
		return -EINVAL;
	r = run_open(&run, cfg, key);
	if (r < 0)
		goto out;
	if (autn_len != AKA_SQN_LEN + AKA_AMF_LEN + run.mac_len) {
		r = -EINVAL;
		goto out;
	}

	/* TS 33.102 6.3.3: AK = f5(RAND), SQN = (SQN xor AK) xor AK,
	 * XMAC = f1(SQN, RAND, AMF), compare with MAC. */
	r = run_f2345(&run, rand, o->res, o->ck, o->ik);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < AKA_SQN_LEN; i++)
		sqn[i] = autn[i] ^ run.ak[i];
	r = run_f1(&run, rand, sqn, autn + AKA_SQN_LEN);
	if (r < 0)
		goto out;
	if (CRYPTO_memcmp(run.mac, autn + AKA_SQN_LEN + AKA_AMF_LEN,
			  run.mac_len) != 0) {
		wipe(o, sizeof(*o));
		o->status = AKA_STATUS_MAC_FAILURE;
		goto out;
	}

	/* TS 33.102 6.3.3 and Annex C: SQN in the correct range? */
	r = aka_sqn_check(sqn_cfg, st, sqn, &o->sqn_change);
	if (r < 0)
		goto out;
	if (!o->sqn_change.accepted) {
		/* AUTS = (SQN_MS xor AK*) || MAC-S, MAC-S = f1*(SQN_MS, RAND,
		 * AMF = 0000) */
		struct aka_sqn_change c = o->sqn_change;

		wipe(o, sizeof(*o));
		o->sqn_change = c;
		o->status = AKA_STATUS_SYNC_FAILURE;
		aka_sqn_ms(sqn_cfg, st, sqn_ms);
		r = run_resync(&run, rand, sqn_ms);
		if (r < 0)
			goto out;
		for (unsigned i = 0; i < AKA_SQN_LEN; i++)
			o->auts[i] = sqn_ms[i] ^ run.ak_star[i];
		memcpy(o->auts + AKA_SQN_LEN, run.mac, run.mac_len);
		o->auts_len = AKA_SQN_LEN + run.mac_len;
		goto out;
	}

	/* TS 33.401 6.1.1 (ME check, see aka.h): separation bit, AMF bit 0 */
	if ((flags & AKA_AUTH_CHECK_SEPARATION_BIT) &&
	    !(autn[AKA_SQN_LEN] & 0x80)) {
		struct aka_sqn_change c = o->sqn_change;

		wipe(o, sizeof(*o));
		o->sqn_change = c;
		o->sqn_change.accepted = false;
		o->status = AKA_STATUS_AMF_FAILURE;
		goto out;
	}

	o->status = AKA_STATUS_OK;
	o->res_len = run.res_len;
	o->ck_len = run.ck_len;
	o->ik_len = run.ik_len;
	aka_c3(o->ck, o->ik, o->kc);
out:
	if (r < 0)
		wipe(o, sizeof(*o));
	run_close(&run);
	return r;
}

int aka_usim_gsm(const struct aka_algo_config *cfg, const struct aka_key *key,
		 const uint8_t rand[AKA_RAND_LEN],
		 uint8_t ret_sres[AKA_SRES_LEN], uint8_t ret_kc[AKA_KC_LEN])
{
	uint8_t res[AKA_RES_MAX], ck[AKA_CK_MAX], ik[AKA_CK_MAX];
	struct run run;
	int r;

	if (!rand || !ret_sres || !ret_kc)
		return -EINVAL;
	r = run_open(&run, cfg, key);
	if (r >= 0)
		r = run_f2345(&run, rand, res, ck, ik);
	if (r >= 0) {
		/* TS 33.102 6.8.1.2; TS 55.205 (GSM-MILENAGE) */
		aka_c2(res, run.res_len, ret_sres);
		aka_c3(ck, ik, ret_kc);
	}
	run_close(&run);
	wipe(res, sizeof(res));
	wipe(ck, sizeof(ck));
	wipe(ik, sizeof(ik));
	return r;
}

int aka_network_generate(const struct aka_algo_config *cfg,
			 const struct aka_key *key,
			 const uint8_t rand[AKA_RAND_LEN],
			 const uint8_t sqn[AKA_SQN_LEN],
			 const uint8_t amf[AKA_AMF_LEN], struct aka_vector *ret)
{
	struct run run;
	int r;

	if (!ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (!rand || !sqn || !amf)
		return -EINVAL;
	r = run_open(&run, cfg, key);
	if (r >= 0)
		r = run_f2345(&run, rand, ret->xres, ret->ck, ret->ik);
	if (r >= 0)
		r = run_f1(&run, rand, sqn, amf);
	if (r >= 0) {
		memcpy(ret->ak, run.ak, AKA_AK_LEN);
		memcpy(ret->autn + AKA_SQN_LEN + AKA_AMF_LEN, run.mac,
		       run.mac_len);
		/* TS 33.102 6.3.2: AUTN = SQN xor AK || AMF || MAC */
		memcpy(ret->rand, rand, AKA_RAND_LEN);
		for (unsigned i = 0; i < AKA_SQN_LEN; i++)
			ret->autn[i] = sqn[i] ^ ret->ak[i];
		memcpy(ret->autn + AKA_SQN_LEN, amf, AKA_AMF_LEN);
		ret->autn_len = AKA_SQN_LEN + AKA_AMF_LEN + run.mac_len;
		ret->xres_len = run.res_len;
		ret->ck_len = run.ck_len;
		ret->ik_len = run.ik_len;
		aka_c2(ret->xres, ret->xres_len, ret->sres);
		aka_c3(ret->ck, ret->ik, ret->kc);
	} else {
		wipe(ret, sizeof(*ret));
	}
	run_close(&run);
	return r;
}

int aka_network_resync(const struct aka_algo_config *cfg,
		       const struct aka_key *key,
		       const uint8_t rand[AKA_RAND_LEN], const uint8_t *auts,
		       size_t auts_len, uint8_t ret_sqn_ms[AKA_SQN_LEN])
{
	uint8_t sqn_ms[AKA_SQN_LEN] = { 0 };
	struct run run;
	int r;

	if (!rand || !auts || !ret_sqn_ms)
		return -EINVAL;
	r = run_open(&run, cfg, key);
	if (r < 0)
		goto out;
	if (auts_len != AKA_SQN_LEN + run.mac_len) {
		r = -EINVAL;
		goto out;
	}
	/* TS 33.102 6.3.5: SQN_MS = (SQN_MS xor AK*) xor f5*(RAND), then
	 * check MAC-S = f1*(SQN_MS, RAND, AMF = 0000).  f5* does not depend
	 * on SQN_MS: compute it first with a dummy SQN_MS, then f1* again with
	 * the real one (the AuC has K in software; cost is no concern here). */
	r = run_resync(&run, rand, sqn_ms);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < AKA_SQN_LEN; i++)
		sqn_ms[i] = auts[i] ^ run.ak_star[i];
	r = run_resync(&run, rand, sqn_ms);
	if (r < 0)
		goto out;
	if (CRYPTO_memcmp(run.mac, auts + AKA_SQN_LEN, run.mac_len) != 0) {
		r = -EBADMSG;
		goto out;
	}
	memcpy(ret_sqn_ms, sqn_ms, AKA_SQN_LEN);
out:
	run_close(&run);
	return r;
}
