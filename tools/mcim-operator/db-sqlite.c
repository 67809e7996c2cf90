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

#include "tools/mcim-operator/db-internal.h"

#define STMT_CACHE 64
#define ROW_COLS_MAX 32

struct db_sqlite {
	struct db base;
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	unsigned ncache;
	sqlite3_stmt *copy; /* db_copy_begin's INSERT */
	int64_t changes;
};
#define SQ(d) ((struct db_sqlite *)(d))
#define SQC(d) ((const struct db_sqlite *)(d))

static int fail(struct db_sqlite *d, int rc)
{
	snprintf(d->base.err, sizeof(d->base.err), "%s", sqlite3_errmsg(d->db));
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

static int prepare(struct db_sqlite *d, const char *sql, sqlite3_stmt **ret)
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

static int bind(struct db_sqlite *d, sqlite3_stmt *st, const struct db_val *p, unsigned n)
{
	char name[16];
	int rc = SQLITE_OK;

	if ((unsigned)sqlite3_bind_parameter_count(st) != n) {
		snprintf(d->base.err, sizeof(d->base.err), "statement takes %d parameters, %u given",
			 sqlite3_bind_parameter_count(st), n);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n && rc == SQLITE_OK; i++) {
		int idx;

		snprintf(name, sizeof(name), "$%u", i + 1);
		idx = sqlite3_bind_parameter_index(st, name);
		if (idx <= 0) {
			snprintf(d->base.err, sizeof(d->base.err), "statement has no parameter %s", name);
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

static int sq_exec(struct db *db, const char *sql, const struct db_val *params,
		   unsigned nparams, db_row_fn fn, void *user)
{
	struct db_sqlite *d = SQ(db);
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

static int64_t sq_changes(const struct db *d)
{
	return SQC(d)->changes;
}

static int sq_exec_script(struct db *db, const char *sql)
{
	struct db_sqlite *d = SQ(db);
	char *msg = NULL;
	int rc = sqlite3_exec(d->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		snprintf(d->base.err, sizeof(d->base.err), "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return rc == SQLITE_BUSY ? -EBUSY : -EIO;
	}
	return 0;
}

static int sq_begin(struct db *d, bool serializable _unused_)
{
	/* IMMEDIATE: take the write lock now, so that a read-then-write
	 * transaction never fails half-way on a lock upgrade. */
	return sq_exec_script(d, "BEGIN IMMEDIATE");
}

static int sq_commit(struct db *d)
{
	return sq_exec_script(d, "COMMIT");
}

static void sq_rollback(struct db *db)
{
	struct db_sqlite *d = SQ(db);

	sqlite3_finalize(d->copy);
	d->copy = NULL;
	if (!sqlite3_get_autocommit(d->db))
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

/* COPY's equivalent: one INSERT prepared for the whole load. */
static int sq_copy_begin(struct db *db, const char *table, const char *const *cols,
			 unsigned ncols)
{
	struct db_sqlite *d = SQ(db);
	char sql[1024], values[512];
	size_t n = (size_t)snprintf(values, sizeof(values), "VALUES (");
	int rc;

	if (d->copy)
		return -EINVAL;
	for (unsigned i = 0; i < ncols && n < sizeof(values); i++)
		n += (size_t)snprintf(values + n, sizeof(values) - n, "%s$%u", i ? ", " : "", i + 1);
	if (n + 2 > sizeof(values) ||
	    db_copy_sql(sql, sizeof(sql), "INSERT INTO", table, cols, ncols, strcat(values, ")")))
		return -E2BIG;
	rc = sqlite3_prepare_v2(d->db, sql, -1, &d->copy, NULL);
	return rc == SQLITE_OK ? 0 : fail(d, rc);
}

static int sq_copy_row(struct db *db, const struct db_val *vals, unsigned n)
{
	struct db_sqlite *d = SQ(db);
	int r, rc;

	if (!d->copy)
		return -EINVAL;
	r = bind(d, d->copy, vals, n);
	if (r == 0 && (rc = sqlite3_step(d->copy)) != SQLITE_DONE) {
		r = fail(d, rc);
		if (r == -EEXIST && n && vals[0].type == DB_TEXT && vals[0].s)
			snprintf(db->conflict, sizeof(db->conflict), "%s", vals[0].s);
	}
	sqlite3_reset(d->copy);
	sqlite3_clear_bindings(d->copy);
	return r;
}

static int sq_copy_end(struct db *db)
{
	struct db_sqlite *d = SQ(db);

	sqlite3_finalize(d->copy);
	d->copy = NULL;
	return 0;
}

/* BEGIN IMMEDIATE already serializes the migrations' transactions. */
static int sq_schema_lock(struct db *d _unused_, bool lock _unused_)
{
	return 0;
}

static void sq_close(struct db *db)
{
	struct db_sqlite *d = SQ(db);

	for (unsigned i = 0; i < d->ncache; i++)
		sqlite3_finalize(d->cache[i].st);
	sqlite3_finalize(d->copy);
	sqlite3_close(d->db);
	free(d);
}

static const struct db_ops sqlite_ops = {
	.engine = "sqlite",
	.exec = sq_exec,
	.exec_script = sq_exec_script,
	.changes = sq_changes,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.copy_begin = sq_copy_begin,
	.copy_row = sq_copy_row,
	.copy_end = sq_copy_end,
	.schema_lock = sq_schema_lock,
	.close = sq_close,
};

int db_sqlite_open(const char *path, struct db **ret, char *why, size_t why_size)
{
	struct db_sqlite *d;
	int fd, rc, r;

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
	d->base.ops = &sqlite_ops;
	rc = sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, why_size, "%s: %s", path,
			 d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
		sq_close(&d->base);
		return -EIO;
	}
	sqlite3_busy_timeout(d->db, 5000);
	sqlite3_extended_result_codes(d->db, 1);
	r = sq_exec_script(&d->base, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			      "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON");
	if (r < 0) {
		snprintf(why, why_size, "%s: %s", path, d->base.err);
		sq_close(&d->base);
		return r;
	}
	*ret = &d->base;
	return 0;
}
