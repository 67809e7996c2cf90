// SPDX-License-Identifier: LGPL-2.1-or-later
/* db.h: picks the engine by the URL and forwards to it (db-internal.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/mcim-operator/db-internal.h"

int64_t db_row_int(const struct db_row *r, unsigned col)
{
	return col < r->ncols && r->cols[col] ? strtoll(r->cols[col], NULL, 10) : 0;
}

const char *db_row_text(const struct db_row *r, unsigned col)
{
	return col < r->ncols && r->cols[col] ? r->cols[col] : "";
}

bool db_url_is_pg(const char *url)
{
	return !strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11);
}

int db_copy_sql(char *buf, size_t size, const char *head, const char *table,
		const char *const *cols, unsigned ncols, const char *tail)
{
	size_t n = (size_t)snprintf(buf, size, "%s %s (", head, table);

	for (unsigned i = 0; i < ncols && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", cols[i]);
	if (n < size)
		n += (size_t)snprintf(buf + n, size - n, ") %s", tail);
	return ncols && n < size ? 0 : -E2BIG;
}

int db_open(const char *url, struct db **ret, char *why, size_t why_size)
{
	if (db_url_is_pg(url))
		return db_pg_open(url, ret, why, why_size);
	if (!strncmp(url, "sqlite:", 7))
		return db_sqlite_open(url + 7, ret, why, why_size);
	if (strstr(url, "://")) {
		snprintf(why, why_size,
			 "%.64s: unsupported database URL (sqlite:PATH or postgresql://...)", url);
		return -ENOTSUP;
	}
	return db_sqlite_open(url, ret, why, why_size);
}

void db_close(struct db *d)
{
	if (d)
		d->ops->close(d);
}

const char *db_errmsg(const struct db *d)
{
	return d->err;
}

const char *db_conflict(const struct db *d)
{
	return d->conflict;
}

const char *db_engine(const struct db *d)
{
	return d->ops->engine;
}

int db_exec(struct db *d, const char *sql, const struct db_val *params, unsigned nparams,
	    db_row_fn fn, void *user)
{
	return d->ops->exec(d, sql, params, nparams, fn, user);
}

int db_exec_script(struct db *d, const char *sql)
{
	return d->ops->exec_script(d, sql);
}

int64_t db_changes(const struct db *d)
{
	return d->ops->changes(d);
}

int db_begin(struct db *d)
{
	return d->ops->begin(d, true);
}

int db_begin_read_committed(struct db *d)
{
	return d->ops->begin(d, false);
}

int db_commit(struct db *d)
{
	return d->ops->commit(d);
}

void db_rollback(struct db *d)
{
	d->ops->rollback(d);
}

int db_copy_begin(struct db *d, const char *table, const char *const *cols, unsigned ncols)
{
	return d->ops->copy_begin(d, table, cols, ncols);
}

int db_copy_row(struct db *d, const struct db_val *vals, unsigned n)
{
	return d->ops->copy_row(d, vals, n);
}

int db_copy_end(struct db *d)
{
	return d->ops->copy_end(d);
}

int db_schema_lock(struct db *d, bool lock)
{
	return d->ops->schema_lock(d, lock);
}
