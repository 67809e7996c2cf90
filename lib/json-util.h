/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Strict JSON for untrusted inputs (the operator's request bodies, device
 * model files on both sides): json-c in strict mode with a depth limit, objects checked against
 * the members they may have, base64 and hex fields decoded with exact limits.
 * Every function writes what is wrong into why and returns -EINVAL (bad
 * input) or -ENOMEM.
 */
#ifndef MCIM_JSON_UTIL_H
#define MCIM_JSON_UTIL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
#define _cleanup_json_ _cleanup_(json_object_putp)

/* Parses exactly one JSON value filling text[0..len) (UTF-8, strict). */
int ju_parse(const char *text, size_t len, int depth, struct json_object **ret, char *why,
	     size_t why_size);

/* The object's members must all be in allowed (NULL-terminated). */
int ju_only(struct json_object *o, const char *what, const char *const *allowed, char *why,
	    size_t why_size);

/* Member name of o as a string (required unless optional; *ret NULL if absent). */
int ju_string(struct json_object *o, const char *name, bool optional, size_t max,
	      const char **ret, char *why, size_t why_size);
int ju_int(struct json_object *o, const char *name, bool optional, int64_t min, int64_t max,
	   int64_t *ret, char *why, size_t why_size);
/* Base64 member decoded into a new buffer of at most max bytes. */
int ju_base64(struct json_object *o, const char *name, bool optional, size_t max,
	      uint8_t **ret, size_t *ret_len, char *why, size_t why_size);
/* Hex member decoded into out: exactly len bytes, or up to len when !exact. */
int ju_hex(struct json_object *o, const char *name, uint8_t *out, size_t len, bool exact,
	   size_t *ret_len, char *why, size_t why_size);

/*
 * Standard base64 with padding (RFC 4648 4) <-> bytes; malloc'ed results.
 * b64_decode takes the canonical form only (section 3.5: the bits the
 * padding drops are zero): -EINVAL otherwise, -EMSGSIZE over max bytes.
 */
char *b64_encode(const uint8_t *p, size_t n);
int b64_decode(const char *s, size_t slen, size_t max, uint8_t **ret, size_t *ret_len);

#endif
