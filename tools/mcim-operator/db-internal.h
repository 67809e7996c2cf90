/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by db.c and the engines (db-sqlite.c, db-pg.c) only: each engine's
 * connection starts with a struct db whose ops are the engine's.
 */
#ifndef MCIM_OPERATOR_DB_INTERNAL_H
#define MCIM_OPERATOR_DB_INTERNAL_H

#include "tools/mcim-operator/db.h"

struct db_ops {
	const char *engine;
	int (*exec)(struct db *d, const char *sql, const struct db_val *params, unsigned nparams,
		    db_row_fn fn, void *user);
	int (*exec_script)(struct db *d, const char *sql);
	int64_t (*changes)(const struct db *d);
	int (*begin)(struct db *d, bool serializable);
	int (*commit)(struct db *d);
	void (*rollback)(struct db *d);
	int (*copy_begin)(struct db *d, const char *table, const char *const *cols, unsigned ncols);
	int (*copy_row)(struct db *d, const struct db_val *vals, unsigned n);
	int (*copy_end)(struct db *d);
	int (*schema_lock)(struct db *d, bool lock);
	void (*close)(struct db *d);
};

struct db {
	const struct db_ops *ops;
	char err[512];
	char conflict[128]; /* the key value a unique constraint refused, when known */
};

/* "HEAD TABLE (COL, COL, ...) TAIL" into buf: the bulk load's statement. */
int db_copy_sql(char *buf, size_t size, const char *head, const char *table,
		const char *const *cols, unsigned ncols, const char *tail);

int db_sqlite_open(const char *path, struct db **ret, char *why, size_t why_size);
int db_pg_open(const char *url, struct db **ret, char *why, size_t why_size);

#endif
