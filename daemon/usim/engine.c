// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine: life cycle, reset and ATR, command dispatch (TS 102 221 10.1.2
 * Table 10.5), the T=0 response rules and GET RESPONSE (7.3.1.1, 12.1.1),
 * '91XX' for a pending proactive command (14.6.x) and the change records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/usim/internal.h"
#include "macro.h"

/*
 * Default ATR, T=0 (TS 102 221 6.3, 6.4; ISO/IEC 7816-3 8.2):
 *  3B direct convention; T0 9A: TA1, TD1 present, 10 historical bytes;
 *  TA1 96: Fi 512, Di 32; TD1 80: T=0, TD2 present; TD2 1F: T=15, TA3
 *  present; TA3 C7: clock stop no preference, classes A, B and C;
 *  historical bytes (ISO/IEC 7816-4 8.1.1, compact TLV): 80 category;
 *  31 E0 card service data (DF selection by full and partial name, EF.DIR
 *  present); 73 FE 21 1F card capabilities (selection by full/partial DF
 *  name, path, FID, SFI supported, data coding 21, logical channels
 *  assigned by card and terminal, 8 or more); 82 90 00 status; TCK.
 */
const uint8_t usim_default_atr[] = {
	0x3b, 0x9a, 0x96, 0x80, 0x1f, 0xc7, 0x80, 0x31, 0xe0,
	0x73, 0xfe, 0x21, 0x1f, 0x82, 0x90, 0x00, 0xa4,
};
const size_t usim_default_atr_len = sizeof(usim_default_atr);

/* ---- change records ---------------------------------------------------- */

static void note(struct usim_engine *e, struct usim_change c)
{
	for (size_t i = 0; i < e->n_changes; i++)
		if (!memcmp(&e->changes[i], &c, sizeof(c)))
			return;
	/* A command makes at most a few changes; the array is sized so that
	 * this cannot overflow (USIM_MAX_CHANGES). */
	if (e->n_changes < USIM_MAX_CHANGES)
		e->changes[e->n_changes++] = c;
}

void note_ef(struct usim_engine *e, int file, unsigned record, uint32_t off,
	     uint32_t len)
{
	note(e, (struct usim_change){ .kind = USIM_CHANGE_EF,
				      .index = (uint32_t)file,
				      .record = record,
				      .offset = off,
				      .len = len });
}

void note_pin(struct usim_engine *e, int pin)
{
	note(e, (struct usim_change){ .kind = USIM_CHANGE_PIN,
				      .index = (uint32_t)pin });
}

void note_file_state(struct usim_engine *e, int file)
{
	note(e, (struct usim_change){ .kind = USIM_CHANGE_FILE_STATE,
				      .index = (uint32_t)file });
}

void note_sqn(struct usim_engine *e, unsigned ind)
{
	note(e, (struct usim_change){ .kind = USIM_CHANGE_SQN, .index = ind });
}

void note_proactive(struct usim_engine *e, unsigned what, unsigned result)
{
	note(e, (struct usim_change){ .kind = USIM_CHANGE_PROACTIVE,
				      .record = what,
				      .offset = result });
}

/* ---- life cycle -------------------------------------------------------- */

void channel_reset(struct usim_channel *ch)
{
	*ch = (struct usim_channel){ .open = false, .app = -1, .df = 0,
				     .ef = -1, .rec = 0 };
}

void runtime_reset(struct usim_runtime *rt)
{
	for (size_t i = 0; i < USIM_MAX_CHANNELS; i++)
		channel_reset(&rt->ch[i]);
	rt->ch[0].open = true;
	memset(rt->verified, 0, sizeof(rt->verified));
}

static void reset_state(struct usim_engine *e)
{
	runtime_reset(&e->rt);
	e->gr_valid = false;
	e->tp_seen = false;
	e->tp_len = 0;
	/* A REFRESH in UICC reset mode is complete once the terminal resets
	 * the card; any other fetched proactive command ends with the
	 * session.  One not yet fetched stays pending for the new session. */
	if (e->pro.queued &&
	    (e->pro.fetched || e->pro.mode == USIM_REFRESH_UICC_RESET))
		memset(&e->pro, 0, sizeof(e->pro));
	e->susp.resume_allowed = e->susp.held;
	e->n_changes = 0;
}

int usim_engine_new(struct usim_profile *profile, const struct aka_key *key,
		    struct usim_engine **ret)
{
	struct usim_engine *e;

	if (!profile || !key || !ret || profile->n_files == 0)
		return -EINVAL;
	if (aka_algo_config_validate(&profile->aka) < 0 ||
	    aka_sqn_config_validate(&profile->sqn_cfg) < 0 ||
	    profile->atr_len > USIM_ATR_MAX)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->out = malloc(USIM_OUT_MAX);
	if (!e->out) {
		free(e);
		return -ENOMEM;
	}
	e->p = profile;
	e->key = key;
	reset_state(e);
	*ret = e;
	return 0;
}

void usim_engine_free(struct usim_engine *e)
{
	if (!e)
		return;
	/* Response data may hold RES/CK/IK. */
	wipe(e->out, USIM_OUT_MAX);
	free(e->out);
	wipe(e, sizeof(*e));
	free(e);
}

int usim_engine_reset(struct usim_engine *e, enum usim_reset_kind kind,
		      uint8_t *atr, size_t atr_size, size_t *ret_atr_len)
{
	const uint8_t *src = usim_default_atr;
	size_t n = usim_default_atr_len;

	if (!e || !atr || !ret_atr_len ||
	    (kind != USIM_RESET_COLD && kind != USIM_RESET_WARM))
		return -EINVAL;
	if (e->p->atr_len) {
		src = e->p->atr;
		n = e->p->atr_len;
	}
	if (atr_size < n)
		return -ENOBUFS;
	reset_state(e);
	memcpy(atr, src, n);
	*ret_atr_len = n;
	return 0;
}

int usim_engine_set_transport(struct usim_engine *e, enum usim_transport t)
{
	if (!e || (t != USIM_TRANSPORT_T0 && t != USIM_TRANSPORT_APDU))
		return -EINVAL;
	e->transport = t;
	return 0;
}

int usim_transport_from_string(const char *s, enum usim_transport *ret)
{
	if (!s || !ret)
		return -EINVAL;
	if (!strcmp(s, "t0"))
		*ret = USIM_TRANSPORT_T0;
	else if (!strcmp(s, "apdu"))
		*ret = USIM_TRANSPORT_APDU;
	else
		return -EINVAL;
	return 0;
}

const char *usim_transport_to_string(enum usim_transport t)
{
	return t == USIM_TRANSPORT_APDU ? "apdu" : "t0";
}

/* '6CXX' is a T=0 procedure (ISO/IEC 7816-3 12.2.3, TS 102 221 7.3.1.1):
 * only for a short Le on the t0 transport, never for Le = '00'. */
bool apdu_wants_6c(const struct usim_engine *e, const struct apdu *a)
{
	return e->transport == USIM_TRANSPORT_T0 && !a->extended &&
	       !a->le_wildcard;
}

bool usim_engine_proactive_pending(const struct usim_engine *e)
{
	return e && e->pro.queued;
}

const uint8_t *usim_engine_terminal_profile(const struct usim_engine *e,
					    size_t *ret_len)
{
	if (!e || !e->tp_seen) {
		if (ret_len)
			*ret_len = 0;
		return NULL;
	}
	if (ret_len)
		*ret_len = e->tp_len;
	return e->tp;
}

/* A BER-TLV length (TS 102 223 Annex C): one byte up to 127, else '81' and
 * one byte; returns the bytes written. */
static size_t put_len(uint8_t *c, size_t len)
{
	if (len < 0x80) {
		c[0] = (uint8_t)len;
		return 1;
	}
	c[0] = 0x81;
	c[1] = (uint8_t)len;
	return 2;
}

/*
 * Queues a REFRESH, TS 102 223 6.4.7 and 6.6.13: command details (number 1,
 * type '01', qualifier = mode), device identities UICC -> terminal, then
 * the file list ('92', 8.18) and the AID ('2F', 8.60) when given.  -E2BIG
 * when it would not fit one FETCH ('91XX' carries its length).
 */
static int queue_refresh(struct usim_engine *e, uint8_t mode, const uint8_t *list,
			 size_t list_len, const uint8_t *aid, size_t aid_len)
{
	uint8_t body[USIM_PROACTIVE_MAX + 8];
	size_t n = 0, h;

	body[n++] = 0x81;
	body[n++] = 0x03;
	body[n++] = 0x01;
	body[n++] = 0x01;
	body[n++] = mode;
	body[n++] = 0x82;
	body[n++] = 0x02;
	body[n++] = 0x81;
	body[n++] = 0x82;
	if (list) {
		if (list_len > 0xff || n + 3 + list_len > USIM_PROACTIVE_MAX)
			return -E2BIG;
		body[n++] = 0x92;
		n += put_len(body + n, list_len);
		memcpy(body + n, list, list_len);
		n += list_len;
	}
	if (aid_len) {
		if (n + 2 + aid_len > USIM_PROACTIVE_MAX)
			return -E2BIG;
		body[n++] = 0x2f;
		body[n++] = (uint8_t)aid_len;
		memcpy(body + n, aid, aid_len);
		n += aid_len;
	}
	if (1 + (n < 0x80 ? 1 : 2) + n > USIM_PROACTIVE_MAX)
		return -E2BIG;
	e->pro.cmd[0] = 0xd0;
	h = 1 + put_len(e->pro.cmd + 1, n);
	memcpy(e->pro.cmd + h, body, n);
	e->pro.len = h + n;
	e->pro.details = (uint8_t)(h + 2);
	e->pro.mode = mode;
	e->pro.fetched = false;
	e->pro.queued = true;
	return 0;
}

/* The file change modes without a list of files name the current ADF
 * (path 3F00 7FFF). */
int usim_engine_refresh(struct usim_engine *e, enum usim_refresh_mode mode)
{
	static const uint8_t adf[] = { 0x01, 0x3f, 0x00, 0x7f, 0xff };
	bool fcn = mode == USIM_REFRESH_FCN || mode == USIM_REFRESH_INIT_FCN;

	if (!e || (unsigned)mode > USIM_REFRESH_SESSION_RESET)
		return -EINVAL;
	if (e->pro.queued)
		return -EBUSY;
	return queue_refresh(e, (uint8_t)mode, fcn ? adf : NULL, sizeof(adf), NULL, 0);
}

/*
 * TS 102 223 8.18: the number of files, then each file's full path from the
 * MF, FIDs of two bytes without delimiters (a file of an ADF as 3F00 7FFF
 * ...); 6.4.7: the AID names the application 7FFF stands for.
 */
int usim_engine_update_files(struct usim_engine *e, enum usim_refresh_mode mode,
			     const struct usim_file_update *u, size_t n)
{
	uint8_t list[USIM_PROACTIVE_MAX];
	size_t l = 1;
	int adf = -1, r;

	if (!e || !u || n == 0 || n > USIM_REFRESH_MAX_FILES ||
	    (mode != USIM_REFRESH_FCN && mode != USIM_REFRESH_INIT_FCN))
		return -EINVAL;
	if (e->pro.queued)
		return -EBUSY;
	for (size_t i = 0; i < n; i++) {
		const struct usim_file *f;
		uint16_t fids[USIM_MAX_DEPTH + 1];
		int idx = u[i].index, a, k;

		if (idx <= 0 || (size_t)idx >= e->p->n_files)
			return -EINVAL;
		f = &e->p->files[idx];
		if (fs_is_df(f) || !u[i].data || u[i].len != f->size)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (u[j].index == idx)
				return -EINVAL;
		a = usim_profile_adf_of(e->p, idx);
		if (a >= 0 && adf >= 0 && a != adf)
			return -EINVAL; /* one application per REFRESH */
		if (a >= 0)
			adf = a;
		k = usim_profile_path(e->p, idx, fids, ARRAY_SIZE(fids));
		if (k < 0)
			return -EINVAL;
		if (l + 2 * (size_t)k > sizeof(list))
			return -E2BIG;
		for (int j = 0; j < k; j++) {
			list[l++] = fids[j] >> 8;
			list[l++] = fids[j] & 0xff;
		}
	}
	list[0] = (uint8_t)n;
	r = queue_refresh(e, (uint8_t)mode, list, l, adf >= 0 ? e->p->files[adf].aid : NULL,
			  adf >= 0 ? e->p->files[adf].aid_len : 0);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		memcpy(e->p->files[u[i].index].data, u[i].data, u[i].len);
	return 0;
}

/* ---- dispatch and T=0 -------------------------------------------------- */

#define INS_GET_RESPONSE 0xc0

static const struct {
	uint8_t ins;
	bool proprietary; /* '8X'/'CX'/'EX' class, else '0X'/'4X'/'6X' */
	usim_handler fn;
} commands[] = {
	{ 0xa4, false, cmd_select },
	{ 0xf2, true, cmd_status },
	{ 0xb0, false, cmd_read_binary },
	{ 0xd6, false, cmd_update_binary },
	{ 0xb2, false, cmd_read_record },
	{ 0xdc, false, cmd_update_record },
	{ 0xa2, false, cmd_search_record },
	{ 0x32, true, cmd_increase },
	{ 0x04, false, cmd_activate_file }, /* DEACTIVATE FILE */
	{ 0x44, false, cmd_activate_file },
	{ 0x20, false, cmd_verify_pin },
	{ 0x24, false, cmd_change_pin },
	{ 0x26, false, cmd_disable_pin },
	{ 0x28, false, cmd_enable_pin },
	{ 0x2c, false, cmd_unblock_pin },
	{ 0x70, false, cmd_manage_channel },
	{ 0x76, true, cmd_suspend },
	{ 0x10, true, cmd_terminal_profile },
	{ 0xaa, true, cmd_terminal_capability },
	{ 0xc2, true, cmd_envelope },
	{ 0x12, true, cmd_fetch },
	{ 0x14, true, cmd_terminal_response },
	{ 0x88, false, cmd_authenticate },
	{ 0x78, true, cmd_get_identity },
	{ INS_GET_RESPONSE, false, NULL },
};

/* '9000' becomes '91XX' while a proactive command waits for FETCH, once the
 * terminal has said with TERMINAL PROFILE that it is proactive-capable
 * (TS 102 221 14.6.x, TS 102 223 6.2). */
static uint16_t pro_sw(const struct usim_engine *e, uint16_t sw)
{
	if (sw == SW_OK && e->pro.queued && !e->pro.fetched && e->tp_seen)
		return (uint16_t)(SW_PROACTIVE | (e->pro.len & 0xff));
	return sw;
}

static bool sw_carries_data(uint16_t sw)
{
	uint8_t sw1 = sw >> 8;

	return sw == SW_OK || sw1 == 0x62 || sw1 == 0x63;
}

static uint16_t more_sw(size_t n)
{
	return (uint16_t)(SW_MORE_DATA | (n > 255 ? 0 : n));
}

static size_t put_sw(uint8_t *rsp, size_t n, uint16_t sw)
{
	rsp[n] = sw >> 8;
	rsp[n + 1] = sw & 0xff;
	return n + 2;
}

static bool keep_for_get_response(struct usim_engine *e, const uint8_t *d,
				  size_t n, uint16_t sw, unsigned channel)
{
	if (n > USIM_GETRESP_MAX)
		return false;
	memcpy(e->gr, d, n);
	e->gr_len = n;
	e->gr_off = 0;
	e->gr_sw = sw;
	e->gr_channel = channel;
	e->gr_valid = true;
	return true;
}

static size_t respond(struct usim_engine *e, const struct apdu *a,
		      uint16_t sw, uint8_t *rsp, size_t rsp_size)
{
	size_t n = e->out_len, max;

	if (n == 0 || !sw_carries_data(sw))
		return put_sw(rsp, 0, pro_sw(e, sw));
	if (!a->has_le) {
		/* T=0 case 4: announce the data (TS 102 221 7.3.1.1.4). */
		if (!keep_for_get_response(e, e->out, n, sw, a->channel))
			return put_sw(rsp, 0, SW_TECHNICAL_PROBLEM);
		return put_sw(rsp, 0, more_sw(n));
	}
	max = MIN(a->ne, rsp_size - 2);
	if (n <= max) {
		memcpy(rsp, e->out, n);
		return put_sw(rsp, n, pro_sw(e, sw));
	}
	memcpy(rsp, e->out, max);
	if (!keep_for_get_response(e, e->out + max, n - max, sw, a->channel))
		return put_sw(rsp, max, SW_TECHNICAL_PROBLEM);
	return put_sw(rsp, max, more_sw(n - max));
}

/* GET RESPONSE, TS 102 221 12.1.1: only right after the command whose data
 * it fetches, on the same channel; otherwise '6F00'. */
static size_t get_response(struct usim_engine *e, const struct apdu *a,
			   uint8_t *rsp, size_t rsp_size)
{
	size_t rem, take;

	if (!e->gr_valid || a->channel != e->gr_channel) {
		e->gr_valid = false;
		return put_sw(rsp, 0, SW_TECHNICAL_PROBLEM);
	}
	if (a->p1 || a->p2) {
		e->gr_valid = false;
		return put_sw(rsp, 0, SW_INCORRECT_P1P2);
	}
	if (a->lc || !a->has_le) {
		e->gr_valid = false;
		return put_sw(rsp, 0, SW_WRONG_LENGTH);
	}
	rem = e->gr_len - e->gr_off;
	if (apdu_wants_6c(e, a) && a->ne > rem)
		return put_sw(rsp, 0, (uint16_t)(SW_WRONG_LE | (rem & 0xff)));
	take = MIN(rem, a->ne);
	take = MIN(take, rsp_size - 2);
	memcpy(rsp, e->gr + e->gr_off, take);
	e->gr_off += take;
	if (e->gr_off < e->gr_len)
		return put_sw(rsp, take, more_sw(e->gr_len - e->gr_off));
	e->gr_valid = false;
	wipe(e->gr, e->gr_len);
	return put_sw(rsp, take, pro_sw(e, e->gr_sw));
}

static bool is_resume(const struct apdu *a)
{
	return a->ins == 0x76 && a->proprietary && a->p1 == 0x01;
}

int usim_engine_process(struct usim_engine *e, const uint8_t *cmd,
			size_t cmd_len, uint8_t *rsp, size_t rsp_size,
			size_t *ret_rsp_len,
			const struct usim_change **ret_changes,
			size_t *ret_n_changes)
{
	struct apdu a;
	struct usim_channel *ch;
	usim_handler fn = NULL;
	bool known = false;
	uint16_t sw;
	size_t n;

	if (!e || (!cmd && cmd_len) || !rsp || rsp_size < USIM_RSP_MIN ||
	    !ret_rsp_len)
		return -EINVAL;
	e->n_changes = 0;
	e->out_len = 0;

	sw = cmd ? apdu_parse(cmd, cmd_len, &a) : SW_WRONG_LENGTH;
	/* TS 102 221 11.1.22.3.2: any command other than RESUME UICC right
	 * after the reset discards a suspended state. */
	if (e->susp.resume_allowed && (sw || !is_resume(&a)))
		e->susp.held = false;
	if (sw || !is_resume(&a))
		e->susp.resume_allowed = false;
	if (sw) {
		e->gr_valid = false;
		n = put_sw(rsp, 0, sw);
		goto out;
	}
	/* The apdu transport: no Le field is taken as "all there is", so a
	 * case 4 command sent without Le, or a 4-byte case 1 form, gets its
	 * data at once instead of '61XX' (see usim.h). */
	if (e->transport == USIM_TRANSPORT_APDU && !a.has_le) {
		a.has_le = true;
		a.le_wildcard = true;
		a.ne = a.extended ? 65536 : 256;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (commands[i].ins != a.ins)
			continue;
		known = true;
		if (commands[i].proprietary == a.proprietary) {
			fn = commands[i].fn;
			break;
		}
	}
	if (a.ins != INS_GET_RESPONSE || a.proprietary)
		e->gr_valid = false;
	if (!known) {
		n = put_sw(rsp, 0, SW_INS_NOT_SUPPORTED);
		goto out;
	}
	if (!fn && a.ins != INS_GET_RESPONSE) {
		n = put_sw(rsp, 0, SW_CLA_NOT_SUPPORTED);
		goto out;
	}
	if (a.ins == INS_GET_RESPONSE && a.proprietary) {
		n = put_sw(rsp, 0, SW_CLA_NOT_SUPPORTED);
		goto out;
	}
	if (a.channel >= USIM_MAX_CHANNELS || !e->rt.ch[a.channel].open) {
		e->gr_valid = false;
		n = put_sw(rsp, 0, SW_CHANNEL_NOT_SUPPORTED);
		goto out;
	}
	ch = &e->rt.ch[a.channel];
	if (a.ins == INS_GET_RESPONSE) {
		n = get_response(e, &a, rsp, rsp_size);
		goto out;
	}
	e->out_max = a.has_le ? MIN(a.ne, rsp_size - 2) : USIM_GETRESP_MAX;
	sw = fn(e, &a, ch);
	n = respond(e, &a, sw, rsp, rsp_size);
	/* Handler output may be RES/CK/IK or a resume token. */
	wipe(e->out, e->out_len);
out:
	*ret_rsp_len = n;
	if (ret_changes)
		*ret_changes = e->changes;
	if (ret_n_changes)
		*ret_n_changes = e->n_changes;
	return 0;
}
