// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SQLite helpers and transactions of the store (store-internal.h).  Every
 * public call that writes is one transaction (BEGIN IMMEDIATE ... COMMIT)
 * or a savepoint in the caller's (store_begin()); before each COMMIT
 * store_precommit() bumps the generation when asked and writes the state
 * MAC (anchor.c, docs/store.md "Rollback").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon/store/store-internal.h"

void store_stmt_finalizep(sqlite3_stmt **st)
{
	if (*st)
		sqlite3_finalize(*st);
}

int store_fail(struct store *s, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return r;
}

int store_errno_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CANTOPEN:
		return -EACCES;
	case SQLITE_READONLY:
		return -EROFS;
	default:
		return -EIO;
	}
}

int store_sqlfail(struct store *s, int rc, const char *what)
{
	return store_fail(s, store_errno_of(rc), "%s: %s", what,
		    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

int store_exec(struct store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_sqlfail(s, rc, sql);
}

int store_prepare(struct store *s, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, ret, NULL);

	return rc == SQLITE_OK ? 0 : store_sqlfail(s, rc, "prepare");
}

/* Steps a statement that returns no row. */
int store_step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE ? 0 : store_sqlfail(s, rc, what);
}

/* ---- transactions ------------------------------------------------------ */

int store_tx_begin(struct store *s)
{
	return store_exec(s, s->in_tx ? "SAVEPOINT op" : "BEGIN IMMEDIATE");
}

/* Ends what store_tx_begin() started: commits (or releases) when r >= 0. */
int store_tx_end(struct store *s, int r)
{
	char keep[sizeof(s->err)];

	if (r >= 0) {
		int c = s->in_tx ? 0 : store_precommit(s);

		if (c >= 0)
			c = store_exec(s, s->in_tx ? "RELEASE op" : "COMMIT");
		if (c >= 0)
			return r;
		r = c;
	}
	memcpy(keep, s->err, sizeof(keep));
	if (s->in_tx) {
		sqlite3_exec(s->db, "ROLLBACK TO op", NULL, NULL, NULL);
		sqlite3_exec(s->db, "RELEASE op", NULL, NULL, NULL);
	} else if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		s->bump_pending = false;
	}
	memcpy(s->err, keep, sizeof(keep));
	return r;
}

int store_begin(struct store *s)
{
	int r;

	if (!s)
		return -EINVAL;
	if (s->in_tx)
		return store_fail(s, -EALREADY, "transaction already open");
	r = store_exec(s, "BEGIN IMMEDIATE");
	if (r >= 0)
		s->in_tx = true;
	return r;
}

int store_commit(struct store *s)
{
	int r;

	if (!s)
		return -EINVAL;
	if (!s->in_tx)
		return store_fail(s, -EINVAL, "no transaction open");
	r = store_precommit(s);
	if (r >= 0)
		r = store_exec(s, "COMMIT");
	if (r < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		/* What the transaction resealed is gone: forget fingerprints. */
		s->n_fps = 0;
	}
	s->in_tx = false;
	return r;
}

int store_rollback(struct store *s)
{
	if (!s)
		return -EINVAL;
	if (!s->in_tx)
		return store_fail(s, -EINVAL, "no transaction open");
	s->in_tx = false;
	s->n_fps = 0;
	s->bump_pending = false;
	return store_exec(s, "ROLLBACK");
}

bool store_in_transaction(const struct store *s)
{
	return s && s->in_tx;
}

