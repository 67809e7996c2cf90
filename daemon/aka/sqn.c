// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sequence number verification in the USIM, 3GPP TS 33.102 Annex C: an
 * array SEQ_MS(0..a-1) indexed by IND (C.1.2, C.2.2), the wrap-around
 * protection delta (C.2.1) and the optional age limit L (C.2.2).  The check
 * returns the state change as data; nothing here mutates state except
 * aka_sqn_commit(), which the caller runs once the change is persisted.
 */
#include <errno.h>
#include <string.h>

#include "daemon/aka/aka.h"

#define SQN_BITS 48

void aka_sqn_config_default(struct aka_sqn_config *cfg)
{
	/* TS 33.102 Annex C.3 (example values): IND 5 bits, delta 2^28;
	 * the age limit L is optional and off by default. */
	cfg->ind_bits = 5;
	cfg->delta = 1ULL << 28;
	cfg->limit_l = 0;
}

int aka_sqn_config_validate(const struct aka_sqn_config *cfg)
{
	if (!cfg || cfg->ind_bits > AKA_SQN_IND_BITS_MAX || cfg->delta == 0 ||
	    cfg->delta >= 1ULL << (SQN_BITS - cfg->ind_bits))
		return -EINVAL;
	return 0;
}

static uint64_t get48(const uint8_t b[AKA_SQN_LEN])
{
	uint64_t v = 0;

	for (unsigned i = 0; i < AKA_SQN_LEN; i++)
		v = v << 8 | b[i];
	return v;
}

static void put48(uint64_t v, uint8_t b[AKA_SQN_LEN])
{
	for (int i = AKA_SQN_LEN - 1; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

/* The highest SEQ_MS(i) and the highest index holding it. */
static uint64_t seq_highest(const struct aka_sqn_config *cfg,
			    const struct aka_sqn_state *st, unsigned *ret_ind)
{
	unsigned n = 1u << cfg->ind_bits, ind = 0;
	uint64_t max = 0;

	for (unsigned i = 0; i < n; i++)
		if (st->seq_ms[i] >= max) {
			max = st->seq_ms[i];
			ind = i;
		}
	if (ret_ind)
		*ret_ind = ind;
	return max;
}

int aka_sqn_check(const struct aka_sqn_config *cfg,
		  const struct aka_sqn_state *st, const uint8_t sqn[AKA_SQN_LEN],
		  struct aka_sqn_change *ret)
{
	uint64_t v, seq, seq_ms;
	unsigned ind;

	if (aka_sqn_config_validate(cfg) < 0 || !st || !sqn || !ret)
		return -EINVAL;
	v = get48(sqn);
	seq = v >> cfg->ind_bits;
	ind = (unsigned)(v & ((1u << cfg->ind_bits) - 1));
	seq_ms = seq_highest(cfg, st, NULL);

	*ret = (struct aka_sqn_change){ .ind = ind, .seq = seq };
	if (seq > seq_ms && seq - seq_ms > cfg->delta)
		/* C.2.1: only increases of at most delta */
		ret->verdict = AKA_SQN_TOO_FAR;
	else if (cfg->limit_l && seq < seq_ms && seq_ms - seq >= cfg->limit_l)
		/* C.2.2: SEQ_MS - SEQ < L */
		ret->verdict = AKA_SQN_TOO_OLD;
	else if (seq <= st->seq_ms[ind])
		/* C.2.2: SEQ > SEQ_MS(i) */
		ret->verdict = AKA_SQN_REPLAY;
	else
		ret->verdict = AKA_SQN_FRESH;
	ret->accepted = ret->verdict == AKA_SQN_FRESH;
	return 0;
}

int aka_sqn_commit(const struct aka_sqn_config *cfg, struct aka_sqn_state *st,
		   const struct aka_sqn_change *change)
{
	if (aka_sqn_config_validate(cfg) < 0 || !st || !change ||
	    change->ind >= 1u << cfg->ind_bits)
		return -EINVAL;
	if (change->accepted)
		st->seq_ms[change->ind] = change->seq;
	return 0;
}

void aka_sqn_ms(const struct aka_sqn_config *cfg,
		const struct aka_sqn_state *st, uint8_t ret_sqn_ms[AKA_SQN_LEN])
{
	unsigned ind;
	uint64_t seq;

	if (aka_sqn_config_validate(cfg) < 0 || !st) {
		memset(ret_sqn_ms, 0, AKA_SQN_LEN);
		return;
	}
	seq = seq_highest(cfg, st, &ind);
	/* C.2.2: the highest previously accepted sequence number anywhere in
	 * the array; zero while nothing has been accepted. */
	put48(seq ? (seq << cfg->ind_bits | ind) : 0, ret_sqn_ms);
}
