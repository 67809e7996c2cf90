// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * AUTHENTICATE (TS 31.102 7.1) and GET IDENTITY (TS 31.102 7.5): the APDU
 * side of the computations in daemon/aka/.
 */
#include <string.h>

#include "daemon/usim/internal.h"
#include "macro.h"

/* USIM service numbers, TS 31.102 4.2.8. */
#define SERVICE_GSM_ACCESS 27
#define SERVICE_GSM_SECURITY_CONTEXT 38
#define SERVICE_SUCI_PRIVACY 124
#define SERVICE_SUCI_BY_USIM 125
#define SERVICE_SUPI_NSI_GLI_GCI 130

#define FID_IMSI 0x6f07
#define FID_AD 0x6fad
#define FID_SUCI_CALC_INFO 0x4f07
#define FID_SUPI_NAI 0x4f09
#define FID_ROUTING_INDICATOR 0x4f0a

/* The application PIN guards both commands (TS 31.102 7.1.1, 7.5.1). */
static uint16_t app_ready(const struct usim_engine *e,
			  const struct usim_channel *ch)
{
	if (ch->app < 0)
		return SW_CONDITIONS_NOT_SATISFIED;
	if (pin_index(e->p, USIM_KEYREF_PIN1) >= 0 &&
	    !pin_satisfied(e, USIM_KEYREF_PIN1))
		return SW_SECURITY_NOT_SATISFIED;
	return SW_OK;
}

static size_t mac_len(const struct aka_algo_config *cfg)
{
	return cfg->algo == AKA_ALGO_TUAK ? cfg->tuak.mac_bits / 8 : 8;
}

static void put_lv(uint8_t *out, size_t *n, const uint8_t *v, size_t len)
{
	out[(*n)++] = (uint8_t)len;
	memcpy(out + *n, v, len);
	*n += len;
}

/*
 * 3G/EPS/5G context (P2 '81', 7.1.2.1): data L1 RAND L2 AUTN.  Success:
 * 'DB' L RES L CK L IK (and L Kc when service 27 is available); sync
 * failure: 'DC' L AUTS; MAC failure: '9862'.  An accepted SQN is applied
 * to the profile and reported before the answer.
 */
static uint16_t auth_3g(struct usim_engine *e, const struct apdu *a,
			const struct usim_channel *ch)
{
	struct usim_profile *p = e->p;
	const uint8_t *d = a->data;
	struct aka_auth_result r;
	size_t n = 0, l2;
	uint16_t sw;
	int rc;

	if (a->lc < 1 + AKA_RAND_LEN + 1 || d[0] != AKA_RAND_LEN)
		return SW_WRONG_LENGTH;
	l2 = d[1 + AKA_RAND_LEN];
	if (a->lc != 2 + AKA_RAND_LEN + l2)
		return SW_WRONG_LENGTH;
	if (l2 != AKA_SQN_LEN + AKA_AMF_LEN + mac_len(&p->aka))
		return SW_WRONG_DATA;
	rc = aka_usim_authenticate(&p->aka, e->key, &p->sqn_cfg, &p->sqn,
				   d + 1, d + 2 + AKA_RAND_LEN, l2, 0, &r);
	if (rc < 0)
		return SW_TECHNICAL_PROBLEM;
	switch (r.status) {
	case AKA_STATUS_OK:
		if (aka_sqn_commit(&p->sqn_cfg, &p->sqn, &r.sqn_change) < 0) {
			sw = SW_MEMORY_PROBLEM;
			break;
		}
		note_sqn(e, r.sqn_change.ind);
		e->out[n++] = 0xdb;
		put_lv(e->out, &n, r.res, r.res_len);
		put_lv(e->out, &n, r.ck, r.ck_len);
		put_lv(e->out, &n, r.ik, r.ik_len);
		if (fs_service(p, ch->app, SERVICE_GSM_ACCESS))
			put_lv(e->out, &n, r.kc, AKA_KC_LEN);
		e->out_len = n;
		sw = SW_OK;
		break;
	case AKA_STATUS_SYNC_FAILURE:
		e->out[n++] = 0xdc;
		put_lv(e->out, &n, r.auts, r.auts_len);
		e->out_len = n;
		sw = SW_OK;
		break;
	default:
		sw = SW_AUTH_MAC_FAILURE;
		break;
	}
	aka_auth_result_wipe(&r);
	return sw;
}

/* GSM context (P2 '80', 7.1.2.2): data L RAND; answer L SRES L Kc.  Only
 * with service 38 (GSM security context). */
static uint16_t auth_gsm(struct usim_engine *e, const struct apdu *a,
			 const struct usim_channel *ch)
{
	uint8_t sres[AKA_SRES_LEN], kc[AKA_KC_LEN];
	size_t n = 0;

	if (a->lc != 1 + AKA_RAND_LEN || a->data[0] != AKA_RAND_LEN)
		return SW_WRONG_LENGTH;
	if (!fs_service(e->p, ch->app, SERVICE_GSM_SECURITY_CONTEXT))
		return SW_AUTH_CONTEXT_NOT_SUPPORTED;
	if (aka_usim_gsm(&e->p->aka, e->key, a->data + 1, sres, kc) < 0)
		return SW_TECHNICAL_PROBLEM;
	put_lv(e->out, &n, sres, sizeof(sres));
	put_lv(e->out, &n, kc, sizeof(kc));
	e->out_len = n;
	wipe(kc, sizeof(kc));
	return SW_OK;
}

/* Application code of an AID (TS 101 220 Annex E): bytes 6-7 after the
 * 3GPP RID A000000087; 1004 is the ISIM. */
static bool is_isim(const struct usim_profile *p, int app)
{
	static const uint8_t isim[] = { 0xa0, 0x00, 0x00, 0x00, 0x87,
					0x10, 0x04 };
	const struct usim_file *f = &p->files[app];

	return f->aid_len >= sizeof(isim) &&
	       !memcmp(f->aid, isim, sizeof(isim));
}

/*
 * USIM (TS 31.102 7.1.2): P2 '81' 3G/EPS/5G context, '80' GSM context.
 * ISIM (TS 31.103 7.1.2): P2 '81' IMS AKA context, the same computation
 * and answer as the 3G context (TS 33.203 6.1) without Kc (the ISIM has no
 * EF.UST, so service 27 never applies); the HTTP Digest and GBA contexts
 * are not supported.  Both applications share K and the SQN array: the
 * HSS/AuC keeps one SQN per subscription.
 */
uint16_t cmd_authenticate(struct usim_engine *e, const struct apdu *a,
			  struct usim_channel *ch)
{
	uint16_t sw;

	if (a->p1 != 0x00)
		return SW_INCORRECT_P1P2;
	if (a->p2 != 0x80 && a->p2 != 0x81)
		return SW_INCORRECT_P1P2;
	if ((sw = app_ready(e, ch)) != SW_OK)
		return sw;
	if (a->p2 == 0x80 && is_isim(e->p, ch->app))
		return SW_INCORRECT_P1P2;
	return a->p2 == 0x81 ? auth_3g(e, a, ch) : auth_gsm(e, a, ch);
}

/* ---- GET IDENTITY ------------------------------------------------------ */

static const struct usim_file *app_ef(const struct usim_profile *p, int app,
				      uint16_t df, uint16_t fid)
{
	int i = app;

	if (df) {
		i = fs_child(p, app, df);
		if (i < 0)
			return NULL;
	}
	i = fs_child(p, i, fid);
	if (i < 0 || p->files[i].kind != USIM_FILE_EF_TRANSPARENT)
		return NULL;
	return &p->files[i];
}

/* EF.IMSI (TS 31.102 4.2.2): length, then digits in BCD with the parity
 * nibble first. */
static bool imsi_digits(const struct usim_file *f, char *out, size_t max)
{
	size_t n = 0, len;

	if (!f || f->size < 2 || f->data[0] < 1 || f->data[0] > 8 ||
	    (size_t)f->data[0] + 1 > f->size)
		return false;
	len = f->data[0];
	for (size_t i = 1; i <= len; i++) {
		for (int half = 0; half < 2; half++) {
			unsigned d;

			if (i == 1 && half == 0)
				continue; /* parity / type nibble */
			d = half ? f->data[i] >> 4 : f->data[i] & 0x0f;
			if (d == 0x0f)
				continue;
			if (d > 9 || n + 1 >= max)
				return false;
			out[n++] = (char)('0' + d);
		}
	}
	out[n] = '\0';
	return n >= 6;
}

/* EF.Routing_Indicator (TS 31.102 4.4.11.11): up to 4 BCD digits. */
static void routing_indicator(const struct usim_file *f, char out[5])
{
	size_t n = 0;

	for (size_t i = 0; f && i < 2 && i < f->size; i++) {
		unsigned lo = f->data[i] & 0x0f, hi = f->data[i] >> 4;

		if (lo > 9)
			break;
		out[n++] = (char)('0' + lo);
		if (hi > 9)
			break;
		out[n++] = (char)('0' + hi);
	}
	if (!n)
		out[n++] = '0';
	out[n] = '\0';
}

struct suci_choice {
	enum aka_suci_scheme scheme;
	uint8_t key_id;
	const uint8_t *pub;
	size_t pub_len;
};

/* Walks top-level BER-TLVs with 1-byte tags and 1/2-byte lengths. */
static const uint8_t *find_do(const uint8_t *d, size_t n, uint8_t tag,
			      size_t *ret_len)
{
	size_t i = 0;

	while (i + 2 <= n && d[i] != 0xff) {
		size_t l = d[i + 1], h = 2;

		if (l == 0x81) {
			if (i + 3 > n)
				return NULL;
			l = d[i + 2];
			h = 3;
		} else if (l > 0x7f) {
			return NULL;
		}
		if (i + h + l > n)
			return NULL;
		if (d[i] == tag) {
			*ret_len = l;
			return d + i + h;
		}
		i += h + l;
	}
	return NULL;
}

/*
 * EF.SUCI_Calc_Info (TS 31.102 4.4.11.8): 'A0' protection scheme list of
 * (scheme id, key index) pairs by priority, 'A1' home network public keys
 * as '80' identifier / '81' key pairs (key index counts them from 1).  The
 * first scheme we implement wins.
 */
static bool choose_scheme(const struct usim_file *f, struct suci_choice *c)
{
	const uint8_t *list, *keys;
	size_t ll, kl = 0;

	if (!f)
		return false;
	list = find_do(f->data, f->size, 0xa0, &ll);
	if (!list)
		return false;
	keys = find_do(f->data, f->size, 0xa1, &kl);
	for (size_t i = 0; i + 1 < ll; i += 2) {
		unsigned scheme = list[i], index = list[i + 1];
		size_t off = 0;
		unsigned k = 0;
		uint8_t id = 0;
		bool have_id = false;

		if (scheme == AKA_SUCI_NULL) {
			*c = (struct suci_choice){ .scheme = AKA_SUCI_NULL };
			return true;
		}
		if (scheme != AKA_SUCI_PROFILE_A &&
		    scheme != AKA_SUCI_PROFILE_B)
			continue;
		while (keys && off + 2 <= kl) {
			size_t l = keys[off + 1], h = 2;

			if (l == 0x81 && off + 3 <= kl) {
				l = keys[off + 2];
				h = 3;
			} else if (l > 0x7f) {
				break;
			}
			if (off + h + l > kl)
				break;
			if (keys[off] == 0x80 && l == 1) {
				id = keys[off + h];
				have_id = true;
			} else if (keys[off] == 0x81 && have_id) {
				if (++k == index) {
					c->scheme = (enum aka_suci_scheme)scheme;
					c->key_id = id;
					c->pub = keys + off + h;
					c->pub_len = l;
					return true;
				}
				have_id = false;
			}
			off += h + l;
		}
	}
	return false;
}

/*
 * The SUPI as a network specific identifier (NAI) from EF.SUPI_NAI
 * (TS 31.102 4.4.11.10, tag '80'), when service 130 is available and the EF
 * holds one; GLI/GCI SUPIs are not supported (the IMSI is used then).
 */
static bool supi_nai(const struct usim_profile *p, int app, char *out,
		     size_t max)
{
	const struct usim_file *f;
	const uint8_t *v;
	size_t l = 0;

	if (!fs_service(p, app, SERVICE_SUPI_NSI_GLI_GCI))
		return false;
	f = app_ef(p, app, USIM_FID_5GS, FID_SUPI_NAI);
	if (!f || !(v = find_do(f->data, f->size, 0x80, &l)) || l < 3 ||
	    l >= max)
		return false;
	for (size_t i = 0; i < l; i++)
		if (v[i] < 0x21 || v[i] > 0x7e)
			return false;
	memcpy(out, v, l);
	out[l] = '\0';
	return true;
}

/*
 * GET IDENTITY, SUCI context (P2 '01', TS 31.102 7.5): the USIM computes
 * the SUCI when services 124 and 125 are both available (5.3.48; with
 * 124 only, the ME computes it and this command is refused).  Answer:
 * 'A1' L SUCI (BER length, so a long NAI SUCI comes through 61XX).
 */
uint16_t cmd_get_identity(struct usim_engine *e, const struct apdu *a,
			  struct usim_channel *ch)
{
	const struct usim_profile *p = e->p;
	struct aka_suci_input in = { 0 };
	struct aka_suci s;
	struct suci_choice c;
	const struct usim_file *ad;
	char supi[AKA_SUCI_NAI_MAX + 1], ri[5];
	size_t n = 0;
	uint16_t sw;

	if (a->p1 != 0x00 || (a->p2 & 0x7f) != 0x01)
		return SW_INCORRECT_P1P2;
	if (a->lc)
		return SW_WRONG_LENGTH;
	if ((sw = app_ready(e, ch)) != SW_OK)
		return sw;
	if (!fs_service(p, ch->app, SERVICE_SUCI_PRIVACY) ||
	    !fs_service(p, ch->app, SERVICE_SUCI_BY_USIM))
		return SW_CONDITIONS_NOT_SATISFIED;
	in.supi_type = AKA_SUPI_NAI;
	if (!supi_nai(p, ch->app, supi, sizeof(supi))) {
		in.supi_type = AKA_SUPI_IMSI;
		if (!imsi_digits(app_ef(p, ch->app, 0, FID_IMSI), supi, 16))
			return SW_TECHNICAL_PROBLEM;
	}
	if (!choose_scheme(app_ef(p, ch->app, USIM_FID_5GS,
				  FID_SUCI_CALC_INFO), &c))
		return SW_TECHNICAL_PROBLEM;
	routing_indicator(app_ef(p, ch->app, USIM_FID_5GS,
				 FID_ROUTING_INDICATOR), ri);
	ad = app_ef(p, ch->app, 0, FID_AD);
	in.supi = supi;
	/* EF.AD byte 4 b4-b1: length of the MNC (TS 31.102 4.2.18). */
	in.mnc_digits = ad && ad->size >= 4 && (ad->data[3] & 0x0f) == 3 ? 3 : 2;
	in.routing_indicator = ri;
	in.scheme = c.scheme;
	in.hn_key_id = c.key_id;
	in.hn_pub = c.pub;
	in.hn_pub_len = c.pub_len;
	if (aka_suci_conceal(&in, &s) < 0)
		return SW_TECHNICAL_PROBLEM;
	if (s.value_len + 4 > USIM_GETRESP_MAX)
		return SW_TECHNICAL_PROBLEM;
	e->out[n++] = 0xa1;
	if (s.value_len > 0xff) {
		e->out[n++] = 0x82;
		e->out[n++] = (uint8_t)(s.value_len >> 8);
	} else if (s.value_len > 0x7f) {
		e->out[n++] = 0x81;
	}
	e->out[n++] = (uint8_t)s.value_len;
	memcpy(e->out + n, s.value, s.value_len);
	e->out_len = n + s.value_len;
	return SW_OK;
}
