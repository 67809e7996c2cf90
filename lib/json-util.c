// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "json-util.h"

int ju_parse(const char *text, size_t len, int depth, struct json_object **ret, char *why,
	     size_t why_size)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;

	if (len > INT32_MAX) {
		snprintf(why, why_size, "JSON text too long");
		return -EINVAL;
	}
	tok = json_tokener_new_ex(depth);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	e = json_tokener_get_error(tok);
	if (!o || e != json_tokener_success || (size_t)json_tokener_get_parse_end(tok) != len) {
		if (e == json_tokener_continue)
			snprintf(why, why_size, "JSON text ends early");
		else if (e != json_tokener_success)
			snprintf(why, why_size, "not valid JSON at byte %zu: %s",
				 json_tokener_get_parse_end(tok), json_tokener_error_desc(e));
		else
			snprintf(why, why_size, "trailing bytes after the JSON value at byte %zu",
				 json_tokener_get_parse_end(tok));
		json_object_put(o);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	*ret = o;
	return 0;
}

int ju_only(struct json_object *o, const char *what, const char *const *allowed, char *why,
	    size_t why_size)
{
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(why, why_size, "%s: not a JSON object", what);
		return -EINVAL;
	}
	json_object_object_foreach(o, key, val) {
		bool ok = false;

		(void)val;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(key, *a);
		if (!ok) {
			snprintf(why, why_size, "%s: unknown member \"%.64s\"", what, key);
			return -EINVAL;
		}
	}
	return 0;
}

static int member(struct json_object *o, const char *name, bool optional, json_type type,
		  struct json_object **ret, char *why, size_t why_size)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || json_object_is_type(v, json_type_null)) {
		*ret = NULL;
		if (optional)
			return 0;
		snprintf(why, why_size, "missing member \"%s\"", name);
		return -EINVAL;
	}
	if (!json_object_is_type(v, type)) {
		snprintf(why, why_size, "member \"%s\" must be a %s", name, json_type_to_name(type));
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int ju_string(struct json_object *o, const char *name, bool optional, size_t max,
	      const char **ret, char *why, size_t why_size)
{
	struct json_object *v;
	int r = member(o, name, optional, json_type_string, &v, why, why_size);

	*ret = NULL;
	if (r < 0 || !v)
		return r;
	if ((size_t)json_object_get_string_len(v) > max ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
		snprintf(why, why_size, "member \"%s\" is longer than %zu bytes or holds NUL", name,
			 max);
		return -EINVAL;
	}
	*ret = json_object_get_string(v);
	return 0;
}

int ju_int(struct json_object *o, const char *name, bool optional, int64_t min, int64_t max,
	   int64_t *ret, char *why, size_t why_size)
{
	struct json_object *v;
	int64_t x;
	int r = member(o, name, optional, json_type_int, &v, why, why_size);

	if (r < 0 || !v)
		return r;
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < min || x > max) {
		snprintf(why, why_size, "member \"%s\" out of range [%" PRId64 ", %" PRId64 "]", name,
			 min, max);
		return -EINVAL;
	}
	*ret = x;
	return 0;
}

char *b64_encode(const uint8_t *p, size_t n)
{
	char *s;

	if (n > (SIZE_MAX / 4) - 4 || n > INT32_MAX / 2)
		return NULL;
	s = malloc(4 * ((n + 2) / 3) + 1);
	if (s)
		EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

int b64_decode(const char *s, size_t slen, size_t max, uint8_t **ret, size_t *ret_len)
{
	size_t pad = 0, n;
	uint8_t *out;
	int got;

	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	/* Canonical padded base64 only: length a multiple of 4, '=' at the end
	 * and nowhere else, and the bits the padding drops zero. */
	if (slen % 4)
		return -EINVAL;
	if (slen / 4 * 3 > max + 2 || slen > INT32_MAX)
		return -EMSGSIZE;
	if (slen && s[slen - 1] == '=')
		pad = slen >= 2 && s[slen - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < slen - pad; i++)
		if (!s[i] || !strchr(alphabet, s[i]))
			return -EINVAL;
	if (pad && (strchr(alphabet, s[slen - pad - 1]) - alphabet) & (pad == 1 ? 0x3 : 0xf))
		return -EINVAL;
	n = slen / 4 * 3 - pad;
	if (n > max)
		return -EMSGSIZE;
	out = malloc(slen / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	got = slen ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)slen) : 0;
	if (got < 0 || (size_t)got != slen / 4 * 3) {
		free(out);
		return -EINVAL;
	}
	*ret = out;
	*ret_len = n;
	return 0;
}

int ju_base64(struct json_object *o, const char *name, bool optional, size_t max,
	      uint8_t **ret, size_t *ret_len, char *why, size_t why_size)
{
	const char *s;
	int r = ju_string(o, name, optional, (max + 2) / 3 * 4, &s, why, why_size);

	*ret = NULL;
	*ret_len = 0;
	if (r < 0 || !s)
		return r;
	r = b64_decode(s, strlen(s), max, ret, ret_len);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		snprintf(why, why_size, "member \"%s\": %s", name,
			 r == -EMSGSIZE ? "longer than allowed" : "not padded base64");
		return -EINVAL;
	}
	return 0;
}

int ju_hex(struct json_object *o, const char *name, uint8_t *out, size_t len, bool exact,
	   size_t *ret_len, char *why, size_t why_size)
{
	const char *s;
	int r = ju_string(o, name, false, 2 * len, &s, why, why_size);

	if (r < 0)
		return r;
	if (strspn(s, "0123456789abcdefABCDEF") != strlen(s)) {
		snprintf(why, why_size, "member \"%s\" is not hex", name);
		return -EINVAL;
	}
	r = hex_decode(s, out, len);
	if (r < 0 || (exact && (size_t)r != len)) {
		snprintf(why, why_size, "member \"%s\" must be %s%zu bytes of hex", name,
			 exact ? "" : "at most ", len);
		return -EINVAL;
	}
	if (ret_len)
		*ret_len = (size_t)r;
	return 0;
}
