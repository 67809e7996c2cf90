/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The operator's database connection: the one place that knows which SQL
 * engine runs underneath (SQLite today, PostgreSQL for fleets: docs/operator.md).
 *
 * The SQL the store writes is the common subset of both engines: parameters
 * are $1, $2, ... (each used once, in order of appearance), types are TEXT and
 * BIGINT only (binary values travel as hex or base64 text), upserts are
 * INSERT ... ON CONFLICT, single-use rules are UPDATE ... WHERE ... RETURNING.
 * One exception: the DPF's pool claim adds FOR UPDATE SKIP LOCKED on
 * PostgreSQL (store.c, claim()).
 * Nothing outside db-*.c and store*.c writes SQL.
 *
 * Parameters have types: DBT text, DBI BIGINT, DBN a NULL of type TEXT
 * (PostgreSQL must know a parameter's type where the SQL does not say it,
 * as in "$1 IS NULL").
 *
 * Threading: a struct db is one connection, used by one thread at a time
 * (the store keeps a pool of them: store.c).
 *
 * Transactions (db_begin) are SERIALIZABLE on both engines (SQLite: BEGIN
 * IMMEDIATE, one writer at a time); db_begin_read_committed is READ
 * COMMITTED on PostgreSQL (the caller takes the row locks its rules need)
 * and the same BEGIN IMMEDIATE on SQLite.  A statement outside a
 * transaction runs alone (autocommit; READ COMMITTED on PostgreSQL).
 *
 * Errors: 0 or a negative errno; -EEXIST a constraint refused the write,
 * -EBUSY retry later: the database is locked, a serialization failure or a
 * deadlock (SQLSTATE 40001, 40P01), or the connection was lost (the next
 * call reconnects; the statement may or may not have run), -ETIMEDOUT the
 * statement timeout, -EIO anything else; db_errmsg() says what.
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
 * created when absent, mode 0600), or "postgresql://..." (a libpq URI:
 * user, password, host, port, database and parameters such as
 * connect_timeout or options=-c statement_timeout=...).
 */
int db_open(const char *url, struct db **ret, char *why, size_t why_size);
void db_close(struct db *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct db *, db_close)
bool db_url_is_pg(const char *url);

const char *db_errmsg(const struct db *d);
/* After -EEXIST: the key value the unique constraint refused, or "". */
const char *db_conflict(const struct db *d);
const char *db_engine(const struct db *d);

/* Runs one statement; rows (if any) go to fn (may be NULL). */
int db_exec(struct db *d, const char *sql, const struct db_val *params,
	    unsigned nparams, db_row_fn fn, void *user);
/* Runs a script of statements without parameters (migrations). */
int db_exec_script(struct db *d, const char *sql);

/* Rows changed by the last db_exec (INSERT, UPDATE, DELETE). */
int64_t db_changes(const struct db *d);

int db_begin(struct db *d);
int db_begin_read_committed(struct db *d);
int db_commit(struct db *d);
void db_rollback(struct db *d);

/*
 * Bulk load inside a transaction: COPY ... FROM STDIN on PostgreSQL, one
 * prepared INSERT per row on SQLite.  A constraint may refuse a row at
 * db_copy_row (SQLite) or only at db_copy_end (PostgreSQL); db_conflict()
 * names the key either way.
 */
int db_copy_begin(struct db *d, const char *table, const char *const *cols, unsigned ncols);
int db_copy_row(struct db *d, const struct db_val *vals, unsigned n);
int db_copy_end(struct db *d);

/* Serializes schema migrations between processes (lock true, then false). */
int db_schema_lock(struct db *d, bool lock);

#endif
