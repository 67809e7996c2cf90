/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The card a vusim-backend serves, behind a small interface so that the
 * backend's netlink side does not care what implements it.  Today there is
 * one implementation, usim-card.c: the mcim USIM engine (daemon/usim/) over
 * a JSON profile.  A card belongs to one thread.
 */
#ifndef MCIM_VUSIM_BACKEND_CARD_H
#define MCIM_VUSIM_BACKEND_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct card;

struct card_ops {
	/*
	 * Cold (power on) or warm reset, ISO/IEC 7816-3 6.2.2, 6.2.3: writes
	 * the answer to reset into atr (atr_size bytes, at least 33).
	 */
	int (*reset)(struct card *c, bool warm, uint8_t *atr, size_t atr_size,
		     size_t *ret_atr_len);
	/* Deactivation, ISO/IEC 7816-3 6.4: the next activation is a cold reset. */
	void (*power_off)(struct card *c);
	/*
	 * One command APDU: writes the response APDU (data + SW1 SW2) into
	 * rsp (rsp_size bytes, at least 258).  Card-level errors are status
	 * words; a negative errno means the card could not answer at all.
	 * *ret_changes: how many persistent changes the command made.
	 */
	int (*apdu)(struct card *c, const uint8_t *cmd, size_t cmd_len,
		    uint8_t *rsp, size_t rsp_size, size_t *ret_rsp_len,
		    size_t *ret_changes);
	/* One line saying what the card is, for --verbose. */
	const char *(*describe)(const struct card *c);
	void (*free)(struct card *c);
};

struct card {
	const struct card_ops *ops;
};

/*
 * The USIM engine over the JSON profile at path (docs/profile-format.md),
 * answering on transport (enum usim_transport of daemon/usim/usim.h: 0 t0,
 * 1 apdu; docs/transport.md).  -errno on failure, with a one-line reason
 * in why.
 */
int usim_card_new(const char *path, int transport, struct card **ret,
		  char *why, size_t why_size);

static inline void card_free(struct card *c)
{
	if (c)
		c->ops->free(c);
}

#endif
