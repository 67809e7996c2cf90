// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The store (store.h, docs/store.md): sealed secrets (OPc/TOPc, PIN
 * values) and the in-memory PIN fingerprints.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/store/store-internal.h"

/* ---- sealed secrets ---------------------------------------------------- */

int store_seal_put(struct store *s, int64_t id, const char *kind,
		    const uint8_t *secret, size_t len)
{
	uint8_t blob[STORE_BLOB_MAX];
	size_t blob_len = 0;
	int r;

	if (!s->has_sealer)
		return store_fail(s, -ENOKEY, "no sealer: cannot store secrets");
	r = s->sealer.seal(s->sealer.ctx, secret, len, blob, sizeof(blob),
			   &blob_len);
	if (r < 0)
		return store_fail(s, r, "sealing %s: %s", kind, strerror(-r));
	if (blob_len > sizeof(blob))
		return store_fail(s, -EOVERFLOW, "sealer overflowed");
	return store_blob_put(s, id, kind, blob, blob_len);
}

int store_unseal_get(struct store *s, int64_t id, const char *kind,
		      uint8_t *secret, size_t max, size_t *ret_len)
{
	_cleanup_free_ uint8_t *blob = NULL;
	size_t blob_len;
	int r;

	if (!s->has_sealer)
		return store_fail(s, -ENOKEY, "no sealer: cannot read secrets");
	r = store_blob_get(s, id, kind, &blob, &blob_len);
	if (r < 0)
		return r == -ENOENT ? store_fail(s, -EBADMSG, "profile %" PRId64
					   " has no %s blob", id, kind) : r;
	r = s->sealer.unseal(s->sealer.ctx, blob, blob_len, secret, max, ret_len);
	if (r < 0)
		return store_fail(s, r, "unsealing %s: %s", kind, strerror(-r));
	return 0;
}

void store_pin_kind(char *buf, size_t size, uint8_t key_ref)
{
	snprintf(buf, size, STORE_BLOB_PIN_PREFIX "%02x", key_ref);
}

/* value || puk, the secret part of a PIN. */
void store_pin_secret(const struct usim_pin *pin, uint8_t out[2 * USIM_PIN_LEN])
{
	memcpy(out, pin->value, USIM_PIN_LEN);
	memcpy(out + USIM_PIN_LEN, pin->puk, USIM_PIN_LEN);
}

int store_pin_fingerprint(struct store *s, const struct usim_pin *pin,
			   uint8_t fp[FP_LEN])
{
	uint8_t sec[2 * USIM_PIN_LEN];
	size_t len = 0;
	int r = 0;

	store_pin_secret(pin, sec);
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, s->fp_key,
		       sizeof(s->fp_key), sec, sizeof(sec), fp, FP_LEN, &len) ||
	    len != FP_LEN)
		r = -EIO;
	OPENSSL_cleanse(sec, sizeof(sec));
	return r;
}

struct pin_fp *store_fp_find(struct store *s, int64_t id, uint8_t key_ref)
{
	for (size_t i = 0; i < s->n_fps; i++)
		if (s->fps[i].id == id && s->fps[i].key_ref == key_ref)
			return &s->fps[i];
	return NULL;
}

void store_fp_forget(struct store *s, int64_t id)
{
	size_t j = 0;

	for (size_t i = 0; i < s->n_fps; i++)
		if (s->fps[i].id != id)
			s->fps[j++] = s->fps[i];
	s->n_fps = j;
}

/* Remembers what is committed for (id, key_ref); failures just forget. */
void store_fp_set(struct store *s, int64_t id, const uint8_t *key_ref_fp,
		   uint8_t key_ref)
{
	struct pin_fp *f = store_fp_find(s, id, key_ref);

	if (!f) {
		struct pin_fp *n = reallocarray(s->fps, s->n_fps + 1, sizeof(*n));

		if (!n)
			return;
		s->fps = n;
		f = &s->fps[s->n_fps++];
		f->id = id;
		f->key_ref = key_ref;
	}
	memcpy(f->fp, key_ref_fp, FP_LEN);
}
