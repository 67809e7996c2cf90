// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SQN verification in the USIM, TS 33.102 Annex C: array indexed by IND
 * (C.2.2), delta (C.2.1), age limit L (C.2.2), wrap-around, SQN_MS for AUTS
 * and "no hidden mutation" (check never changes the state).
 */
#include "aka-test.h"

static void sqn_of(const struct aka_sqn_config *c, uint64_t seq, unsigned ind,
		   uint8_t out[6])
{
	uint64_t v = seq << c->ind_bits | ind;

	for (int i = 5; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

static uint64_t sqn_value(const uint8_t b[6])
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | b[i];
	return v;
}

/* Checks (seq, ind) against st, asserts the verdict, commits it. */
static void step(const struct aka_sqn_config *c, struct aka_sqn_state *st,
		 uint64_t seq, unsigned ind, enum aka_sqn_verdict want)
{
	struct aka_sqn_state before = *st;
	struct aka_sqn_change ch;
	uint8_t sqn[6];

	sqn_of(c, seq, ind, sqn);
	assert_int_equal(aka_sqn_check(c, st, sqn, &ch), 0);
	assert_memory_equal(&before, st, sizeof(before)); /* no mutation */
	assert_int_equal(ch.verdict, want);
	assert_int_equal(ch.accepted, want == AKA_SQN_FRESH);
	assert_int_equal(ch.ind, ind);
	assert_int_equal(ch.seq, seq);
	assert_int_equal(aka_sqn_commit(c, st, &ch), 0);
	if (want == AKA_SQN_FRESH)
		assert_int_equal(st->seq_ms[ind], seq);
	else
		assert_memory_equal(&before, st, sizeof(before));
}

static void cfg5(struct aka_sqn_config *c)
{
	aka_sqn_config_default(c);
	assert_int_equal(c->ind_bits, 5);
	assert_int_equal(c->delta, 1ULL << 28);
	assert_int_equal(c->limit_l, 0);
}

static void test_fresh_and_replay(void **state)
{
	struct aka_sqn_config c;
	struct aka_sqn_state st = { 0 };

	(void)state;
	cfg5(&c);
	step(&c, &st, 1, 3, AKA_SQN_FRESH);
	step(&c, &st, 1, 3, AKA_SQN_REPLAY); /* the same SQN again */
	step(&c, &st, 2, 3, AKA_SQN_FRESH);
	step(&c, &st, 1, 3, AKA_SQN_REPLAY); /* older in the same IND */
}

static void test_other_ind(void **state)
{
	struct aka_sqn_config c;
	struct aka_sqn_state st = { 0 };

	(void)state;
	cfg5(&c);
	step(&c, &st, 10, 3, AKA_SQN_FRESH);
	/* a lower SEQ from another node (IND) is fresh there (C.2.2) */
	step(&c, &st, 5, 4, AKA_SQN_FRESH);
	step(&c, &st, 9, 31, AKA_SQN_FRESH);
	step(&c, &st, 5, 4, AKA_SQN_REPLAY);
	step(&c, &st, 6, 4, AKA_SQN_FRESH);
}

static void test_age_limit(void **state)
{
	struct aka_sqn_config c;
	struct aka_sqn_state st = { 0 };

	(void)state;
	cfg5(&c);
	c.limit_l = 4;
	step(&c, &st, 10, 0, AKA_SQN_FRESH);
	/* SEQ_MS - SEQ < L: 10 - 6 = 4 is too old, 10 - 7 = 3 is not */
	step(&c, &st, 6, 1, AKA_SQN_TOO_OLD);
	step(&c, &st, 7, 1, AKA_SQN_FRESH);
	/* without L the same SQN would be accepted */
	c.limit_l = 0;
	step(&c, &st, 6, 2, AKA_SQN_FRESH);
}

static void test_delta(void **state)
{
	struct aka_sqn_config c;
	struct aka_sqn_state st = { 0 };

	(void)state;
	cfg5(&c);
	c.delta = 1000;
	step(&c, &st, 1000, 0, AKA_SQN_FRESH);  /* 1000 - 0 <= delta */
	step(&c, &st, 2001, 1, AKA_SQN_TOO_FAR); /* 2001 - 1000 > delta */
	step(&c, &st, 2000, 1, AKA_SQN_FRESH);
	/* delta applies against the highest SEQ_MS, not the entry's */
	step(&c, &st, 2500, 0, AKA_SQN_FRESH);
}

/*
 * Wrap-around (C.2.1; daemon/aka/README.md): SEQ never wraps.  Near the top of the
 * 43-bit SEQ space an SQN that wrapped to a small SEQ is a replay, and
 * a jump beyond delta is refused even though the counter has room.
 */
static void test_wrap_around(void **state)
{
	struct aka_sqn_config c;
	struct aka_sqn_state st = { 0 };
	const uint64_t top = (1ULL << 43) - 1;

	(void)state;
	cfg5(&c);
	st.seq_ms[7] = top - 5;
	step(&c, &st, top, 7, AKA_SQN_FRESH);
	step(&c, &st, 1, 7, AKA_SQN_REPLAY);
	step(&c, &st, 0, 7, AKA_SQN_REPLAY);
	/* another IND still accepts values up to the top */
	step(&c, &st, top, 8, AKA_SQN_FRESH);
	/* and from a low state a jump beyond delta is refused */
	memset(&st, 0, sizeof(st));
	step(&c, &st, top, 7, AKA_SQN_TOO_FAR);
}

static void test_sqn_ms(void **state)
{
	struct aka_sqn_config c;
	struct aka_sqn_state st = { 0 };
	uint8_t ms[6];

	(void)state;
	cfg5(&c);
	aka_sqn_ms(&c, &st, ms);
	assert_int_equal(sqn_value(ms), 0); /* nothing accepted yet */
	step(&c, &st, 10, 3, AKA_SQN_FRESH);
	step(&c, &st, 12, 1, AKA_SQN_FRESH);
	step(&c, &st, 11, 30, AKA_SQN_FRESH);
	/* C.2.2: the highest previously accepted SQN anywhere in the array */
	aka_sqn_ms(&c, &st, ms);
	assert_int_equal(sqn_value(ms), 12ULL << 5 | 1);
	/* ind_bits 0: SQN = SEQ */
	c.ind_bits = 0;
	memset(&st, 0, sizeof(st));
	step(&c, &st, 0x123456, 0, AKA_SQN_FRESH);
	aka_sqn_ms(&c, &st, ms);
	assert_int_equal(sqn_value(ms), 0x123456);
}

static void test_config(void **state)
{
	struct aka_sqn_config c;
	struct aka_sqn_state st = { 0 };
	struct aka_sqn_change ch = { .accepted = true, .ind = 32, .seq = 1 };
	uint8_t sqn[6] = { 0 };

	(void)state;
	cfg5(&c);
	assert_int_equal(aka_sqn_commit(&c, &st, &ch), -EINVAL); /* IND >= 32 */
	c.ind_bits = AKA_SQN_IND_BITS_MAX + 1;
	assert_int_equal(aka_sqn_config_validate(&c), -EINVAL);
	assert_int_equal(aka_sqn_check(&c, &st, sqn, &ch), -EINVAL);
	c.ind_bits = 5;
	c.delta = 0;
	assert_int_equal(aka_sqn_config_validate(&c), -EINVAL);
	c.ind_bits = AKA_SQN_IND_BITS_MAX;
	c.delta = 1;
	assert_int_equal(aka_sqn_config_validate(&c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_and_replay),
		cmocka_unit_test(test_other_ind),
		cmocka_unit_test(test_age_limit),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_wrap_around),
		cmocka_unit_test(test_sqn_ms),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
