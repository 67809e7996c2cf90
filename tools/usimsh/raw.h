/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fuzz-apdu input format, shared by the fuzz target
 * (tests/fuzz/fuzz-apdu.c) and its reproducer (usimsh --raw):
 *
 *   input  = *record
 *   record = length (2 octets, big-endian) APDU (length octets)
 *
 * A length of 0 means "cold reset".  When the input ends inside a record,
 * the octets that remain form the last APDU.  At most RAW_MAX_RECORDS
 * records are taken from one input, so that one input stays cheap.
 */
#ifndef MCIM_USIMSH_RAW_H
#define MCIM_USIMSH_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAW_MAX_RECORDS 512

struct raw_reader {
	const uint8_t *p;
	size_t left;
	unsigned taken;
};

/*
 * Takes the next record: returns false at the end; otherwise *ret_apdu /
 * *ret_len is the APDU, and *ret_len 0 (with ret_reset true) a reset.
 */
static inline bool raw_next(struct raw_reader *r, const uint8_t **ret_apdu,
			    size_t *ret_len, bool *ret_reset)
{
	size_t n;

	*ret_reset = false;
	if (r->left == 0 || r->taken >= RAW_MAX_RECORDS)
		return false;
	r->taken++;
	if (r->left < 2) {
		/* A lone octet: an APDU cut short. */
		*ret_apdu = r->p;
		*ret_len = r->left;
		r->p += r->left;
		r->left = 0;
		return true;
	}
	n = (size_t)r->p[0] << 8 | r->p[1];
	r->p += 2;
	r->left -= 2;
	if (n == 0) {
		*ret_apdu = r->p;
		*ret_len = 0;
		*ret_reset = true;
		return true;
	}
	if (n > r->left)
		n = r->left;
	*ret_apdu = r->p;
	*ret_len = n;
	r->p += n;
	r->left -= n;
	return true;
}

#endif
