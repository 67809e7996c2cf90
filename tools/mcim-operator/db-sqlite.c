// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * db.h on SQLite: WAL with synchronous=FULL (a COMMIT is on disk when it
 * returns), foreign keys on, a busy timeout so that two processes on one file
 * (the admin CLI next to a running server) wait for each other instead of
 * failing.  Prepared statements are cached by their SQL text's address: the
 * store passes string literals.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/mcim-operator/db.h"

#define STMT_CACHE 64
#define ROW_COLS_MAX 32

struct db {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	unsigned ncache;
	int64_t changes;
	char err[256];
};

int64_t db_row_int(const struct db_row *r, unsigned col)
{
	return col < r->ncols && r->cols[col] ? strtoll(r->cols[col], NULL, 10) : 0;
}

const char *db_row_text(const struct db_row *r, unsigned col)
{
	return col < r->ncols && r->cols[col] ? r->cols[col] : "";
}

const char *db_errmsg(const struct db *d)
{
	return d->err;
}

const char *db_engine(const struct db *d _unused_)
{
	return "sqlite";
}

static int fail(struct db *d, int rc)
{
	snprintf(d->err, sizeof(d->err), "%s", sqlite3_errmsg(d->db));
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static int prepare(struct db *d, const char *sql, sqlite3_stmt **ret)
{
	sqlite3_stmt *st;
	int rc;

	for (unsigned i = 0; i < d->ncache; i++)
		if (d->cache[i].sql == sql) {
			*ret = d->cache[i].st;
			return 0;
		}
	rc = sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(d, rc);
	if (d->ncache < STMT_CACHE) {
		d->cache[d->ncache].sql = sql;
		d->cache[d->ncache].st = st;
		d->ncache++;
	} else {
		/* More distinct statements than the cache holds: a bug, but
		 * still correct (the statement is finalized after use). */
		sqlite3_finalize(d->cache[0].st);
		memmove(d->cache, d->cache + 1, (STMT_CACHE - 1) * sizeof(d->cache[0]));
		d->cache[STMT_CACHE - 1].sql = sql;
		d->cache[STMT_CACHE - 1].st = st;
	}
	*ret = st;
	return 0;
}

static int bind(struct db *d, sqlite3_stmt *st, const struct db_val *p, unsigned n)
{
	char name[16];
	int rc = SQLITE_OK;

	if ((unsigned)sqlite3_bind_parameter_count(st) != n) {
		snprintf(d->err, sizeof(d->err), "statement takes %d parameters, %u given",
			 sqlite3_bind_parameter_count(st), n);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n && rc == SQLITE_OK; i++) {
		int idx;

		snprintf(name, sizeof(name), "$%u", i + 1);
		idx = sqlite3_bind_parameter_index(st, name);
		if (idx <= 0) {
			snprintf(d->err, sizeof(d->err), "statement has no parameter %s", name);
			return -EINVAL;
		}
		switch (p[i].type) {
		case DB_TEXT:
			rc = p[i].s ? sqlite3_bind_text(st, idx, p[i].s, -1, SQLITE_STATIC)
				    : sqlite3_bind_null(st, idx);
			break;
		case DB_INT:
			rc = sqlite3_bind_int64(st, idx, p[i].i);
			break;
		default:
			rc = sqlite3_bind_null(st, idx);
		}
	}
	return rc == SQLITE_OK ? 0 : fail(d, rc);
}

int db_exec(struct db *d, const char *sql, const struct db_val *params, unsigned nparams,
	    db_row_fn fn, void *user)
{
	const char *cols[ROW_COLS_MAX];
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;

	r = prepare(d, sql, &st);
	if (r < 0)
		return r;
	r = bind(d, st, params, nparams);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_row row = { .cols = cols };

		row.ncols = MIN((unsigned)sqlite3_column_count(st), ROW_COLS_MAX);
		for (unsigned i = 0; i < row.ncols; i++)
			cols[i] = (const char *)sqlite3_column_text(st, (int)i);
		if (fn)
			r = fn(&row, user);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = fail(d, rc);
	d->changes = r == 0 ? sqlite3_changes64(d->db) : 0;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int64_t db_changes(const struct db *d)
{
	return d->changes;
}

int db_exec_script(struct db *d, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(d->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		snprintf(d->err, sizeof(d->err), "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return rc == SQLITE_BUSY ? -EBUSY : -EIO;
	}
	return 0;
}

int db_begin(struct db *d)
{
	/* IMMEDIATE: take the write lock now, so that a read-then-write
	 * transaction never fails half-way on a lock upgrade. */
	return db_exec_script(d, "BEGIN IMMEDIATE");
}

int db_commit(struct db *d)
{
	return db_exec_script(d, "COMMIT");
}

void db_rollback(struct db *d)
{
	if (!sqlite3_get_autocommit(d->db))
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

int db_open(const char *url, struct db **ret, char *why, size_t why_size)
{
	const char *path = url;
	struct db *d;
	int fd, rc, r;

	if (!strncmp(url, "sqlite:", 7))
		path = url + 7;
	else if (strstr(url, "://")) {
		snprintf(why, why_size, "%s: unsupported database URL (this build has sqlite:PATH)",
			 url);
		return -ENOTSUP;
	}
	if (!*path) {
		snprintf(why, why_size, "empty database path");
		return -EINVAL;
	}
	/* Create it 0600 ourselves: SQLite would honour the umask. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return r;
	}
	close(fd);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, why_size, "%s: %s", path,
			 d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
		db_close(d);
		return -EIO;
	}
	sqlite3_busy_timeout(d->db, 5000);
	sqlite3_extended_result_codes(d->db, 1);
	r = db_exec_script(d, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			      "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON");
	if (r < 0) {
		snprintf(why, why_size, "%s: %s", path, d->err);
		db_close(d);
		return r;
	}
	*ret = d;
	return 0;
}

void db_close(struct db *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->ncache; i++)
		sqlite3_finalize(d->cache[i].st);
	sqlite3_close(d->db);
	free(d);
}
