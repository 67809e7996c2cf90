// SPDX-License-Identifier: LGPL-2.1-or-later
/* Subscriptions: identities, secrets and the profile template; see subscription.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "hex.h"
#include "json-util.h"
#include "why.h"
#include "tools/mcim-operator/subscription.h"

static const char *const algorithm_names[] = {
	[SUB_MILENAGE] = "milenage",
	[SUB_TUAK] = "tuak",
};

const char *sub_algorithm_name(enum sub_algorithm a)
{
	return (unsigned)a < ARRAY_SIZE(algorithm_names) ? algorithm_names[a] : "?";
}

int sub_algorithm_from_name(const char *s, enum sub_algorithm *ret)
{
	for (unsigned i = 0; i < ARRAY_SIZE(algorithm_names); i++)
		if (!strcmp(s, algorithm_names[i])) {
			*ret = (enum sub_algorithm)i;
			return 0;
		}
	return -EINVAL;
}

static bool all_digits(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, "0123456789") == n;
}

/*
 * ISO/IEC 7812-1 Annex B (the check digit ITU-T E.118 prescribes for the
 * ICCID): from the rightmost digit, double every second digit (the rightmost
 * first), add the digits of the products and the other digits; the check
 * digit makes the sum a multiple of 10.
 */
int sub_luhn_digit(const char *digits)
{
	size_t n = strlen(digits);
	unsigned sum = 0;

	if (!all_digits(digits, 1, 64))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(digits[n - 1 - i] - '0');

		if (i % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return '0' + (int)((10 - sum % 10) % 10);
}

int sub_iccid_make(const char *prefix, uint64_t serial, char ret[SUB_ICCID_DIGITS + 1])
{
	size_t p = strlen(prefix), width;
	char buf[32];
	int c;

	if (!all_digits(prefix, 2, SUB_ICCID_DIGITS - 2) || strncmp(prefix, "89", 2))
		return -EINVAL;
	width = SUB_ICCID_DIGITS - 1 - p;
	if (snprintf(buf, sizeof(buf), "%0*llu", (int)width, (unsigned long long)serial) !=
	    (int)width)
		return -ERANGE;
	memcpy(ret, prefix, p);
	memcpy(ret + p, buf, width);
	ret[SUB_ICCID_DIGITS - 1] = 0;
	c = sub_luhn_digit(ret);
	if (c < 0)
		return c;
	ret[SUB_ICCID_DIGITS - 1] = (char)c;
	ret[SUB_ICCID_DIGITS] = 0;
	return 0;
}

int sub_imsi_next(const char *first, const char *range_last, const char *last,
		  char ret[SUB_IMSI_MAX + 1], uint64_t *ret_index)
{
	size_t n = strlen(first);
	uint64_t a, b, next;

	if (!all_digits(first, 6, SUB_IMSI_MAX) || strlen(range_last) != n ||
	    !all_digits(range_last, n, n) || strcmp(first, range_last) > 0)
		return -EINVAL;
	a = strtoull(first, NULL, 10);
	b = strtoull(range_last, NULL, 10);
	if (!last || !*last) {
		next = a;
	} else {
		uint64_t l;

		if (strlen(last) != n || !all_digits(last, n, n))
			return -EINVAL;
		l = strtoull(last, NULL, 10);
		if (l < a || l >= b)
			return l < a ? -EINVAL : -ENOSPC;
		next = l + 1;
	}
	snprintf(ret, SUB_IMSI_MAX + 1, "%0*llu", (int)n, (unsigned long long)next);
	if (ret_index)
		*ret_index = next - a;
	return 0;
}

/* TS 102 221 13.2: the ICCID's digits in BCD, each byte's nibbles swapped, 'F' padded. */
int sub_ef_iccid(const char *iccid, char ret_hex[21])
{
	uint8_t b[10];
	size_t n = strlen(iccid);

	if (!all_digits(iccid, 1, 20))
		return -EINVAL;
	memset(b, 0xff, sizeof(b));
	for (size_t i = 0; i < n; i++) {
		uint8_t d = (uint8_t)(iccid[i] - '0');

		if (i % 2 == 0)
			b[i / 2] = (uint8_t)((b[i / 2] & 0xf0) | d);
		else
			b[i / 2] = (uint8_t)((b[i / 2] & 0x0f) | (d << 4));
	}
	hex_encode(b, sizeof(b), ret_hex);
	return 0;
}

/*
 * TS 31.102 4.2.2: byte 1 the length of what follows; then the first digit
 * in the high nibble of byte 2 with the low nibble 1001 (odd number of
 * digits) or 0001 (even): the identity type IMSI and the parity bit (TS 24.008
 * 10.5.1.4); the other digits two a byte, low nibble first; 'F' padded to 9.
 */
int sub_ef_imsi(const char *imsi, char ret_hex[19])
{
	uint8_t b[9];
	size_t n = strlen(imsi);

	if (!all_digits(imsi, 6, SUB_IMSI_MAX))
		return -EINVAL;
	memset(b, 0xff, sizeof(b));
	b[0] = (uint8_t)((n + 2) / 2);
	b[1] = (uint8_t)(((imsi[0] - '0') << 4) | (n % 2 ? 0x9 : 0x1));
	for (size_t i = 1; i < n; i++) {
		uint8_t d = (uint8_t)(imsi[i] - '0');
		size_t at = 1 + (i + 1) / 2;

		if (i % 2)
			b[at] = (uint8_t)((b[at] & 0xf0) | d);
		else
			b[at] = (uint8_t)((b[at] & 0x0f) | (d << 4));
	}
	hex_encode(b, sizeof(b), ret_hex);
	return 0;
}

/* n random decimal digits (rejection sampling: no modulo bias) as a PIN field. */
static int random_pin(size_t n, uint8_t field[SUB_PIN_FIELD])
{
	uint8_t r[32];
	size_t got = 0;

	memset(field, 0xff, SUB_PIN_FIELD);
	while (got < n) {
		if (RAND_priv_bytes(r, sizeof(r)) != 1)
			return -EIO;
		for (size_t i = 0; i < sizeof(r) && got < n; i++)
			if (r[i] < 250)
				field[got++] = (uint8_t)('0' + r[i] % 10);
	}
	OPENSSL_cleanse(r, sizeof(r));
	return 0;
}

int sub_secrets_new(enum sub_algorithm a, struct sub_secrets *ret)
{
	struct sub_secrets s = { 0 };
	int r = 0;

	s.k_len = a == SUB_TUAK ? 32 : 16;
	s.opc_len = a == SUB_TUAK ? 32 : 16;
	if (RAND_priv_bytes(s.k, s.k_len) != 1 || RAND_priv_bytes(s.opc, s.opc_len) != 1)
		r = -EIO;
	if (r == 0)
		r = random_pin(4, s.pin1);
	if (r == 0)
		r = random_pin(8, s.puk1);
	if (r == 0)
		r = random_pin(4, s.pin2);
	if (r == 0)
		r = random_pin(8, s.puk2);
	if (r == 0)
		r = random_pin(8, s.adm1);
	if (r == 0)
		*ret = s;
	OPENSSL_cleanse(&s, sizeof(s));
	return r;
}

void sub_secrets_serialize(const struct sub_secrets *s, uint8_t out[SUB_SECRETS_SIZE])
{
	uint8_t *p = out;

	*p++ = 1;
	*p++ = s->k_len;
	memcpy(p, s->k, 32);
	p += 32;
	*p++ = s->opc_len;
	memcpy(p, s->opc, 32);
	p += 32;
	memcpy(p, s->pin1, SUB_PIN_FIELD);
	memcpy(p + 8, s->puk1, SUB_PIN_FIELD);
	memcpy(p + 16, s->pin2, SUB_PIN_FIELD);
	memcpy(p + 24, s->puk2, SUB_PIN_FIELD);
	memcpy(p + 32, s->adm1, SUB_PIN_FIELD);
}

int sub_secrets_parse(const uint8_t in[SUB_SECRETS_SIZE], struct sub_secrets *ret)
{
	const uint8_t *p = in;

	if (p[0] != 1 || (p[1] != 16 && p[1] != 32) || (p[34] != 16 && p[34] != 32))
		return -EBADMSG;
	ret->k_len = p[1];
	memcpy(ret->k, p + 2, 32);
	ret->opc_len = p[34];
	memcpy(ret->opc, p + 35, 32);
	p += 67;
	memcpy(ret->pin1, p, SUB_PIN_FIELD);
	memcpy(ret->puk1, p + 8, SUB_PIN_FIELD);
	memcpy(ret->pin2, p + 16, SUB_PIN_FIELD);
	memcpy(ret->puk2, p + 24, SUB_PIN_FIELD);
	memcpy(ret->adm1, p + 32, SUB_PIN_FIELD);
	return 0;
}

void sub_pin_text(const uint8_t field[SUB_PIN_FIELD], char ret[SUB_PIN_FIELD + 1])
{
	size_t i;

	for (i = 0; i < SUB_PIN_FIELD && field[i] != 0xff; i++)
		ret[i] = (char)field[i];
	ret[i] = 0;
}

/* ---- the profile template ---- */

static const char *str_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* path is dir + "/" + fid for one of the dirs (case-insensitive FIDs). */
static bool path_is(const char *path, const char *const *dirs, const char *fid)
{
	for (unsigned i = 0; dirs[i]; i++) {
		size_t n = strlen(dirs[i]);

		if (!strncasecmp(path, dirs[i], n) && path[n] == '/' && !strcasecmp(path + n + 1, fid))
			return true;
	}
	return false;
}

/*
 * Sets the contents of the EFs at dirs/fid: exactly one when required,
 * else at most one.
 */
static int set_file(struct json_object *files, const char *const *dirs, const char *fid,
		    bool required, const char *what, const char *hex, char *why, size_t why_size)
{
	struct json_object *found = NULL;
	size_t n = json_object_array_length(files);

	for (size_t i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(files, i);
		const char *path = str_member(f, "path");

		if (!path || !path_is(path, dirs, fid))
			continue;
		if (found)
			return why_fail(why, why_size, -EINVAL, "the template has more than one %s", what);
		found = f;
	}
	if (!found && required)
		return why_fail(why, why_size, -EINVAL, "the template has no %s", what);
	if (found)
		json_object_object_add(found, "contents", json_object_new_string(hex));
	return 0;
}

/*
 * Fills EF.ICCID (MF/2FE2, TS 102 221 13.2), EF.IMSI of the USIM (ADF.USIM,
 * AID A0000000871002..., TS 31.102 4.2.2) and, when the template has one,
 * EF.IMSI of DF.GSM (7F20, TS 51.011 10.3.2).
 */
static int set_identities(struct json_object *files, const char *ef_iccid, const char *ef_imsi,
			  char *why, size_t why_size)
{
	static const char *const mf[] = { "3F00", "MF", NULL };
	const char *usim[4] = { "3F00/7FFF", "MF/7FFF", NULL, NULL };
	const char *gsm[4] = { "3F00/7F20", "MF/7F20", NULL, NULL };
	size_t n = json_object_array_length(files);
	int r;

	for (size_t i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(files, i);
		const char *type = str_member(f, "type"), *name = str_member(f, "name");
		const char *aid = str_member(f, "aid"), *path = str_member(f, "path");

		if (!type || !name)
			continue;
		if (!strcmp(type, "ADF") && aid && !strncasecmp(aid, "a0000000871002", 14))
			usim[2] = name;
		if (!strcmp(type, "DF") && path &&
		    (!strcasecmp(path, "3F00/7F20") || !strcasecmp(path, "MF/7F20")))
			gsm[2] = name;
	}
	r = set_file(files, mf, "2FE2", true, "EF.ICCID (MF/2FE2)", ef_iccid, why, why_size);
	if (r == 0)
		r = set_file(files, usim, "6F07", true, "EF.IMSI of the USIM (3F00/7FFF/6F07)",
			     ef_imsi, why, why_size);
	if (r == 0)
		r = set_file(files, gsm, "6F07", false, "EF.IMSI of DF.GSM (7F20/6F07)", ef_imsi,
			     why, why_size);
	return r;
}

static const char *const secret_auth[] = { "k", "op", "opc", "top", "topc", NULL };
static const char *const secret_pin[] = { "value", "value_hex", "puk", NULL };

int sub_pin_values(const struct sub_secrets *s, uint8_t ref, const uint8_t **ret_value,
		   const uint8_t **ret_puk)
{
	switch (ref) {
	case 0x01: *ret_value = s->pin1; *ret_puk = s->puk1; return 0;
	case 0x81: *ret_value = s->pin2; *ret_puk = s->puk2; return 0;
	case 0x0a: *ret_value = s->adm1; *ret_puk = NULL; return 0;
	default: return -EINVAL;
	}
}

int sub_pin_ref(const char *s, uint8_t *ret)
{
	static const struct {
		const char *name, *hex;
		uint8_t ref;
	} refs[] = { { "PIN1", "01", 0x01 }, { "PIN2", "81", 0x81 }, { "ADM1", "0A", 0x0a } };

	for (size_t i = 0; i < ARRAY_SIZE(refs); i++)
		if (!strcmp(s, refs[i].name) || !strcasecmp(s, refs[i].hex)) {
			*ret = refs[i].ref;
			return 0;
		}
	return -EINVAL;
}

/* The template's PINs: no value, only those sub_secrets makes; their refs as hex. */
static int check_pins(struct json_object *pins, char ret_pins[SUB_PIN_REFS_MAX], char *why,
		      size_t why_size)
{
	size_t n;

	if (!json_object_is_type(pins, json_type_array))
		return why_fail(why, why_size, -EINVAL, "\"pins\" must be an array");
	n = json_object_array_length(pins);
	if (n > (SUB_PIN_REFS_MAX - 1) / 2)
		return why_fail(why, why_size, -EINVAL, "the template has more than %d PINs",
			    (SUB_PIN_REFS_MAX - 1) / 2);
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(pins, i);
		const char *ref = str_member(p, "ref");
		uint8_t b;

		if (!ref)
			return why_fail(why, why_size, -EINVAL, "a PIN of the template has no \"ref\"");
		for (unsigned j = 0; secret_pin[j]; j++)
			if (json_object_object_get_ex(p, secret_pin[j], NULL))
				return why_fail(why, why_size, -EINVAL,
					    "the template's PIN %.8s has a value: secrets are made "
					    "per subscription, never taken from a template", ref);
		if (sub_pin_ref(ref, &b) < 0)
			return why_fail(why, why_size, -EINVAL,
				    "the template's PIN \"%.8s\" is not PIN1, PIN2 or ADM1 (the PINs a "
				    "subscription gets values for)", ref);
		hex_encode(&b, 1, ret_pins + 2 * i);
	}
	return 0;
}

int sub_template_fill(const char *json, size_t len, enum sub_algorithm *algo, bool algo_given,
		      const char *iccid, const char *imsi, char **ret,
		      char ret_pins[SUB_PIN_REFS_MAX], char *why, size_t why_size)
{
	char pins[SUB_PIN_REFS_MAX] = "";
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *v, *auth, *files;
	char ef_iccid[21], ef_imsi[19];
	const char *text;
	int r;

	if (len > SUB_TEMPLATE_MAX)
		return why_fail(why, why_size, -EINVAL, "the template is larger than 192 KiB");
	r = ju_parse(json, len, 16, &o, why, why_size);
	if (r < 0)
		return r;
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "format", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "mcim-profile") ||
	    !json_object_object_get_ex(o, "version", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != 1)
		return why_fail(why, why_size, -EINVAL,
			    "not a profile description (\"format\": \"mcim-profile\", \"version\": 1)");
	if (!json_object_object_get_ex(o, "auth", &auth) ||
	    !json_object_is_type(auth, json_type_object))
		return why_fail(why, why_size, -EINVAL, "the template has no \"auth\" object");
	for (unsigned j = 0; secret_auth[j]; j++)
		if (json_object_object_get_ex(auth, secret_auth[j], NULL))
			return why_fail(why, why_size, -EINVAL,
				    "the template has auth.%s: secrets are made per subscription, "
				    "never taken from a template", secret_auth[j]);
	if (json_object_object_get_ex(auth, "algorithm", &v)) {
		enum sub_algorithm a;

		if (!json_object_is_type(v, json_type_string) ||
		    sub_algorithm_from_name(json_object_get_string(v), &a) < 0)
			return why_fail(why, why_size, -EINVAL, "auth.algorithm is not milenage or tuak");
		if (algo_given && a != *algo)
			return why_fail(why, why_size, -EINVAL, "the template's auth.algorithm is %s, not the one asked",
				    sub_algorithm_name(a));
		*algo = a;
	} else {
		json_object_object_add(auth, "algorithm",
				       json_object_new_string(sub_algorithm_name(*algo)));
	}
	if (json_object_object_get_ex(o, "pins", &v)) {
		r = check_pins(v, pins, why, why_size);
		if (r < 0)
			return r;
	}
	if (!json_object_object_get_ex(o, "files", &files) ||
	    !json_object_is_type(files, json_type_array))
		return why_fail(why, why_size, -EINVAL, "the template has no \"files\" array");
	if (sub_ef_iccid(iccid, ef_iccid) < 0 || sub_ef_imsi(imsi, ef_imsi) < 0)
		return -EINVAL;
	r = set_identities(files, ef_iccid, ef_imsi, why, why_size);
	if (r < 0)
		return r;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	*ret = text ? strdup(text) : NULL;
	if (ret_pins)
		memcpy(ret_pins, pins, sizeof(pins));
	return *ret ? 0 : -ENOMEM;
}

int sub_template_ind_bits(const char *json)
{
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *sqn, *v;
	char why[64];

	if (ju_parse(json, strlen(json), 16, &o, why, sizeof(why)) == 0 &&
	    json_object_object_get_ex(o, "sqn", &sqn) &&
	    json_object_object_get_ex(sqn, "ind_bits", &v) && json_object_is_type(v, json_type_int))
		return (int)json_object_get_int64(v);
	return 5;
}
