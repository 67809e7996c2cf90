// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The store (store.h, docs/store.md): new contents for a profile's EFs, an
 * update over the air (docs/change-format.md 6), in one transaction.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "daemon/store/store-internal.h"

/* One EF's new body; its path text is appended to detail for the audit. */
static int update_one(struct store *s, int64_t id, const struct usim_file_update *u,
		      char *detail, size_t size)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	enum usim_file_kind kind;
	int64_t fsize, rec_len, rec_count;
	char path[64];
	size_t used;
	int r, rc;

	r = store_prepare(s, "SELECT kind, size, rec_len, rec_count, path FROM files"
		       " WHERE profile_id = ? AND idx = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, u->index);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return store_fail(s, -EINVAL, "no file %d in the profile", u->index);
	if (rc != SQLITE_ROW)
		return store_sqlfail(s, rc, "file");
	kind = (enum usim_file_kind)sqlite3_column_int(st, 0);
	fsize = sqlite3_column_int64(st, 1);
	rec_len = sqlite3_column_int64(st, 2);
	rec_count = sqlite3_column_int64(st, 3);
	snprintf(path, sizeof(path), "%s", (const char *)sqlite3_column_text(st, 4));
	sqlite3_finalize(TAKE_PTR(st));
	if (!store_is_ef(kind))
		return store_fail(s, -EINVAL, "%s is not an EF", path);
	if (!u->data || (int64_t)u->len != fsize)
		return store_fail(s, -EINVAL, "%s: %zu bytes, the file has %lld", path, u->len,
				  (long long)fsize);
	if (kind == USIM_FILE_EF_TRANSPARENT) {
		r = store_prepare(s, "UPDATE files SET data = ? WHERE profile_id = ? AND idx = ?",
				  &st);
		if (r < 0)
			return r;
		sqlite3_bind_blob(st, 1, u->data, (int)u->len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
		sqlite3_bind_int(st, 3, u->index);
		r = store_step_done(s, st, "EF");
	} else {
		if (rec_len * rec_count != fsize)
			return store_fail(s, -EBADMSG, "%s: records do not make its size", path);
		r = store_prepare(s, "UPDATE records SET data = ? WHERE profile_id = ? AND idx = ?"
			       " AND recno = ?", &st);
		for (int64_t k = 0; r >= 0 && k < rec_count; k++) {
			sqlite3_reset(st);
			sqlite3_bind_blob(st, 1, u->data + k * rec_len, (int)rec_len, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, id);
			sqlite3_bind_int(st, 3, u->index);
			sqlite3_bind_int64(st, 4, k + 1);
			r = store_step_done(s, st, "record");
			if (r >= 0 && sqlite3_changes(s->db) != 1)
				r = store_fail(s, -EBADMSG, "%s record %lld not in the store", path,
					       (long long)k + 1);
		}
	}
	if (r < 0)
		return r;
	used = strlen(detail);
	if (used + strlen(path) + 2 < size)
		snprintf(detail + used, size - used, "%s%s", used ? " " : "", path);
	return 0;
}

int store_profile_update_files(struct store *s, int64_t id, const struct usim_file_update *u,
			       size_t n)
{
	char detail[STORE_DETAIL_MAX + 1] = "";
	struct store_profile_info info;
	int r;

	if (!s || !u || n == 0 || n > USIM_REFRESH_MAX_FILES)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (u[i].index == u[j].index)
				return store_fail(s, -EINVAL, "file %d given twice", u[i].index);
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	r = store_profile_get(s, id, &info);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = update_one(s, id, &u[i], detail, sizeof(detail));
	if (r >= 0)
		r = store_audit(s, "files-update", info.iccid, detail);
	return store_tx_end(s, r);
}
