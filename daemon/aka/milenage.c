// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MILENAGE, 3GPP TS 35.206 clause 4.1, on an abstract E_K (struct
 * aka_cipher) so that K may live in a TPM.  The computation is split in
 * the stages the USIM needs: TEMP; OUT2..OUT4 (one 3-block call); OUT1;
 * OUT5 with the resynchronisation OUT1 (one 2-block call).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "daemon/aka/aka-internal.h"
#include "macro.h"

void aka_milenage_params_default(struct aka_milenage_params *p)
{
	/* TS 35.206 4.1: r1 = 64, r2 = 0, r3 = 32, r4 = 64, r5 = 96;
	 * c1 = 0, c2..c5 = 1, 2, 4, 8 in the last octet. */
	static const uint8_t r[5] = { 64, 0, 32, 64, 96 };

	memcpy(p->r, r, sizeof(r));
	memset(p->c, 0, sizeof(p->c));
	p->c[1][15] = 1;
	p->c[2][15] = 2;
	p->c[3][15] = 4;
	p->c[4][15] = 8;
}

static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static inline void store_be64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

/* rot(x, r): cyclic rotation of the 128-bit x by r bits towards the most
 * significant bit, y[i] = x[(i + r) mod 128] (TS 35.206 4.1).  On two
 * 64-bit halves: this runs 5 times per authentication. */
static void rot128(const uint8_t x[16], unsigned r, uint8_t y[16])
{
	uint64_t hi = load_be64(x), lo = load_be64(x + 8), t;

	r %= 128;
	if (r >= 64) {
		t = hi;
		hi = lo;
		lo = t;
		r -= 64;
	}
	if (r) {
		t = hi << r | lo >> (64 - r);
		lo = lo << r | hi >> (64 - r);
		hi = t;
	}
	store_be64(y, hi);
	store_be64(y + 8, lo);
}

static void xor16(uint8_t *d, const uint8_t *a, const uint8_t *b)
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	a0 ^= b0;
	a1 ^= b1;
	memcpy(d, &a0, 8);
	memcpy(d + 8, &a1, 8);
}

static int encrypt(const struct aka_cipher *ek, const uint8_t *in,
		   uint8_t *out, size_t n)
{
	if (!ek || !ek->encrypt)
		return -ENOKEY;
	return ek->encrypt(ek->ctx, in, out, n);
}

int milenage_temp(const struct aka_cipher *ek,
		  const struct aka_milenage_params *p,
		  const uint8_t rand[AKA_RAND_LEN], struct milenage_work *w)
{
	/* TEMP = E_K(RAND xor OPc) */
	xor16(w->in[0], rand, p->opc);
	return encrypt(ek, w->in[0], w->temp, 1);
}

/* IN for OUTk, k = 2..5: rot(TEMP xor OPc, rk) xor ck. */
static void outk_input(const struct aka_milenage_params *p,
		       struct milenage_work *w, unsigned k, uint8_t in[16])
{
	xor16(w->t, w->temp, p->opc);
	rot128(w->t, p->r[k - 1], in);
	xor16(in, in, p->c[k - 1]);
}

/* IN for OUT1: TEMP xor rot(IN1 xor OPc, r1) xor c1, IN1 = SQN||AMF||SQN||AMF. */
static void out1_input(const struct aka_milenage_params *p,
		       struct milenage_work *w, const uint8_t sqn[AKA_SQN_LEN],
		       const uint8_t amf[AKA_AMF_LEN], uint8_t in[16])
{
	uint8_t in1[16];

	memcpy(in1, sqn, 6);
	memcpy(in1 + 6, amf, 2);
	memcpy(in1 + 8, in1, 8);
	xor16(w->t, in1, p->opc);
	rot128(w->t, p->r[0], in);
	xor16(in, in, w->temp);
	xor16(in, in, p->c[0]);
}

int milenage_out234(const struct aka_cipher *ek,
		    const struct aka_milenage_params *p,
		    struct milenage_work *w)
{
	int r;

	for (unsigned k = 2; k <= 4; k++)
		outk_input(p, w, k, w->in[k - 2]);
	r = encrypt(ek, w->in[0], w->out[0], 3);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < 3; i++)
		xor16(w->out[i], w->out[i], p->opc);
	return 0;
}

int milenage_out1(const struct aka_cipher *ek,
		  const struct aka_milenage_params *p, struct milenage_work *w,
		  const uint8_t sqn[AKA_SQN_LEN], const uint8_t amf[AKA_AMF_LEN])
{
	int r;

	out1_input(p, w, sqn, amf, w->in[0]);
	r = encrypt(ek, w->in[0], w->out1, 1);
	if (r < 0)
		return r;
	xor16(w->out1, w->out1, p->opc);
	return 0;
}

int milenage_out5_out1(const struct aka_cipher *ek,
		       const struct aka_milenage_params *p,
		       struct milenage_work *w, const uint8_t sqn[AKA_SQN_LEN],
		       const uint8_t amf[AKA_AMF_LEN])
{
	int r;

	/* in[0] = IN5 and in[1] = IN1 are consecutive: one 2-block call */
	outk_input(p, w, 5, w->in[0]);
	out1_input(p, w, sqn, amf, w->in[1]);
	r = encrypt(ek, w->in[0], w->x[0], 2);
	if (r < 0)
		return r;
	xor16(w->out5, w->x[0], p->opc);
	xor16(w->out1, w->x[1], p->opc);
	return 0;
}

int aka_milenage_opc(const struct aka_cipher *ek, const uint8_t op[16],
		     uint8_t ret_opc[AKA_OPC_LEN])
{
	uint8_t e[16];
	int r;

	if (!op || !ret_opc)
		return -EINVAL;
	/* TS 35.206 4.1: OPc = OP xor E_K(OP) */
	r = encrypt(ek, op, e, 1);
	if (r >= 0)
		xor16(ret_opc, e, op);
	wipe(e, sizeof(e));
	return r;
}

int aka_milenage_f1(const struct aka_cipher *ek,
		    const struct aka_milenage_params *p,
		    const uint8_t rand[AKA_RAND_LEN],
		    const uint8_t sqn[AKA_SQN_LEN],
		    const uint8_t amf[AKA_AMF_LEN], uint8_t *ret_mac_a,
		    uint8_t *ret_mac_s)
{
	struct milenage_work w;
	int r;

	if (!p || !rand || !sqn || !amf)
		return -EINVAL;
	r = milenage_temp(ek, p, rand, &w);
	if (r >= 0)
		r = milenage_out1(ek, p, &w, sqn, amf);
	if (r >= 0) {
		/* f1 = OUT1[0..63], f1* = OUT1[64..127] */
		if (ret_mac_a)
			memcpy(ret_mac_a, w.out1, 8);
		if (ret_mac_s)
			memcpy(ret_mac_s, w.out1 + 8, 8);
	}
	wipe(&w, sizeof(w));
	return r;
}

int aka_milenage_f2345(const struct aka_cipher *ek,
		       const struct aka_milenage_params *p,
		       const uint8_t rand[AKA_RAND_LEN], uint8_t *ret_res,
		       uint8_t *ret_ck, uint8_t *ret_ik, uint8_t *ret_ak)
{
	struct milenage_work w;
	int r;

	if (!p || !rand)
		return -EINVAL;
	r = milenage_temp(ek, p, rand, &w);
	if (r >= 0)
		r = milenage_out234(ek, p, &w);
	if (r >= 0) {
		/* f5 = OUT2[0..47], f2 = OUT2[64..127], f3 = OUT3, f4 = OUT4 */
		if (ret_ak)
			memcpy(ret_ak, w.out[0], AKA_AK_LEN);
		if (ret_res)
			memcpy(ret_res, w.out[0] + 8, 8);
		if (ret_ck)
			memcpy(ret_ck, w.out[1], 16);
		if (ret_ik)
			memcpy(ret_ik, w.out[2], 16);
	}
	wipe(&w, sizeof(w));
	return r;
}

int aka_milenage_f5star(const struct aka_cipher *ek,
			const struct aka_milenage_params *p,
			const uint8_t rand[AKA_RAND_LEN],
			uint8_t ret_ak_star[AKA_AK_LEN])
{
	struct milenage_work w;
	int r;

	if (!p || !rand || !ret_ak_star)
		return -EINVAL;
	r = milenage_temp(ek, p, rand, &w);
	if (r >= 0) {
		outk_input(p, &w, 5, w.in[0]);
		r = encrypt(ek, w.in[0], w.out5, 1);
	}
	if (r >= 0) {
		/* f5* = OUT5[0..47] */
		xor16(w.out5, w.out5, p->opc);
		memcpy(ret_ak_star, w.out5, AKA_AK_LEN);
	}
	wipe(&w, sizeof(w));
	return r;
}
