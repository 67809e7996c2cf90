// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The operator store (store.h) over db.h.  Each public call is one statement
 * or one transaction on a connection taken from the store's pool (one
 * connection on SQLite; store_open_pool's size on PostgreSQL), retried with
 * a bounded backoff when the database asks for it (-EBUSY: locked,
 * serialization failure, deadlock, connection lost and reset).  Replaying a
 * statement is safe because every rule is a constraint or a conditional
 * UPDATE in the database: a replay can only be refused, never applied twice.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "tools/mcim-operator/db.h"
#include "tools/mcim-operator/store-internal.h"

#define POOL_MAX 64
#define RETRIES_MAX 8 /* about 0.6 s of backoff in all */

struct store {
	struct db *conns[POOL_MAX];
	bool busy[POOL_MAX];
	unsigned nconns;
	bool retry; /* PostgreSQL; SQLite's -EBUSY has already waited its busy timeout */
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct store_stats stats;
};

/*
 * The connection the calling thread holds (between take and give) and the
 * thread's last error: each worker thread sees its own.
 */
static __thread struct db *conn;
static __thread char errbuf[320];
#define ERR errbuf, sizeof(errbuf)

const char *store_errmsg(const struct store *s _unused_)
{
	return errbuf;
}

static int dbfail(struct store *s, int r)
{
	snprintf(ERR, "%s", db_errmsg(conn));
	atomic_fetch_add(&s->stats.db_errors, 1);
	return r;
}

static int exec(struct store *s, const char *sql, const struct db_val *p, unsigned n,
		db_row_fn fn, void *user)
{
	int r = db_exec(conn, sql, p, n, fn, user);

	return r < 0 && r != -ENOENT && r != -EALREADY && r != -EKEYREVOKED ? dbfail(s, r) : r;
}

static void take(struct store *s)
{
	pthread_mutex_lock(&s->lock);
	for (;;) {
		for (unsigned i = 0; i < s->nconns; i++)
			if (!s->busy[i]) {
				s->busy[i] = true;
				conn = s->conns[i];
				pthread_mutex_unlock(&s->lock);
				return;
			}
		pthread_cond_wait(&s->freed, &s->lock);
	}
}

static void give(struct store *s)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nconns; i++)
		if (s->conns[i] == conn)
			s->busy[i] = false;
	conn = NULL;
	pthread_cond_signal(&s->freed);
	pthread_mutex_unlock(&s->lock);
}

/* After attempt number `attempt` failed with r: wait and go again? */
static bool again(struct store *s, int r, unsigned attempt)
{
	struct timespec ts;
	long ms;

	if (r != -EBUSY || !s->retry || attempt + 1 >= RETRIES_MAX)
		return false;
	atomic_fetch_add(&s->stats.retries, 1);
	ms = MIN(5L << attempt, 200L) + random() % 5; /* jitter: racing threads part */
	ts = (struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	return true;
}

/* Runs expr on a pooled connection, again while the database says retry. */
#define LOCKED(s, expr)                                                        \
	({                                                                     \
		int _r;                                                        \
		for (unsigned _try = 0;; _try++) {                             \
			take(s);                                               \
			_r = (expr);                                           \
			give(s);                                               \
			if (!again((s), _r, _try))                             \
				break;                                         \
		}                                                              \
		_r;                                                            \
	})

/* Ends the transaction: commits when r is 0, rolls back otherwise. */
static int end_tx(struct store *s, int r)
{
	if (r == 0) {
		r = db_commit(conn);
		if (r < 0)
			dbfail(s, r);
	}
	if (r < 0)
		db_rollback(conn);
	return r;
}

/*
 * Runs body(s, arg) in a transaction, SERIALIZABLE or READ COMMITTED on
 * PostgreSQL; commits on 0, rolls back otherwise.
 */
static int in_tx_iso(struct store *s, bool read_committed,
		     int (*body)(struct store *s, void *arg), void *arg)
{
	int r = read_committed ? db_begin_read_committed(conn) : db_begin(conn);

	if (r < 0)
		return dbfail(s, r);
	return end_tx(s, body(s, arg));
}

static int in_tx(struct store *s, int (*body)(struct store *s, void *arg), void *arg)
{
	return in_tx_iso(s, false, body, arg);
}

void store_stats_get(struct store *s, struct store_stats *ret)
{
	ret->db_errors = atomic_load(&s->stats.db_errors);
	ret->retries = atomic_load(&s->stats.retries);
}

const char *store_engine(const struct store *s)
{
	return db_engine(s->conns[0]);
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}
#define COPY(dst, src) copy((dst), sizeof(dst), (src))

static int row_int(const struct db_row *row, void *user)
{
	*(int64_t *)user = db_row_int(row, 0);
	return 0;
}

int store_ping(struct store *s)
{
	int64_t one = 0;

	return LOCKED(s, exec(s, "SELECT 1", NULL, 0, row_int, &one));
}

/* ---- open and migrations ---- */

static int migrate_locked(struct db *d, int64_t *version, char *why, size_t why_size)
{
	int r;

	r = db_exec_script(d, "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)");
	if (r == 0)
		r = db_exec(d, "SELECT MAX(version) FROM schema_version", NULL, 0, row_int, version);
	while (r == 0 && *version < (int64_t)store_migrations_count) {
		struct db_val v = DBI(*version + 1);

		r = db_begin(d);
		if (r == 0)
			r = db_exec_script(d, store_migrations[*version]);
		if (r == 0)
			r = db_exec(d, "INSERT INTO schema_version (version) VALUES ($1)", &v, 1,
				    NULL, NULL);
		if (r == 0)
			r = db_commit(d);
		if (r < 0) {
			db_rollback(d);
			snprintf(why, why_size, "migration %" PRId64 ": %s", *version + 1,
				 db_errmsg(d));
			return r;
		}
		(*version)++;
	}
	if (r < 0)
		snprintf(why, why_size, "schema version: %s", db_errmsg(d));
	return r;
}

static int migrate(struct db *d, char *why, size_t why_size)
{
	int64_t version = 0;
	int r;

	/* Instances starting together: one migrates, the others wait. */
	r = db_schema_lock(d, true);
	if (r < 0) {
		snprintf(why, why_size, "schema lock: %s", db_errmsg(d));
		return r;
	}
	r = migrate_locked(d, &version, why, why_size);
	db_schema_lock(d, false);
	if (r < 0)
		return r;
	if (version > (int64_t)store_migrations_count) {
		snprintf(why, why_size,
			 "the database has schema version %" PRId64 ", newer than this "
			 "mcim-operator (%u): refusing to use it",
			 version, store_migrations_count);
		return -EPROTO;
	}
	return 0;
}

int store_open_pool(const char *url, unsigned pool, struct store **ret, char *why,
		    size_t why_size)
{
	struct store *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->freed, NULL);
	/* SQLite has one writer at a time: one connection is all it needs. */
	if (!db_url_is_pg(url) || pool < 1)
		pool = 1;
	pool = MIN(pool, POOL_MAX);
	s->retry = db_url_is_pg(url);
	r = db_open(url, &s->conns[0], why, why_size);
	if (r == 0)
		s->nconns = 1;
	if (r == 0)
		r = migrate(s->conns[0], why, why_size);
	while (r == 0 && s->nconns < pool) {
		r = db_open(url, &s->conns[s->nconns], why, why_size);
		if (r == 0)
			s->nconns++;
	}
	if (r < 0) {
		store_close(s);
		return r;
	}
	*ret = s;
	return 0;
}

int store_open(const char *url, struct store **ret, char *why, size_t why_size)
{
	return store_open_pool(url, 1, ret, why, why_size);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->nconns; i++)
		db_close(s->conns[i]);
	pthread_cond_destroy(&s->freed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int store_schema_version(struct store *s, int64_t *ret)
{
	*ret = 0;
	return LOCKED(s, exec(s, "SELECT MAX(version) FROM schema_version", NULL, 0, row_int, ret));
}

/* ---- SHOs ---- */

static void sho_from_row(const struct db_row *row, struct op_sho *o)
{
	COPY(o->id, db_row_text(row, 0));
	COPY(o->name, db_row_text(row, 1));
	COPY(o->pva_url, db_row_text(row, 2));
	COPY(o->dpf_url, db_row_text(row, 3));
	COPY(o->root, db_row_text(row, 4));
	COPY(o->root_id, db_row_text(row, 5));
}

#define SHO_COLS "id, name, pva_url, dpf_url, root, root_id"

int store_sho_put(struct store *s, const struct op_sho *o)
{
	const struct db_val p[] = { DBT(o->id),	     DBT(o->name), DBT(o->pva_url),
				    DBT(o->dpf_url), DBT(o->root), DBT(o->root_id) };

	/* Without a root (""), an update keeps the one recorded. */
	return LOCKED(s, exec(s,
			      "INSERT INTO shos (" SHO_COLS ") VALUES ($1, $2, $3, $4, $5, $6) "
			      "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
			      "pva_url = excluded.pva_url, dpf_url = excluded.dpf_url, "
			      "root = CASE WHEN excluded.root = '' THEN shos.root ELSE excluded.root END, "
			      "root_id = CASE WHEN excluded.root = '' THEN shos.root_id "
			      "ELSE excluded.root_id END",
			      p, ARRAY_SIZE(p), NULL, NULL));
}

struct one_sho {
	struct op_sho *o;
	bool found;
};

static int one_sho_row(const struct db_row *row, void *user)
{
	struct one_sho *x = user;

	sho_from_row(row, x->o);
	x->found = true;
	return 0;
}

int store_sho_get(struct store *s, const char *id, struct op_sho *ret)
{
	struct one_sho x = { .o = ret };
	struct db_val p = DBT(id);
	int r;

	r = LOCKED(s, exec(s, "SELECT " SHO_COLS " FROM shos WHERE id = $1", &p, 1,
			   one_sho_row, &x));
	return r < 0 ? r : x.found ? 0 : -ENOENT;
}

struct sho_iter {
	store_sho_fn fn;
	void *user;
};

static int sho_iter_row(const struct db_row *row, void *user)
{
	struct sho_iter *it = user;
	struct op_sho o;

	sho_from_row(row, &o);
	return it->fn(&o, it->user);
}

int store_sho_list(struct store *s, store_sho_fn fn, void *user)
{
	struct sho_iter it = { fn, user };

	return LOCKED(s, exec(s, "SELECT " SHO_COLS " FROM shos ORDER BY id", NULL,
			      0, sho_iter_row, &it));
}

/* ---- models ---- */

struct model_put {
	const char *name, *body;
	int64_t version;
};

static int model_put_tx(struct store *s, void *arg)
{
	struct model_put *m = arg;
	struct db_val q = DBT(m->name);
	int64_t latest = 0;
	int r;

	r = exec(s, "SELECT MAX(version) FROM models WHERE name = $1", &q, 1, row_int, &latest);
	if (r < 0)
		return r;
	if (m->version <= latest) {
		snprintf(ERR,
			 "model %s: version %" PRId64 " is not above the latest (%" PRId64 ")",
			 m->name, m->version, latest);
		return -EEXIST;
	}
	const struct db_val p[] = { DBT(m->name), DBI(m->version), DBT(m->body),
				    DBI(time(NULL)) };
	return exec(s, "INSERT INTO models (name, version, body, created) VALUES ($1, $2, $3, $4)",
		    p, ARRAY_SIZE(p), NULL, NULL);
}

int store_model_put(struct store *s, const char *name, int64_t version, const char *body)
{
	struct model_put m = { name, body, version };

	return LOCKED(s, in_tx(s, model_put_tx, &m));
}

struct model_get {
	int64_t version;
	char *body;
};

static int model_get_row(const struct db_row *row, void *user)
{
	struct model_get *g = user;

	g->version = db_row_int(row, 0);
	free(g->body);
	g->body = strdup(db_row_text(row, 1));
	return g->body ? 0 : -ENOMEM;
}

int store_model_get(struct store *s, const char *name, int64_t version, int64_t *ret_version,
		    char **ret_body)
{
	struct model_get g = { 0 };
	int r;

	if (version < 0) {
		struct db_val p = DBT(name);

		r = LOCKED(s, exec(s,
				   "SELECT version, body FROM models WHERE name = $1 "
				   "ORDER BY version DESC LIMIT 1",
				   &p, 1, model_get_row, &g));
	} else {
		const struct db_val p[] = { DBT(name), DBI(version) };

		r = LOCKED(s, exec(s, "SELECT version, body FROM models WHERE name = $1 AND version = $2",
				   p, 2, model_get_row, &g));
	}
	if (r == 0 && !g.body)
		r = -ENOENT;
	if (r < 0) {
		free(g.body);
		return r;
	}
	if (ret_version)
		*ret_version = g.version;
	*ret_body = g.body;
	return 0;
}

struct model_iter {
	store_model_fn fn;
	void *user;
};

static int model_iter_row(const struct db_row *row, void *user)
{
	struct model_iter *it = user;

	return it->fn(db_row_text(row, 0), db_row_int(row, 1), db_row_int(row, 2), it->user);
}

int store_model_list(struct store *s, store_model_fn fn, void *user)
{
	struct model_iter it = { fn, user };

	return LOCKED(s, exec(s, "SELECT name, version, created FROM models ORDER BY name, version",
			      NULL, 0, model_iter_row, &it));
}

/* ---- devices ---- */

#define DEVICE_COLS                                                            \
	"id, ek_type, ek_public, ek_ca, model, subscriber, sho, batch, created, "    \
	"reset_count, restart_count, clock, validated"

static void device_from_row(const struct db_row *row, struct op_device *d)
{
	COPY(d->id, db_row_text(row, 0));
	COPY(d->ek_type, db_row_text(row, 1));
	COPY(d->ek_public, db_row_text(row, 2));
	COPY(d->ek_ca, db_row_text(row, 3));
	COPY(d->model, db_row_text(row, 4));
	COPY(d->subscriber, db_row_text(row, 5));
	COPY(d->sho, db_row_text(row, 6));
	COPY(d->batch, db_row_text(row, 7));
	d->created = db_row_int(row, 8);
	d->clock_known = row->ncols > 9 && row->cols[9] != NULL;
	d->reset_count = db_row_int(row, 9);
	d->restart_count = db_row_int(row, 10);
	d->clock = db_row_int(row, 11);
	d->validated = db_row_int(row, 12);
}

/*
 * A batch holds one connection of the pool (in the importing thread) from
 * begin to commit or abort, and streams the rows through db_copy_*: COPY
 * on PostgreSQL.  The importing thread is the only one that sees `copying`.
 */
static __thread bool importing, copying;

static const char *const device_import_cols[] = { "id",		"ek_type", "ek_public",
						  "ek_ca",	"model",   "subscriber",
						  "sho",	"batch",   "created" };

int store_import_begin(struct store *s)
{
	int r;

	if (importing)
		return -EINVAL;
	take(s);
	r = db_begin(conn);
	if (r < 0) {
		dbfail(s, r);
		give(s);
		return r;
	}
	importing = true;
	return 0; /* the connection is ours until commit or abort */
}

static int conflict(struct store *s, int r)
{
	dbfail(s, r);
	if (r == -EEXIST && *db_conflict(conn))
		snprintf(ERR, "device %s is already registered", db_conflict(conn));
	return r;
}

int store_device_add(struct store *s, const struct op_device *d)
{
	const struct db_val p[] = { DBT(d->id),	       DBT(d->ek_type), DBT(d->ek_public),
				    DBT(d->ek_ca),     DBT(d->model),	DBT(d->subscriber),
				    DBT(d->sho),       DBT(d->batch),	DBI(d->created) };
	int r = 0;

	if (!importing)
		return -EINVAL;
	if (!copying) {
		r = db_copy_begin(conn, "devices", device_import_cols,
				  ARRAY_SIZE(device_import_cols));
		if (r < 0)
			return dbfail(s, r);
		copying = true;
	}
	r = db_copy_row(conn, p, ARRAY_SIZE(p));
	return r < 0 ? conflict(s, r) : 0;
}

int store_import_flush(struct store *s, char ret_conflict[OP_DEVICE_ID_LEN + 1])
{
	int r;

	ret_conflict[0] = 0;
	if (!importing)
		return -EINVAL;
	if (!copying)
		return 0;
	copying = false;
	r = db_copy_end(conn);
	if (r < 0) {
		conflict(s, r);
		snprintf(ret_conflict, OP_DEVICE_ID_LEN + 1, "%s", db_conflict(conn));
	}
	return r;
}

int store_import_commit(struct store *s)
{
	char id[OP_DEVICE_ID_LEN + 1];
	int r;

	if (!importing)
		return -EINVAL;
	r = end_tx(s, store_import_flush(s, id));
	importing = false;
	give(s);
	return r;
}

void store_import_abort(struct store *s)
{
	if (!importing)
		return;
	copying = false;
	db_rollback(conn); /* also ends a COPY in progress */
	importing = false;
	give(s);
}

struct one_device {
	struct op_device *d;
	bool found;
};

static int one_device_row(const struct db_row *row, void *user)
{
	struct one_device *x = user;

	device_from_row(row, x->d);
	x->found = true;
	return 0;
}

int store_device_get(struct store *s, const char *id, struct op_device *ret)
{
	struct one_device x = { .d = ret };
	struct db_val p = DBT(id);
	int r;

	r = LOCKED(s, exec(s, "SELECT " DEVICE_COLS " FROM devices WHERE id = $1", &p, 1,
			   one_device_row, &x));
	return r < 0 ? r : x.found ? 0 : -ENOENT;
}

struct device_iter {
	store_device_fn fn;
	void *user;
};

static int device_iter_row(const struct db_row *row, void *user)
{
	struct device_iter *it = user;
	struct op_device d;

	device_from_row(row, &d);
	return it->fn(&d, it->user);
}

int store_device_list(struct store *s, const struct store_device_filter *f, store_device_fn fn,
		      void *user)
{
	/* One statement with optional filters: a NULL parameter matches all. */
	const struct db_val p[] = {
		f->model ? DBT(f->model) : DBN,	  f->model ? DBT(f->model) : DBN,
		f->subscriber ? DBT(f->subscriber) : DBN, f->subscriber ? DBT(f->subscriber) : DBN,
		f->sho ? DBT(f->sho) : DBN,	  f->sho ? DBT(f->sho) : DBN,
		f->batch ? DBT(f->batch) : DBN,	  f->batch ? DBT(f->batch) : DBN,
		DBI(f->unassigned),		  DBI(f->limit ? f->limit : INT64_MAX),
	};
	struct device_iter it = { fn, user };

	return LOCKED(s, exec(s,
			      "SELECT " DEVICE_COLS " FROM devices WHERE "
			      "($1 IS NULL OR model = $2) AND ($3 IS NULL OR subscriber = $4) AND "
			      "($5 IS NULL OR sho = $6) AND ($7 IS NULL OR batch = $8) AND "
			      "($9 = 0 OR sho = '') ORDER BY id LIMIT $10",
			      p, ARRAY_SIZE(p), device_iter_row, &it));
}

struct assign {
	const char *id, *batch, *sho;
	int64_t count;
};

static int assign_tx(struct store *s, void *arg)
{
	struct assign *a = arg;
	struct db_val q = DBT(a->sho);
	int64_t n = 0;
	int r;

	if (*a->sho) {
		r = exec(s, "SELECT COUNT(*) FROM shos WHERE id = $1", &q, 1, row_int, &n);
		if (r < 0)
			return r;
		if (!n) {
			snprintf(ERR, "no SHO %s (add it with `sho add`)", a->sho);
			return -ENOENT;
		}
	}
	if (a->id) {
		const struct db_val p[] = { DBT(a->sho), DBT(a->id) };

		r = exec(s, "UPDATE devices SET sho = $1 WHERE id = $2", p, 2, NULL, NULL);
	} else {
		const struct db_val p[] = { DBT(a->sho), DBT(a->batch) };

		r = exec(s, "UPDATE devices SET sho = $1 WHERE batch = $2", p, 2, NULL, NULL);
	}
	if (r == 0)
		a->count = db_changes(conn);
	if (r == 0 && a->count == 0) {
		snprintf(ERR, "no device %s %s", a->id ? "with id" : "in batch",
			 a->id ? a->id : a->batch);
		r = -ENOENT;
	}
	return r;
}

int store_device_assign(struct store *s, const char *id, const char *batch, const char *sho,
			int64_t *ret_count)
{
	struct assign a = { id, batch, sho, 0 };
	int r;

	if (!id == !batch)
		return -EINVAL;
	r = LOCKED(s, in_tx(s, assign_tx, &a));
	if (r == 0 && ret_count)
		*ret_count = a.count;
	return r;
}

/* ---- sessions ---- */

int store_session_create(struct store *s, const struct op_session *x)
{
	char nonce[65], secret[65];

	hex_encode(x->nonce, sizeof(x->nonce), nonce);
	hex_encode(x->secret, sizeof(x->secret), secret);
	const struct db_val p[] = { DBT(x->id),	 DBT(x->device_id),    DBT(nonce),
				    DBT(secret), DBT(x->ak_public),    DBT(x->model),
				    DBI(x->model_version), DBT(x->mode), DBI(x->created),
				    DBI(x->expires) };
	int r = LOCKED(s, exec(s,
			       "INSERT INTO sessions (id, device_id, nonce, secret, ak_public, model, "
			       "model_version, mode, created, expires) "
			       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
			       p, ARRAY_SIZE(p), NULL, NULL));
	explicit_bzero(secret, sizeof(secret));
	return r;
}

struct consume {
	struct op_session *x;
	bool found;
	int bad;
};

static int consume_row(const struct db_row *row, void *user)
{
	struct consume *c = user;
	struct op_session *x = c->x;

	COPY(x->id, db_row_text(row, 0));
	COPY(x->device_id, db_row_text(row, 1));
	if (hex_decode(db_row_text(row, 2), x->nonce, sizeof(x->nonce)) != sizeof(x->nonce) ||
	    hex_decode(db_row_text(row, 3), x->secret, sizeof(x->secret)) != sizeof(x->secret))
		c->bad = -EIO;
	COPY(x->ak_public, db_row_text(row, 4));
	COPY(x->model, db_row_text(row, 5));
	x->model_version = db_row_int(row, 6);
	COPY(x->mode, db_row_text(row, 7));
	x->created = db_row_int(row, 8);
	x->expires = db_row_int(row, 9);
	c->found = true;
	return 0;
}

static int count_row(const struct db_row *row, void *user)
{
	*(int64_t *)user = db_row_int(row, 0);
	return 0;
}

static int consume_locked(struct store *s, const char *id, struct op_session *ret)
{
	struct consume c = { .x = ret };
	struct db_val p = DBT(id);
	int64_t n = 0;
	int r;

	/* The single-use rule in one statement: of two concurrent requests
	 * for one session, exactly one gets the row back. */
	r = exec(s,
		 "UPDATE sessions SET used = 1 WHERE id = $1 AND used = 0 RETURNING id, device_id, "
		 "nonce, secret, ak_public, model, model_version, mode, created, expires",
		 &p, 1, consume_row, &c);
	if (r < 0)
		return r;
	if (c.bad) {
		snprintf(ERR, "session %s: corrupt nonce or secret", id);
		return c.bad;
	}
	if (c.found)
		return 0;
	r = exec(s, "SELECT COUNT(*) FROM sessions WHERE id = $1", &p, 1, count_row, &n);
	return r < 0 ? r : n ? -EALREADY : -ENOENT;
}

int store_session_consume(struct store *s, const char *id, struct op_session *ret)
{
	return LOCKED(s, consume_locked(s, id, ret));
}

struct success {
	const char *device_id, *jti, *detail;
	int64_t now, reset, restart, clock, expires;
};

static int success_tx(struct store *s, void *arg)
{
	struct success *x = arg;
	int r;

	/* The clock rule again, in the database: of two validations of one
	 * device on two instances, a later clock cannot be overwritten by an
	 * earlier one (pva.c's clock check saw the row as it was before). */
	const struct db_val d[] = { DBI(x->reset), DBI(x->restart), DBI(x->clock), DBI(x->now),
				    DBT(x->device_id), DBI(x->reset), DBI(x->reset),
				    DBI(x->restart), DBI(x->clock) };
	r = exec(s,
		 "UPDATE devices SET reset_count = $1, restart_count = $2, clock = $3, "
		 "validated = $4 WHERE id = $5 AND (reset_count IS NULL OR "
		 "(($6 > reset_count OR ($7 = reset_count AND $8 >= restart_count)) AND "
		 "$9 >= clock))",
		 d, ARRAY_SIZE(d), NULL, NULL);
	if (r == 0 && db_changes(conn) != 1) {
		snprintf(ERR, "device %s: a validation with a later TPM clock was recorded "
			 "meanwhile", x->device_id);
		r = -ESTALE;
	}
	if (r == 0) {
		const struct db_val t[] = { DBT(x->jti), DBT(x->device_id), DBI(x->now),
					    DBI(x->expires) };
		r = exec(s, "INSERT INTO tickets (jti, device_id, issued, expires) VALUES ($1, $2, $3, $4)",
			 t, ARRAY_SIZE(t), NULL, NULL);
	}
	if (r == 0) {
		const struct db_val a[] = { DBI(x->now), DBT(x->device_id), DBT("validation"),
					    DBT("valid"), DBT(x->detail) };
		r = exec(s,
			 "INSERT INTO audit (at, device_id, event, result, detail) "
			 "VALUES ($1, $2, $3, $4, $5)",
			 a, ARRAY_SIZE(a), NULL, NULL);
	}
	return r;
}

int store_validation_success(struct store *s, const char *device_id, int64_t now,
			     int64_t reset_count, int64_t restart_count, int64_t clock,
			     const char *jti, int64_t ticket_expires, const char *detail)
{
	struct success x = { device_id, jti, detail, now, reset_count, restart_count, clock,
			     ticket_expires };

	return LOCKED(s, in_tx(s, success_tx, &x));
}

struct refusal {
	const char *device_id, *detail;
	int64_t now;
};

static int refused_tx(struct store *s, void *user)
{
	const struct refusal *x = user;
	const struct db_val t[] = { DBT(x->device_id) };
	const struct db_val a[] = { DBI(x->now), DBT(x->device_id), DBT("validation"),
				    DBT("refused"), DBT(x->detail) };
	int r;

	r = exec(s, "UPDATE tickets SET used = 2 WHERE device_id = $1 AND used = 0", t,
		 ARRAY_SIZE(t), NULL, NULL);
	if (r == 0)
		r = exec(s,
			 "INSERT INTO audit (at, device_id, event, result, detail) "
			 "VALUES ($1, $2, $3, $4, $5)",
			 a, ARRAY_SIZE(a), NULL, NULL);
	return r;
}

int store_validation_refused(struct store *s, int64_t now, const char *device_id,
			     const char *detail)
{
	struct refusal x = { device_id, detail ? detail : "", now };

	return LOCKED(s, in_tx(s, refused_tx, &x));
}

/* ---- audit ---- */

int store_audit(struct store *s, int64_t now, const char *device_id, const char *event,
		const char *result, const char *detail)
{
	const struct db_val p[] = { DBI(now), DBT(device_id ? device_id : ""), DBT(event),
				    DBT(result), DBT(detail ? detail : "") };

	return LOCKED(s, exec(s,
			      "INSERT INTO audit (at, device_id, event, result, detail) "
			      "VALUES ($1, $2, $3, $4, $5)",
			      p, ARRAY_SIZE(p), NULL, NULL));
}

struct audit_iter {
	store_audit_fn fn;
	void *user;
};

static int audit_iter_row(const struct db_row *row, void *user)
{
	struct audit_iter *it = user;

	return it->fn(db_row_int(row, 0), db_row_text(row, 1), db_row_text(row, 2),
		      db_row_text(row, 3), db_row_text(row, 4), it->user);
}

int store_audit_list(struct store *s, const char *device_id, unsigned limit, store_audit_fn fn,
		     void *user)
{
	const struct db_val p[] = { device_id ? DBT(device_id) : DBN,
				    device_id ? DBT(device_id) : DBN,
				    DBI(limit ? limit : INT64_MAX) };
	struct audit_iter it = { fn, user };

	return LOCKED(s, exec(s,
			      "SELECT at, device_id, event, result, detail FROM audit "
			      "WHERE ($1 IS NULL OR device_id = $2) ORDER BY at LIMIT $3",
			      p, ARRAY_SIZE(p), audit_iter_row, &it));
}

/* ---- subscriptions ---- */

#define SUB_COLS                                                               \
	"iccid, imsi, msisdn, sho, subscriber, device_id, algorithm, secrets, "  \
	"state, profile, pin_refs, created, updated, lock_until"

void op_subscription_clear(struct op_subscription *x)
{
	if (!x)
		return;
	free(x->secrets);
	free(x->profile);
	x->secrets = x->profile = NULL;
}

static int sub_from_row(const struct db_row *row, struct op_subscription *x)
{
	op_subscription_clear(x);
	COPY(x->iccid, db_row_text(row, 0));
	COPY(x->imsi, db_row_text(row, 1));
	COPY(x->msisdn, db_row_text(row, 2));
	COPY(x->sho, db_row_text(row, 3));
	COPY(x->subscriber, db_row_text(row, 4));
	COPY(x->device_id, db_row_text(row, 5));
	COPY(x->algorithm, db_row_text(row, 6));
	x->secrets = strdup(db_row_text(row, 7));
	COPY(x->state, db_row_text(row, 8));
	x->profile = strdup(db_row_text(row, 9));
	COPY(x->pin_refs, db_row_text(row, 10));
	x->created = db_row_int(row, 11);
	x->updated = db_row_int(row, 12);
	x->lock_until = db_row_int(row, 13);
	return x->secrets && x->profile ? 0 : -ENOMEM;
}

int store_subscription_add(struct store *s, const struct op_subscription *x)
{
	const struct db_val p[] = {
		DBT(x->iccid),	    DBT(x->imsi),     DBT(x->msisdn),	DBT(x->sho),
		DBT(x->subscriber), x->device_id[0] ? DBT(x->device_id) : DBN,
		DBT(x->algorithm),  DBT(x->secrets),  DBT(x->state),	DBT(x->profile),
		DBT(x->pin_refs),   DBI(x->created),  DBI(x->created),	DBI(x->lock_until),
	};

	return LOCKED(s, exec(s,
			      "INSERT INTO subscriptions (" SUB_COLS ") VALUES "
			      "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
			      p, ARRAY_SIZE(p), NULL, NULL));
}

static int row_text16(const struct db_row *row, void *user)
{
	snprintf(user, OP_IMSI_MAX + 1, "%s", db_row_text(row, 0));
	return 0;
}

int store_subscription_last_imsi(struct store *s, const char *first, const char *last,
				 char ret[OP_IMSI_MAX + 1])
{
	/* Equal-length digit strings: text order is numeric order. */
	const struct db_val p[] = { DBT(first), DBT(last), DBI(strlen(first)) };

	ret[0] = 0;
	return LOCKED(s, exec(s,
			      "SELECT MAX(imsi) FROM subscriptions WHERE imsi >= $1 AND imsi <= $2 "
			      "AND LENGTH(imsi) = $3",
			      p, 3, row_text16, ret));
}

struct one_sub {
	struct op_subscription *x;
	bool found;
};

static int one_sub_row(const struct db_row *row, void *user)
{
	struct one_sub *o = user;

	o->found = true;
	return sub_from_row(row, o->x);
}

int store_subscription_get(struct store *s, const char *id, struct op_subscription *ret)
{
	const struct db_val p[] = { DBT(id), DBT(id) };
	struct one_sub o = { ret, false };
	int r;

	memset(ret, 0, sizeof(*ret));
	r = LOCKED(s, exec(s, "SELECT " SUB_COLS " FROM subscriptions WHERE iccid = $1 OR imsi = $2",
			   p, 2, one_sub_row, &o));
	if (r == 0 && !o.found)
		r = -ENOENT;
	if (r < 0)
		op_subscription_clear(ret);
	return r;
}

struct sub_iter {
	store_subscription_fn fn;
	void *user;
};

static int sub_iter_row(const struct db_row *row, void *user)
{
	struct sub_iter *it = user;
	struct op_subscription x = { 0 };
	int r = sub_from_row(row, &x);

	if (r == 0)
		r = it->fn(&x, it->user);
	op_subscription_clear(&x);
	return r;
}

int store_subscription_list(struct store *s, const struct store_subscription_filter *f,
			    store_subscription_fn fn, void *user)
{
	const struct db_val p[] = {
		f->sho ? DBT(f->sho) : DBN,		  f->sho ? DBT(f->sho) : DBN,
		f->device ? DBT(f->device) : DBN,	  f->device ? DBT(f->device) : DBN,
		f->subscriber ? DBT(f->subscriber) : DBN, f->subscriber ? DBT(f->subscriber) : DBN,
		f->state ? DBT(f->state) : DBN,		  f->state ? DBT(f->state) : DBN,
		DBI(f->limit ? f->limit : INT64_MAX),
	};
	struct sub_iter it = { fn, user };

	return LOCKED(s, exec(s,
			      "SELECT " SUB_COLS " FROM subscriptions WHERE "
			      "($1 IS NULL OR sho = $2) AND ($3 IS NULL OR device_id = $4) AND "
			      "($5 IS NULL OR subscriber = $6) AND ($7 IS NULL OR state = $8) "
			      "ORDER BY imsi LIMIT $9",
			      p, ARRAY_SIZE(p), sub_iter_row, &it));
}

/* ---- the download ---- */

struct issue {
	const char *sho, *subscriber;
	struct op_package *p;
	struct op_subscription *sub;
	bool found;
};

static int issue_sub_row(const struct db_row *row, void *user)
{
	struct issue *x = user;

	x->found = true;
	return sub_from_row(row, x->sub);
}

static int found_row(const struct db_row *row, void *user)
{
	(void)row;
	*(bool *)user = true;
	return 0;
}

static bool is_pg(void)
{
	return !strcmp(db_engine(conn), "postgresql");
}

/*
 * The pool claim: the first free subscription of the SHO and subscriber.
 * On PostgreSQL (READ COMMITTED, below) FOR UPDATE SKIP LOCKED: a row
 * another download is claiming is skipped, not waited for and then found
 * taken.  SQLite has one writer: the plain subquery is enough.
 */
#define CLAIM_SQL(lock)                                                              \
	"UPDATE subscriptions SET device_id = $1 WHERE iccid = (SELECT iccid FROM "   \
	"subscriptions WHERE device_id IS NULL AND sho = $2 AND subscriber = $3 AND " \
	"state = 'created' ORDER BY imsi LIMIT 1" lock ") AND device_id IS NULL "     \
	"RETURNING " SUB_COLS

static int claim(struct store *s, struct issue *x)
{
	const struct db_val q[] = { DBT(x->p->device_id), DBT(x->sho), DBT(x->subscriber) };
	int64_t n = 0;
	int r;

	r = exec(s, is_pg() ? CLAIM_SQL(" FOR UPDATE SKIP LOCKED") : CLAIM_SQL(""), q,
		 ARRAY_SIZE(q), issue_sub_row, x);
	if (r < 0 || x->found)
		return r;
	/*
	 * Nothing claimable.  Free rows that others hold locked (their claim
	 * not committed yet, or about to roll back) are not "no subscription":
	 * retry (-EBUSY) until they are settled.
	 */
	r = exec(s,
		 "SELECT COUNT(*) FROM subscriptions WHERE device_id IS NULL AND sho = $1 AND "
		 "subscriber = $2 AND state = 'created'",
		 q + 1, 2, row_int, &n);
	if (r < 0)
		return r;
	if (n) {
		snprintf(ERR, "the subscriber's pool is being claimed by other downloads");
		return -EBUSY;
	}
	snprintf(ERR, "no subscription is assigned to the device");
	return -ENXIO;
}

/*
 * One id of a consent or release consumed: inserted once, -EALREADY when it
 * was (the primary key; ON CONFLICT DO NOTHING keeps the transaction usable
 * on PostgreSQL, and a concurrent insert waits for the other's commit).
 */
static int consume_token(struct store *s, const char *kind, const char *id, const char *device,
			 int64_t expires, int64_t now)
{
	const struct db_val q[] = { DBT(kind), DBT(id), DBT(device), DBI(expires), DBI(now) };
	bool fresh = false;
	int r;

	r = exec(s,
		 "INSERT INTO tokens_used (kind, id, device_id, expires, used) VALUES ($1, $2, $3, "
		 "$4, $5) ON CONFLICT (kind, id) DO NOTHING RETURNING id",
		 q, ARRAY_SIZE(q), found_row, &fresh);
	return r < 0 ? r : fresh ? 0 : -EALREADY;
}

/*
 * READ COMMITTED on PostgreSQL (docs/operator.md "Which rule needs which
 * isolation"): the first statement takes the device's row lock in
 * device_sequences, so two downloads of one device run one after the other
 * and the second sees what the first committed; every other rule is a
 * constraint, a conditional UPDATE or the pool claim's row lock.
 */
static int issue_tx(struct store *s, void *arg)
{
	struct issue *x = arg;
	struct op_package *p = x->p;
	struct db_val dev = DBT(p->device_id);
	int64_t n = 0;
	bool used = false;
	int r;

	x->found = false; /* a retried attempt starts over */
	/* The device's next sequence number, and its row lock until the end. */
	r = exec(s,
		 "INSERT INTO device_sequences (device_id, next_sequence) VALUES ($1, 2) "
		 "ON CONFLICT (device_id) DO UPDATE SET "
		 "next_sequence = device_sequences.next_sequence + 1 RETURNING next_sequence - 1",
		 &dev, 1, row_int, &n);
	if (r < 0)
		return r;
	p->sequence = n;
	r = exec(s, "SELECT COUNT(*) FROM tamper_reports WHERE device_id = $1 AND cleared = 0", &dev,
		 1, row_int, &n);
	if (r < 0)
		return r;
	if (n) {
		snprintf(ERR, "%" PRId64 " tamper report(s) outstanding", n);
		return -EPERM;
	}
	{
		const struct db_val q[] = { DBT(p->device_id), DBT(p->nonce) };

		r = exec(s, "SELECT COUNT(*) FROM packages WHERE device_id = $1 AND nonce = $2", q, 2,
			 row_int, &n);
		if (r < 0)
			return r;
		if (n) {
			snprintf(ERR, "a package was built for this nonce already");
			return -EEXIST;
		}
	}
	/*
	 * The device's subscription (docs/package-format.md section 3): its
	 * own that is not active yet (one an admin assigned with --device, or
	 * one packaged and not confirmed), else its own active one of its SHO
	 * again (a re-issue of the same ICCID), else a claim from its SHO and
	 * subscriber's pool: a device never takes a second one of a SHO from
	 * the pool.
	 */
	{
		const struct db_val q[] = { DBT(p->device_id), DBT(x->sho) };

		r = exec(s,
			 "SELECT " SUB_COLS " FROM subscriptions WHERE device_id = $1 AND "
			 "(state IN ('created', 'packaged') OR (state = 'active' AND sho = $2)) "
			 "ORDER BY state = 'active', created, iccid "
			 "LIMIT 1",
			 q, 2, issue_sub_row, x);
	}
	if (r == 0 && !x->found)
		r = claim(s, x);
	if (r < 0)
		return r;
	/* Single use of the ticket, in the transaction that assigns the sequence. */
	{
		const struct db_val q[] = { DBT(p->jti), DBT(p->device_id) };

		r = exec(s,
			 "UPDATE tickets SET used = 1 WHERE jti = $1 AND device_id = $2 AND used = 0 "
			 "RETURNING jti",
			 q, 2, found_row, &used);
		if (r < 0)
			return r;
		if (!used) {
			/* n: 0 no such ticket, 1 used, 2 revoked by a refused validation */
			n = 0;
			r = exec(s, "SELECT MAX(used) FROM tickets WHERE jti = $1 AND device_id = $2",
				 q, 2, row_int, &n);
			if (r < 0)
				return r;
			snprintf(ERR, "%s", n == 2 ? "the ticket was revoked: the platform failed a "
						     "validation after it was issued"
					    : n ? "the ticket was used before"
						: "the ticket is not one the PVA issued to this device");
			return n == 2 ? -EKEYREVOKED : n ? -EALREADY : -ENOENT;
		}
	}
	/* docs/change-format.md 4: the consent's and the release's single use. */
	if (p->replaces[0]) {
		r = consume_token(s, "consent", p->consent_id, p->device_id, p->consent_expires,
				  p->issued);
		if (r == -EALREADY) {
			snprintf(ERR, "the consent %s was used before", p->consent_id);
			return -EADDRINUSE;
		}
		if (r == 0 && p->release_id[0]) {
			r = consume_token(s, "release", p->release_id, p->device_id,
					  p->release_expires, p->issued);
			if (r == -EALREADY) {
				snprintf(ERR, "the release %s was used before", p->release_id);
				return -EADDRNOTAVAIL;
			}
		}
		if (r < 0)
			return r;
	}
	COPY(p->iccid, x->sub->iccid);
	{
		const struct db_val q[] = { DBT(p->device_id), DBI(p->sequence), DBT(p->nonce),
					    DBT(p->jti),       DBT(p->iccid),	 DBT(p->ak_public),
					    DBT(p->kpd),       DBI(p->issued),	 DBI(p->expires),
					    DBT(p->replaces) };

		r = exec(s,
			 "INSERT INTO packages (device_id, sequence, nonce, jti, iccid, ak_public, kpd, "
			 "issued, expires, replaces) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
			 q, ARRAY_SIZE(q), NULL, NULL);
		if (r == -EEXIST)
			snprintf(ERR, "a package was built for this nonce already");
		if (r < 0)
			return r;
	}
	/* A re-issue leaves an active subscription active; its receipt confirms the package. */
	if (!strcmp(x->sub->state, "active"))
		return 0;
	{
		const struct db_val q[] = { DBI(p->issued), DBT(p->iccid) };

		r = exec(s, "UPDATE subscriptions SET state = 'packaged', updated = $1 WHERE iccid = $2",
			 q, 2, NULL, NULL);
	}
	if (r == 0)
		COPY(x->sub->state, "packaged");
	return r;
}

int store_package_issue(struct store *s, const char *sho, const char *subscriber,
			struct op_package *p, struct op_subscription *ret_sub)
{
	struct issue x = { sho, subscriber, p, ret_sub, false };
	int r;

	memset(ret_sub, 0, sizeof(*ret_sub));
	r = LOCKED(s, in_tx_iso(s, true, issue_tx, &x));
	if (r < 0)
		op_subscription_clear(ret_sub);
	return r;
}

#define PKG_COLS                                                                       \
	"device_id, sequence, nonce, jti, iccid, ak_public, kpd, issued, expires, confirmed, " \
	"replaces, result, reason"

struct one_pkg {
	struct op_package *p;
	bool found;
};

static int one_pkg_row(const struct db_row *row, void *user)
{
	struct one_pkg *o = user;
	struct op_package *p = o->p;

	COPY(p->device_id, db_row_text(row, 0));
	p->sequence = db_row_int(row, 1);
	COPY(p->nonce, db_row_text(row, 2));
	COPY(p->jti, db_row_text(row, 3));
	COPY(p->iccid, db_row_text(row, 4));
	COPY(p->ak_public, db_row_text(row, 5));
	COPY(p->kpd, db_row_text(row, 6));
	p->issued = db_row_int(row, 7);
	p->expires = db_row_int(row, 8);
	p->confirmed = db_row_int(row, 9);
	COPY(p->replaces, db_row_text(row, 10));
	COPY(p->result, db_row_text(row, 11));
	COPY(p->reason, db_row_text(row, 12));
	o->found = true;
	return 0;
}

int store_package_get(struct store *s, const char *device_id, int64_t sequence,
		      struct op_package *ret)
{
	const struct db_val q[] = { DBT(device_id), DBI(sequence) };
	struct one_pkg o = { ret, false };
	int r;

	r = LOCKED(s, exec(s,
			   "SELECT " PKG_COLS " FROM packages WHERE device_id = $1 AND sequence = $2",
			   q, 2, one_pkg_row, &o));
	return r < 0 ? r : o.found ? 0 : -ENOENT;
}

int store_package_latest(struct store *s, const char *device_id, struct op_package *ret)
{
	struct db_val q = DBT(device_id);
	struct one_pkg o = { ret, false };
	int r;

	r = LOCKED(s, exec(s,
			   "SELECT " PKG_COLS " FROM packages WHERE device_id = $1 "
			   "ORDER BY sequence DESC LIMIT 1",
			   &q, 1, one_pkg_row, &o));
	return r < 0 ? r : o.found ? 0 : -ENOENT;
}

static int row_iccid(const struct db_row *row, void *user)
{
	snprintf(user, OP_ICCID_MAX + 1, "%s", db_row_text(row, 0));
	return 0;
}

struct confirm {
	const char *device_id, *detail, *result, *reason;
	int64_t sequence, now;
};

/*
 * READ COMMITTED on PostgreSQL: first the device's row lock, as in
 * issue_tx (a receipt and a download of one device never interleave: a
 * download cannot mark `packaged` a subscription the receipt just made
 * `active`), then the conditional UPDATE of the package, the single-use
 * rule (a concurrent second receipt waits, re-reads confirmed <> 0 and
 * changes nothing).
 */
static int confirm_tx(struct store *s, void *arg)
{
	struct confirm *c = arg;
	const struct db_val q[] = { DBI(c->now), DBT(c->result), DBT(c->reason), DBT(c->device_id),
				    DBI(c->sequence) };
	char iccid[OP_ICCID_MAX + 1] = "";
	int r;

	r = exec(s, "UPDATE device_sequences SET next_sequence = next_sequence WHERE device_id = $1",
		 q + 3, 1, NULL, NULL);
	if (r < 0)
		return r;
	r = exec(s,
		 "UPDATE packages SET confirmed = $1, result = $2, reason = $3 WHERE device_id = $4 "
		 "AND sequence = $5 AND confirmed = 0 RETURNING iccid",
		 q, 5, row_iccid, iccid);
	if (r < 0)
		return r;
	if (!iccid[0]) {
		snprintf(ERR, "package %" PRId64 " was confirmed before", c->sequence);
		return -EALREADY;
	}
	{
		const struct db_val u[] = { DBT(strcmp(c->result, "fallback") ? "active" : "failed"),
					    DBI(c->now), DBT(iccid), DBT(c->device_id) };

		r = exec(s,
			 "UPDATE subscriptions SET state = $1, updated = $2 WHERE iccid = $3 AND "
			 "device_id = $4",
			 u, 4, NULL, NULL);
	}
	if (r == 0) {
		const struct db_val a[] = { DBI(c->now), DBT(c->device_id), DBT("receipt"),
					    DBT(c->result), DBT(c->detail) };

		r = exec(s,
			 "INSERT INTO audit (at, device_id, event, result, detail) "
			 "VALUES ($1, $2, $3, $4, $5)",
			 a, ARRAY_SIZE(a), NULL, NULL);
	}
	return r;
}

int store_package_confirm(struct store *s, const char *device_id, int64_t sequence, int64_t now,
			  const char *result, const char *reason, const char *detail)
{
	struct confirm c = { device_id, detail, result, reason ? reason : "", sequence, now };

	return LOCKED(s, in_tx_iso(s, true, confirm_tx, &c));
}

int store_tamper_add(struct store *s, const char *device_id, int64_t at, int64_t received,
		     const char *reason)
{
	const struct db_val p[] = { DBT(device_id), DBI(at), DBI(received), DBT(reason) };

	return LOCKED(s, exec(s,
			      "INSERT INTO tamper_reports (device_id, at, received, reason) "
			      "VALUES ($1, $2, $3, $4)",
			      p, ARRAY_SIZE(p), NULL, NULL));
}

int store_tamper_outstanding(struct store *s, const char *device_id, int64_t *ret_count)
{
	struct db_val p = DBT(device_id);

	*ret_count = 0;
	return LOCKED(s, exec(s,
			      "SELECT COUNT(*) FROM tamper_reports WHERE device_id = $1 AND cleared = 0",
			      &p, 1, row_int, ret_count));
}

struct clear_tamper {
	const char *device_id;
	int64_t now, count;
};

static int clear_tamper_tx(struct store *s, void *arg)
{
	struct clear_tamper *c = arg;
	const struct db_val p[] = { DBI(c->now), DBT(c->device_id) };
	char detail[64];
	int r;

	r = exec(s, "UPDATE tamper_reports SET cleared = $1 WHERE device_id = $2 AND cleared = 0", p,
		 2, NULL, NULL);
	if (r < 0)
		return r;
	c->count = db_changes(conn);
	snprintf(detail, sizeof(detail), "%" PRId64 " report(s) cleared", c->count);
	{
		const struct db_val a[] = { DBI(c->now), DBT(c->device_id), DBT("tamper"),
					    DBT("cleared"), DBT(detail) };

		return exec(s,
			    "INSERT INTO audit (at, device_id, event, result, detail) "
			    "VALUES ($1, $2, $3, $4, $5)",
			    a, ARRAY_SIZE(a), NULL, NULL);
	}
}

int store_tamper_clear(struct store *s, const char *device_id, int64_t now, int64_t *ret_count)
{
	struct clear_tamper c = { device_id, now, 0 };
	int r = LOCKED(s, in_tx(s, clear_tamper_tx, &c));

	if (r == 0 && ret_count)
		*ret_count = c.count;
	return r;
}

/* ---- changes of subscription (docs/change-format.md 4) ---- */

static int audit_row(struct store *s, int64_t now, const char *device_id, const char *event,
		     const char *result, const char *detail)
{
	const struct db_val a[] = { DBI(now), DBT(device_id), DBT(event), DBT(result),
				    DBT(detail) };

	return exec(s,
		    "INSERT INTO audit (at, device_id, event, result, detail) "
		    "VALUES ($1, $2, $3, $4, $5)",
		    a, ARRAY_SIZE(a), NULL, NULL);
}

struct subscriber_iter {
	store_subscriber_fn fn;
	void *user;
	struct op_subscriber *one;
	bool found;
};

static int subscriber_row(const struct db_row *row, void *user)
{
	struct subscriber_iter *it = user;
	struct op_subscriber x, *o = it->one ? it->one : &x;

	COPY(o->name, db_row_text(row, 0));
	COPY(o->cert, db_row_text(row, 1));
	COPY(o->key_id, db_row_text(row, 2));
	o->created = db_row_int(row, 3);
	it->found = true;
	return it->fn ? it->fn(o, it->user) : 0;
}

int store_subscriber_add(struct store *s, const struct op_subscriber *x)
{
	const struct db_val p[] = { DBT(x->name), DBT(x->cert), DBT(x->key_id), DBI(x->created) };
	int r;

	r = LOCKED(s, exec(s,
			   "INSERT INTO subscribers (name, cert, key_id, created) VALUES ($1, $2, $3, $4)",
			   p, ARRAY_SIZE(p), NULL, NULL));
	if (r == -EEXIST)
		snprintf(ERR, "subscriber %s exists", x->name);
	return r;
}

int store_subscriber_get(struct store *s, const char *name, struct op_subscriber *ret)
{
	struct subscriber_iter it = { .one = ret };
	struct db_val p = DBT(name);
	int r;

	r = LOCKED(s, exec(s, "SELECT name, cert, key_id, created FROM subscribers WHERE name = $1",
			   &p, 1, subscriber_row, &it));
	if (r == 0 && !it.found) {
		snprintf(ERR, "no subscriber account %s", name);
		r = -ENOENT;
	}
	return r;
}

int store_subscriber_list(struct store *s, store_subscriber_fn fn, void *user)
{
	struct subscriber_iter it = { .fn = fn, .user = user };

	return LOCKED(s, exec(s, "SELECT name, cert, key_id, created FROM subscribers ORDER BY name",
			      NULL, 0, subscriber_row, &it));
}

struct lock_arg {
	const char *iccid;
	int64_t until, now;
};

static int lock_tx(struct store *s, void *arg)
{
	struct lock_arg *l = arg;
	const struct db_val p[] = { DBI(l->until), DBI(l->now), DBT(l->iccid) };
	struct op_subscription sub = { 0 };
	struct issue x = { .sub = &sub };
	char detail[96];
	int r;

	r = exec(s, "SELECT " SUB_COLS " FROM subscriptions WHERE iccid = $1", p + 2, 1,
		 issue_sub_row, &x);
	if (r == 0 && !x.found) {
		snprintf(ERR, "no subscription with ICCID %s", l->iccid);
		r = -ENOENT;
	}
	if (r == 0)
		r = exec(s, "UPDATE subscriptions SET lock_until = $1, updated = $2 WHERE iccid = $3",
			 p, ARRAY_SIZE(p), NULL, NULL);
	snprintf(detail, sizeof(detail), "iccid %s, lock until %" PRId64, l->iccid, l->until);
	if (r == 0)
		r = audit_row(s, l->now, sub.device_id, "subscription", "locked", detail);
	op_subscription_clear(&sub);
	return r;
}

int store_subscription_lock(struct store *s, const char *iccid, int64_t until, int64_t now)
{
	struct lock_arg l = { iccid, until, now };

	return LOCKED(s, in_tx(s, lock_tx, &l));
}

#define TOKEN_COLS "id, device_id, iccid, to_sho, subscriber, issued, expires, added"

struct token_iter {
	store_token_fn fn;
	void *user;
	struct op_token_rec *one;
	bool found;
};

static int token_row(const struct db_row *row, void *user)
{
	struct token_iter *it = user;
	struct op_token_rec x, *o = it->one ? it->one : &x;

	COPY(o->id, db_row_text(row, 0));
	COPY(o->device_id, db_row_text(row, 1));
	COPY(o->iccid, db_row_text(row, 2));
	COPY(o->to_sho, db_row_text(row, 3));
	COPY(o->subscriber, db_row_text(row, 4));
	o->issued = db_row_int(row, 5);
	o->expires = db_row_int(row, 6);
	o->added = db_row_int(row, 7);
	it->found = true;
	return it->fn ? it->fn(o, it->user) : 0;
}

struct consent_arg {
	const struct op_token_rec *c;
	int64_t now;
};

static int consent_tx(struct store *s, void *arg)
{
	struct consent_arg *a = arg;
	const struct op_token_rec *c = a->c;
	const struct db_val p[] = { DBT(c->id),	       DBT(c->device_id), DBT(c->iccid),
				    DBT(c->to_sho),    DBT(c->subscriber), DBI(c->issued),
				    DBI(c->expires),   DBI(a->now) };
	char detail[200];
	int r;

	r = exec(s, "INSERT INTO consents (" TOKEN_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		 p, ARRAY_SIZE(p), NULL, NULL);
	if (r == -EEXIST)
		snprintf(ERR, "consent %s was recorded before", c->id);
	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "consent %s of %s: iccid %s to sho %.16s..., expires %" PRId64,
		 c->id, c->subscriber, c->iccid, c->to_sho, c->expires);
	return audit_row(s, a->now, c->device_id, "consent", "recorded", detail);
}

int store_consent_add(struct store *s, const struct op_token_rec *c, int64_t now)
{
	struct consent_arg a = { c, now };

	return LOCKED(s, in_tx(s, consent_tx, &a));
}

int store_consent_list(struct store *s, store_token_fn fn, void *user)
{
	struct token_iter it = { .fn = fn, .user = user };

	return LOCKED(s, exec(s, "SELECT " TOKEN_COLS " FROM consents ORDER BY added, id", NULL, 0,
			      token_row, &it));
}

struct release_arg {
	struct op_token_rec *rel;
	int64_t now;
};

static int release_tx(struct store *s, void *arg)
{
	struct release_arg *a = arg;
	struct op_token_rec *rel = a->rel, consent;
	struct token_iter it = { .one = &consent };
	struct op_subscription sub = { 0 };
	struct issue x = { .sub = &sub };
	char detail[200];
	int r;

	{
		const struct db_val q[] = { DBT(rel->iccid) };

		r = exec(s, "SELECT " SUB_COLS " FROM subscriptions WHERE iccid = $1", q, 1,
			 issue_sub_row, &x);
	}
	if (r == 0 && !x.found) {
		snprintf(ERR, "no subscription with ICCID %s", rel->iccid);
		r = -ENOENT;
	}
	if (r == 0 && (!sub.device_id[0] ||
		       (strcmp(sub.state, "active") && strcmp(sub.state, "releasing")))) {
		snprintf(ERR, "subscription %s is %s%s: only an active one installed on a device "
			 "is released", rel->iccid, sub.state, sub.device_id[0] ? "" : ", no device");
		r = -EPERM;
	}
	COPY(rel->device_id, sub.device_id);
	op_subscription_clear(&sub);
	if (r < 0)
		return r;
	{
		const struct db_val q[] = { DBT(rel->device_id), DBT(rel->iccid), DBT(rel->to_sho),
					    DBI(a->now) };

		r = exec(s,
			 "SELECT " TOKEN_COLS " FROM consents WHERE device_id = $1 AND iccid = $2 AND "
			 "to_sho = $3 AND expires > $4 ORDER BY expires DESC LIMIT 1",
			 q, ARRAY_SIZE(q), token_row, &it);
	}
	if (r == 0 && !it.found) {
		snprintf(ERR, "no recorded, unexpired consent of the subscriber for device %.16s..., "
			 "ICCID %s and that SHO (consent add FILE first)", rel->device_id, rel->iccid);
		r = -ENOENT;
	}
	if (r < 0)
		return r;
	COPY(rel->subscriber, consent.id);
	{
		const struct db_val q[] = { DBT(rel->id),     DBT(consent.id), DBT(rel->device_id),
					    DBT(rel->iccid),  DBT(rel->to_sho), DBI(rel->issued),
					    DBI(rel->expires) };

		r = exec(s,
			 "INSERT INTO releases (id, consent_id, device_id, iccid, to_sho, issued, "
			 "expires) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			 q, ARRAY_SIZE(q), NULL, NULL);
	}
	if (r == 0) {
		const struct db_val q[] = { DBI(a->now), DBT(rel->iccid) };

		r = exec(s, "UPDATE subscriptions SET state = 'releasing', updated = $1 WHERE iccid = $2",
			 q, 2, NULL, NULL);
	}
	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "release %s (consent %s): iccid %s to sho %.16s..., "
		 "expires %" PRId64, rel->id, consent.id, rel->iccid, rel->to_sho, rel->expires);
	return audit_row(s, a->now, rel->device_id, "release", "issued", detail);
}

int store_release_issue(struct store *s, struct op_token_rec *rel, int64_t now)
{
	struct release_arg a = { rel, now };

	return LOCKED(s, in_tx(s, release_tx, &a));
}

struct report_arg {
	const char *device_id, *iccid, *result, *reason;
	int64_t now;
	char *state;
};

static int report_tx(struct store *s, void *arg)
{
	struct report_arg *a = arg;
	bool switched = !strcmp(a->result, "switched");
	const char *to = switched ? "ended" : "active";
	struct op_subscription sub = { 0 };
	struct issue x = { .sub = &sub };
	char detail[400];
	int r;

	{
		const struct db_val q[] = { DBT(a->iccid), DBT(a->device_id) };

		r = exec(s, "SELECT " SUB_COLS " FROM subscriptions WHERE iccid = $1 AND device_id = $2",
			 q, 2, issue_sub_row, &x);
	}
	snprintf(a->state, 16, "%s", sub.state);
	op_subscription_clear(&sub);
	if (r < 0)
		return r;
	if (!x.found) {
		snprintf(ERR, "the device has no subscription %s", a->iccid);
		return -ENOENT;
	}
	if (!strcmp(a->state, to)) {
		snprintf(ERR, "subscription %s is %s already", a->iccid, a->state);
		return -EALREADY;
	}
	if (switched ? strcmp(a->state, "active") && strcmp(a->state, "releasing")
		     : strcmp(a->state, "releasing")) {
		snprintf(ERR, "subscription %s is %s: a release report `%s` applies to %s", a->iccid,
			 a->state, a->result, switched ? "an active or releasing one" : "a releasing one");
		return -EPERM;
	}
	{
		const struct db_val q[] = { DBT(to), DBI(a->now), DBT(a->iccid) };

		r = exec(s, "UPDATE subscriptions SET state = $1, updated = $2 WHERE iccid = $3", q,
			 ARRAY_SIZE(q), NULL, NULL);
	}
	/* The DRF's order (when this operator is also the device's DRF) is done. */
	if (r == 0 && switched) {
		const struct db_val q[] = { DBT(a->device_id), DBT(a->device_id) };

		r = exec(s,
			 "UPDATE devices SET sho = (SELECT sho FROM switch_orders WHERE device_id = $1) "
			 "WHERE id = $2 AND EXISTS (SELECT 1 FROM switch_orders o WHERE "
			 "o.device_id = devices.id)",
			 q, 2, NULL, NULL);
	}
	if (r == 0) {
		struct db_val q = DBT(a->device_id);

		r = exec(s, "DELETE FROM switch_orders WHERE device_id = $1", &q, 1, NULL, NULL);
	}
	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "iccid %s %s -> %s%s%s", a->iccid, a->state, to,
		 a->reason[0] ? ": " : "", a->reason);
	snprintf(a->state, 16, "%s", to);
	return audit_row(s, a->now, a->device_id, "released", a->result, detail);
}

int store_release_report(struct store *s, const char *device_id, const char *iccid,
			 const char *result, const char *reason, int64_t now, char ret_state[16])
{
	struct report_arg a = { device_id, iccid, result, reason ? reason : "", now, ret_state };

	ret_state[0] = 0;
	return LOCKED(s, in_tx(s, report_tx, &a));
}

void op_switch_order_clear(struct op_switch_order *o)
{
	if (!o)
		return;
	free(o->consent);
	free(o->release);
	o->consent = o->release = NULL;
}

struct order_arg {
	const struct op_switch_order *o;
	int64_t now;
};

static int order_tx(struct store *s, void *arg)
{
	struct order_arg *a = arg;
	const struct op_switch_order *o = a->o;
	int64_t n = 0;
	char detail[160];
	int r;

	{
		const struct db_val q[] = { DBT(o->device_id), DBT(o->sho) };

		r = exec(s,
			 "SELECT (SELECT COUNT(*) FROM devices WHERE id = $1) * 10 + "
			 "(SELECT COUNT(*) FROM shos WHERE id = $2)",
			 q, 2, row_int, &n);
	}
	if (r < 0)
		return r;
	if (n / 10 != 1 || n % 10 != 1) {
		snprintf(ERR, n / 10 != 1 ? "no device %s" : "no SHO %s (add it with `sho add`)",
			 n / 10 != 1 ? o->device_id : o->sho);
		return -ENOENT;
	}
	{
		const struct db_val q[] = { DBT(o->device_id), DBT(o->sho), DBT(o->consent),
					    o->release ? DBT(o->release) : DBN, DBI(a->now) };

		r = exec(s,
			 "INSERT INTO switch_orders (device_id, sho, consent, release, created) "
			 "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (device_id) DO UPDATE SET "
			 "sho = excluded.sho, consent = excluded.consent, release = excluded.release, "
			 "created = excluded.created",
			 q, ARRAY_SIZE(q), NULL, NULL);
	}
	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "to %s, %s release", o->sho, o->release ? "with" : "without");
	return audit_row(s, a->now, o->device_id, "switch", "ordered", detail);
}

int store_switch_order_put(struct store *s, const struct op_switch_order *o, int64_t now)
{
	struct order_arg a = { o, now };

	return LOCKED(s, in_tx(s, order_tx, &a));
}

struct one_order {
	struct op_switch_order *o;
	bool found;
};

static int order_row(const struct db_row *row, void *user)
{
	struct one_order *x = user;
	struct op_switch_order *o = x->o;

	op_switch_order_clear(o);
	COPY(o->device_id, db_row_text(row, 0));
	COPY(o->sho, db_row_text(row, 1));
	o->consent = strdup(db_row_text(row, 2));
	o->release = row->cols[3] ? strdup(row->cols[3]) : NULL;
	o->created = db_row_int(row, 4);
	x->found = true;
	return o->consent && (!row->cols[3] || o->release) ? 0 : -ENOMEM;
}

int store_switch_order_get(struct store *s, const char *device_id, struct op_switch_order *ret)
{
	struct one_order x = { ret, false };
	struct db_val p = DBT(device_id);
	int r;

	memset(ret, 0, sizeof(*ret));
	r = LOCKED(s, exec(s,
			   "SELECT device_id, sho, consent, release, created FROM switch_orders "
			   "WHERE device_id = $1",
			   &p, 1, order_row, &x));
	if (r == 0 && !x.found)
		r = -ENOENT;
	if (r < 0)
		op_switch_order_clear(ret);
	return r;
}
