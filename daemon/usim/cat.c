// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Card application toolkit transport (TS 102 221 11.2, TS 102 223):
 * TERMINAL PROFILE, TERMINAL CAPABILITY, ENVELOPE, FETCH and TERMINAL
 * RESPONSE.  The only proactive command the card issues is the REFRESH
 * the daemon queues with usim_engine_refresh().
 */
#include <string.h>

#include "daemon/usim/internal.h"
#include "macro.h"

uint16_t cmd_terminal_profile(struct usim_engine *e, const struct apdu *a,
			      struct usim_channel *ch)
{
	(void)ch;
	if (a->p1 || a->p2)
		return SW_INCORRECT_P1P2;
	if (a->lc == 0 || a->lc > USIM_TP_MAX)
		return SW_WRONG_LENGTH;
	memcpy(e->tp, a->data, a->lc);
	e->tp_len = a->lc;
	e->tp_seen = true;
	return SW_OK;
}

/* TERMINAL CAPABILITY (11.1.19): accepted, nothing we act on. */
uint16_t cmd_terminal_capability(struct usim_engine *e, const struct apdu *a,
				 struct usim_channel *ch)
{
	(void)e;
	(void)ch;
	if (a->p1 || a->p2)
		return SW_INCORRECT_P1P2;
	if (a->lc == 0)
		return SW_WRONG_LENGTH;
	return SW_OK;
}

/* Checks one BER-TLV (1-byte tag, 1- or 2-byte length) spanning d[0..n). */
static bool one_tlv(const uint8_t *d, size_t n, size_t *ret_off,
		    size_t *ret_len)
{
	size_t l, off = 2;

	if (n < 2)
		return false;
	l = d[1];
	if (l == 0x81) {
		if (n < 3)
			return false;
		l = d[2];
		off = 3;
	} else if (l > 0x7f) {
		return false;
	}
	if (off + l != n)
		return false;
	*ret_off = off;
	*ret_len = l;
	return true;
}

/*
 * ENVELOPE (TS 102 223 7): SMS-PP download ('D1'), menu selection ('D3'),
 * call control ('D4'), event download ('D6') and the rest are accepted with
 * '9000' (no OTA and no call control here: "allowed, no modification").
 */
uint16_t cmd_envelope(struct usim_engine *e, const struct apdu *a,
		      struct usim_channel *ch)
{
	size_t off, len;

	(void)e;
	(void)ch;
	if (a->p1 || a->p2)
		return SW_INCORRECT_P1P2;
	if (a->lc == 0)
		return SW_WRONG_LENGTH;
	if (!one_tlv(a->data, a->lc, &off, &len) || (a->data[0] & 0xc0) != 0xc0)
		return SW_WRONG_DATA;
	return SW_OK;
}

/* FETCH (11.2.3): the pending proactive command, Le its exact length. */
uint16_t cmd_fetch(struct usim_engine *e, const struct apdu *a,
		   struct usim_channel *ch)
{
	(void)ch;
	if (a->p1 || a->p2)
		return SW_INCORRECT_P1P2;
	if (a->lc || !a->has_le)
		return SW_WRONG_LENGTH;
	if (!e->pro.queued)
		return SW_CONDITIONS_NOT_SATISFIED;
	/* T=0: Le must be the command's length ('6CXX'); on the apdu
	 * transport a short Le gets the first bytes and '61XX'. */
	if (a->ne != e->pro.len && apdu_wants_6c(e, a))
		return (uint16_t)(SW_WRONG_LE | e->pro.len);
	memcpy(e->out, e->pro.cmd, e->pro.len);
	e->out_len = e->pro.len;
	if (!e->pro.fetched)
		note_proactive(e, 0, 0);
	e->pro.fetched = true;
	return SW_OK;
}

/*
 * TERMINAL RESPONSE (11.2.4, TS 102 223 6.8): command details ('01'/'81')
 * must repeat those of the fetched command; the result ('03'/'83') general
 * result byte goes to the daemon in a USIM_CHANGE_PROACTIVE record.
 */
uint16_t cmd_terminal_response(struct usim_engine *e, const struct apdu *a,
			       struct usim_channel *ch)
{
	const uint8_t *q, *end;
	const uint8_t *details = NULL;
	int result = -1;

	(void)ch;
	if (a->p1 || a->p2)
		return SW_INCORRECT_P1P2;
	/* No data: a->data may be NULL, so no pointer arithmetic before this. */
	if (a->lc == 0)
		return SW_WRONG_LENGTH;
	q = a->data;
	end = a->data + a->lc;
	if (!e->pro.queued || !e->pro.fetched)
		return SW_CONDITIONS_NOT_SATISFIED;
	while (q < end) {
		uint8_t tag = *q & 0x7f;
		size_t l;

		if (end - q < 2)
			return SW_WRONG_DATA;
		l = q[1];
		q += 2;
		if (l == 0x81) {
			if (q >= end)
				return SW_WRONG_DATA;
			l = *q++;
		} else if (l > 0x7f) {
			return SW_WRONG_DATA;
		}
		if ((size_t)(end - q) < l)
			return SW_WRONG_DATA;
		if (tag == 0x01 && l == 3)
			details = q;
		else if (tag == 0x03 && l >= 1 && result < 0)
			result = q[0];
		q += l;
	}
	if (!details || result < 0)
		return SW_WRONG_DATA;
	/* Number, type and qualifier of our REFRESH. */
	if (memcmp(details, e->pro.cmd + e->pro.details, 3))
		return SW_WRONG_DATA;
	note_proactive(e, 1, (unsigned)result);
	memset(&e->pro, 0, sizeof(e->pro));
	return SW_OK;
}
