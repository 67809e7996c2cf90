// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * JSON profile loader: docs/profile-format.md is the specification of what
 * this file accepts.  One pass over the JSON tree, building the usim.h
 * model as it goes; every rejection names the element (as a JSON path) in
 * the caller's why buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/usim/profile-json.h"
#include "hex.h"
#include "fileio.h"
#include "macro.h"

#define PATH_MAX_COMPONENTS USIM_MAX_DEPTH
#define NAME_MAX_LEN 64

struct loader {
	struct usim_profile *p;
	struct aka_plain_secret *k;
	bool public_only; /* profile_json_load_public(): no secret allowed */
	char *why;
	size_t why_size;
	/* Names of DFs and ADFs, for paths such as "DF.5GS/4F01". */
	char (*df_names)[NAME_MAX_LEN + 1];
	int *df_index;
	size_t n_df_names;
};

static void json_object_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}

static void usim_profile_freep(struct usim_profile **p)
{
	usim_profile_free(*p);
}

_printf_(3, 4) static int fail(struct loader *l, const char *where,
			       const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (!l->why || !l->why_size)
		return -EINVAL;
	if (where && *where)
		n = snprintf(l->why, l->why_size, "%s: ", where);
	if (n < 0 || (size_t)n >= l->why_size)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(l->why + n, l->why_size - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* snprintf into a path buffer; a path cut short only shortens a message. */
_printf_(3, 4) static const char *pathf(char *buf, size_t size,
				       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return buf;
}

/* Builds "base.key" or "base[i]" into buf. */
static const char *subpath(char *buf, size_t size, const char *base,
			   const char *key, int index)
{
	if (key)
		return pathf(buf, size, "%s%s%s", base, *base ? "." : "", key);
	return pathf(buf, size, "%s[%d]", base, index);
}

static const char *type_name(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a fractional number";
	case json_type_int:
		return "a number";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "?";
}

/* Rejects keys that the object may not have: typos must not pass silently. */
static int check_keys(struct loader *l, json_object *obj, const char *where,
		      const char *const *allowed)
{
	json_object_object_foreach(obj, key, val)
	{
		bool ok = false;

		(void)val;
		for (size_t i = 0; allowed[i]; i++)
			if (!strcmp(key, allowed[i]))
				ok = true;
		if (!ok)
			return fail(l, where, "unknown key \"%s\"", key);
	}
	return 0;
}

static int get_typed(struct loader *l, json_object *obj, const char *where,
		     const char *key, enum json_type type, const char *what,
		     bool required, json_object **ret)
{
	char path[128];
	json_object *v = NULL;

	*ret = NULL;
	if (!json_object_object_get_ex(obj, key, &v)) {
		if (required)
			return fail(l, where, "missing \"%s\"", key);
		return 0;
	}
	if (!json_object_is_type(v, type))
		return fail(l, subpath(path, sizeof(path), where, key, 0),
			    "must be %s, not %s", what, type_name(v));
	*ret = v;
	return 0;
}

static int get_string(struct loader *l, json_object *obj, const char *where,
		      const char *key, bool required, const char **ret)
{
	json_object *v;
	int r;

	*ret = NULL;
	r = get_typed(l, obj, where, key, json_type_string, "a string",
		      required, &v);
	if (r < 0 || !v)
		return r;
	*ret = json_object_get_string(v);
	return 0;
}

static int get_bool(struct loader *l, json_object *obj, const char *where,
		    const char *key, bool def, bool *ret)
{
	json_object *v;
	int r;

	*ret = def;
	r = get_typed(l, obj, where, key, json_type_boolean, "true or false",
		      false, &v);
	if (r < 0 || !v)
		return r;
	*ret = json_object_get_boolean(v);
	return 0;
}

/* An integer in [min, max]; def when absent (and not required). */
static int get_int(struct loader *l, json_object *obj, const char *where,
		   const char *key, bool required, int64_t min, int64_t max,
		   int64_t def, int64_t *ret)
{
	char path[128];
	json_object *v;
	int64_t x;
	int r;

	*ret = def;
	r = get_typed(l, obj, where, key, json_type_int, "an integer",
		      required, &v);
	if (r < 0 || !v)
		return r;
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < min || x > max)
		return fail(l, subpath(path, sizeof(path), where, key, 0),
			    "%s out of range %lld..%lld",
			    json_object_get_string(v), (long long)min,
			    (long long)max);
	*ret = x;
	return 0;
}

/* Hex string of len bytes with min <= len <= max. */
static int parse_hex(struct loader *l, const char *where, const char *s,
		     uint8_t *out, size_t min, size_t max, size_t *ret_len)
{
	int n = hex_decode(s, out, max);

	if (n == -EMSGSIZE)
		return fail(l, where, "more than %zu bytes", max);
	if (n < 0)
		return fail(l, where, "not hex (pairs of 0-9 a-f, spaces allowed)");
	if ((size_t)n < min) {
		if (min == max)
			return fail(l, where, "%d bytes, must be %zu", n, min);
		return fail(l, where, "%d bytes, must be at least %zu", n, min);
	}
	*ret_len = (size_t)n;
	return 0;
}

static int get_hex(struct loader *l, json_object *obj, const char *where,
		   const char *key, bool required, uint8_t *out, size_t min,
		   size_t max, size_t *ret_len)
{
	char path[128];
	const char *s;
	int r;

	*ret_len = 0;
	r = get_string(l, obj, where, key, required, &s);
	if (r < 0 || !s)
		return r;
	return parse_hex(l, subpath(path, sizeof(path), where, key, 0), s, out,
			 min, max, ret_len);
}

/* ---- ATR --------------------------------------------------------------- */

/*
 * Structure of an ATR, ISO/IEC 7816-3 8.2: TS, T0, interface bytes as
 * announced by Y1 and each TDi, K historical bytes, and TCK when any
 * protocol other than T=0 is indicated (then the XOR of T0..TCK is 0).
 */
static int check_atr(struct loader *l, const char *where, const uint8_t *atr,
		     size_t len)
{
	size_t i = 1, hist;
	bool need_tck = false;
	uint8_t y;

	if (atr[0] != 0x3b && atr[0] != 0x3f)
		return fail(l, where, "TS is %02X, must be 3B or 3F", atr[0]);
	if (len < 2)
		return fail(l, where, "no T0 byte");
	hist = atr[1] & 0x0f;
	y = atr[1] >> 4;
	i = 2;
	for (;;) {
		bool td = y & 0x8;

		i += !!(y & 1) + !!(y & 2) + !!(y & 4);
		if (!td)
			break;
		if (i >= len)
			return fail(l, where, "interface bytes run past the end");
		if ((atr[i] & 0x0f) != 0)
			need_tck = true;
		y = atr[i] >> 4;
		i++;
	}
	if (i + hist + need_tck != len)
		return fail(l, where,
			    "%zu bytes, but T0/TDi announce %zu (%zu historical%s)",
			    len, i + hist + need_tck, hist,
			    need_tck ? " + TCK" : "");
	if (need_tck) {
		uint8_t x = 0;

		for (size_t j = 1; j < len; j++)
			x ^= atr[j];
		if (x)
			return fail(l, where, "TCK %02X is wrong (should be %02X)",
				    atr[len - 1], atr[len - 1] ^ x);
	}
	return 0;
}

/* ---- auth, sqn ----------------------------------------------------------- */

static int load_milenage(struct loader *l, json_object *auth)
{
	static const char *const keys[] = { "algorithm", "k", "op", "opc",
					     "r", "c", "comment", NULL };
	struct aka_milenage_params *m = &l->p->aka.milenage;
	uint8_t op[16];
	size_t n_op = 0, n_opc = 0, n;
	json_object *r, *c;
	char path[64];
	int ret;

	ret = check_keys(l, auth, "auth", keys);
	if (ret < 0)
		return ret;
	l->p->aka.algo = AKA_ALGO_MILENAGE;
	aka_milenage_params_default(m);
	ret = get_hex(l, auth, "auth", "k", false, l->k->k, AKA_MILENAGE_K_LEN,
		      AKA_MILENAGE_K_LEN, &l->k->len);
	if (ret < 0)
		return ret;
	ret = get_hex(l, auth, "auth", "op", false, op, 16, 16, &n_op);
	if (ret < 0)
		return ret;
	ret = get_hex(l, auth, "auth", "opc", false, m->opc, 16, 16, &n_opc);
	if (ret < 0)
		return ret;
	if (l->public_only) {
		if (l->k->len || n_op || n_opc)
			return fail(l, "auth", "holds a secret (k, op or opc): not allowed here");
		return 0;
	}
	if (!!n_op == !!n_opc)
		return fail(l, "auth", "give exactly one of \"op\" and \"opc\"");
	if (n_op) {
		struct aka_cipher ek = { 0 };

		if (!l->k->len)
			return fail(l, "auth.op",
				    "OPc is computed from OP and K: give \"k\", or give \"opc\"");
		ret = aka_soft_cipher_new(l->k->k, &ek);
		if (ret < 0)
			return ret;
		ret = aka_milenage_opc(&ek, op, m->opc);
		aka_soft_cipher_free(&ek);
		if (ret < 0)
			return ret;
	}

	/* TS 35.206 4.1: r1..r5 in bits (0..127), c1..c5 128-bit constants. */
	ret = get_typed(l, auth, "auth", "r", json_type_array, "an array",
			false, &r);
	if (ret < 0)
		return ret;
	if (r) {
		if (json_object_array_length(r) != 5)
			return fail(l, "auth.r", "%zu values, must be 5 (r1..r5)",
				    json_object_array_length(r));
		for (size_t i = 0; i < 5; i++) {
			json_object *v = json_object_array_get_idx(r, i);
			int64_t x;

			subpath(path, sizeof(path), "auth.r", NULL, (int)i);
			if (!json_object_is_type(v, json_type_int))
				return fail(l, path, "must be an integer");
			x = json_object_get_int64(v);
			if (x < 0 || x > 127)
				return fail(l, path, "%lld out of range 0..127",
					    (long long)x);
			m->r[i] = (uint8_t)x;
		}
	}
	ret = get_typed(l, auth, "auth", "c", json_type_array, "an array",
			false, &c);
	if (ret < 0)
		return ret;
	if (c) {
		if (json_object_array_length(c) != 5)
			return fail(l, "auth.c", "%zu values, must be 5 (c1..c5)",
				    json_object_array_length(c));
		for (size_t i = 0; i < 5; i++) {
			json_object *v = json_object_array_get_idx(c, i);

			subpath(path, sizeof(path), "auth.c", NULL, (int)i);
			if (!json_object_is_type(v, json_type_string))
				return fail(l, path, "must be a hex string");
			ret = parse_hex(l, path, json_object_get_string(v),
					m->c[i], 16, 16, &n);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

static int get_bits(struct loader *l, json_object *auth, const char *key,
		    const unsigned *allowed, size_t n_allowed, unsigned def,
		    unsigned *ret)
{
	char path[64];
	int64_t x;
	int r;

	r = get_int(l, auth, "auth", key, false, 0, 1024, def, &x);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_allowed; i++)
		if (x == allowed[i]) {
			*ret = (unsigned)x;
			return 0;
		}
	subpath(path, sizeof(path), "auth", key, 0);
	if (n_allowed == 2)
		return fail(l, path, "%lld, must be %u or %u", (long long)x,
			    allowed[0], allowed[1]);
	if (n_allowed == 3)
		return fail(l, path, "%lld, must be %u, %u or %u", (long long)x,
			    allowed[0], allowed[1], allowed[2]);
	return fail(l, path, "%lld, must be %u, %u, %u or %u", (long long)x,
		    allowed[0], allowed[1], allowed[2], allowed[3]);
}

static int load_tuak(struct loader *l, json_object *auth)
{
	static const char *const keys[] = {
		"algorithm", "k",	"top",	   "topc",	 "mac_bits",
		"res_bits",  "ck_bits", "ik_bits", "iterations", "comment",
		NULL
	};
	/* TS 35.231 (and TS 33.102 6.3.7): permitted output lengths. */
	static const unsigned mac[] = { 64, 128, 256 };
	static const unsigned res[] = { 32, 64, 128, 256 };
	static const unsigned ckik[] = { 128, 256 };
	struct aka_tuak_params *t = &l->p->aka.tuak;
	uint8_t top[32];
	size_t n_top = 0, n_topc = 0;
	int64_t it;
	int ret;

	ret = check_keys(l, auth, "auth", keys);
	if (ret < 0)
		return ret;
	memset(t, 0, sizeof(*t));
	l->p->aka.algo = AKA_ALGO_TUAK;
	ret = get_hex(l, auth, "auth", "k", false, l->k->k, 16, 32, &l->k->len);
	if (ret < 0)
		return ret;
	if (l->k->len && l->k->len != 16 && l->k->len != 32)
		return fail(l, "auth.k", "%zu bytes, must be 16 or 32",
			    l->k->len);
	ret = get_bits(l, auth, "mac_bits", mac, ARRAY_SIZE(mac), 64,
		       &t->mac_bits);
	if (ret < 0)
		return ret;
	ret = get_bits(l, auth, "res_bits", res, ARRAY_SIZE(res), 64,
		       &t->res_bits);
	if (ret < 0)
		return ret;
	ret = get_bits(l, auth, "ck_bits", ckik, ARRAY_SIZE(ckik), 128,
		       &t->ck_bits);
	if (ret < 0)
		return ret;
	ret = get_bits(l, auth, "ik_bits", ckik, ARRAY_SIZE(ckik), 128,
		       &t->ik_bits);
	if (ret < 0)
		return ret;
	ret = get_int(l, auth, "auth", "iterations", false, 1,
		      PROFILE_JSON_MAX_TUAK_ITERATIONS, 1, &it);
	if (ret < 0)
		return ret;
	t->iterations = (unsigned)it;
	ret = get_hex(l, auth, "auth", "top", false, top, 32, 32, &n_top);
	if (ret < 0)
		return ret;
	ret = get_hex(l, auth, "auth", "topc", false, t->topc, 32, 32, &n_topc);
	if (ret < 0)
		return ret;
	if (l->public_only) {
		if (l->k->len || n_top || n_topc)
			return fail(l, "auth", "holds a secret (k, top or topc): not allowed here");
		return 0;
	}
	if (!!n_top == !!n_topc)
		return fail(l, "auth", "give exactly one of \"top\" and \"topc\"");
	if (n_top) {
		struct aka_secret s = aka_plain_secret(l->k);

		if (!l->k->len)
			return fail(l, "auth.top",
				    "TOPc is computed from TOP and K: give \"k\", or give \"topc\"");
		ret = aka_tuak_topc(&s, top, t->iterations, t->topc);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int load_auth(struct loader *l, json_object *root)
{
	json_object *auth;
	const char *algo;
	int r;

	r = get_typed(l, root, "", "auth", json_type_object, "an object", true,
		      &auth);
	if (r < 0)
		return r;
	r = get_string(l, auth, "auth", "algorithm", true, &algo);
	if (r < 0)
		return r;
	if (!strcmp(algo, "milenage"))
		r = load_milenage(l, auth);
	else if (!strcmp(algo, "tuak"))
		r = load_tuak(l, auth);
	else
		return fail(l, "auth.algorithm",
			    "\"%s\", must be \"milenage\" or \"tuak\"", algo);
	if (r < 0)
		return r;
	if (aka_algo_config_validate(&l->p->aka) < 0)
		return fail(l, "auth", "parameters rejected by the AKA library");
	return 0;
}

static int load_sqn(struct loader *l, json_object *root)
{
	static const char *const keys[] = { "ind_bits", "delta", "limit_l",
					    "seq_ms", "comment", NULL };
	struct aka_sqn_config *cfg = &l->p->sqn_cfg;
	json_object *sqn, *seq;
	int64_t x;
	int r;

	aka_sqn_config_default(cfg);
	memset(&l->p->sqn, 0, sizeof(l->p->sqn));
	r = get_typed(l, root, "", "sqn", json_type_object, "an object", false,
		      &sqn);
	if (r < 0 || !sqn)
		return r;
	r = check_keys(l, sqn, "sqn", keys);
	if (r < 0)
		return r;
	/* TS 33.102 C.1.2, C.2.1, C.2.2; SQN is 48 bits (C.3.2). */
	r = get_int(l, sqn, "sqn", "ind_bits", false, 0, AKA_SQN_IND_BITS_MAX,
		    cfg->ind_bits, &x);
	if (r < 0)
		return r;
	cfg->ind_bits = (unsigned)x;
	r = get_int(l, sqn, "sqn", "delta", false, 1,
		    (INT64_C(1) << (48 - cfg->ind_bits)) - 1,
		    (int64_t)cfg->delta, &x);
	if (r < 0)
		return r;
	cfg->delta = (uint64_t)x;
	r = get_int(l, sqn, "sqn", "limit_l", false, 0,
		    (INT64_C(1) << (48 - cfg->ind_bits)) - 1,
		    (int64_t)cfg->limit_l, &x);
	if (r < 0)
		return r;
	cfg->limit_l = (uint64_t)x;
	if (aka_sqn_config_validate(cfg) < 0)
		return fail(l, "sqn", "settings rejected by the AKA library");

	r = get_typed(l, sqn, "sqn", "seq_ms", json_type_array, "an array",
		      false, &seq);
	if (r < 0 || !seq)
		return r;
	if (json_object_array_length(seq) > (1u << cfg->ind_bits))
		return fail(l, "sqn.seq_ms", "%zu values, the array has %u (2^ind_bits)",
			    json_object_array_length(seq), 1u << cfg->ind_bits);
	for (size_t i = 0; i < json_object_array_length(seq); i++) {
		json_object *v = json_object_array_get_idx(seq, i);
		char path[64];

		subpath(path, sizeof(path), "sqn.seq_ms", NULL, (int)i);
		if (!json_object_is_type(v, json_type_int))
			return fail(l, path, "must be an integer");
		x = json_object_get_int64(v);
		if (x < 0 || x >= (INT64_C(1) << (48 - cfg->ind_bits)))
			return fail(l, path, "%lld out of range 0..2^%u-1",
				    (long long)x, 48 - cfg->ind_bits);
		l->p->sqn.seq_ms[i] = (uint64_t)x;
	}
	return 0;
}

/* ---- PINs ---------------------------------------------------------------- */

/* Key reference by name, TS 102 221 9.5.1 Table 9.3. */
static int key_ref_parse(const char *s, uint8_t *ret)
{
	unsigned n;
	char end;

	if (!strcmp(s, "PIN1")) {
		*ret = USIM_KEYREF_PIN1;
		return 0;
	}
	if (!strcmp(s, "PIN2")) {
		*ret = USIM_KEYREF_PIN2;
		return 0;
	}
	if (!strcmp(s, "UPIN")) {
		*ret = USIM_KEYREF_UPIN;
		return 0;
	}
	if (sscanf(s, "ADM%u%c", &n, &end) == 1 && n >= 1 && n <= 10 &&
	    (s[3] != '0')) {
		*ret = n <= 5 ? (uint8_t)(0x0a + n - 1) : (uint8_t)(0x8a + n - 6);
		return 0;
	}
	if (strlen(s) == 2) {
		uint8_t b;

		if (hex_decode(s, &b, 1) == 1) {
			*ret = b;
			return 0;
		}
	}
	return -EINVAL;
}

static bool is_adm(uint8_t ref)
{
	return (ref >= 0x0a && ref <= 0x0e) || (ref >= 0x8a && ref <= 0x8e);
}

static void wipe_pin(struct usim_pin *pin)
{
	wipe(pin, sizeof(*pin));
}

static int pin_value(struct loader *l, json_object *o, const char *where,
		     const char *key, size_t min, size_t max, uint8_t *out,
		     bool *ret_present)
{
	char path[128];
	const char *s;
	size_t n;
	int r;

	*ret_present = false;
	r = get_string(l, o, where, key, false, &s);
	if (r < 0 || !s)
		return r;
	subpath(path, sizeof(path), where, key, 0);
	n = strlen(s);
	if (n < min || n > max) {
		if (min == max)
			return fail(l, path, "%zu digits, must be %zu", n, min);
		return fail(l, path, "%zu digits, must be %zu..%zu", n, min,
			    max);
	}
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return fail(l, path, "must be decimal digits");
	/* TS 102 221 9.5.2: digits in ASCII, padded with FF to 8 bytes. */
	memset(out, 0xff, USIM_PIN_LEN);
	memcpy(out, s, n);
	*ret_present = true;
	return 0;
}

static int load_pin(struct loader *l, json_object *o, const char *where)
{
	static const char *const keys[] = {
		"ref",	       "value",	      "value_hex",	  "enabled",
		"can_disable", "use_upin",    "retries",	  "retries_left",
		"puk",	       "puk_retries", "puk_retries_left", "comment",
		NULL
	};
	_cleanup_(wipe_pin) struct usim_pin pin = { 0 };
	char path[128];
	const char *ref;
	bool has_value, has_hex;
	size_t n;
	int64_t x;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return fail(l, where, "must be an object, not %s", type_name(o));
	r = check_keys(l, o, where, keys);
	if (r < 0)
		return r;
	r = get_string(l, o, where, "ref", true, &ref);
	if (r < 0)
		return r;
	if (key_ref_parse(ref, &pin.key_ref) < 0)
		return fail(l, subpath(path, sizeof(path), where, "ref", 0),
			    "\"%s\" is not PIN1, PIN2, UPIN, ADM1..ADM10 or a two-digit hex key reference",
			    ref);
	if (usim_profile_pin(l->p, pin.key_ref))
		return fail(l, subpath(path, sizeof(path), where, "ref", 0),
			    "key reference %02X given twice", pin.key_ref);

	r = pin_value(l, o, where, "value", 4, 8, pin.value, &has_value);
	if (r < 0)
		return r;
	r = get_hex(l, o, where, "value_hex", false, pin.value, 1,
		    USIM_PIN_LEN, &n);
	if (r < 0)
		return r;
	has_hex = n > 0;
	if (has_hex && n < USIM_PIN_LEN)
		memset(pin.value + n, 0xff, USIM_PIN_LEN - n);
	r = pin_value(l, o, where, "puk", 8, 8, pin.puk, &pin.has_puk);
	if (r < 0)
		return r;
	if (l->public_only) {
		/* The values travel sealed (docs/package-format.md 2): a PIN
		 * other than ADM has a PUK, or one with PUK retries given. */
		if (has_value || has_hex || pin.has_puk)
			return fail(l, where, "holds a PIN or PUK value: not allowed here");
		memset(pin.value, 0xff, USIM_PIN_LEN);
		memset(pin.puk, 0xff, USIM_PIN_LEN);
		pin.has_puk = !is_adm(pin.key_ref) ||
			      json_object_object_get_ex(o, "puk_retries", NULL);
	} else if (has_value == has_hex) {
		return fail(l, where, "give exactly one of \"value\" and \"value_hex\"");
	}
	r = get_bool(l, o, where, "enabled", true, &pin.enabled);
	if (r < 0)
		return r;
	/* Application PINs and the universal PIN may be disabled
	 * (TS 102 221 9.5.1); PIN2 and ADM keys normally not. */
	r = get_bool(l, o, where, "can_disable",
		     pin.key_ref <= 0x08 || pin.key_ref == USIM_KEYREF_UPIN,
		     &pin.can_disable);
	if (r < 0)
		return r;
	if (!pin.enabled && !pin.can_disable)
		return fail(l, subpath(path, sizeof(path), where, "enabled", 0),
			    "false, but this key cannot be disabled (can_disable is false)");
	r = get_bool(l, o, where, "use_upin", false, &pin.use_upin);
	if (r < 0)
		return r;
	r = get_int(l, o, where, "retries", false, 1, PROFILE_JSON_MAX_RETRIES,
		    is_adm(pin.key_ref) ? 10 : 3, &x);
	if (r < 0)
		return r;
	pin.max_tries = (uint8_t)x;
	r = get_int(l, o, where, "retries_left", false, 0, pin.max_tries,
		    pin.max_tries, &x);
	if (r < 0)
		return r;
	pin.tries_left = (uint8_t)x;
	if (!pin.has_puk) {
		if (json_object_object_get_ex(o, "puk_retries", NULL) ||
		    json_object_object_get_ex(o, "puk_retries_left", NULL))
			return fail(l, where, "PUK retries given without a \"puk\"");
		pin.puk_max_tries = 0;
		pin.puk_tries_left = 0;
	} else {
		r = get_int(l, o, where, "puk_retries", false, 1,
			    PROFILE_JSON_MAX_RETRIES, 10, &x);
		if (r < 0)
			return r;
		pin.puk_max_tries = (uint8_t)x;
		r = get_int(l, o, where, "puk_retries_left", false, 0,
			    pin.puk_max_tries, pin.puk_max_tries, &x);
		if (r < 0)
			return r;
		pin.puk_tries_left = (uint8_t)x;
	}
	r = usim_profile_add_pin(l->p, &pin);
	if (r == -E2BIG)
		return fail(l, where, "more than %d PINs", USIM_MAX_PINS);
	if (r == -EINVAL)
		return fail(l, where, "rejected by the profile model (key reference %02X)",
			    pin.key_ref);
	return r;
}

static int load_pins(struct loader *l, json_object *root)
{
	json_object *pins;
	int r;

	r = get_typed(l, root, "", "pins", json_type_array, "an array", false,
		      &pins);
	if (r < 0 || !pins)
		return r;
	if (json_object_array_length(pins) > USIM_MAX_PINS)
		return fail(l, "pins", "%zu entries, at most %d",
			    json_object_array_length(pins), USIM_MAX_PINS);
	for (size_t i = 0; i < json_object_array_length(pins); i++) {
		char where[32];

		subpath(where, sizeof(where), "pins", NULL, (int)i);
		r = load_pin(l, json_object_array_get_idx(pins, i), where);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- files ----------------------------------------------------------------- */

static const struct {
	const char *name;
	enum usim_file_kind kind;
} kinds[] = {
	{ "MF", USIM_FILE_MF },
	{ "DF", USIM_FILE_DF },
	{ "ADF", USIM_FILE_ADF },
	{ "transparent", USIM_FILE_EF_TRANSPARENT },
	{ "linear-fixed", USIM_FILE_EF_LINEAR },
	{ "cyclic", USIM_FILE_EF_CYCLIC },
};

/* TS 102 221 11.1.1.4.9 Table 11.6, by name. */
static const struct {
	const char *name;
	uint8_t lcs;
} lcs_names[] = {
	{ "creation", USIM_LCS_CREATION },
	{ "initialisation", USIM_LCS_INITIALISATION },
	{ "operational-activated", USIM_LCS_OPERATIONAL_ACTIVATED },
	{ "operational-deactivated", USIM_LCS_OPERATIONAL_DEACTIVATED },
	{ "terminated", USIM_LCS_TERMINATED },
};

static bool is_df(enum usim_file_kind k)
{
	return k == USIM_FILE_MF || k == USIM_FILE_DF || k == USIM_FILE_ADF;
}

static bool is_record(enum usim_file_kind k)
{
	return k == USIM_FILE_EF_LINEAR || k == USIM_FILE_EF_CYCLIC;
}

static bool is_transparent(enum usim_file_kind k)
{
	return k == USIM_FILE_EF_TRANSPARENT;
}

static bool is_ef(enum usim_file_kind k)
{
	return !is_df(k);
}

static bool is_adf(enum usim_file_kind k)
{
	return k == USIM_FILE_ADF;
}

static int parse_fid(const char *s, size_t len, uint16_t *ret)
{
	uint8_t b[2];
	char tmp[5];

	if (len != 4)
		return -EINVAL;
	memcpy(tmp, s, 4);
	tmp[4] = '\0';
	if (strpbrk(tmp, " \t:") || hex_decode(tmp, b, 2) != 2)
		return -EINVAL;
	*ret = (uint16_t)(b[0] << 8 | b[1]);
	return 0;
}

/*
 * Child of a DF by FID, ADFs included (usim_profile_find_child() skips
 * them: on the card an ADF is selected by AID, but the profile names it by
 * its FID in paths).
 */
static int child_any(const struct usim_profile *p, int parent, uint16_t fid)
{
	for (size_t i = 1; i < p->n_files; i++)
		if (p->files[i].parent == parent && p->files[i].fid == fid)
			return (int)i;
	return -ENOENT;
}

/* The next such child after index after, or -ENOENT. */
static int child_any_next(const struct usim_profile *p, int parent,
			  uint16_t fid, int after)
{
	for (size_t i = (size_t)after + 1; i < p->n_files; i++)
		if (p->files[i].parent == parent && p->files[i].fid == fid)
			return (int)i;
	return -ENOENT;
}

static int df_by_name(struct loader *l, const char *s, size_t len)
{
	for (size_t i = 0; i < l->n_df_names; i++)
		if (strlen(l->df_names[i]) == len &&
		    !memcmp(l->df_names[i], s, len))
			return l->df_index[i];
	return -ENOENT;
}

/*
 * Resolves "3F00/7FFF/6F07", "MF/7F10/6F3A" or "DF.5GS/4F01": every
 * component but the last names an existing DF (by FID under the one
 * before, or by a DF/ADF name); the last is the new file's FID.
 */
static int resolve_path(struct loader *l, const char *where, const char *path,
			int *ret_parent, uint16_t *ret_fid)
{
	const char *c = path, *slash;
	int cur = -1, n = 0;

	if (!*path)
		return fail(l, where, "empty");
	for (;; c = slash + 1) {
		size_t len;
		uint16_t fid;
		bool last;

		slash = strchr(c, '/');
		len = slash ? (size_t)(slash - c) : strlen(c);
		last = !slash;
		if (++n > PATH_MAX_COMPONENTS)
			return fail(l, where, "deeper than %d levels",
				    USIM_MAX_DEPTH);
		if (len == 0)
			return fail(l, where, "empty component");
		if (parse_fid(c, len, &fid) == 0) {
			if (cur < 0) {
				if (fid != USIM_FID_MF)
					return fail(l, where,
						    "must start at 3F00 (or MF, or a DF name)");
				cur = 0;
				if (last) {
					*ret_parent = -1;
					*ret_fid = fid;
					return 0;
				}
				continue;
			}
			if (last) {
				*ret_parent = cur;
				*ret_fid = fid;
				return 0;
			}
			{
				int child = child_any(l->p, cur, fid);

				if (child >= 0 && l->p->files[child].kind == USIM_FILE_ADF &&
				    child_any_next(l->p, cur, fid, child) >= 0)
					return fail(l, where,
						    "%.*s is ambiguous with several ADFs: use the ADF's name",
						    (int)(c + len - path), path);
				if (child < 0)
					return fail(l, where,
						    "%.*s is not declared yet (declare a DF before its files)",
						    (int)(c + len - path), path);
				if (!is_df(l->p->files[child].kind))
					return fail(l, where, "%.*s is an EF, not a DF",
						    (int)(c + len - path), path);
				cur = child;
			}
			continue;
		}
		if (last)
			return fail(l, where,
				    "last component \"%s\" must be a 4-digit hex FID",
				    c);
		{
			int idx = (len == 2 && !memcmp(c, "MF", 2)) ?
					  0 :
					  df_by_name(l, c, len);

			if (idx < 0)
				return fail(l, where,
					    "\"%.*s\" is neither a FID nor the name of a DF declared before",
					    (int)len, c);
			if (cur >= 0 && l->p->files[idx].parent != cur)
				return fail(l, where, "\"%.*s\" is not a child of %.*s",
					    (int)len, c, (int)(c - 1 - path),
					    path);
			cur = idx;
		}
	}
}

static int load_contents(struct loader *l, json_object *f, const char *where,
			 const struct usim_file_spec *spec, uint8_t **ret_data,
			 size_t *ret_len)
{
	_cleanup_free_ uint8_t *data = NULL;
	json_object *c = NULL;
	char path[128];
	size_t n;
	int r;

	*ret_data = NULL;
	*ret_len = 0;
	if (!json_object_object_get_ex(f, "contents", &c))
		return 0;
	subpath(path, sizeof(path), where, "contents", 0);
	if (!is_record(spec->kind)) {
		const char *s;
		size_t digits = 0;

		if (!json_object_is_type(c, json_type_string))
			return fail(l, path, "must be a hex string, not %s",
				    type_name(c));
		s = json_object_get_string(c);
		for (const char *q = s; *q; q++)
			digits += !(*q == ' ' || *q == '\t' || *q == ':');
		/* Size check before decoding, with the numbers in the message. */
		if (digits / 2 > spec->size)
			return fail(l, path, "%zu bytes, size is %u", digits / 2,
				    spec->size);
		data = malloc(spec->size ? spec->size : 1);
		if (!data)
			return -ENOMEM;
		r = parse_hex(l, path, s, data, 0, spec->size, &n);
		if (r < 0)
			return r;
		*ret_data = TAKE_PTR(data);
		*ret_len = n;
		return 0;
	}

	if (!json_object_is_type(c, json_type_array))
		return fail(l, path, "must be an array of hex records, not %s",
			    type_name(c));
	if (json_object_array_length(c) > spec->rec_count)
		return fail(l, path, "%zu records, the file has %u",
			    json_object_array_length(c), spec->rec_count);
	n = (size_t)spec->rec_len * json_object_array_length(c);
	data = malloc(n ? n : 1);
	if (!data)
		return -ENOMEM;
	memset(data, 0xff, n);
	for (size_t i = 0; i < json_object_array_length(c); i++) {
		json_object *rec = json_object_array_get_idx(c, i);
		char rpath[144];
		const char *s;
		size_t got, digits = 0;

		pathf(rpath, sizeof(rpath), "%s[%zu]", path, i);
		if (!json_object_is_type(rec, json_type_string))
			return fail(l, rpath, "must be a hex string, not %s",
				    type_name(rec));
		s = json_object_get_string(rec);
		for (const char *q = s; *q; q++)
			digits += !(*q == ' ' || *q == '\t' || *q == ':');
		if (digits / 2 > spec->rec_len)
			return fail(l, rpath, "%zu bytes, record length is %u",
				    digits / 2, spec->rec_len);
		r = parse_hex(l, rpath, s, data + i * spec->rec_len, 0,
			      spec->rec_len, &got);
		if (r < 0)
			return r;
	}
	*ret_data = TAKE_PTR(data);
	*ret_len = n;
	return 0;
}

static int load_file(struct loader *l, json_object *f, const char *where,
		     size_t position)
{
	static const char *const keys[] = {
		"path", "name",		 "type",    "sfi",	"arr",
		"lcs",	"shareable",	 "aid",	    "size",	"record_length",
		"records", "contents", "comment", NULL
	};
	_cleanup_free_ uint8_t *data = NULL;
	struct usim_file_spec spec = { 0 };
	uint8_t aid[USIM_AID_MAX];
	const char *path_s, *type_s, *name = NULL, *lcs_s;
	json_object *arr;
	char path[128], pbuf[64];
	size_t data_len = 0, aid_len = 0;
	int parent = -1, idx, r;
	int64_t x;
	bool found;

	if (!json_object_is_type(f, json_type_object))
		return fail(l, where, "must be an object, not %s", type_name(f));
	r = check_keys(l, f, where, keys);
	if (r < 0)
		return r;
	r = get_string(l, f, where, "type", true, &type_s);
	if (r < 0)
		return r;
	found = false;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(type_s, kinds[i].name)) {
			spec.kind = kinds[i].kind;
			found = true;
		}
	if (!found)
		return fail(l, subpath(path, sizeof(path), where, "type", 0),
			    "\"%s\" is not MF, DF, ADF, transparent, linear-fixed or cyclic",
			    type_s);
	r = get_string(l, f, where, "path", true, &path_s);
	if (r < 0)
		return r;
	subpath(path, sizeof(path), where, "path", 0);
	r = resolve_path(l, path, path_s, &parent, &spec.fid);
	if (r < 0)
		return r;
	if ((spec.kind == USIM_FILE_MF) != (parent < 0))
		return fail(l, path, spec.kind == USIM_FILE_MF ?
					     "the MF's path is 3F00" :
					     "3F00 is the MF: its type is \"MF\"");
	if (spec.kind == USIM_FILE_MF && position != 0)
		return fail(l, where, "the MF entry, when given, must be files[0]");
	if (spec.kind == USIM_FILE_ADF && parent != 0)
		return fail(l, path, "an ADF lives directly under the MF (TS 102 221 8.1)");
	/* An ADF has no FID of its own: it is selected by AID, and 7FFF
	 * names the current one (TS 102 221 8.4.1). */
	if (spec.kind == USIM_FILE_ADF && spec.fid != USIM_FID_ADF_ALIAS)
		return fail(l, path, "an ADF's FID is 7FFF (it is selected by AID, TS 102 221 8.4.1); give it a name to tell several apart");
	if (parent >= 0 && spec.kind != USIM_FILE_ADF &&
	    spec.fid == USIM_FID_ADF_ALIAS)
		return fail(l, path, "7FFF is reserved for the current ADF (TS 102 221 8.4.1)");
	if (parent >= 0 && (spec.fid == 0x3fff || spec.fid == 0xffff ||
			    spec.fid == USIM_FID_MF))
		return fail(l, path, "FID %04X is reserved (TS 102 221 8.4.1)",
			    spec.fid);
	if (parent >= 0 && spec.kind != USIM_FILE_ADF &&
	    child_any(l->p, parent, spec.fid) >= 0)
		return fail(l, path, "FID %04X already exists in %s", spec.fid,
			    usim_profile_path_text(l->p, parent, pbuf, sizeof(pbuf)));

	r = get_string(l, f, where, "name", false, &name);
	if (r < 0)
		return r;
	if (name) {
		size_t nl = strlen(name);

		subpath(path, sizeof(path), where, "name", 0);
		if (nl == 0 || nl > NAME_MAX_LEN || strchr(name, '/'))
			return fail(l, path, "1..%d characters without '/'",
				    NAME_MAX_LEN);
		if (is_df(spec.kind) && spec.kind != USIM_FILE_MF) {
			uint16_t dummy;

			if (parse_fid(name, nl, &dummy) == 0 || !strcmp(name, "MF"))
				return fail(l, path, "a DF name must not look like a FID or be \"MF\"");
			if (df_by_name(l, name, nl) >= 0)
				return fail(l, path, "DF name \"%s\" used twice", name);
		}
	}

	/* Keys that belong to other kinds of file. */
	{
		static const struct {
			const char *key;
			bool (*ok)(enum usim_file_kind);
			const char *what;
		} only[] = {
			{ "size", is_transparent, "a transparent EF" },
			{ "record_length", is_record, "a linear-fixed or cyclic EF" },
			{ "records", is_record, "a linear-fixed or cyclic EF" },
			{ "contents", is_ef, "an EF" },
			{ "sfi", is_ef, "an EF" },
			{ "aid", is_adf, "an ADF" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(only); i++)
			if (json_object_object_get_ex(f, only[i].key, NULL) &&
			    !only[i].ok(spec.kind))
				return fail(l, subpath(path, sizeof(path), where,
						       only[i].key, 0),
					    "only for %s, not a %s", only[i].what,
					    type_s);
	}

	/* SFI: TS 102 221 8.3, values 1..30. */
	r = get_int(l, f, where, "sfi", false, 1, 30, 0, &x);
	if (r < 0)
		return r;
	spec.sfi = (uint8_t)x;
	if (spec.sfi) {
		for (size_t i = 1; i < l->p->n_files; i++)
			if (l->p->files[i].parent == parent &&
			    l->p->files[i].sfi == spec.sfi)
				return fail(l, subpath(path, sizeof(path), where, "sfi", 0),
					    "SFI %u already used by %04X in %s",
					    spec.sfi, l->p->files[i].fid,
					    usim_profile_path_text(l->p, parent, pbuf, sizeof(pbuf)));
	}

	r = get_typed(l, f, where, "arr", json_type_object, "an object",
		      false, &arr);
	if (r < 0)
		return r;
	if (arr) {
		static const char *const akeys[] = { "fid", "record", NULL };
		char apath[128];
		const char *fid_s;

		subpath(apath, sizeof(apath), where, "arr", 0);
		r = check_keys(l, arr, apath, akeys);
		if (r < 0)
			return r;
		r = get_string(l, arr, apath, "fid", true, &fid_s);
		if (r < 0)
			return r;
		if (parse_fid(fid_s, strlen(fid_s), &spec.arr_fid) < 0 ||
		    spec.arr_fid == 0)
			return fail(l, subpath(path, sizeof(path), apath, "fid", 0),
				    "\"%s\" is not a 4-digit hex FID", fid_s);
		r = get_int(l, arr, apath, "record", true, 1, USIM_MAX_RECORDS,
			    0, &x);
		if (r < 0)
			return r;
		spec.arr_record = (uint8_t)x;
	}

	r = get_string(l, f, where, "lcs", false, &lcs_s);
	if (r < 0)
		return r;
	spec.lcs = USIM_LCS_OPERATIONAL_ACTIVATED;
	if (lcs_s) {
		found = false;
		for (size_t i = 0; i < ARRAY_SIZE(lcs_names); i++)
			if (!strcmp(lcs_s, lcs_names[i].name)) {
				spec.lcs = lcs_names[i].lcs;
				found = true;
			}
		if (!found)
			return fail(l, subpath(path, sizeof(path), where, "lcs", 0),
				    "\"%s\" is not creation, initialisation, operational-activated, operational-deactivated or terminated",
				    lcs_s);
	}
	r = get_bool(l, f, where, "shareable", true, &spec.shareable);
	if (r < 0)
		return r;

	if (spec.kind == USIM_FILE_ADF) {
		r = get_hex(l, f, where, "aid", true, aid, USIM_AID_MIN,
			    USIM_AID_MAX, &aid_len);
		if (r < 0)
			return r;
		for (size_t i = 1; i < l->p->n_files; i++)
			if (l->p->files[i].kind == USIM_FILE_ADF &&
			    l->p->files[i].aid_len == aid_len &&
			    !memcmp(l->p->files[i].aid, aid, aid_len))
				return fail(l, subpath(path, sizeof(path), where, "aid", 0),
					    "AID already used by ADF %04X",
					    l->p->files[i].fid);
		spec.aid = aid;
		spec.aid_len = aid_len;
	}

	if (spec.kind == USIM_FILE_EF_TRANSPARENT) {
		r = get_int(l, f, where, "size", true, 0, USIM_MAX_EF_SIZE, 0,
			    &x);
		if (r < 0)
			return r;
		spec.size = (uint32_t)x;
	} else if (is_record(spec.kind)) {
		json_object *c = NULL;
		int64_t def_count = -1;

		r = get_int(l, f, where, "record_length", true, 1,
			    USIM_MAX_REC_LEN, 0, &x);
		if (r < 0)
			return r;
		spec.rec_len = (uint16_t)x;
		if (json_object_object_get_ex(f, "contents", &c) &&
		    json_object_is_type(c, json_type_array))
			def_count = (int64_t)json_object_array_length(c);
		r = get_int(l, f, where, "records", def_count <= 0, 1,
			    USIM_MAX_RECORDS, def_count, &x);
		if (r < 0)
			return r;
		spec.rec_count = (uint16_t)x;
		spec.size = (uint32_t)spec.rec_len * spec.rec_count;
	}
	if (!is_df(spec.kind)) {
		if (l->p->data_total + spec.size > USIM_MAX_PROFILE_DATA)
			return fail(l, where, "the EFs hold more than %u bytes in all",
				    USIM_MAX_PROFILE_DATA);
		r = load_contents(l, f, where, &spec, &data, &data_len);
		if (r < 0)
			return r;
		spec.data = data;
		spec.data_len = data_len;
	}

	if (spec.kind == USIM_FILE_MF) {
		struct usim_file *mf = &l->p->files[0];

		mf->arr_fid = spec.arr_fid;
		mf->arr_record = spec.arr_record;
		mf->lcs = spec.lcs;
		mf->shareable = spec.shareable;
		return 0;
	}

	r = usim_profile_add_file(l->p, parent, &spec, &idx);
	switch (r) {
	case 0:
		break;
	case -E2BIG:
		return fail(l, where, "too many files (at most %d) or too much data (at most %u bytes)",
			    USIM_MAX_FILES, USIM_MAX_PROFILE_DATA);
	case -EEXIST:
		return fail(l, where, "FID, SFI or AID already used in %s",
			    usim_profile_path_text(l->p, parent, pbuf, sizeof(pbuf)));
	case -EINVAL:
		return fail(l, where, "rejected by the profile model (e.g. tree deeper than %d levels)",
			    USIM_MAX_DEPTH);
	default:
		return r;
	}
	if (name && is_df(spec.kind)) {
		strcpy(l->df_names[l->n_df_names], name);
		l->df_index[l->n_df_names++] = idx;
	}
	return 0;
}

static int load_files(struct loader *l, json_object *root)
{
	json_object *files;
	size_t n;
	int r;

	r = get_typed(l, root, "", "files", json_type_array, "an array", true,
		      &files);
	if (r < 0)
		return r;
	n = json_object_array_length(files);
	if (n > USIM_MAX_FILES)
		return fail(l, "files", "%zu entries, at most %d", n,
			    USIM_MAX_FILES);
	l->df_names = calloc(n + 1, sizeof(*l->df_names));
	l->df_index = calloc(n + 1, sizeof(*l->df_index));
	if (!l->df_names || !l->df_index)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char where[32];

		subpath(where, sizeof(where), "files", NULL, (int)i);
		r = load_file(l, json_object_array_get_idx(files, i), where, i);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- top level ------------------------------------------------------------ */

/*
 * Wipes the secret strings of the parsed tree (K, OP/OPc, TOP/TOPc, PIN
 * and PUK values) before json-c frees it without clearing.  The strings
 * are json-c's own heap (or inline) storage, writable.
 */
static void wipe_secrets(json_object *root)
{
	static const char *const auth_keys[] = { "k", "op", "opc", "top", "topc" };
	static const char *const pin_keys[] = { "value", "value_hex", "puk" };
	json_object *auth, *pins, *v;

	if (!json_object_is_type(root, json_type_object))
		return;
	if (json_object_object_get_ex(root, "auth", &auth) &&
	    json_object_is_type(auth, json_type_object))
		for (size_t i = 0; i < ARRAY_SIZE(auth_keys); i++)
			if (json_object_object_get_ex(auth, auth_keys[i], &v) &&
			    json_object_is_type(v, json_type_string))
				wipe((char *)json_object_get_string(v),
				     (size_t)json_object_get_string_len(v));
	if (json_object_object_get_ex(root, "pins", &pins) &&
	    json_object_is_type(pins, json_type_array))
		for (size_t i = 0; i < json_object_array_length(pins); i++) {
			json_object *pin = json_object_array_get_idx(pins, i);

			if (!json_object_is_type(pin, json_type_object))
				continue;
			for (size_t j = 0; j < ARRAY_SIZE(pin_keys); j++)
				if (json_object_object_get_ex(pin, pin_keys[j], &v) &&
				    json_object_is_type(v, json_type_string))
					wipe((char *)json_object_get_string(v),
					     (size_t)json_object_get_string_len(v));
		}
}

static int load_root(struct loader *l, json_object *root)
{
	static const char *const keys[] = { "format", "version", "name",
					    "description", "comment", "atr",
					    "auth", "sqn", "pins", "files",
					    NULL };
	char why[PROFILE_JSON_WHY_SIZE];
	const char *s;
	int64_t v;
	int r;

	if (!json_object_is_type(root, json_type_object))
		return fail(l, "", "the profile must be a JSON object, not %s",
			    type_name(root));
	r = get_string(l, root, "", "format", true, &s);
	if (r < 0)
		return r;
	if (strcmp(s, PROFILE_JSON_FORMAT))
		return fail(l, "format", "\"%s\", must be \"%s\"", s,
			    PROFILE_JSON_FORMAT);
	r = get_int(l, root, "", "version", true, 0, INT32_MAX, 0, &v);
	if (r < 0)
		return r;
	if (v != PROFILE_JSON_VERSION)
		return fail(l, "version", "%lld is not supported (this loader reads version %d)",
			    (long long)v, PROFILE_JSON_VERSION);
	r = check_keys(l, root, "", keys);
	if (r < 0)
		return r;
	r = get_string(l, root, "", "name", false, &s);
	if (r < 0)
		return r;
	r = get_string(l, root, "", "description", false, &s);
	if (r < 0)
		return r;
	r = get_string(l, root, "", "comment", false, &s);
	if (r < 0)
		return r;
	r = get_hex(l, root, "", "atr", false, l->p->atr, 2, USIM_ATR_MAX,
		    &l->p->atr_len);
	if (r < 0)
		return r;
	if (l->p->atr_len) {
		r = check_atr(l, "atr", l->p->atr, l->p->atr_len);
		if (r < 0)
			return r;
	}
	r = load_auth(l, root);
	if (r < 0)
		return r;
	r = load_sqn(l, root);
	if (r < 0)
		return r;
	r = load_pins(l, root);
	if (r < 0)
		return r;
	r = load_files(l, root);
	if (r < 0)
		return r;
	r = usim_profile_validate(l->p, why, sizeof(why));
	if (r < 0)
		return fail(l, "profile", "%s", why);
	return 0;
}

/* Line and column of a byte offset, for JSON syntax errors. */
static void line_col(const char *text, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int load_buf(const char *text, size_t len, bool public_only,
		    struct usim_profile **ret_profile, struct aka_plain_secret *ret_k,
		    char *why, size_t why_size)
{
	_cleanup_(usim_profile_freep) struct usim_profile *p = NULL;
	_cleanup_(json_object_putp) json_object *root = NULL;
	struct loader l = { .why = why, .why_size = why_size, .public_only = public_only };
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	size_t end;
	int r;

	if (!text || !ret_profile || !ret_k)
		return -EINVAL;
	if (why && why_size)
		why[0] = '\0';
	*ret_profile = NULL;
	memset(ret_k, 0, sizeof(*ret_k));
	if (len > PROFILE_JSON_MAX_TEXT) {
		fail(&l, "", "%zu bytes of JSON, at most %u", len,
		     PROFILE_JSON_MAX_TEXT);
		return -EFBIG;
	}
	if (memchr(text, '\0', len))
		return fail(&l, "", "NUL byte in the JSON text");

	tok = json_tokener_new_ex(PROFILE_JSON_MAX_NESTING);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	json_tokener_free(tok);
	if (jerr != json_tokener_success || !root) {
		size_t line, col;

		line_col(text, MIN(end, len), &line, &col);
		return fail(&l, "", "JSON syntax error at line %zu column %zu: %s",
			    line, col, json_tokener_error_desc(jerr));
	}
	for (size_t i = end; i < len; i++)
		if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' &&
		    text[i] != '\r') {
			size_t line, col;

			line_col(text, i, &line, &col);
			return fail(&l, "", "text after the JSON value at line %zu column %zu",
				    line, col);
		}

	r = usim_profile_new(&p);
	if (r < 0)
		return r;
	l.p = p;
	l.k = ret_k;
	r = load_root(&l, root);
	wipe_secrets(root);
	free(l.df_names);
	free(l.df_index);
	if (r < 0) {
		wipe(ret_k, sizeof(*ret_k));
		return r;
	}
	*ret_profile = TAKE_PTR(p);
	return 0;
}

int profile_json_load_buf(const char *text, size_t len,
			  struct usim_profile **ret_profile,
			  struct aka_plain_secret *ret_k, char *why,
			  size_t why_size)
{
	return load_buf(text, len, false, ret_profile, ret_k, why, why_size);
}

int profile_json_load_public(const char *text, size_t len,
			     struct usim_profile **ret_profile, char *why,
			     size_t why_size)
{
	struct aka_plain_secret k;
	int r = load_buf(text, len, true, ret_profile, &k, why, why_size);

	wipe(&k, sizeof(k));
	return r;
}

int profile_json_load_file(const char *path, struct usim_profile **ret_profile,
			   struct aka_plain_secret *ret_k, char *why,
			   size_t why_size)
{
	_cleanup_free_ char *text = NULL;
	size_t off = 0;
	int r;

	if (!path)
		return -EINVAL;
	r = read_file_max(path, PROFILE_JSON_MAX_TEXT, &text, &off);
	if (r < 0) {
		if (why && why_size)
			snprintf(why, why_size, "%s: %s", path,
				 r == -EFBIG ? "file too large" :
				 r == -EINVAL ? "not a regular file" :
				 r == -EIO ? "file shrank while reading" :
				 strerror(-r));
		return r;
	}
	r = profile_json_load_buf(text, off, ret_profile, ret_k, why, why_size);
	/* Prefix the file name to a validation message. */
	if (r < 0 && why && why_size) {
		char tmp[PROFILE_JSON_WHY_SIZE];

		snprintf(tmp, sizeof(tmp), "%s", why);
		snprintf(why, why_size, "%s: %s", path, tmp);
	}
	wipe(text, off);
	return r;
}

int profile_json_key_new(enum aka_algo algo, struct aka_plain_secret *k,
			 struct aka_key *ret)
{
	int r;

	if (!k || !ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (algo == AKA_ALGO_MILENAGE) {
		if (k->len != AKA_MILENAGE_K_LEN)
			return -EINVAL;
		r = aka_soft_cipher_new(k->k, &ret->cipher);
		if (r < 0)
			return r;
	} else if (algo == AKA_ALGO_TUAK) {
		if (k->len != 16 && k->len != 32)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	ret->secret = aka_plain_secret(k);
	return 0;
}

void profile_json_key_free(struct aka_key *key)
{
	if (!key)
		return;
	if (key->cipher.encrypt)
		aka_soft_cipher_free(&key->cipher);
	memset(key, 0, sizeof(*key));
}
