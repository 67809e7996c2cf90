/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers for the daemon/aka unit tests: the JSON test data in tests/data/
 * (read by path relative to the repository root, where tests/run starts
 * the tests), hex fields, per-set cmocka tables and a counting E_K.
 */
#ifndef MCIM_TEST_AKA_H
#define MCIM_TEST_AKA_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "daemon/aka/aka.h"
#include "hex.h"
#include "macro.h"

/* The array "key" of the JSON file; the document stays loaded for the
 * process (tests are short-lived). */
static inline struct json_object *load_array(const char *path, const char *key)
{
	static struct json_object *docs[4];
	static const char *names[4];
	struct json_object *doc = NULL, *arr;

	for (unsigned i = 0; i < 4 && names[i]; i++)
		if (!strcmp(names[i], path))
			doc = docs[i];
	if (!doc) {
		doc = json_object_from_file(path);
		if (!doc) {
			fprintf(stderr, "cannot read %s: %s\n", path,
				json_util_get_last_err());
			exit(1);
		}
		for (unsigned i = 0; i < 4; i++)
			if (!names[i]) {
				names[i] = path;
				docs[i] = doc;
				break;
			}
	}
	if (!json_object_object_get_ex(doc, key, &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		fprintf(stderr, "%s: no array %s\n", path, key);
		exit(1);
	}
	return arr;
}

static inline struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static inline const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	assert_non_null(v);
	return json_object_get_string(v);
}

static inline int jint(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	assert_non_null(v);
	return json_object_get_int(v);
}

/* Decodes the hex field key of o into out; fails the test if absent. */
static inline size_t jhex(struct json_object *o, const char *key, uint8_t *out,
			  size_t max)
{
	const char *s = jstr(o, key);
	int n = hex_decode(s, out, max);

	if (n < 0)
		fail_msg("field %s: bad hex %s", key, s);
	return (size_t)n;
}

/* Asserts that buf (len octets) equals the hex field key of o. */
static inline void assert_hex_field(struct json_object *o, const char *key,
				    const uint8_t *buf, size_t len)
{
	uint8_t want[256];
	size_t n = jhex(o, key, want, sizeof(want));

	if (n != len || memcmp(want, buf, len)) {
		char got[2 * 256 + 1];

		hex_encode(buf, len, got);
		fail_msg("%s: got %s, want %s", key, got, jstr(o, key));
	}
}

/* One cmocka test per element of a data array: state points to the
 * element's index.  Runs the group and returns its result. */
static inline int run_per_set(const char *group, const char *prefix,
			      size_t n, void (*fn)(void **),
			      const struct CMUnitTest *extra, size_t n_extra)
{
	struct CMUnitTest *t = calloc(n + n_extra, sizeof(*t));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	int r;

	if (!t || !idx)
		abort();
	for (size_t i = 0; i < n; i++) {
		char *name;

		idx[i] = i;
		if (asprintf(&name, "%s %zu", prefix, i + 1) < 0)
			abort();
		t[i] = (struct CMUnitTest){ .name = name, .test_func = fn,
					    .initial_state = &idx[i] };
	}
	for (size_t i = 0; i < n_extra; i++)
		t[n + i] = extra[i];
	r = _cmocka_run_group_tests(group, t, n + n_extra, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free((char *)t[i].name);
	free(t);
	free(idx);
	return r;
}

/* An E_K that counts calls and blocks on top of another E_K. */
struct counting_cipher {
	struct aka_cipher inner;
	unsigned calls, blocks;
};

static inline int counting_encrypt(void *ctx, const uint8_t *in, uint8_t *out,
				   size_t nblocks)
{
	struct counting_cipher *c = ctx;

	c->calls++;
	c->blocks += (unsigned)nblocks;
	return c->inner.encrypt(c->inner.ctx, in, out, nblocks);
}

static inline struct aka_cipher counting_cipher(struct counting_cipher *c)
{
	return (struct aka_cipher){ .encrypt = counting_encrypt, .ctx = c };
}

#endif
