// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The store (store.h, docs/store.md): the audit log.
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

/* ---- audit and generation ---------------------------------------------- */

int store_audit(struct store *s, const char *event, const char *iccid,
		const char *detail)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if (!s || !store_kind_ok(event) || (iccid && !store_text_ok(iccid, STORE_ICCID_MAX)))
		return -EINVAL;
	if (detail && !store_text_ok(detail, STORE_DETAIL_MAX))
		return store_fail(s, -EINVAL, "audit detail too long or not text");
	r = store_prepare(s, "INSERT INTO audit(time_ms, event, iccid, detail)"
		       " VALUES (?, ?, ?, ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, store_now_ms());
	sqlite3_bind_text(st, 2, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, iccid ? iccid : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, detail ? detail : "", -1, SQLITE_STATIC);
	r = store_step_done(s, st, "audit");
	if (r < 0)
		return r;
	/* Bounded: keep the last STORE_AUDIT_KEEP entries. */
	if (sqlite3_last_insert_rowid(s->db) % 100 == 0) {
		_cleanup_stmt_ sqlite3_stmt *del = NULL;

		r = store_prepare(s, "DELETE FROM audit WHERE seq <= ?", &del);
		if (r < 0)
			return r;
		sqlite3_bind_int64(del, 1, sqlite3_last_insert_rowid(s->db) -
						   STORE_AUDIT_KEEP);
		r = store_step_done(s, del, "audit prune");
	}
	return r;
}

int store_audit_list(struct store *s, size_t max, struct store_audit_entry **ret,
		     size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ struct store_audit_entry *v = NULL;
	size_t n = 0;
	int r, rc;

	if (!s || !ret || !ret_n || max > STORE_AUDIT_KEEP)
		return -EINVAL;
	r = store_prepare(s, "SELECT seq, time_ms, event, iccid, detail FROM"
		       " (SELECT * FROM audit ORDER BY seq DESC LIMIT ?)"
		       " ORDER BY seq", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	v = calloc(max ? max : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
		struct store_audit_entry *e = &v[n++];

		e->seq = sqlite3_column_int64(st, 0);
		e->time_ms = sqlite3_column_int64(st, 1);
		snprintf(e->event, sizeof(e->event), "%s", sqlite3_column_text(st, 2));
		snprintf(e->iccid, sizeof(e->iccid), "%s", sqlite3_column_text(st, 3));
		snprintf(e->detail, sizeof(e->detail), "%s", sqlite3_column_text(st, 4));
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_sqlfail(s, rc, "audit list");
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}
