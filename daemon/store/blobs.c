// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The store (store.h, docs/store.md): profile and device blobs.
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

/* ---- blobs ------------------------------------------------------------- */

static int blob_put(struct store *s, const char *sql, int64_t id, bool with_id,
		    const char *kind, const uint8_t *data, size_t len)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, i = 1;

	if (!store_kind_ok(kind) || len > STORE_BLOB_MAX || (len && !data))
		return store_fail(s, -EINVAL, "blob: bad kind or size");
	r = store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	if (with_id)
		sqlite3_bind_int64(st, i++, id);
	sqlite3_bind_text(st, i++, kind, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, i, len ? (const void *)data : "", (int)len, SQLITE_STATIC);
	r = sqlite3_step(st);
	if ((r & 0xff) == SQLITE_CONSTRAINT)
		return store_fail(s, -ENOENT, "no such profile");
	return r == SQLITE_DONE ? 0 : store_sqlfail(s, r, "blob");
}

static int blob_get(struct store *s, const char *sql, int64_t id, bool with_id,
		    const char *kind, uint8_t **ret, size_t *ret_len)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	const void *d;
	size_t n;
	int r, rc, i = 1;

	if (!store_kind_ok(kind) || !ret || !ret_len)
		return -EINVAL;
	r = store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	if (with_id)
		sqlite3_bind_int64(st, i++, id);
	sqlite3_bind_text(st, i, kind, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return store_fail(s, -ENOENT, "no blob %s", kind);
	if (rc != SQLITE_ROW)
		return store_sqlfail(s, rc, "blob");
	d = sqlite3_column_blob(st, 0);
	n = (size_t)sqlite3_column_bytes(st, 0);
	if (n > STORE_BLOB_MAX)
		return store_fail(s, -EBADMSG, "blob %s too large", kind);
	*ret = malloc(n ? n : 1);
	if (!*ret)
		return -ENOMEM;
	if (n)
		memcpy(*ret, d, n);
	*ret_len = n;
	return 0;
}

int store_blob_put(struct store *s, int64_t id, const char *kind,
		   const uint8_t *data, size_t len)
{
	if (!s)
		return -EINVAL;
	return blob_put(s, "INSERT OR REPLACE INTO blobs(profile_id, kind, data)"
			   " VALUES (?,?,?)", id, true, kind, data, len);
}

int store_blob_get(struct store *s, int64_t id, const char *kind, uint8_t **ret,
		   size_t *ret_len)
{
	if (!s)
		return -EINVAL;
	return blob_get(s, "SELECT data FROM blobs WHERE profile_id = ? AND kind = ?",
			id, true, kind, ret, ret_len);
}

int store_blob_delete(struct store *s, int64_t id, const char *kind)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if (!s || !store_kind_ok(kind))
		return -EINVAL;
	r = store_prepare(s, "DELETE FROM blobs WHERE profile_id = ? AND kind = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	r = store_step_done(s, st, "blob delete");
	if (r >= 0 && sqlite3_changes(s->db) == 0)
		return store_fail(s, -ENOENT, "no blob %s", kind);
	return r;
}

int store_device_blob_put(struct store *s, const char *kind, const uint8_t *data,
			  size_t len)
{
	if (!s)
		return -EINVAL;
	return blob_put(s, "INSERT OR REPLACE INTO device_blobs(kind, data) VALUES (?,?)",
			0, false, kind, data, len);
}

int store_device_blob_get(struct store *s, const char *kind, uint8_t **ret,
			  size_t *ret_len)
{
	if (!s)
		return -EINVAL;
	return blob_get(s, "SELECT data FROM device_blobs WHERE kind = ?", 0, false,
			kind, ret, ret_len);
}

int store_device_blob_delete(struct store *s, const char *kind)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if (!s || !store_kind_ok(kind))
		return -EINVAL;
	r = store_prepare(s, "DELETE FROM device_blobs WHERE kind = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	r = store_step_done(s, st, "device blob delete");
	if (r >= 0 && sqlite3_changes(s->db) == 0)
		return store_fail(s, -ENOENT, "no device blob %s", kind);
	return r;
}

int store_profile_used(struct store *s, int64_t id, bool *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if (!s || !ret)
		return -EINVAL;
	r = store_prepare(s, "SELECT EXISTS (SELECT 1 FROM sqn WHERE profile_id = ?"
			  " AND seq_ms > 0)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_sqlfail(s, sqlite3_errcode(s->db), "sqn");
	*ret = sqlite3_column_int(st, 0) != 0;
	return 0;
}

/* ---- operator packages: the last accepted sequence (covered by the MAC) ---- */

/*
 * One sequence per operator (docs/change-format.md 6: each operator
 * numbers its own packages and updates): device blob "pkgseq:" + the first
 * 24 hex digits of the operator's sho_id (kinds are at most STORE_KIND_MAX
 * characters; 96 bits tell the few roots a device trusts apart).  The
 * device-wide "package-seq" of stores written before stays a floor for
 * every operator.
 */
static int seq_kind(const char *sho_id, char kind[STORE_KIND_MAX + 1])
{
	if (!sho_id || !*sho_id) {
		snprintf(kind, STORE_KIND_MAX + 1, "%s", STORE_PACKAGE_SEQ_BLOB);
		return 0;
	}
	if (!store_hex_ok(sho_id, 64) || strlen(sho_id) != 64)
		return -EINVAL;
	snprintf(kind, STORE_KIND_MAX + 1, "%s%.24s", STORE_PACKAGE_SEQ_PREFIX, sho_id);
	return 0;
}

static int seq_get(struct store *s, const char *kind, uint64_t *ret)
{
	_cleanup_free_ uint8_t *b = NULL;
	size_t len = 0;
	uint64_t v = 0;
	int r = store_device_blob_get(s, kind, &b, &len);

	*ret = 0;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (len != 8)
		return store_fail(s, -EBADMSG, "device blob %s is malformed", kind);
	for (size_t i = 0; i < 8; i++)
		v = v << 8 | b[i];
	*ret = v;
	return 0;
}

int store_package_seq(struct store *s, const char *sho_id, uint64_t *ret)
{
	char kind[STORE_KIND_MAX + 1];
	uint64_t floor = 0;
	int r;

	if (!s || !ret || seq_kind(sho_id, kind) < 0)
		return -EINVAL;
	r = seq_get(s, STORE_PACKAGE_SEQ_BLOB, &floor);
	if (r == 0)
		r = seq_get(s, kind, ret);
	if (r == 0 && floor > *ret)
		*ret = floor;
	return r;
}

int store_package_seq_set(struct store *s, const char *sho_id, uint64_t seq)
{
	char kind[STORE_KIND_MAX + 1];
	uint8_t b[8];
	uint64_t last;
	int r = store_package_seq(s, sho_id, &last);

	if (r < 0)
		return r;
	if (seq <= last)
		return store_fail(s, -ERANGE, "package sequence %" PRIu64 " is not above the "
				  "last accepted (%" PRIu64 ")", seq, last);
	seq_kind(sho_id, kind);
	for (int i = 7; i >= 0; i--, seq >>= 8)
		b[i] = (uint8_t)seq;
	/* Its own transaction (or a savepoint): the MAC covers it, and like a
	 * lifecycle change it must never come back (a generation bump). */
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	r = store_device_blob_put(s, kind, b, sizeof(b));
	if (r >= 0)
		store_mark_bump(s);
	return store_tx_end(s, r);
}

/* ---- consents and releases accepted (docs/change-format.md 2) ---- */

static bool token_ok(const char *kind, const char *id)
{
	return kind && id && (!strcmp(kind, "consent") || !strcmp(kind, "release")) &&
	       store_hex_ok(id, STORE_TOKEN_ID_MAX);
}

int store_token_used(struct store *s, const char *kind, const char *id, bool *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if (!s || !ret)
		return -EINVAL;
	if (!token_ok(kind, id))
		return store_fail(s, -EINVAL, "bad token kind or id");
	r = store_prepare(s, "SELECT EXISTS (SELECT 1 FROM tokens WHERE kind = ? AND id = ?)",
			  &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_sqlfail(s, sqlite3_errcode(s->db), "tokens");
	*ret = sqlite3_column_int(st, 0) != 0;
	return 0;
}

static int token_insert(struct store *s, const char *kind, const char *id, int64_t expires,
			int64_t now)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL, *del = NULL, *cnt = NULL;
	int r, rc;

	r = store_prepare(s, "DELETE FROM tokens WHERE expires <= ?", &del);
	if (r < 0)
		return r;
	sqlite3_bind_int64(del, 1, now);
	r = store_step_done(s, del, "tokens");
	if (r >= 0)
		r = store_prepare(s, "SELECT count(*) FROM tokens", &cnt);
	if (r < 0)
		return r;
	if (sqlite3_step(cnt) != SQLITE_ROW)
		return store_sqlfail(s, sqlite3_errcode(s->db), "tokens");
	if (sqlite3_column_int64(cnt, 0) >= STORE_TOKENS_MAX)
		return store_fail(s, -ENOSPC, "%d consent and release ids are kept already",
				  STORE_TOKENS_MAX);
	r = store_prepare(s, "INSERT INTO tokens(kind, id, expires) VALUES (?, ?, ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, expires);
	rc = sqlite3_step(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return store_fail(s, -EALREADY, "%s %s was used before", kind, id);
	if (rc != SQLITE_DONE)
		return store_sqlfail(s, rc, "tokens");
	store_mark_bump(s);
	return 0;
}

int store_token_use(struct store *s, const char *kind, const char *id, int64_t expires,
		    int64_t now)
{
	int r;

	if (!s)
		return -EINVAL;
	/* An id that expired since its check is recorded all the same (and
	 * pruned with the next): nothing accepts it any more. */
	if (!token_ok(kind, id) || expires <= 0)
		return store_fail(s, -EINVAL, "bad token kind, id or expiry");
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	return store_tx_end(s, token_insert(s, kind, id, expires, now));
}
