// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Logical channels (MANAGE CHANNEL, TS 102 221 11.1.17; channel rules 8.6)
 * and SUSPEND UICC / RESUME UICC (11.1.22).
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "daemon/usim/internal.h"

/*
 * P1 '00' open: P2 '00' lets the card choose (the number comes back in one
 * byte, case 2), P2 1..19 asks for that channel (case 1).  P1 '80' close:
 * P2 the channel, or '00' for the channel the command came on.  A channel
 * opened from the basic channel starts at the MF; one opened from another
 * channel inherits that channel's application and current DF (8.6).
 */
uint16_t cmd_manage_channel(struct usim_engine *e, const struct apdu *a,
			    struct usim_channel *ch)
{
	struct usim_channel *n;
	unsigned c;

	if (a->lc)
		return SW_WRONG_LENGTH;
	switch (a->p1) {
	case 0x00:
		if (a->p2 == 0x00) {
			for (c = 1; c < USIM_MAX_CHANNELS; c++)
				if (!e->rt.ch[c].open)
					break;
			if (c == USIM_MAX_CHANNELS)
				return SW_FUNC_NOT_SUPPORTED;
		} else {
			c = a->p2;
			if (c >= USIM_MAX_CHANNELS)
				return SW_CHANNEL_NOT_SUPPORTED;
			if (e->rt.ch[c].open)
				return SW_CONDITIONS_NOT_SATISFIED;
		}
		n = &e->rt.ch[c];
		channel_reset(n);
		n->open = true;
		if (a->channel != 0) {
			n->app = ch->app;
			n->df = ch->df;
		}
		if (a->p2 == 0x00) {
			e->out[0] = (uint8_t)c;
			e->out_len = 1;
		}
		return SW_OK;
	case 0x80:
		c = a->p2 ? a->p2 : a->channel;
		if (c == 0)
			return SW_INCORRECT_P1P2;
		if (c >= USIM_MAX_CHANNELS || !e->rt.ch[c].open)
			return SW_CHANNEL_NOT_SUPPORTED;
		channel_reset(&e->rt.ch[c]);
		if (e->gr_channel == c)
			e->gr_valid = false;
		return SW_OK;
	default:
		return SW_INCORRECT_P1P2;
	}
}

/*
 * SUSPEND UICC: data = minimum and maximum duration of the suspension (2
 * bytes each: time unit, length); the answer is the maximum duration the
 * card accepts (the terminal's) and an 8-byte resume token.  The card keeps
 * its channels, selections, PIN status and terminal profile; the next cold
 * reset followed by RESUME UICC with the token restores them, any other
 * first command discards them.  Not while a proactive command is pending.
 */
uint16_t cmd_suspend(struct usim_engine *e, const struct apdu *a,
		     struct usim_channel *ch)
{
	(void)ch;
	if (a->p2 != 0x00)
		return SW_INCORRECT_P1P2;
	if (a->p1 == 0x00) {
		if (a->lc != 4)
			return SW_WRONG_LENGTH;
		if (a->data[2] > 0x04 || a->data[0] > 0x04)
			return SW_WRONG_DATA; /* time unit */
		if (e->pro.queued)
			return SW_CONDITIONS_NOT_SATISFIED;
		if (RAND_bytes(e->susp.token, USIM_TOKEN_LEN) != 1)
			return SW_TECHNICAL_PROBLEM;
		e->susp.rt = e->rt;
		memcpy(e->susp.tp, e->tp, sizeof(e->tp));
		e->susp.tp_len = e->tp_len;
		e->susp.tp_seen = e->tp_seen;
		e->susp.held = true;
		memcpy(e->out, a->data + 2, 2);
		memcpy(e->out + 2, e->susp.token, USIM_TOKEN_LEN);
		e->out_len = 2 + USIM_TOKEN_LEN;
		return SW_OK;
	}
	if (a->p1 == 0x01) {
		if (a->lc != USIM_TOKEN_LEN)
			return SW_WRONG_LENGTH;
		if (!e->susp.held || !e->susp.resume_allowed) {
			e->susp.held = false;
			return SW_CONDITIONS_NOT_SATISFIED;
		}
		e->susp.resume_allowed = false;
		if (CRYPTO_memcmp(a->data, e->susp.token, USIM_TOKEN_LEN)) {
			e->susp.held = false;
			return SW_SECURITY_NOT_SATISFIED;
		}
		e->rt = e->susp.rt;
		memcpy(e->tp, e->susp.tp, sizeof(e->tp));
		e->tp_len = e->susp.tp_len;
		e->tp_seen = e->susp.tp_seen;
		e->susp.held = false;
		return SW_OK;
	}
	return SW_INCORRECT_P1P2;
}
