/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the files of daemon/aka/; not part of the public API. */
#ifndef MCIM_AKA_INTERNAL_H
#define MCIM_AKA_INTERNAL_H

#include <stdint.h>

#include "daemon/aka/aka.h"

/*
 * MILENAGE in the stages the 3-call USIM flow needs (TS 35.206 4.1).  All
 * values derived from K live in one struct milenage_work, which its owner
 * wipes once when the computation is over.
 */
struct milenage_work {
	uint8_t temp[16];   /* TEMP = E_K(RAND xor OPc) */
	uint8_t out[3][16]; /* OUT2, OUT3, OUT4 */
	uint8_t out1[16];   /* OUT1 of the last milenage_out1/_out5_out1 */
	uint8_t out5[16];   /* OUT5 */
	uint8_t in[3][16];  /* cipher input */
	uint8_t x[2][16];   /* cipher output of the resync call */
	uint8_t t[16];      /* scratch */
};

/* TEMP: one 1-block cipher call. */
int milenage_temp(const struct aka_cipher *ek,
		  const struct aka_milenage_params *p,
		  const uint8_t rand[AKA_RAND_LEN], struct milenage_work *w);
/* OUT2, OUT3, OUT4 in one 3-block cipher call. */
int milenage_out234(const struct aka_cipher *ek,
		    const struct aka_milenage_params *p,
		    struct milenage_work *w);
/* OUT1 for (sqn, amf), one 1-block cipher call. */
int milenage_out1(const struct aka_cipher *ek,
		  const struct aka_milenage_params *p, struct milenage_work *w,
		  const uint8_t sqn[AKA_SQN_LEN], const uint8_t amf[AKA_AMF_LEN]);
/* OUT5 and OUT1 for (sqn, amf) in one 2-block cipher call (resync). */
int milenage_out5_out1(const struct aka_cipher *ek,
		       const struct aka_milenage_params *p,
		       struct milenage_work *w, const uint8_t sqn[AKA_SQN_LEN],
		       const uint8_t amf[AKA_AMF_LEN]);

/* TUAK on a K already in memory (klen 16 or 32). */
int tuak_f1_raw(const uint8_t *k, size_t klen, const struct aka_tuak_params *p,
		const uint8_t rand[AKA_RAND_LEN], const uint8_t sqn[AKA_SQN_LEN],
		const uint8_t amf[AKA_AMF_LEN], bool star, uint8_t *ret_mac);
int tuak_f2345_raw(const uint8_t *k, size_t klen,
		   const struct aka_tuak_params *p,
		   const uint8_t rand[AKA_RAND_LEN], uint8_t *ret_res,
		   uint8_t *ret_ck, uint8_t *ret_ik, uint8_t *ret_ak);
int tuak_f5star_raw(const uint8_t *k, size_t klen,
		    const struct aka_tuak_params *p,
		    const uint8_t rand[AKA_RAND_LEN],
		    uint8_t ret_ak_star[AKA_AK_LEN]);
int tuak_params_validate(const struct aka_tuak_params *p);

/* Fetches K through a secret interface into buf (AKA_K_MAX octets) and
 * checks its length is 16 or 32; on error buf is wiped. */
int secret_fetch(const struct aka_secret *s, uint8_t buf[AKA_K_MAX],
		 size_t *ret_len);

#endif
