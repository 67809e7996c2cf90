// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SELECT (TS 102 221 11.1.1, selection rules 8.4.1 - 8.4.2) and STATUS
 * (11.1.2).
 */
#include <string.h>

#include "daemon/usim/internal.h"
#include "macro.h"

/* The DF that holds the channel's current file. */
static int current_df(const struct usim_channel *ch)
{
	return ch->df;
}

/*
 * Selection by FID from the current DF (8.4.1): the MF; 7FFF, the
 * channel's current application; a child of the current DF; the current DF
 * itself; its parent; a DF sibling of the current DF.
 */
static int resolve_fid(const struct usim_engine *e,
		       const struct usim_channel *ch, uint16_t fid)
{
	const struct usim_profile *p = e->p;
	int df = current_df(ch), parent, i;

	if (fid == USIM_FID_MF)
		return 0;
	if (fid == USIM_FID_ADF_ALIAS)
		return ch->app >= 0 ? ch->app : -1;
	if ((i = fs_child(p, df, fid)) >= 0)
		return i;
	if (p->files[df].kind != USIM_FILE_ADF && p->files[df].fid == fid)
		return df;
	parent = p->files[df].parent;
	if (parent < 0)
		return -1;
	if (p->files[parent].fid == fid)
		return parent;
	i = fs_child(p, parent, fid);
	if (i >= 0 && fs_is_df(&p->files[i]))
		return i;
	return -1;
}

/* The ADF matching a full or partial (right-truncated) AID, first match
 * after index 'after' (TS 102 221 8.4.2; 11.1.1.2 P2 occurrence). */
static int find_aid(const struct usim_profile *p, const uint8_t *aid,
		    size_t len, int after)
{
	for (size_t i = (size_t)(after + 1); i < p->n_files; i++) {
		const struct usim_file *f = &p->files[i];

		if (f->kind == USIM_FILE_ADF && len <= f->aid_len &&
		    !memcmp(f->aid, aid, len))
			return (int)i;
	}
	return -1;
}

static int path_walk(const struct usim_engine *e,
		     const struct usim_channel *ch, int start,
		     const uint8_t *d, size_t n)
{
	const struct usim_profile *p = e->p;
	int cur = start;

	for (size_t k = 0; k < n; k += 2) {
		uint16_t fid = (uint16_t)(d[k] << 8 | d[k + 1]);

		if (!fs_is_df(&p->files[cur]))
			return -1; /* an EF inside the path */
		if (fid == USIM_FID_ADF_ALIAS && (k == 0 || cur == 0)) {
			if (ch->app < 0)
				return -1;
			cur = ch->app;
			continue;
		}
		/* Tolerate a path from the MF that names the MF itself. */
		if (k == 0 && start == 0 && fid == USIM_FID_MF)
			continue;
		cur = fs_child(p, cur, fid);
		if (cur < 0)
			return -1;
	}
	return cur;
}

static void make_current(const struct usim_profile *p, struct usim_channel *ch,
			 int idx)
{
	const struct usim_file *f = &p->files[idx];

	ch->rec = 0;
	if (fs_is_df(f)) {
		ch->df = idx;
		ch->ef = -1;
		if (f->kind == USIM_FILE_ADF)
			ch->app = idx;
	} else {
		ch->df = f->parent;
		ch->ef = idx;
	}
}

static uint16_t fcp_out(struct usim_engine *e, int idx)
{
	size_t n = fs_fcp(e->p, idx, e->out, USIM_GETRESP_MAX);

	if (!n)
		return SW_TECHNICAL_PROBLEM;
	e->out_len = n;
	return SW_OK;
}

uint16_t cmd_select(struct usim_engine *e, const struct apdu *a,
		    struct usim_channel *ch)
{
	const struct usim_profile *p = e->p;
	unsigned ret = a->p2 & 0x0c, occ = a->p2 & 0x03, sess = a->p2 & 0x60;
	int idx = -1;
	uint16_t fid, sw;

	/* P2 (11.1.1.2 Table 11.2): b4-b3 '01' FCP or '11' no data ('00'
	 * taken as FCP too, as GSM-era terminals send it); b2-b1 occurrence;
	 * b7-b6 application session control; b8, b5 zero. */
	if ((a->p2 & 0x90) || ret == 0x08 || sess == 0x20 || sess == 0x60)
		return SW_INCORRECT_P1P2;
	if ((occ || sess) && a->p1 != 0x04)
		return SW_INCORRECT_P1P2;
	if (occ == 0x01 || occ == 0x03)
		return SW_FUNC_NOT_SUPPORTED; /* last / previous occurrence */

	switch (a->p1) {
	case 0x00: /* FID; no data: the MF */
		if (a->lc == 0) {
			idx = 0;
			break;
		}
		if (a->lc != 2)
			return SW_WRONG_LENGTH;
		fid = (uint16_t)(a->data[0] << 8 | a->data[1]);
		idx = resolve_fid(e, ch, fid);
		break;
	case 0x01: /* child DF */
	case 0x02: /* EF under the current DF */
		if (a->lc != 2)
			return SW_WRONG_LENGTH;
		fid = (uint16_t)(a->data[0] << 8 | a->data[1]);
		if (fid == USIM_FID_ADF_ALIAS && a->p1 == 0x01 &&
		    current_df(ch) == 0)
			idx = ch->app;
		else
			idx = fs_child(p, current_df(ch), fid);
		if (idx >= 0 &&
		    fs_is_df(&p->files[idx]) != (a->p1 == 0x01))
			idx = -1;
		break;
	case 0x03: /* parent DF of the current DF */
		if (a->lc != 0)
			return SW_WRONG_LENGTH;
		idx = p->files[current_df(ch)].parent;
		break;
	case 0x04: /* DF name (AID) */
		if (a->lc < 1 || a->lc > USIM_AID_MAX)
			return SW_WRONG_LENGTH;
		/* Next occurrence: after the channel's application if it
		 * matches the (partial) AID, else the first. */
		idx = 0;
		if (occ == 0x02 && ch->app >= 0 &&
		    a->lc <= p->files[ch->app].aid_len &&
		    !memcmp(p->files[ch->app].aid, a->data, a->lc))
			idx = ch->app;
		idx = find_aid(p, a->data, a->lc, idx);
		if (idx < 0)
			return SW_FILE_NOT_FOUND;
		if (sess == 0x40) {
			/* Termination of the application session: the
			 * channel leaves the application (8.5.3). */
			if (ch->app != idx)
				return SW_CONDITIONS_NOT_SATISFIED;
			ch->app = -1;
			ch->df = 0;
			ch->ef = -1;
			ch->rec = 0;
			return SW_OK;
		}
		break;
	case 0x08: /* path from the MF */
	case 0x09: /* path from the current DF */
		if (a->lc == 0 || (a->lc & 1))
			return SW_WRONG_LENGTH;
		if (a->lc > 2 * USIM_MAX_DEPTH)
			return SW_FILE_NOT_FOUND;
		idx = path_walk(e, ch, a->p1 == 0x08 ? 0 : current_df(ch),
				a->data, a->lc);
		break;
	default:
		return SW_INCORRECT_P1P2;
	}
	if (idx < 0)
		return SW_FILE_NOT_FOUND;
	make_current(p, ch, idx);
	sw = p->files[idx].lcs == USIM_LCS_OPERATIONAL_DEACTIVATED ?
		     SW_FILE_INVALIDATED :
		     SW_OK;
	if (ret == 0x0c)
		return sw;
	if (fcp_out(e, idx) != SW_OK)
		return SW_TECHNICAL_PROBLEM;
	return sw;
}

uint16_t cmd_status(struct usim_engine *e, const struct apdu *a,
		    struct usim_channel *ch)
{
	const struct usim_file *app;

	/* P1: '00' no indication, '01' application initialised, '02'
	 * terminal will terminate it (11.1.2.2).  P2: '00' FCP of the
	 * current DF, '01' DF name of the current application, '0C' none. */
	if (a->p1 > 0x02)
		return SW_INCORRECT_P1P2;
	if (a->lc)
		return SW_WRONG_LENGTH;
	switch (a->p2) {
	case 0x00:
		return fcp_out(e, current_df(ch));
	case 0x01:
		if (ch->app < 0)
			return SW_REF_DATA_NOT_FOUND;
		app = &e->p->files[ch->app];
		e->out[0] = 0x84;
		e->out[1] = app->aid_len;
		memcpy(e->out + 2, app->aid, app->aid_len);
		e->out_len = 2u + app->aid_len;
		return SW_OK;
	case 0x0c:
		return SW_OK;
	default:
		return SW_INCORRECT_P1P2;
	}
}
