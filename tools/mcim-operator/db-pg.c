// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * db.h on PostgreSQL (libpq, protocol 3): every statement through
 * PQexecParams with typed text-format parameters (text, int8), rows read as
 * text.  Transactions are SERIALIZABLE; SQLSTATE 40001 (serialization
 * failure) and 40P01 (deadlock) come back as -EBUSY for the store to retry.
 * A connection the server dropped (restart, failover, idle timeout) is
 * reset at the next call, so an instance recovers without its own restart.
 * Bulk loads use COPY FROM STDIN in text format.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/mcim-operator/db-internal.h"

#define PARAMS_MAX 32
#define ROW_COLS_MAX 32
#define OID_TEXT 25
#define OID_INT8 20
/* Serializes migrations between instances: any constant, ours. */
#define SCHEMA_LOCK_KEY 0x6d63696d /* "mcim" */

struct db_pg {
	struct db base;
	PGconn *conn;
	int64_t changes;
	bool copying;
};
#define PG(d) ((struct db_pg *)(d))

/* Maps a failed result (or a lost connection) to db.h's errors. */
static int fail(struct db_pg *d, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(d->conn);
	size_t n;

	snprintf(d->base.err, sizeof(d->base.err), "%s", msg && *msg ? msg : "no answer");
	n = strlen(d->base.err);
	while (n && (d->base.err[n - 1] == '\n' || d->base.err[n - 1] == ' '))
		d->base.err[--n] = 0;
	d->base.conflict[0] = 0;
	if (PQstatus(d->conn) != CONNECTION_OK)
		return -EBUSY; /* reset at the next call */
	if (!state)
		return -EIO;
	if (!strncmp(state, "23", 2)) { /* integrity constraint violation */
		const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		const char *k = detail ? strstr(detail, ")=(") : NULL;

		/* "Key (id)=(VALUE) already exists." */
		if (k) {
			k += 3;
			snprintf(d->base.conflict, sizeof(d->base.conflict), "%.*s",
				 (int)strcspn(k, ")"), k);
		}
		return -EEXIST;
	}
	if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
		return -EBUSY;
	if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
	    !strcmp(state, "57P03"))
		return -EBUSY; /* connection exception, server shutting down or starting */
	if (!strcmp(state, "57014"))
		return -ETIMEDOUT; /* statement_timeout */
	if (!strcmp(state, "53200"))
		return -ENOMEM;
	return -EIO;
}

/* A connection the server closed is opened again; not inside a transaction. */
static int ready(struct db_pg *d)
{
	if (PQstatus(d->conn) == CONNECTION_OK)
		return 0;
	d->copying = false;
	PQreset(d->conn);
	if (PQstatus(d->conn) == CONNECTION_OK)
		return 0;
	return fail(d, NULL);
}

static int check(struct db_pg *d, PGresult *res, ExecStatusType want)
{
	int r = 0;

	if (!res || PQresultStatus(res) != want)
		r = fail(d, res);
	return r;
}

static int pg_exec(struct db *db, const char *sql, const struct db_val *p, unsigned n,
		   db_row_fn fn, void *user)
{
	struct db_pg *d = PG(db);
	const char *values[PARAMS_MAX], *cols[ROW_COLS_MAX];
	char ints[PARAMS_MAX][24];
	Oid types[PARAMS_MAX];
	PGresult *res;
	ExecStatusType st;
	int r;

	d->changes = 0;
	if (n > PARAMS_MAX) {
		snprintf(db->err, sizeof(db->err), "%u parameters, at most %u", n, PARAMS_MAX);
		return -EINVAL;
	}
	r = ready(d);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		switch (p[i].type) {
		case DB_INT:
			snprintf(ints[i], sizeof(ints[i]), "%" PRId64, p[i].i);
			values[i] = ints[i];
			types[i] = OID_INT8;
			break;
		case DB_TEXT:
			values[i] = p[i].s;
			types[i] = OID_TEXT;
			break;
		default:
			values[i] = NULL;
			types[i] = OID_TEXT;
		}
	}
	res = PQexecParams(d->conn, sql, (int)n, types, values, NULL, NULL, 0);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		r = fail(d, res);
		PQclear(res);
		return r;
	}
	for (int t = 0; t < PQntuples(res) && r == 0; t++) {
		struct db_row row = { .cols = cols };

		row.ncols = MIN((unsigned)PQnfields(res), ROW_COLS_MAX);
		for (unsigned c = 0; c < row.ncols; c++)
			cols[c] = PQgetisnull(res, t, (int)c) ? NULL : PQgetvalue(res, t, (int)c);
		if (fn)
			r = fn(&row, user);
	}
	if (r == 0)
		d->changes = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return r;
}

static int pg_exec_script(struct db *db, const char *sql)
{
	struct db_pg *d = PG(db);
	PGresult *res;
	int r = ready(d);

	if (r < 0)
		return r;
	/* Several statements: the simple query protocol, the last result
	 * tells (an error stops the script). */
	res = PQexec(d->conn, sql);
	r = check(d, res, PGRES_COMMAND_OK);
	if (r < 0 && res && PQresultStatus(res) == PGRES_TUPLES_OK)
		r = 0;
	PQclear(res);
	return r;
}

static int64_t pg_changes(const struct db *d)
{
	return ((const struct db_pg *)d)->changes;
}

static int pg_begin(struct db *d, bool serializable)
{
	return pg_exec_script(d, serializable ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
					      : "BEGIN ISOLATION LEVEL READ COMMITTED");
}

static int pg_commit(struct db *d)
{
	/* A serialization failure may be found at COMMIT: 40001, -EBUSY. */
	return pg_exec_script(d, "COMMIT");
}

static void pg_rollback(struct db *db)
{
	struct db_pg *d = PG(db);
	PGTransactionStatusType t;
	PGresult *res;

	if (d->copying) {
		PQputCopyEnd(d->conn, "aborted");
		while ((res = PQgetResult(d->conn)))
			PQclear(res);
		d->copying = false;
	}
	t = PQtransactionStatus(d->conn);
	if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR)
		PQclear(PQexec(d->conn, "ROLLBACK"));
}

static int pg_copy_begin(struct db *db, const char *table, const char *const *cols,
			 unsigned ncols)
{
	struct db_pg *d = PG(db);
	char sql[1024];
	PGresult *res;
	int r;

	if (d->copying)
		return -EINVAL;
	if (db_copy_sql(sql, sizeof(sql), "COPY", table, cols, ncols, "FROM STDIN"))
		return -E2BIG;
	res = PQexec(d->conn, sql);
	r = check(d, res, PGRES_COPY_IN);
	PQclear(res);
	if (r == 0)
		d->copying = true;
	return r;
}

/* COPY's text format: tab between columns, \N for NULL, backslash escapes. */
static size_t copy_escape(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 2 < size; s++) {
		char e = *s == '\\' ? '\\' : *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : 0;

		if (e) {
			out[n++] = '\\';
			out[n++] = e;
		} else {
			out[n++] = *s;
		}
	}
	return *s ? SIZE_MAX : n;
}

static int pg_copy_row(struct db *db, const struct db_val *v, unsigned nv)
{
	struct db_pg *d = PG(db);
	char line[8192];
	size_t n = 0, k;

	if (!d->copying)
		return -EINVAL;
	for (unsigned i = 0; i < nv; i++) {
		if (i)
			line[n++] = '\t';
		if (v[i].type == DB_INT)
			k = (size_t)snprintf(line + n, sizeof(line) - n, "%" PRId64, v[i].i);
		else if (v[i].type == DB_TEXT && v[i].s)
			k = copy_escape(v[i].s, line + n, sizeof(line) - n - 1);
		else
			k = (size_t)snprintf(line + n, sizeof(line) - n, "\\N");
		if (k == SIZE_MAX || n + k + 2 >= sizeof(line)) {
			snprintf(db->err, sizeof(db->err), "row longer than %zu bytes", sizeof(line));
			return -E2BIG;
		}
		n += k;
	}
	line[n++] = '\n';
	if (PQputCopyData(d->conn, line, (int)n) != 1)
		return fail(d, NULL);
	return 0;
}

static int pg_copy_end(struct db *db)
{
	struct db_pg *d = PG(db);
	PGresult *res;
	int r = 0;

	if (!d->copying)
		return -EINVAL;
	d->copying = false;
	if (PQputCopyEnd(d->conn, NULL) != 1)
		return fail(d, NULL);
	while ((res = PQgetResult(d->conn))) {
		if (r == 0)
			r = check(d, res, PGRES_COMMAND_OK);
		PQclear(res);
	}
	return r;
}

static int pg_schema_lock(struct db *db, bool lock)
{
	const struct db_val k = DBI(SCHEMA_LOCK_KEY);

	return pg_exec(db, lock ? "SELECT pg_advisory_lock($1)" : "SELECT pg_advisory_unlock($1)",
		       &k, 1, NULL, NULL);
}

static void pg_close(struct db *db)
{
	struct db_pg *d = PG(db);

	PQfinish(d->conn);
	free(d);
}

static const struct db_ops pg_ops = {
	.engine = "postgresql",
	.exec = pg_exec,
	.exec_script = pg_exec_script,
	.changes = pg_changes,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.copy_begin = pg_copy_begin,
	.copy_row = pg_copy_row,
	.copy_end = pg_copy_end,
	.schema_lock = pg_schema_lock,
	.close = pg_close,
};

/* libpq prints notices (such as "relation already exists, skipping") to stderr. */
static void quiet(void *arg _unused_, const char *message _unused_)
{
}

int db_pg_open(const char *url, struct db **ret, char *why, size_t why_size)
{
	/* The URL first, then what we add: settings that PQreset keeps. */
	static const char *const keys[] = { "dbname", "client_encoding", "application_name",
					    NULL };
	const char *values[] = { url, "UTF8", "mcim-operator", NULL };
	struct db_pg *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->base.ops = &pg_ops;
	d->conn = PQconnectdbParams(keys, values, 1);
	if (!d->conn) {
		free(d);
		return -ENOMEM;
	}
	if (PQstatus(d->conn) != CONNECTION_OK) {
		/* The message names host and port, never the password. */
		snprintf(why, why_size, "PostgreSQL: %s", PQerrorMessage(d->conn));
		why[strcspn(why, "\n")] = 0;
		pg_close(&d->base);
		return -ECONNREFUSED;
	}
	PQsetNoticeProcessor(d->conn, quiet, NULL);
	*ret = &d->base;
	return 0;
}
