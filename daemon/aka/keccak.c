// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Keccak-f[1600] (FIPS 202 clause 3, 24 rounds of theta, rho, pi, chi,
 * iota).  TUAK (TS 35.231) needs the bare permutation, which OpenSSL does
 * not expose.  Lane (x, y) is state octets 8(x + 5y) .. +7, little-endian.
 */
#include <stdint.h>

#include "daemon/aka/aka.h"
#include "macro.h"

/* FIPS 202 3.2.5 round constants RC[ir]. */
static const uint64_t iota_rc[24] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
	0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
	0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
	0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
	0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* FIPS 202 3.2.2 rho offsets, indexed by x + 5y. */
static const unsigned rho_off[25] = {
	0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
	25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14,
};

static inline uint64_t rotl64(uint64_t v, unsigned n)
{
	return n ? (v << n) | (v >> (64 - n)) : v;
}

void aka_keccak_f1600(uint8_t state[200])
{
	uint64_t a[25], b[25], c[5], d;

	for (unsigned i = 0; i < 25; i++) {
		a[i] = 0;
		for (unsigned j = 0; j < 8; j++)
			a[i] |= (uint64_t)state[8 * i + j] << (8 * j);
	}
	for (unsigned round = 0; round < 24; round++) {
		/* theta */
		for (unsigned x = 0; x < 5; x++)
			c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
		for (unsigned x = 0; x < 5; x++) {
			d = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
			for (unsigned y = 0; y < 25; y += 5)
				a[x + y] ^= d;
		}
		/* rho and pi: B[y, 2x + 3y] = rot(A[x, y], r[x, y]) */
		for (unsigned x = 0; x < 5; x++)
			for (unsigned y = 0; y < 5; y++)
				b[y + 5 * ((2 * x + 3 * y) % 5)] =
					rotl64(a[x + 5 * y], rho_off[x + 5 * y]);
		/* chi */
		for (unsigned y = 0; y < 25; y += 5)
			for (unsigned x = 0; x < 5; x++)
				a[x + y] = b[x + y] ^ (~b[(x + 1) % 5 + y] &
						       b[(x + 2) % 5 + y]);
		/* iota */
		a[0] ^= iota_rc[round];
	}
	for (unsigned i = 0; i < 25; i++)
		for (unsigned j = 0; j < 8; j++)
			state[8 * i + j] = (uint8_t)(a[i] >> (8 * j));
	wipe(a, sizeof(a));
	wipe(b, sizeof(b));
	wipe(c, sizeof(c));
	wipe(&d, sizeof(d));
}
