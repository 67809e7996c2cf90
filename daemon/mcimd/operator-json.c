// SPDX-License-Identifier: LGPL-2.1-or-later
/* The parsers of operator-json.h (docs/operator-protocol.md, version 1). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <tss2/tss2_mu.h>

#include "daemon/mcimd/operator-json.h"
#include "json-util.h"
#include "package.h"
#include "macro.h"

#define FAIL(...) (snprintf(why, why_size, __VA_ARGS__), -EBADMSG)

_Static_assert(OP_TOKEN_MAX == PACKAGE_TOKEN_MAX, "the switch order carries package tokens");

const char *op_ek_name(enum op_ek ek)
{
	return ek == OP_EK_ECC ? "ecc" : "rsa";
}

static const char *const mode_names[] = {
	[OP_MODE_REMOTE] = "remote",
	[OP_MODE_AUTONOMOUS] = "autonomous",
	[OP_MODE_SEMI_AUTONOMOUS] = "semi-autonomous",
};

const char *op_mode_name(enum op_mode m)
{
	return (size_t)m < ARRAY_SIZE(mode_names) ? mode_names[m] : "?";
}

static const struct {
	const char *name;
	TPMI_ALG_HASH alg;
} banks[] = {
	{ "sha1", TPM2_ALG_SHA1 },
	{ "sha256", TPM2_ALG_SHA256 },
	{ "sha384", TPM2_ALG_SHA384 },
	{ "sha512", TPM2_ALG_SHA512 },
};

const char *op_bank_name(TPMI_ALG_HASH alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(banks); i++)
		if (banks[i].alg == alg)
			return banks[i].name;
	return NULL;
}

/* ---- JSON helpers ---- */

static int parse_root(const char *body, size_t len, struct json_object **ret, char *why,
		      size_t why_size)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;

	*ret = NULL;
	if (len > OP_BODY_MAX)
		return FAIL("the answer is longer than %u bytes", OP_BODY_MAX);
	if (!len)
		return FAIL("the answer is empty");
	tok = json_tokener_new_ex(OP_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, body, (int)len);
	e = json_tokener_get_error(tok);
	if (o && e == json_tokener_success) {
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (!strchr(" \t\r\n", body[i])) {
				e = json_tokener_error_parse_unexpected;
				break;
			}
	} else if (!o && e == json_tokener_continue) {
		e = json_tokener_error_parse_eof;
	}
	json_tokener_free(tok);
	if (e != json_tokener_success) {
		json_object_put(o);
		return FAIL("the answer is not JSON: %s", json_tokener_error_desc(e));
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return FAIL("the answer is not a JSON object");
	}
	*ret = o;
	return 0;
}

/* Every member of o is one of names (NULL-terminated). */
static int only_members(struct json_object *o, const char *where, const char *const *names,
			char *why, size_t why_size)
{
	json_object_object_foreach(o, key, val) {
		size_t i;

		(void)val;
		for (i = 0; names[i] && strcmp(names[i], key); i++)
			;
		if (!names[i])
			return FAIL("%s: unknown member \"%.40s\"", where, key);
	}
	return 0;
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *x = NULL;

	return json_object_object_get_ex(o, key, &x) ? x : NULL;
}

/* A string member of at most max bytes, no NUL inside, copied into dst. */
static int get_string(struct json_object *o, const char *where, const char *key, bool required,
		      char *dst, size_t max, char *why, size_t why_size)
{
	struct json_object *x = member(o, key);
	const char *s;
	int n;

	dst[0] = 0;
	if (!x) {
		if (required)
			return FAIL("%s: \"%s\" is missing", where, key);
		return 0;
	}
	if (!json_object_is_type(x, json_type_string))
		return FAIL("%s: \"%s\" is not a string", where, key);
	s = json_object_get_string(x);
	n = json_object_get_string_len(x);
	if ((size_t)n > max)
		return FAIL("%s: \"%s\" is longer than %zu bytes", where, key, max);
	if (strlen(s) != (size_t)n)
		return FAIL("%s: \"%s\" holds a NUL character", where, key);
	memcpy(dst, s, (size_t)n + 1);
	return 0;
}

static int get_int(struct json_object *o, const char *where, const char *key, int64_t min,
		   int64_t max, int64_t *ret, char *why, size_t why_size)
{
	struct json_object *x = member(o, key);

	if (!x)
		return FAIL("%s: \"%s\" is missing", where, key);
	if (!json_object_is_type(x, json_type_int))
		return FAIL("%s: \"%s\" is not an integer", where, key);
	errno = 0;
	*ret = json_object_get_int64(x);
	if (errno || *ret < min || *ret > max)
		return FAIL("%s: \"%s\" is out of range", where, key);
	return 0;
}

static int get_object(struct json_object *o, const char *where, const char *key,
		      struct json_object **ret, char *why, size_t why_size)
{
	*ret = member(o, key);
	if (!*ret)
		return FAIL("%s: \"%s\" is missing", where, key);
	if (!json_object_is_type(*ret, json_type_object))
		return FAIL("%s: \"%s\" is not an object", where, key);
	return 0;
}

/* A base64 member decoded into out (at most max bytes). */
static int get_b64(struct json_object *o, const char *where, const char *key, uint8_t *out,
		   size_t max, size_t *ret_len, char *why, size_t why_size)
{
	struct json_object *x = member(o, key);
	_cleanup_free_ uint8_t *bytes = NULL;
	size_t n;
	int r;

	if (!x)
		return FAIL("%s: \"%s\" is missing", where, key);
	if (!json_object_is_type(x, json_type_string))
		return FAIL("%s: \"%s\" is not a string", where, key);
	r = b64_decode(json_object_get_string(x), (size_t)json_object_get_string_len(x), max,
		       &bytes, &n);
	if (r == -ENOMEM)
		return r;
	if (r == -EMSGSIZE)
		return FAIL("%s: \"%s\" is longer than %zu bytes", where, key, max);
	if (r < 0)
		return FAIL("%s: \"%s\" is not base64 (RFC 4648 4, with padding)", where, key);
	memcpy(out, bytes, n);
	explicit_bzero(bytes, n);
	*ret_len = n;
	return 0;
}

static int get_ek(struct json_object *o, const char *where, enum op_ek *ret, char *why,
		  size_t why_size)
{
	char s[8];
	int r = get_string(o, where, "ek", true, s, sizeof(s) - 1, why, why_size);

	if (r < 0)
		return r;
	if (!strcmp(s, "rsa"))
		*ret = OP_EK_RSA;
	else if (!strcmp(s, "ecc"))
		*ret = OP_EK_ECC;
	else
		return FAIL("%s: \"ek\" is neither \"rsa\" nor \"ecc\"", where);
	return 0;
}

/* An https:// URL without white space or control characters. */
static int get_url(struct json_object *o, const char *where, const char *key, char *dst,
		   char *why, size_t why_size)
{
	int r = get_string(o, where, key, true, dst, OP_URL_MAX, why, why_size);

	if (r < 0)
		return r;
	if (strncmp(dst, "https://", 8) || !dst[8])
		return FAIL("%s: \"%s\" is not an https:// URL", where, key);
	for (const char *p = dst; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return FAIL("%s: \"%s\" holds white space or a control character",
				    where, key);
	return 0;
}

/* The "checks" or "failures" array: [{check, <text_key>}, ...]. */
static int get_checks(struct json_object *arr, const char *where, const char *text_key,
		      struct op_check *out, size_t *ret_n, size_t *ret_total, char *why,
		      size_t why_size)
{
	const char *const names[] = { "check", text_key, NULL };
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return FAIL("%s is not an array", where);
	n = json_object_array_length(arr);
	*ret_n = 0;
	if (ret_total)
		*ret_total = n;
	else if (n > OP_CHECKS_MAX)
		return FAIL("%s: more than %u entries", where, OP_CHECKS_MAX);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		struct op_check c;
		int r;

		if (!json_object_is_type(e, json_type_object))
			return FAIL("%s[%zu] is not an object", where, i);
		r = only_members(e, where, names, why, why_size);
		if (r == 0)
			r = get_string(e, where, "check", true, c.check, OP_NAME_MAX, why,
				       why_size);
		if (r == 0)
			r = get_string(e, where, text_key, true, c.text, OP_MESSAGE_MAX, why,
				       why_size);
		if (r < 0)
			return r;
		if (i < OP_CHECKS_MAX)
			out[(*ret_n)++] = c;
	}
	return 0;
}

/* ---- the answers ---- */

int op_parse_error(const char *body, size_t len, struct op_error *ret, char *why,
		   size_t why_size)
{
	static const char *const top[] = { "error", "checks", NULL };
	static const char *const names[] = { "code", "message", "failures", NULL };
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *e, *f, *c;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = parse_root(body, len, &o, why, why_size);
	if (r == 0)
		r = only_members(o, "the error answer", top, why, why_size);
	if (r == 0)
		r = get_object(o, "the error answer", "error", &e, why, why_size);
	if (r == 0)
		r = only_members(e, "error", names, why, why_size);
	if (r == 0)
		r = get_string(e, "error", "code", true, ret->code, OP_NAME_MAX, why, why_size);
	if (r == 0)
		r = get_string(e, "error", "message", true, ret->message, OP_MESSAGE_MAX, why,
			       why_size);
	if (r < 0)
		return r;
	for (const char *p = ret->code; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && *p != '_')
			return FAIL("error: \"code\" is not a lowercase identifier");
	if (!ret->code[0])
		return FAIL("error: \"code\" is empty");
	c = member(o, "checks");
	if (c) {
		r = get_checks(c, "checks", "result", ret->checks, &ret->n_checks, NULL, why,
			       why_size);
		if (r < 0)
			return r;
	}
	f = member(e, "failures");
	if (f)
		return get_checks(f, "error.failures", "reason", ret->failures,
				  &ret->n_failures, &ret->n_failures_total, why, why_size);
	return 0;
}

/* {"id", "name"}: the registration's "sho" and the switch order's. */
static int get_sho(struct json_object *o, const char *where, char *id, char *name, char *why,
		   size_t why_size)
{
	static const char *const names[] = { "id", "name", NULL };
	struct json_object *sho;
	int r = get_object(o, where, "sho", &sho, why, why_size);

	if (r == 0)
		r = only_members(sho, "sho", names, why, why_size);
	if (r == 0)
		r = get_string(sho, "sho", "id", true, id, OP_NAME_MAX, why, why_size);
	if (r == 0)
		r = get_string(sho, "sho", "name", true, name, OP_NAME_MAX, why, why_size);
	return r;
}

/* change-format.md 4: {"sho", "pva", "dpf", "consent", "release" | null}. */
static int get_switch(struct json_object *v, struct op_switch *sw, char *why,
		      size_t why_size)
{
	static const char *const names[] = { "sho", "pva", "dpf", "consent", "release", NULL };
	static const char where[] = "switch";
	struct json_object *rel;
	int r;

	if (!json_object_is_type(v, json_type_object))
		return FAIL("the registration: \"switch\" is not an object");
	r = only_members(v, where, names, why, why_size);
	if (r == 0)
		r = get_sho(v, where, sw->sho_id, sw->sho_name, why, why_size);
	if (r == 0)
		r = get_url(v, where, "pva", sw->pva_url, why, why_size);
	if (r == 0)
		r = get_url(v, where, "dpf", sw->dpf_url, why, why_size);
	if (r == 0)
		r = get_b64(v, where, "consent", sw->consent, sizeof(sw->consent),
			    &sw->consent_len, why, why_size);
	if (r == 0 && !sw->consent_len)
		r = FAIL("switch: \"consent\" is empty");
	if (r < 0)
		return r;
	rel = member(v, "release");
	if (!json_object_object_get_ex(v, "release", NULL))
		return FAIL("switch: \"release\" is missing (null or base64)");
	if (!rel)
		return 0; /* null */
	r = get_b64(v, where, "release", sw->release, sizeof(sw->release), &sw->release_len,
		    why, why_size);
	if (r == 0 && !sw->release_len)
		r = FAIL("switch: \"release\" is empty (null when there is none)");
	return r;
}

int op_parse_switch(const char *body, size_t len, struct op_switch *ret, char *why,
		    size_t why_size)
{
	_cleanup_json_ struct json_object *o = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = parse_root(body, len, &o, why, why_size);
	return r < 0 ? r : get_switch(o, ret, why, why_size);
}

int op_parse_registration(const char *body, size_t len, struct op_registration *ret,
			  char *why, size_t why_size)
{
	static const char *const names[] = { "device_id", "model", "subscriber", "sho",
					     "pva_url", "dpf_url", "ek", "switch", NULL };
	static const char where[] = "the registration";
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *sw;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = parse_root(body, len, &o, why, why_size);
	if (r == 0)
		r = only_members(o, where, names, why, why_size);
	if (r == 0)
		r = get_string(o, where, "device_id", true, ret->device_id, 64, why, why_size);
	if (r == 0)
		r = get_string(o, where, "model", false, ret->model, OP_NAME_MAX, why, why_size);
	if (r == 0)
		r = get_string(o, where, "subscriber", false, ret->subscriber, OP_NAME_MAX, why,
			       why_size);
	if (r == 0)
		r = get_sho(o, where, ret->sho_id, ret->sho_name, why, why_size);
	if (r == 0)
		r = get_url(o, where, "pva_url", ret->pva_url, why, why_size);
	if (r == 0)
		r = get_url(o, where, "dpf_url", ret->dpf_url, why, why_size);
	if (r == 0)
		r = get_ek(o, where, &ret->ek, why, why_size);
	if (r == 0 && json_object_object_get_ex(o, "switch", &sw)) {
		ret->has_switch = true;
		r = get_switch(sw, &ret->sw, why, why_size);
	}
	if (r < 0)
		return r;
	/* protocol "Identities": lowercase hex SHA-256. */
	if (strlen(ret->device_id) != 64 ||
	    strspn(ret->device_id, "0123456789abcdef") != 64)
		return FAIL("%s: \"device_id\" is not 64 lowercase hex digits", where);
	return 0;
}

static int get_selection(struct json_object *arr, TPML_PCR_SELECTION *sel, char *why,
			 size_t why_size)
{
	static const char *const names[] = { "bank", "pcrs", NULL };
	size_t n;

	memset(sel, 0, sizeof(*sel));
	if (!json_object_is_type(arr, json_type_array))
		return FAIL("the session: \"pcr_selection\" is not an array");
	n = json_object_array_length(arr);
	if (n == 0 || n > TPM2_NUM_PCR_BANKS)
		return FAIL("the session: \"pcr_selection\" names 0 or more than %d banks",
			    TPM2_NUM_PCR_BANKS);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i), *pcrs;
		TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
		char bank[16];
		size_t b, np;
		int r;

		if (!json_object_is_type(e, json_type_object))
			return FAIL("pcr_selection[%zu] is not an object", i);
		r = only_members(e, "pcr_selection", names, why, why_size);
		if (r == 0)
			r = get_string(e, "pcr_selection", "bank", true, bank, sizeof(bank) - 1,
				       why, why_size);
		if (r < 0)
			return r;
		for (b = 0; b < ARRAY_SIZE(banks) && strcmp(banks[b].name, bank); b++)
			;
		if (b == ARRAY_SIZE(banks))
			return FAIL("pcr_selection[%zu]: unknown bank \"%s\"", i, bank);
		for (size_t j = 0; j < i; j++)
			if (sel->pcrSelections[j].hash == banks[b].alg)
				return FAIL("pcr_selection: bank %s given twice", bank);
		s->hash = banks[b].alg;
		s->sizeofSelect = 3; /* PCRs 0..23 (PC Client) */
		pcrs = member(e, "pcrs");
		if (!pcrs || !json_object_is_type(pcrs, json_type_array))
			return FAIL("pcr_selection[%zu]: \"pcrs\" is not an array", i);
		np = json_object_array_length(pcrs);
		if (np == 0 || np > 24)
			return FAIL("pcr_selection[%zu]: \"pcrs\" names 0 or more than 24 PCRs",
				    i);
		for (size_t j = 0; j < np; j++) {
			struct json_object *x = json_object_array_get_idx(pcrs, j);
			int64_t v;

			if (!json_object_is_type(x, json_type_int))
				return FAIL("pcr_selection[%zu]: a PCR is not an integer", i);
			v = json_object_get_int64(x);
			if (v < 0 || v > 23)
				return FAIL("pcr_selection[%zu]: PCR %lld is not 0..23", i,
					    (long long)v);
			if (s->pcrSelect[v / 8] & (1u << (v % 8)))
				return FAIL("pcr_selection[%zu]: PCR %lld given twice", i,
					    (long long)v);
			s->pcrSelect[v / 8] |= (uint8_t)(1u << (v % 8));
		}
		sel->count++;
	}
	return 0;
}

static int get_credential(struct json_object *c, struct op_session *ret, char *why,
			  size_t why_size)
{
	static const char *const names[] = { "blob", "secret", "ek", NULL };
	uint8_t buf[sizeof(TPM2B_ENCRYPTED_SECRET) + sizeof(TPM2B_ID_OBJECT)];
	size_t n = 0, off = 0;
	int r = only_members(c, "credential", names, why, why_size);

	if (r == 0)
		r = get_ek(c, "credential", &ret->ek, why, why_size);
	if (r == 0)
		r = get_b64(c, "credential", "blob", buf, sizeof(TPM2B_ID_OBJECT), &n, why,
			    why_size);
	if (r < 0)
		return r;
	/* The marshalled TPM2B, every byte of it (TPM 2.0 Part 2, 10.6.3). */
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(buf, n, &off, &ret->blob) || off != n ||
	    !ret->blob.size)
		return FAIL("credential: \"blob\" is not a TPM2B_ID_OBJECT");
	off = 0;
	r = get_b64(c, "credential", "secret", buf, sizeof(TPM2B_ENCRYPTED_SECRET), &n, why,
		    why_size);
	if (r < 0)
		return r;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(buf, n, &off, &ret->secret) || off != n ||
	    !ret->secret.size)
		return FAIL("credential: \"secret\" is not a TPM2B_ENCRYPTED_SECRET");
	return 0;
}

int op_parse_session(const char *body, size_t len, struct op_session *ret, char *why,
		     size_t why_size)
{
	static const char *const names[] = { "session", "nonce", "credential", "pcr_selection",
					     "mode", "expires", NULL };
	static const char where[] = "the session";
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *c, *sel;
	char mode[24];
	int64_t exp = 0;
	size_t m;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = parse_root(body, len, &o, why, why_size);
	if (r == 0)
		r = only_members(o, where, names, why, why_size);
	if (r == 0)
		r = get_string(o, where, "session", true, ret->session, OP_NAME_MAX, why,
			       why_size);
	if (r == 0)
		r = get_b64(o, where, "nonce", ret->nonce, OP_NONCE_MAX, &ret->nonce_len, why,
			    why_size);
	if (r == 0)
		r = get_object(o, where, "credential", &c, why, why_size);
	if (r == 0)
		r = get_credential(c, ret, why, why_size);
	if (r == 0) {
		sel = member(o, "pcr_selection");
		r = sel ? get_selection(sel, &ret->sel, why, why_size)
			: FAIL("%s: \"pcr_selection\" is missing", where);
	}
	if (r == 0)
		r = get_string(o, where, "mode", true, mode, sizeof(mode) - 1, why, why_size);
	if (r == 0)
		r = get_int(o, where, "expires", 0, INT64_MAX, &exp, why, why_size);
	if (r < 0)
		return r;
	ret->expires = exp;
	/* The session goes into a path: unreserved characters only (RFC 3986 2.3). */
	if (!ret->session[0] ||
	    strspn(ret->session, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789-._~") != strlen(ret->session))
		return FAIL("%s: \"session\" is empty or not made of [A-Za-z0-9-._~]", where);
	if (ret->nonce_len < OP_NONCE_MIN)
		return FAIL("%s: \"nonce\" is shorter than %u bytes", where, OP_NONCE_MIN);
	for (m = 0; m < ARRAY_SIZE(mode_names) && strcmp(mode, mode_names[m]); m++)
		;
	if (m == ARRAY_SIZE(mode_names))
		return FAIL("%s: unknown \"mode\" \"%s\"", where, mode);
	ret->mode = (enum op_mode)m;
	return 0;
}

int op_parse_result(const char *body, size_t len, struct op_result *ret, char *why,
		    size_t why_size)
{
	static const char *const names[] = { "result", "ticket", "expires", "checks", NULL };
	static const char where[] = "the validation result";
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *checks;
	char result[16];
	size_t dots = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = parse_root(body, len, &o, why, why_size);
	if (r == 0)
		r = only_members(o, where, names, why, why_size);
	if (r == 0)
		r = get_string(o, where, "result", true, result, sizeof(result) - 1, why,
			       why_size);
	if (r == 0 && strcmp(result, "valid"))
		r = FAIL("%s: \"result\" is \"%s\", not \"valid\"", where, result);
	if (r == 0)
		r = get_string(o, where, "ticket", true, ret->ticket, OP_TICKET_MAX, why,
			       why_size);
	if (r == 0)
		r = get_int(o, where, "expires", 0, INT64_MAX, &ret->expires, why, why_size);
	if (r < 0)
		return r;
	/* JWS compact serialization (RFC 7515 7.1): three base64url parts. */
	for (const char *p = ret->ticket; *p; p++) {
		if (*p == '.')
			dots++;
		else if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789-_", *p))
			return FAIL("%s: \"ticket\" is not a JWS compact serialization", where);
	}
	if (dots != 2)
		return FAIL("%s: \"ticket\" is not a JWS compact serialization", where);
	checks = member(o, "checks");
	if (!checks)
		return FAIL("%s: \"checks\" is missing", where);
	return get_checks(checks, "checks", "result", ret->checks, &ret->n_checks, NULL, why,
			  why_size);
}

int op_parse_package(const char *body, size_t len, struct op_package *ret, char *why,
		     size_t why_size)
{
	static const char *const members[] = { "package", "sequence", "iccid", NULL };
	_cleanup_json_ struct json_object *o = NULL;
	const char *iccid;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = ju_parse(body, len, 4, &o, why, why_size);
	if (r == 0)
		r = ju_only(o, "the DPF's answer", members, why, why_size);
	if (r == 0)
		r = ju_int(o, "sequence", false, 1, INT64_MAX, &ret->sequence, why, why_size);
	if (r == 0)
		r = ju_string(o, "iccid", false, sizeof(ret->iccid) - 1, &iccid, why, why_size);
	if (r == 0 && (strlen(iccid) < 18 || strspn(iccid, "0123456789") != strlen(iccid))) {
		snprintf(why, why_size, "member \"iccid\" is not 18 to 20 digits");
		r = -EINVAL;
	}
	if (r == 0) {
		memcpy(ret->iccid, iccid, strlen(iccid) + 1);
		r = ju_base64(o, "package", false, PACKAGE_MAX, &ret->der, &ret->der_len, why,
			      why_size);
	}
	if (r < 0) {
		free(ret->der);
		ret->der = NULL;
		return r == -ENOMEM ? r : -EBADMSG;
	}
	return 0;
}
