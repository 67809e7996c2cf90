// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * TUAK, 3GPP TS 35.231: every function builds a 1600-bit Keccak state
 * (TS 35.231 clause 6) and applies Keccak-f[1600] the configured number of
 * times.  State layout, each field with its octets reversed:
 *   0..31  TOPc (TOP when computing TOPc)    32  INSTANCE
 *   33..39 ALGONAME "TUAK1.0"                40..63  RAND||AMF||SQN (f1, f1*)
 *          or RAND||0^64 (f2..f5, f5*) or 0^192 (TOPc)
 *   64..95 K (a 128-bit K leaves 80..95 zero)
 *   96 = 0x1f, 135 = 0x80 (padding), 136..199 zero.
 * Outputs are read octet-reversed: TOPc/MAC/RES from octet 0, CK from 32,
 * IK from 64, AK/AK* from 96.
 */
#include <errno.h>
#include <string.h>

#include "daemon/aka/aka-internal.h"
#include "macro.h"

enum {
	INST_KEY256 = 0x01,
	INST_F1 = 0x00,
	INST_F1STAR = 0x80,
	INST_F2345 = 0x40,
	INST_F5STAR = 0xc0,
	INST_CK256 = 0x04,
	INST_IK256 = 0x02,
};

static void put_rev(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[n - 1 - i];
}

static void tuak_run(uint8_t st[200], const uint8_t top[32], uint8_t inst,
		     const uint8_t mid[24], const uint8_t *k, size_t klen,
		     unsigned iterations)
{
	static const uint8_t algoname[7] = "TUAK1.0";

	memset(st, 0, 200);
	put_rev(st, top, 32);
	st[32] = inst | (klen == 32 ? INST_KEY256 : 0);
	put_rev(st + 33, algoname, sizeof(algoname));
	memcpy(st + 40, mid, 24);
	put_rev(st + 64, k, klen);
	st[96] = 0x1f;
	st[135] = 0x80;
	for (unsigned i = 0; i < iterations; i++)
		aka_keccak_f1600(st);
}

static int mac_code(unsigned bits, uint8_t *ret)
{
	switch (bits) {
	case 64: *ret = 0x08; return 0;
	case 128: *ret = 0x10; return 0;
	case 256: *ret = 0x20; return 0;
	default: return -EINVAL;
	}
}

static int res_code(unsigned bits, uint8_t *ret)
{
	switch (bits) {
	case 32: *ret = 0x00; return 0;
	case 64: *ret = 0x08; return 0;
	case 128: *ret = 0x10; return 0;
	case 256: *ret = 0x20; return 0;
	default: return -EINVAL;
	}
}

/* Upper bound on Keccak iterations: a config value, but keep it sane. */
#define TUAK_ITERATIONS_MAX 256

int tuak_params_validate(const struct aka_tuak_params *p)
{
	uint8_t c;

	if (!p || p->iterations < 1 || p->iterations > TUAK_ITERATIONS_MAX ||
	    mac_code(p->mac_bits, &c) < 0 || res_code(p->res_bits, &c) < 0 ||
	    (p->ck_bits != 128 && p->ck_bits != 256) ||
	    (p->ik_bits != 128 && p->ik_bits != 256))
		return -EINVAL;
	return 0;
}

static bool klen_ok(const uint8_t *k, size_t klen)
{
	return k && (klen == 16 || klen == 32);
}

int tuak_f1_raw(const uint8_t *k, size_t klen, const struct aka_tuak_params *p,
		const uint8_t rand[AKA_RAND_LEN], const uint8_t sqn[AKA_SQN_LEN],
		const uint8_t amf[AKA_AMF_LEN], bool star, uint8_t *ret_mac)
{
	uint8_t st[200], mid[24], inst = 0;

	if (!klen_ok(k, klen) || tuak_params_validate(p) < 0 || !rand ||
	    !sqn || !amf || !ret_mac)
		return -EINVAL;
	mac_code(p->mac_bits, &inst);
	put_rev(mid, rand, 16);
	put_rev(mid + 16, amf, 2);
	put_rev(mid + 18, sqn, 6);
	tuak_run(st, p->topc, inst | (star ? INST_F1STAR : INST_F1), mid, k,
		 klen, p->iterations);
	put_rev(ret_mac, st, p->mac_bits / 8);
	wipe(st, sizeof(st));
	return 0;
}

int tuak_f2345_raw(const uint8_t *k, size_t klen,
		   const struct aka_tuak_params *p,
		   const uint8_t rand[AKA_RAND_LEN], uint8_t *ret_res,
		   uint8_t *ret_ck, uint8_t *ret_ik, uint8_t *ret_ak)
{
	uint8_t st[200], mid[24] = { 0 }, inst = 0;

	if (!klen_ok(k, klen) || tuak_params_validate(p) < 0 || !rand)
		return -EINVAL;
	res_code(p->res_bits, &inst);
	inst |= INST_F2345;
	if (p->ck_bits == 256)
		inst |= INST_CK256;
	if (p->ik_bits == 256)
		inst |= INST_IK256;
	put_rev(mid, rand, 16);
	tuak_run(st, p->topc, inst, mid, k, klen, p->iterations);
	if (ret_res)
		put_rev(ret_res, st, p->res_bits / 8);
	if (ret_ck)
		put_rev(ret_ck, st + 32, p->ck_bits / 8);
	if (ret_ik)
		put_rev(ret_ik, st + 64, p->ik_bits / 8);
	if (ret_ak)
		put_rev(ret_ak, st + 96, AKA_AK_LEN);
	wipe(st, sizeof(st));
	return 0;
}

int tuak_f5star_raw(const uint8_t *k, size_t klen,
		    const struct aka_tuak_params *p,
		    const uint8_t rand[AKA_RAND_LEN],
		    uint8_t ret_ak_star[AKA_AK_LEN])
{
	uint8_t st[200], mid[24] = { 0 };

	if (!klen_ok(k, klen) || tuak_params_validate(p) < 0 || !rand ||
	    !ret_ak_star)
		return -EINVAL;
	put_rev(mid, rand, 16);
	tuak_run(st, p->topc, INST_F5STAR, mid, k, klen, p->iterations);
	put_rev(ret_ak_star, st + 96, AKA_AK_LEN);
	wipe(st, sizeof(st));
	return 0;
}

int aka_tuak_topc(const struct aka_secret *k, const uint8_t top[32],
		  unsigned iterations, uint8_t ret_topc[AKA_TOPC_LEN])
{
	uint8_t key[AKA_K_MAX], st[200], mid[24] = { 0 };
	size_t klen;
	int r;

	if (!top || !ret_topc || iterations < 1 ||
	    iterations > TUAK_ITERATIONS_MAX)
		return -EINVAL;
	r = secret_fetch(k, key, &klen);
	if (r < 0)
		return r;
	/* TS 35.231 6.2: INSTANCE 0x00 (| 0x01 for a 256-bit K) */
	tuak_run(st, top, 0x00, mid, key, klen, iterations);
	put_rev(ret_topc, st, AKA_TOPC_LEN);
	wipe(key, sizeof(key));
	wipe(st, sizeof(st));
	return 0;
}

/* f1 (MAC-A) or, with star, f1* (MAC-S) on K fetched from the secret. */
static int f1_on_secret(const struct aka_secret *k,
			const struct aka_tuak_params *p,
			const uint8_t rand[AKA_RAND_LEN],
			const uint8_t sqn[AKA_SQN_LEN],
			const uint8_t amf[AKA_AMF_LEN], bool star, uint8_t *ret_mac)
{
	uint8_t key[AKA_K_MAX];
	size_t klen;
	int r;

	r = secret_fetch(k, key, &klen);
	if (r < 0)
		return r;
	r = tuak_f1_raw(key, klen, p, rand, sqn, amf, star, ret_mac);
	wipe(key, sizeof(key));
	return r;
}

int aka_tuak_f1(const struct aka_secret *k, const struct aka_tuak_params *p,
		const uint8_t rand[AKA_RAND_LEN],
		const uint8_t sqn[AKA_SQN_LEN],
		const uint8_t amf[AKA_AMF_LEN], uint8_t *ret_mac_a)
{
	return f1_on_secret(k, p, rand, sqn, amf, false, ret_mac_a);
}

int aka_tuak_f1star(const struct aka_secret *k,
		    const struct aka_tuak_params *p,
		    const uint8_t rand[AKA_RAND_LEN],
		    const uint8_t sqn[AKA_SQN_LEN],
		    const uint8_t amf[AKA_AMF_LEN], uint8_t *ret_mac_s)
{
	return f1_on_secret(k, p, rand, sqn, amf, true, ret_mac_s);
}

int aka_tuak_f2345(const struct aka_secret *k, const struct aka_tuak_params *p,
		   const uint8_t rand[AKA_RAND_LEN], uint8_t *ret_res,
		   uint8_t *ret_ck, uint8_t *ret_ik, uint8_t *ret_ak)
{
	uint8_t key[AKA_K_MAX];
	size_t klen;
	int r;

	r = secret_fetch(k, key, &klen);
	if (r < 0)
		return r;
	r = tuak_f2345_raw(key, klen, p, rand, ret_res, ret_ck, ret_ik, ret_ak);
	wipe(key, sizeof(key));
	return r;
}

int aka_tuak_f5star(const struct aka_secret *k,
		    const struct aka_tuak_params *p,
		    const uint8_t rand[AKA_RAND_LEN],
		    uint8_t ret_ak_star[AKA_AK_LEN])
{
	uint8_t key[AKA_K_MAX];
	size_t klen;
	int r;

	r = secret_fetch(k, key, &klen);
	if (r < 0)
		return r;
	r = tuak_f5star_raw(key, klen, p, rand, ret_ak_star);
	wipe(key, sizeof(key));
	return r;
}
