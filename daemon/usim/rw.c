// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Commands on EF contents: READ/UPDATE BINARY (TS 102 221 11.1.3, 11.1.4),
 * READ/UPDATE RECORD (11.1.5, 11.1.6), SEARCH RECORD (11.1.7), INCREASE
 * (11.1.8), DEACTIVATE/ACTIVATE FILE (11.1.14, 11.1.15).  Record pointer
 * rules: 8.3; cyclic EFs: record 1 is the last written (8.2.3).
 */
#include <string.h>

#include "daemon/usim/internal.h"
#include "macro.h"

/*
 * The EF a command works on: by SFI in the current DF (which then becomes
 * the current EF, record pointer undefined, 8.4.1) or the current EF.
 */
static uint16_t target_ef(const struct usim_engine *e, struct usim_channel *ch,
			  unsigned sfi, int *ret)
{
	int idx;

	if (sfi) {
		if (sfi == 0x1f)
			return SW_INCORRECT_P1P2;
		idx = fs_child_sfi(e->p, ch->df, (uint8_t)sfi);
		if (idx < 0)
			return SW_FILE_NOT_FOUND;
		if (ch->ef != idx) {
			ch->ef = idx;
			ch->rec = 0;
		}
	} else {
		if (ch->ef < 0)
			return SW_NO_EF_SELECTED;
		idx = ch->ef;
	}
	*ret = idx;
	return SW_OK;
}

static uint16_t usable(const struct usim_file *f)
{
	if (f->lcs == USIM_LCS_OPERATIONAL_DEACTIVATED)
		return SW_FILE_INVALIDATED;
	if (f->lcs == USIM_LCS_TERMINATED)
		return SW_CONDITIONS_NOT_SATISFIED;
	return SW_OK;
}

static uint16_t binary_target(struct usim_engine *e, const struct apdu *a,
			      struct usim_channel *ch, uint8_t am, int *ret,
			      size_t *ret_off)
{
	const struct usim_file *f;
	unsigned sfi = 0;
	size_t off;
	uint16_t sw;

	/* P1 b8 = 1: SFI in b5-b1 (b7-b6 zero), offset in P2. */
	if (a->p1 & 0x80) {
		if (a->p1 & 0x60)
			return SW_INCORRECT_P1P2;
		sfi = a->p1 & 0x1f;
		if (!sfi)
			return SW_INCORRECT_P1P2;
		off = a->p2;
	} else {
		off = (size_t)a->p1 << 8 | a->p2;
	}
	if ((sw = target_ef(e, ch, sfi, ret)) != SW_OK)
		return sw;
	f = &e->p->files[*ret];
	if (f->kind != USIM_FILE_EF_TRANSPARENT)
		return SW_INCOMPATIBLE_FILE;
	if ((sw = usable(f)) != SW_OK)
		return sw;
	if ((sw = access_check(e, *ret, am, a->ins)) != SW_OK)
		return sw;
	if (off >= f->size && !(off == 0 && f->size == 0))
		return SW_WRONG_P1P2;
	*ret_off = off;
	return SW_OK;
}

uint16_t cmd_read_binary(struct usim_engine *e, const struct apdu *a,
			 struct usim_channel *ch)
{
	const struct usim_file *f;
	size_t off, avail, n;
	uint16_t sw;
	int idx;

	if (a->lc)
		return SW_WRONG_LENGTH;
	if (!a->has_le)
		return SW_WRONG_LENGTH;
	if ((sw = binary_target(e, a, ch, AM_READ, &idx, &off)) != SW_OK)
		return sw;
	f = &e->p->files[idx];
	avail = f->size - off;
	n = MIN(a->ne, avail);
	n = MIN(n, e->out_max);
	memcpy(e->out, f->data + off, n);
	e->out_len = n;
	/* Le = 00 asks for what there is.  An explicit Le beyond the end of
	 * the file: on T=0 the length is fixed by P3, so '6CXX' with what
	 * there is (ISO/IEC 7816-3 12.2.3); on the apdu transport the bytes
	 * there are with '6282' (TS 102 221 10.2.1.2, ISO/IEC 7816-4 5.6). */
	if (!a->le_wildcard && a->ne > avail) {
		if (apdu_wants_6c(e, a)) {
			e->out_len = 0;
			return (uint16_t)(SW_WRONG_LE | (avail & 0xff));
		}
		return SW_EOF_REACHED;
	}
	return SW_OK;
}

uint16_t cmd_update_binary(struct usim_engine *e, const struct apdu *a,
			   struct usim_channel *ch)
{
	struct usim_file *f;
	size_t off;
	uint16_t sw;
	int idx;

	if (a->lc == 0)
		return SW_WRONG_LENGTH;
	if ((sw = binary_target(e, a, ch, AM_UPDATE, &idx, &off)) != SW_OK)
		return sw;
	f = &e->p->files[idx];
	if (a->lc > f->size - off)
		return SW_WRONG_LENGTH;
	memcpy(f->data + off, a->data, a->lc);
	note_ef(e, idx, 0, (uint32_t)off, (uint32_t)a->lc);
	return SW_OK;
}

/* ---- records ----------------------------------------------------------- */

enum { MODE_NEXT = 2, MODE_PREVIOUS = 3, MODE_ABSOLUTE = 4 };

static uint16_t record_target(struct usim_engine *e, const struct apdu *a,
			      struct usim_channel *ch, uint8_t am, int *ret)
{
	const struct usim_file *f;
	uint16_t sw;

	if ((sw = target_ef(e, ch, a->p2 >> 3, ret)) != SW_OK)
		return sw;
	f = &e->p->files[*ret];
	if (!fs_is_record(f))
		return SW_INCOMPATIBLE_FILE;
	if ((sw = usable(f)) != SW_OK)
		return sw;
	return access_check(e, *ret, am, a->ins);
}

/* Record number for P1 and mode (8.3, 11.1.5.2); moves the pointer for
 * NEXT and PREVIOUS only. */
static uint16_t record_number(const struct usim_file *f,
			      struct usim_channel *ch, uint8_t p1,
			      unsigned mode, unsigned *ret)
{
	bool cyclic = f->kind == USIM_FILE_EF_CYCLIC;
	unsigned n = f->rec_count, r;

	switch (mode) {
	case MODE_ABSOLUTE:
		r = p1 ? p1 : ch->rec;
		if (r == 0 || r > n || p1 == 0xff)
			return SW_RECORD_NOT_FOUND;
		*ret = r;
		return SW_OK;
	case MODE_NEXT:
		if (p1)
			return SW_INCORRECT_P1P2;
		if (ch->rec == 0)
			r = 1;
		else if (ch->rec < n)
			r = ch->rec + 1;
		else if (cyclic)
			r = 1;
		else
			return SW_RECORD_NOT_FOUND;
		break;
	case MODE_PREVIOUS:
		if (p1)
			return SW_INCORRECT_P1P2;
		if (ch->rec == 0)
			r = n;
		else if (ch->rec > 1)
			r = ch->rec - 1;
		else if (cyclic)
			r = n;
		else
			return SW_RECORD_NOT_FOUND;
		break;
	default:
		return SW_INCORRECT_P1P2;
	}
	ch->rec = r;
	*ret = r;
	return SW_OK;
}

uint16_t cmd_read_record(struct usim_engine *e, const struct apdu *a,
			 struct usim_channel *ch)
{
	const struct usim_file *f;
	unsigned r;
	uint16_t sw;
	size_t n;
	int idx;

	if (a->lc || !a->has_le)
		return SW_WRONG_LENGTH;
	if ((a->p2 & 0x07) < MODE_NEXT || (a->p2 & 0x07) > MODE_ABSOLUTE)
		return SW_INCORRECT_P1P2;
	if ((sw = record_target(e, a, ch, AM_READ, &idx)) != SW_OK)
		return sw;
	f = &e->p->files[idx];
	/* The whole record is read.  T=0: a different explicit Le is
	 * answered with the record length, '6CXX' (ISO/IEC 7816-3 12.2.3).
	 * apdu transport: a shorter Le gets the record cut to Le, a longer
	 * one the record and '6282' (ISO/IEC 7816-4 5.6, TS 102 221
	 * 10.2.1.2). */
	if (a->ne != f->rec_len && apdu_wants_6c(e, a))
		return (uint16_t)(SW_WRONG_LE | (f->rec_len & 0xff));
	if ((sw = record_number(f, ch, a->p1, a->p2 & 0x07, &r)) != SW_OK)
		return sw;
	n = MIN((size_t)f->rec_len, a->ne);
	memcpy(e->out, f->data + (size_t)(r - 1) * f->rec_len, n);
	e->out_len = n;
	if (!a->le_wildcard && a->ne > f->rec_len)
		return SW_EOF_REACHED;
	return SW_OK;
}

/* Cyclic EF write: the oldest record becomes record 1 (8.2.3). */
static void cyclic_push(struct usim_file *f, const uint8_t *rec)
{
	size_t rl = f->rec_len;

	memmove(f->data + rl, f->data, (size_t)(f->rec_count - 1) * rl);
	memcpy(f->data, rec, rl);
}

uint16_t cmd_update_record(struct usim_engine *e, const struct apdu *a,
			   struct usim_channel *ch)
{
	struct usim_file *f;
	unsigned mode = a->p2 & 0x07, r;
	uint16_t sw;
	int idx;

	if (mode < MODE_NEXT || mode > MODE_ABSOLUTE)
		return SW_INCORRECT_P1P2;
	if ((sw = record_target(e, a, ch, AM_UPDATE, &idx)) != SW_OK)
		return sw;
	f = &e->p->files[idx];
	if (a->lc != f->rec_len)
		return SW_WRONG_LENGTH;
	if (f->kind == USIM_FILE_EF_CYCLIC) {
		/* Only PREVIOUS for cyclic files (11.1.6.1). */
		if (mode != MODE_PREVIOUS || a->p1)
			return SW_INCORRECT_P1P2;
		cyclic_push(f, a->data);
		ch->rec = 1;
		note_ef(e, idx, 0, 0, f->size);
		return SW_OK;
	}
	if ((sw = record_number(f, ch, a->p1, mode, &r)) != SW_OK)
		return sw;
	memcpy(f->data + (size_t)(r - 1) * f->rec_len, a->data, f->rec_len);
	note_ef(e, idx, r, (uint32_t)(r - 1) * f->rec_len, f->rec_len);
	return SW_OK;
}

static bool match_at(const uint8_t *rec, size_t rl, size_t off,
		     const uint8_t *pat, size_t n)
{
	return off <= rl && n <= rl - off && !memcmp(rec + off, pat, n);
}

/*
 * SEARCH RECORD (11.1.7).  P2 b3-b1: '4' simple search forward from P1,
 * '5' backward from P1 (P1 = 0: the current record); '6' enhanced search,
 * whose first data byte says the direction and start (b3-b1 as 4/5, or 6/7
 * for from the next/previous record) and, with b4 = 0, the second byte
 * the offset in the record where the pattern must match; with b4 = 1 the
 * pattern must follow the first occurrence of that byte.  A simple search
 * matches the pattern at the start of the record.  The response lists the
 * matching record numbers; the first one becomes the current record.
 */
uint16_t cmd_search_record(struct usim_engine *e, const struct apdu *a,
			   struct usim_channel *ch)
{
	const struct usim_file *f;
	unsigned mode = a->p2 & 0x07, dir, start, ind = 0, val = 0;
	const uint8_t *pat = a->data;
	size_t plen = a->lc, found = 0;
	bool by_value = false;
	uint16_t sw;
	int idx;

	if (mode < 4 || mode > 6)
		return SW_INCORRECT_P1P2;
	if (a->lc == 0)
		return SW_WRONG_LENGTH;
	if ((sw = record_target(e, a, ch, AM_READ, &idx)) != SW_OK)
		return sw;
	f = &e->p->files[idx];
	dir = mode;
	if (mode == 6) {
		if (a->lc < 3)
			return SW_WRONG_LENGTH;
		ind = a->data[0] & 0x07;
		by_value = a->data[0] & 0x08;
		val = a->data[1];
		pat = a->data + 2;
		plen = a->lc - 2;
		if (ind < 4)
			return SW_WRONG_DATA;
		dir = (ind == 4 || ind == 6) ? 4 : 5;
	}
	if (plen > f->rec_len)
		return SW_WRONG_LENGTH;
	if (a->p1 > f->rec_count)
		return SW_RECORD_NOT_FOUND;
	start = a->p1 ? a->p1 : ch->rec;
	if (mode == 6 && (ind == 6 || ind == 7)) {
		if (!ch->rec)
			return SW_RECORD_NOT_FOUND;
		start = ind == 6 ? ch->rec + 1 : ch->rec - 1;
	}
	if (start == 0)
		start = dir == 4 ? 1 : f->rec_count;
	for (unsigned r = start; r >= 1 && r <= f->rec_count;
	     r = dir == 4 ? r + 1 : r - 1) {
		const uint8_t *rec = f->data + (size_t)(r - 1) * f->rec_len;
		bool hit;

		if (mode != 6) {
			hit = match_at(rec, f->rec_len, 0, pat, plen);
		} else if (!by_value) {
			hit = match_at(rec, f->rec_len, val, pat, plen);
		} else {
			const uint8_t *v = memchr(rec, (int)val, f->rec_len);

			hit = v && match_at(rec, f->rec_len,
					    (size_t)(v - rec) + 1, pat, plen);
		}
		if (hit)
			e->out[found++] = (uint8_t)r;
	}
	if (!found)
		return SW_RECORD_NOT_FOUND;
	ch->rec = e->out[0];
	e->out_len = found;
	return SW_OK;
}

/*
 * INCREASE (11.1.8): adds the command value (right aligned) to record 1 of
 * a cyclic EF, writes the sum as the new record 1 and answers with the new
 * value and the value added.  '9850' when the maximum would be exceeded.
 */
uint16_t cmd_increase(struct usim_engine *e, const struct apdu *a,
		      struct usim_channel *ch)
{
	struct usim_file *f;
	uint8_t sum[USIM_MAX_REC_LEN];
	unsigned carry = 0;
	uint16_t sw;
	size_t rl;
	int idx;

	if (a->p1 || a->p2)
		return SW_INCORRECT_P1P2;
	if ((sw = target_ef(e, ch, 0, &idx)) != SW_OK)
		return sw;
	f = &e->p->files[idx];
	if (f->kind != USIM_FILE_EF_CYCLIC)
		return SW_INCOMPATIBLE_FILE;
	if ((sw = usable(f)) != SW_OK)
		return sw;
	if ((sw = access_check(e, idx, AM_UPDATE, a->ins)) != SW_OK)
		return sw;
	rl = f->rec_len;
	if (a->lc == 0 || a->lc > rl)
		return SW_WRONG_LENGTH;
	for (size_t i = 0; i < rl; i++) {
		size_t k = rl - 1 - i;
		unsigned add = i < a->lc ? a->data[a->lc - 1 - i] : 0;
		unsigned s = f->data[k] + add + carry;

		sum[k] = (uint8_t)s;
		carry = s >> 8;
	}
	if (carry)
		return SW_MAX_VALUE_REACHED;
	cyclic_push(f, sum);
	ch->rec = 1;
	note_ef(e, idx, 0, 0, f->size);
	memcpy(e->out, sum, rl);
	memcpy(e->out + rl, a->data, a->lc);
	e->out_len = rl + a->lc;
	return SW_OK;
}

/*
 * DEACTIVATE FILE ('04') / ACTIVATE FILE ('44'), 11.1.14 - 11.1.15: on the
 * current EF, or on a file given by FID (P1 '00') or path (P1 '08'/'09')
 * with the SELECT rules.  The life cycle status is persistent.
 */
uint16_t cmd_activate_file(struct usim_engine *e, const struct apdu *a,
			   struct usim_channel *ch)
{
	bool activate = a->ins == 0x44;
	struct usim_file *f;
	uint16_t sw;
	int idx;

	if (a->p2 != 0x00)
		return SW_INCORRECT_P1P2;
	if (a->lc) {
		struct apdu sel = *a;

		/* Select the file first, returning no data. */
		sel.ins = 0xa4;
		sel.p2 = 0x0c;
		if (a->p1 != 0x00 && a->p1 != 0x08 && a->p1 != 0x09)
			return SW_INCORRECT_P1P2;
		sw = cmd_select(e, &sel, ch);
		if (sw != SW_OK && sw != SW_FILE_INVALIDATED)
			return sw;
	} else if (a->p1 != 0x00) {
		return SW_INCORRECT_P1P2;
	}
	idx = ch->ef >= 0 ? ch->ef : ch->df;
	f = &e->p->files[idx];
	if (f->kind == USIM_FILE_MF || f->lcs == USIM_LCS_TERMINATED)
		return SW_CONDITIONS_NOT_SATISFIED;
	sw = access_check(e, idx, activate ? AM_ACTIVATE : AM_DEACTIVATE,
			  a->ins);
	if (sw != SW_OK)
		return sw;
	f->lcs = activate ? USIM_LCS_OPERATIONAL_ACTIVATED :
			    USIM_LCS_OPERATIONAL_DEACTIVATED;
	note_file_state(e, idx);
	return SW_OK;
}
