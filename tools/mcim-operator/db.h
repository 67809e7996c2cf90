/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The operator's database connection: the one place that knows which SQL
 * engine runs underneath (SQLite today, PostgreSQL for fleets: docs/operator.md).
 *
 * The SQL the store writes is the common subset of both engines: parameters
 * are $1, $2, ... (each used once, in order of appearance), types are TEXT and
 * BIGINT only (binary values travel as hex or base64 text), upserts are
 * INSERT ... ON CONFLICT, single-use rules are UPDATE ... WHERE ... RETURNING.
 * Nothing outside db-*.c and store*.c writes SQL.
 *
 * Threading: a struct db is used by one thread at a time (the store holds a
 * mutex around each call).
 *
 * Errors: 0 or a negative errno; -EEXIST a unique constraint refused the
 * write, -EBUSY the database is locked or a serialization failure asks for a
 * retry, -EIO anything else; db_errmsg() says what.
 */
#ifndef MCIM_OPERATOR_DB_H
#define MCIM_OPERATOR_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct db;

enum db_type { DB_NULL, DB_TEXT, DB_INT };

struct db_val {
	enum db_type type;
	const char *s; /* DB_TEXT */
	int64_t i;     /* DB_INT */
};
#define DBT(x) ((struct db_val){ .type = DB_TEXT, .s = (x) })
#define DBI(x) ((struct db_val){ .type = DB_INT, .i = (int64_t)(x) })
#define DBN ((struct db_val){ .type = DB_NULL })

/* One result row: column values as text (NULL for SQL NULL). */
struct db_row {
	unsigned ncols;
	const char *const *cols;
};
int64_t db_row_int(const struct db_row *r, unsigned col);
const char *db_row_text(const struct db_row *r, unsigned col); /* "" for NULL */

/* Called per row; a non-zero return stops the query and is returned. */
typedef int (*db_row_fn)(const struct db_row *row, void *user);

/*
 * Opens the database named by url: "sqlite:PATH" or a bare PATH (SQLite,
 * created when absent, mode 0600).
 */
int db_open(const char *url, struct db **ret, char *why, size_t why_size);
void db_close(struct db *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct db *, db_close)

const char *db_errmsg(const struct db *d);
const char *db_engine(const struct db *d);

/* Runs one statement; rows (if any) go to fn (may be NULL). */
int db_exec(struct db *d, const char *sql, const struct db_val *params,
	    unsigned nparams, db_row_fn fn, void *user);
/* Runs a script of statements without parameters (migrations). */
int db_exec_script(struct db *d, const char *sql);

/* Rows changed by the last db_exec (INSERT, UPDATE, DELETE). */
int64_t db_changes(const struct db *d);

int db_begin(struct db *d);
int db_commit(struct db *d);
void db_rollback(struct db *d);

#endif
