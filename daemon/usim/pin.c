// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * PINs and access conditions: VERIFY, CHANGE, DISABLE, ENABLE and UNBLOCK
 * PIN (TS 102 221 11.1.9 - 11.1.13, key references 9.5.1) and the access
 * rules of EF.ARR in expanded format (TS 102 221 9.2.7, ISO/IEC 7816-4
 * 7.4.3: AM DOs followed by SC DOs).
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "daemon/usim/internal.h"

int pin_index(const struct usim_profile *p, uint8_t key_ref)
{
	for (size_t i = 0; i < p->n_pins; i++)
		if (p->pins[i].key_ref == key_ref)
			return (int)i;
	return -ENOENT;
}

static bool is_app_pin(uint8_t k)
{
	return k >= 0x01 && k <= 0x08;
}

static bool is_adm(uint8_t k)
{
	return (k >= 0x0a && k <= 0x0e) || (k >= 0x8a && k <= 0x8e);
}

/* Whether the security status for key_ref is reached: verified, or the PIN
 * disabled (TS 102 221 9.5.1), or for an application PIN replaced by the
 * universal PIN, the universal PIN's status. */
bool pin_satisfied(const struct usim_engine *e, uint8_t key_ref)
{
	const struct usim_profile *p = e->p;
	int i = pin_index(p, key_ref);

	if (i < 0)
		return false;
	if (is_app_pin(key_ref) && p->pins[i].use_upin) {
		int u = pin_index(p, USIM_KEYREF_UPIN);

		if (u < 0)
			return false;
		return !p->pins[u].enabled || e->rt.verified[u];
	}
	return !p->pins[i].enabled || e->rt.verified[i];
}

/* ---- EF.ARR ------------------------------------------------------------ */

struct tlv {
	uint8_t tag;
	const uint8_t *v;
	size_t len;
};

/* Next BER-TLV with a one-byte tag; stops at padding ('FF' or '00'). */
static bool tlv_next(const uint8_t **pp, const uint8_t *end, struct tlv *t)
{
	const uint8_t *q = *pp;
	size_t l;

	if (q >= end || *q == 0xff || *q == 0x00)
		return false;
	t->tag = *q++;
	if (q >= end)
		return false;
	l = *q++;
	if (l == 0x81) {
		if (q >= end)
			return false;
		l = *q++;
	} else if (l > 0x80) {
		return false;
	}
	if ((size_t)(end - q) < l)
		return false;
	t->v = q;
	t->len = l;
	*pp = q + l;
	return true;
}

static int crt_key_ref(const struct tlv *crt)
{
	const uint8_t *q = crt->v, *end = crt->v + crt->len;
	struct tlv t;

	while (tlv_next(&q, end, &t))
		if (t.tag == 0x83 && t.len == 1)
			return t.v[0];
	return -1;
}

/* One security condition DO (ISO/IEC 7816-4 Table 20). */
static bool sc_ok(const struct usim_engine *e, const struct tlv *sc,
		  unsigned depth)
{
	const uint8_t *q = sc->v, *end = sc->v + sc->len;
	struct tlv t;
	int k;

	switch (sc->tag) {
	case 0x90: /* always */
		return true;
	case 0x97: /* never */
		return false;
	case 0xa4: /* user authentication with a key reference */
		k = crt_key_ref(sc);
		return k >= 0 && pin_satisfied(e, (uint8_t)k);
	case 0xa0: /* OR template */
		if (depth > 2)
			return false;
		while (tlv_next(&q, end, &t))
			if (sc_ok(e, &t, depth + 1))
				return true;
		return false;
	case 0xaf: /* AND template */
		if (depth > 2)
			return false;
		{
			bool any = false;

			while (tlv_next(&q, end, &t)) {
				if (!sc_ok(e, &t, depth + 1))
					return false;
				any = true;
			}
			return any;
		}
	default:
		return false;
	}
}

static bool is_am_do(uint8_t tag)
{
	return tag >= 0x80 && tag <= 0x8f;
}

/*
 * An AM DO is followed by one or more SC DOs, any of which grants access
 * (OR).  A command-specific AM DO ('84' with INS) takes precedence over the
 * access mode byte ('80'); no matching rule means no access.
 */
uint16_t access_check(const struct usim_engine *e, int idx, uint8_t am,
		      uint8_t ins)
{
	const struct usim_file *f = &e->p->files[idx];
	const uint8_t *rec, *q, *end;
	size_t len;
	struct tlv t;
	bool in_am = false, in_ins = false;
	bool am_found = false, am_ok = false, ins_found = false,
	     ins_ok = false;

	if (!f->arr_fid)
		return SW_OK;
	rec = fs_arr_record(e->p, idx, &len);
	if (!rec)
		return SW_SECURITY_NOT_SATISFIED;
	q = rec;
	end = rec + len;
	while (tlv_next(&q, end, &t)) {
		if (is_am_do(t.tag)) {
			in_am = t.tag == 0x80 && t.len == 1 && (t.v[0] & am);
			in_ins = t.tag == 0x84 && t.len == 1 && t.v[0] == ins;
			am_found |= in_am;
			ins_found |= in_ins;
			continue;
		}
		if (in_ins && sc_ok(e, &t, 0))
			ins_ok = true;
		if (in_am && sc_ok(e, &t, 0))
			am_ok = true;
	}
	if (ins_found)
		return ins_ok ? SW_OK : SW_SECURITY_NOT_SATISFIED;
	return am_found && am_ok ? SW_OK : SW_SECURITY_NOT_SATISFIED;
}

static int unknown_ref_in(const struct usim_profile *p, const struct tlv *sc,
			  unsigned depth)
{
	const uint8_t *q = sc->v, *end = sc->v + sc->len;
	struct tlv t;
	int k, r;

	if (sc->tag == 0xa4) {
		k = crt_key_ref(sc);
		return k >= 0 && pin_index(p, (uint8_t)k) < 0 ? k : -1;
	}
	if ((sc->tag == 0xa0 || sc->tag == 0xaf) && depth <= 2)
		while (tlv_next(&q, end, &t))
			if ((r = unknown_ref_in(p, &t, depth + 1)) >= 0)
				return r;
	return -1;
}

int arr_unknown_key_ref(const struct usim_profile *p, const uint8_t *rec,
			size_t len)
{
	const uint8_t *q = rec, *end = rec + len;
	struct tlv t;
	int r;

	while (tlv_next(&q, end, &t))
		if (!is_am_do(t.tag) && (r = unknown_ref_in(p, &t, 0)) >= 0)
			return r;
	return -1;
}

/* ---- PIN commands ------------------------------------------------------ */

/* PIN format, TS 102 221 9.5.1: 4 to 8 ASCII digits padded with 'FF'.
 * ADM keys are operator defined: any 8 bytes. */
static bool pin_format_ok(uint8_t key_ref, const uint8_t *v)
{
	size_t n = 0;

	if (is_adm(key_ref))
		return true;
	while (n < USIM_PIN_LEN && v[n] >= '0' && v[n] <= '9')
		n++;
	if (n < 4)
		return false;
	for (size_t i = n; i < USIM_PIN_LEN; i++)
		if (v[i] != 0xff)
			return false;
	return true;
}

static uint16_t lookup(struct usim_engine *e, const struct apdu *a, int *ret)
{
	int i = pin_index(e->p, a->p2);

	if (i < 0)
		return SW_REF_DATA_NOT_FOUND;
	*ret = i;
	return SW_OK;
}

static uint16_t tries_sw(unsigned n)
{
	return (uint16_t)(SW_RETRIES | (n & 0x0f));
}

static uint16_t pin_failed(struct usim_engine *e, int i)
{
	struct usim_pin *pin = &e->p->pins[i];

	if (pin->tries_left)
		pin->tries_left--;
	e->rt.verified[i] = false;
	note_pin(e, i);
	return tries_sw(pin->tries_left);
}

static void pin_passed(struct usim_engine *e, int i)
{
	struct usim_pin *pin = &e->p->pins[i];

	if (pin->tries_left != pin->max_tries) {
		pin->tries_left = pin->max_tries;
		note_pin(e, i);
	}
	e->rt.verified[i] = true;
}

static bool pin_equal(const struct usim_pin *pin, const uint8_t *v)
{
	return CRYPTO_memcmp(pin->value, v, USIM_PIN_LEN) == 0;
}

uint16_t cmd_verify_pin(struct usim_engine *e, const struct apdu *a,
			struct usim_channel *ch)
{
	struct usim_pin *pin;
	uint16_t sw;
	int i;

	(void)ch;
	if (a->p1 != 0x00)
		return SW_INCORRECT_P1P2;
	if ((sw = lookup(e, a, &i)) != SW_OK)
		return sw;
	pin = &e->p->pins[i];
	if (a->lc == 0) {
		/* No data: report the retry counter (11.1.9). */
		if (!pin->tries_left)
			return SW_AUTH_BLOCKED;
		if (e->rt.verified[i] || !pin->enabled)
			return SW_OK;
		return tries_sw(pin->tries_left);
	}
	if (a->lc != USIM_PIN_LEN)
		return SW_WRONG_LENGTH;
	if (!pin->tries_left)
		return SW_AUTH_BLOCKED;
	if (!pin->enabled)
		return SW_REF_DATA_INVALIDATED;
	if (!pin_equal(pin, a->data))
		return pin_failed(e, i);
	pin_passed(e, i);
	return SW_OK;
}

uint16_t cmd_change_pin(struct usim_engine *e, const struct apdu *a,
			struct usim_channel *ch)
{
	struct usim_pin *pin;
	uint16_t sw;
	int i;

	(void)ch;
	if (a->p1 != 0x00)
		return SW_INCORRECT_P1P2;
	if ((sw = lookup(e, a, &i)) != SW_OK)
		return sw;
	pin = &e->p->pins[i];
	if (a->lc != 2 * USIM_PIN_LEN)
		return SW_WRONG_LENGTH;
	if (!pin->tries_left)
		return SW_AUTH_BLOCKED;
	if (!pin->enabled)
		return SW_REF_DATA_INVALIDATED;
	if (!pin_format_ok(pin->key_ref, a->data + USIM_PIN_LEN))
		return SW_WRONG_DATA;
	if (!pin_equal(pin, a->data))
		return pin_failed(e, i);
	memcpy(pin->value, a->data + USIM_PIN_LEN, USIM_PIN_LEN);
	pin->tries_left = pin->max_tries;
	e->rt.verified[i] = true;
	note_pin(e, i);
	return SW_OK;
}

uint16_t cmd_disable_pin(struct usim_engine *e, const struct apdu *a,
			 struct usim_channel *ch)
{
	struct usim_pin *pin;
	bool replace;
	uint16_t sw;
	int i;

	(void)ch;
	/* P1 '00': disable; '91' (b8 + key reference 11): replace the
	 * application PIN by the universal PIN (11.1.10). */
	if (a->p1 != 0x00 && a->p1 != (0x80 | USIM_KEYREF_UPIN))
		return SW_INCORRECT_P1P2;
	replace = a->p1 != 0x00;
	if ((sw = lookup(e, a, &i)) != SW_OK)
		return sw;
	pin = &e->p->pins[i];
	if (a->lc != USIM_PIN_LEN)
		return SW_WRONG_LENGTH;
	if (replace && (!is_app_pin(pin->key_ref) ||
			pin_index(e->p, USIM_KEYREF_UPIN) < 0))
		return SW_INCORRECT_P1P2;
	if (!pin->can_disable)
		return SW_CONDITIONS_NOT_SATISFIED;
	if (!pin->tries_left)
		return SW_AUTH_BLOCKED;
	if (!pin->enabled)
		return SW_CONDITIONS_NOT_SATISFIED;
	if (!pin_equal(pin, a->data))
		return pin_failed(e, i);
	pin_passed(e, i);
	pin->enabled = false;
	pin->use_upin = replace;
	note_pin(e, i);
	return SW_OK;
}

uint16_t cmd_enable_pin(struct usim_engine *e, const struct apdu *a,
			struct usim_channel *ch)
{
	struct usim_pin *pin;
	uint16_t sw;
	int i;

	(void)ch;
	if (a->p1 != 0x00)
		return SW_INCORRECT_P1P2;
	if ((sw = lookup(e, a, &i)) != SW_OK)
		return sw;
	pin = &e->p->pins[i];
	if (a->lc != USIM_PIN_LEN)
		return SW_WRONG_LENGTH;
	if (!pin->tries_left)
		return SW_AUTH_BLOCKED;
	if (pin->enabled)
		return SW_CONDITIONS_NOT_SATISFIED;
	if (!pin_equal(pin, a->data))
		return pin_failed(e, i);
	pin_passed(e, i);
	pin->enabled = true;
	pin->use_upin = false;
	note_pin(e, i);
	return SW_OK;
}

uint16_t cmd_unblock_pin(struct usim_engine *e, const struct apdu *a,
			 struct usim_channel *ch)
{
	struct usim_pin *pin;
	uint16_t sw;
	int i;

	(void)ch;
	if (a->p1 != 0x00)
		return SW_INCORRECT_P1P2;
	if ((sw = lookup(e, a, &i)) != SW_OK)
		return sw;
	pin = &e->p->pins[i];
	if (!pin->has_puk)
		return SW_CONDITIONS_NOT_SATISFIED;
	if (a->lc == 0) {
		if (!pin->puk_tries_left)
			return SW_AUTH_BLOCKED;
		return tries_sw(pin->puk_tries_left);
	}
	if (a->lc != 2 * USIM_PIN_LEN)
		return SW_WRONG_LENGTH;
	if (!pin->puk_tries_left)
		return SW_AUTH_BLOCKED;
	if (!pin_format_ok(pin->key_ref, a->data + USIM_PIN_LEN))
		return SW_WRONG_DATA;
	if (CRYPTO_memcmp(pin->puk, a->data, USIM_PIN_LEN) != 0) {
		pin->puk_tries_left--;
		e->rt.verified[i] = false;
		note_pin(e, i);
		return tries_sw(pin->puk_tries_left);
	}
	/* 11.1.13.1.1: new value, both counters reset, the PIN enabled and
	 * its access condition level satisfied. */
	memcpy(pin->value, a->data + USIM_PIN_LEN, USIM_PIN_LEN);
	pin->tries_left = pin->max_tries;
	pin->puk_tries_left = pin->puk_max_tries;
	pin->enabled = true;
	pin->use_upin = false;
	e->rt.verified[i] = true;
	note_pin(e, i);
	return SW_OK;
}
