// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "hex.h"
#include "json-util.h"
#include "tools/mcim-operator/import.h"

enum col { C_EK_CERT, C_EK_PUBLIC, C_MODEL, C_SUBSCRIBER, C_SHO, C_BATCH, C_COUNT };
static const char *const col_names[C_COUNT] = { "ek_cert", "ek_public", "model",
						"subscriber", "sho", "batch" };
#define FIELDS_MAX 16

/* Splits one CSV record in place (RFC 4180 quoting); false on a syntax error. */
static bool split(char *line, char **fields, unsigned *ret_n)
{
	unsigned n = 0;
	char *p = line, *w;

	for (;;) {
		if (n == FIELDS_MAX)
			return false;
		if (*p == '"') {
			fields[n++] = w = ++p;
			for (;;) {
				if (!*p)
					return false;
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p++;
				}
			}
			*w = 0;
			if (*p && *p != ',')
				return false;
		} else {
			fields[n++] = p;
			p += strcspn(p, ",\"");
			if (*p == '"')
				return false;
		}
		if (!*p)
			break;
		*p++ = 0;
	}
	*ret_n = n;
	return true;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n <= OP_ID_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Checks one row and fills *d; thread-safe (no store access). */
static int row_prepare(const struct ekcert_store *trust, OSSL_LIB_CTX *libctx, char **f,
		       const int *idx, const struct import_opts *o, struct op_device *d, char *why,
		       size_t why_size)
{
	const char *cert = idx[C_EK_CERT] >= 0 ? f[idx[C_EK_CERT]] : "";
	const char *pub = idx[C_EK_PUBLIC] >= 0 ? f[idx[C_EK_PUBLIC]] : "";
	const char *sho = idx[C_SHO] >= 0 && *f[idx[C_SHO]] ? f[idx[C_SHO]] : o->sho;
	const char *batch = idx[C_BATCH] >= 0 && *f[idx[C_BATCH]] ? f[idx[C_BATCH]] : o->batch;
	_cleanup_free_ uint8_t *bytes = NULL;
	uint8_t tp[sizeof(TPMT_PUBLIC)];
	struct ekcert_info info;
	size_t n, tp_len = 0;
	int r;

	if (!*cert == !*pub) {
		snprintf(why, why_size, "give exactly one of ek_cert and ek_public");
		return -EINVAL;
	}
	r = b64_decode(*cert ? cert : pub, strlen(*cert ? cert : pub),
		       *cert ? EKCERT_MAX_SIZE : 4096, &bytes, &n);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		snprintf(why, why_size, "%s is not padded base64 (or too long)",
			 *cert ? "ek_cert" : "ek_public");
		return -EINVAL;
	}
	r = *cert ? ekcert_verify_ctx(trust, libctx, bytes, n, o->now, &info, why, why_size)
		  : ekcert_from_public(bytes, n, &info, why, why_size);
	if (r < 0)
		return -EINVAL;
	if (!name_ok(f[idx[C_MODEL]]) || !name_ok(f[idx[C_SUBSCRIBER]]) ||
	    (sho && *sho && !name_ok(sho)) || (batch && !name_ok(batch))) {
		snprintf(why, why_size,
			 "model, subscriber, sho and batch must be 1-%d characters of "
			 "[A-Za-z0-9._-]", OP_ID_MAX);
		return -EINVAL;
	}
	if (Tss2_MU_TPMT_PUBLIC_Marshal(&info.ek_public, tp, sizeof(tp), &tp_len) ||
	    2 * tp_len > OP_EK_PUBLIC_HEX_MAX)
		return -EIO;
	memset(d, 0, sizeof(*d));
	memcpy(d->id, info.device_id, sizeof(d->id));
	snprintf(d->ek_type, sizeof(d->ek_type), "%s", ekcert_type_name(info.type));
	hex_encode(tp, tp_len, d->ek_public);
	snprintf(d->ek_ca, sizeof(d->ek_ca), "%s", info.ca_sha256);
	snprintf(d->model, sizeof(d->model), "%s", f[idx[C_MODEL]]);
	snprintf(d->subscriber, sizeof(d->subscriber), "%s", f[idx[C_SUBSCRIBER]]);
	snprintf(d->sho, sizeof(d->sho), "%s", sho ? sho : "");
	snprintf(d->batch, sizeof(d->batch), "%s", batch ? batch : "");
	d->created = o->now;
	return 0;
}

/*
 * Rows are checked in chunks by one thread per CPU (the EK certificate
 * chains are most of the cost: OpenSSL 3 takes about 0.18 ms of CPU per
 * certificate), then inserted by this thread in file order, so the first bad
 * line is the one reported and the store sees one writer.  While this
 * thread inserts chunk N (COPY: it mostly waits for the database), the
 * workers check chunk N+1; it then joins them.
 */
#define CHUNK 2048
#define THREADS_MAX 8

struct job {
	char *line;           /* the record, split in place */
	unsigned long lineno;
	int r;
	char why[256];
	struct op_device dev;
};

struct chunk {
	struct job *jobs;
	size_t njobs;
	atomic_size_t next; /* the next job to check */
};

struct checker {
	const struct ekcert_store *trust;
	/* one per thread, [0] this one's: see ekcert_verify_ctx() */
	OSSL_LIB_CTX *libctx[THREADS_MAX + 1];
	OSSL_PROVIDER *prov[THREADS_MAX + 1]; /* its default provider */
	const struct import_opts *o;
	const int *idx;
	unsigned ncols;
	unsigned nthreads; /* workers besides this thread */
	struct chunk *c;   /* the chunk being checked */
};

struct worker {
	struct checker *k;
	unsigned id;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct checker *k = w->k;
	struct chunk *c = k->c;
	size_t i;

	while ((i = atomic_fetch_add_explicit(&c->next, 1, memory_order_relaxed)) < c->njobs) {
		struct job *j = &c->jobs[i];
		char *f[FIELDS_MAX];
		unsigned n;

		j->why[0] = 0;
		if (!split(j->line, f, &n) || n != k->ncols) {
			snprintf(j->why, sizeof(j->why), "%u columns expected", k->ncols);
			j->r = -EINVAL;
			continue;
		}
		j->r = row_prepare(k->trust, k->libctx[w->id], f, k->idx, k->o, &j->dev, j->why,
				   sizeof(j->why));
	}
	return NULL;
}

/*
 * The chunk's rows reach the database (PostgreSQL's COPY checks the unique
 * keys only now): a duplicate is reported at its last line in the chunk, the
 * first line that cannot be inserted.
 */
static int flush(struct store *s, struct chunk *c, char *why, size_t why_size)
{
	char id[OP_DEVICE_ID_LEN + 1];
	int r = store_import_flush(s, id);

	if (r == 0)
		return 0;
	for (size_t i = c->njobs; *id && i-- > 0;)
		if (!strcmp(c->jobs[i].dev.id, id)) {
			snprintf(why, why_size, "line %lu: %s", c->jobs[i].lineno, store_errmsg(s));
			return r;
		}
	snprintf(why, why_size, "%s", store_errmsg(s));
	return r;
}

/* Inserts a checked chunk in order; the first refused row ends it. */
static int insert(struct store *s, struct chunk *c, char *why, size_t why_size)
{
	int r;

	for (size_t i = 0; i < c->njobs; i++) {
		struct job *j = &c->jobs[i];

		r = j->r;
		if (r == 0) {
			r = store_device_add(s, &j->dev);
			if (r < 0)
				snprintf(j->why, sizeof(j->why), "%s", store_errmsg(s));
		}
		if (r < 0) {
			snprintf(why, why_size, "line %lu: %s", j->lineno, j->why);
			return r;
		}
	}
	return flush(s, c, why, why_size);
}

/*
 * Checks chunk c on the workers while this thread inserts `done` (the
 * chunk checked before it, or NULL), then helps with c.  An insert that
 * fails stops the checks.
 */
static int check_and_insert(struct store *s, struct checker *k, struct chunk *c,
			    struct chunk *done, char *why, size_t why_size)
{
	pthread_t th[THREADS_MAX];
	struct worker w[THREADS_MAX + 1];
	unsigned started = 0;
	int r = 0;

	k->c = c;
	atomic_init(&c->next, 0);
	for (unsigned t = 1; t <= k->nthreads; t++) {
		w[t] = (struct worker){ k, t };
		if (pthread_create(&th[t - 1], NULL, work, &w[t]))
			break;
		started = t;
	}
	if (done)
		r = insert(s, done, why, why_size);
	if (r < 0)
		atomic_store_explicit(&c->next, c->njobs, memory_order_relaxed);
	w[0] = (struct worker){ k, 0 };
	work(&w[0]); /* also all of it when no thread could start */
	for (unsigned t = 1; t <= started; t++)
		pthread_join(th[t - 1], NULL);
	return r;
}

static void chunk_clear(struct chunk *c)
{
	for (size_t i = 0; i < c->njobs; i++)
		free(c->jobs[i].line);
	c->njobs = 0;
}

static int header(char *line, int *idx, unsigned *ret_ncols, char *why, size_t why_size)
{
	char *f[FIELDS_MAX];
	unsigned n;

	for (unsigned c = 0; c < C_COUNT; c++)
		idx[c] = -1;
	if (!split(line, f, &n)) {
		snprintf(why, why_size, "line 1: not a CSV header");
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned c;

		for (c = 0; c < C_COUNT && strcmp(f[i], col_names[c]); c++)
			;
		if (c == C_COUNT || idx[c] >= 0) {
			snprintf(why, why_size, "line 1: column \"%.32s\" is %s", f[i],
				 c == C_COUNT ? "unknown (ek_cert, ek_public, model, subscriber, sho, batch)"
					      : "given twice");
			return -EINVAL;
		}
		idx[c] = (int)i;
	}
	if (idx[C_MODEL] < 0 || idx[C_SUBSCRIBER] < 0 ||
	    (idx[C_EK_CERT] < 0 && idx[C_EK_PUBLIC] < 0)) {
		snprintf(why, why_size,
			 "line 1: the header needs model, subscriber and ek_cert or ek_public");
		return -EINVAL;
	}
	*ret_ncols = n;
	return 0;
}

static void free_contexts(struct checker *k)
{
	for (unsigned t = 0; t <= k->nthreads; t++) {
		if (k->prov[t])
			OSSL_PROVIDER_unload(k->prov[t]);
		OSSL_LIB_CTX_free(k->libctx[t]);
		k->prov[t] = NULL;
		k->libctx[t] = NULL;
	}
}

/*
 * Reads records into c until it holds CHUNK (line 1, the header, fills idx
 * and ncols); *lineno and *count advance.  0 at the end of the file or of
 * the chunk, < 0 with why on a bad line.
 */
static int read_chunk(FILE *in, char *line, struct chunk *c, int *idx, unsigned *ncols,
		      unsigned long *lineno, unsigned long *count, char *why, size_t why_size)
{
	int r;

	while (c->njobs < CHUNK && fgets(line, IMPORT_LINE_MAX + 2, in)) {
		size_t len = strlen(line);

		++*lineno;
		if (len > IMPORT_LINE_MAX) {
			snprintf(why, why_size, "line %lu: longer than %u bytes", *lineno,
				 IMPORT_LINE_MAX);
			return -EINVAL;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (*lineno == 1) {
			r = header(line, idx, ncols, why, why_size);
			if (r < 0)
				return r;
			continue;
		}
		if (!len)
			continue;
		if (++*count > IMPORT_ROWS_MAX) {
			snprintf(why, why_size, "line %lu: more than %u devices in one batch", *lineno,
				 IMPORT_ROWS_MAX);
			return -E2BIG;
		}
		c->jobs[c->njobs].lineno = *lineno;
		c->jobs[c->njobs].line = strdup(line);
		if (!c->jobs[c->njobs].line)
			return -ENOMEM;
		c->njobs++;
	}
	if (ferror(in)) {
		snprintf(why, why_size, "reading the CSV failed");
		return -EIO;
	}
	return 0;
}

int import_csv(struct store *s, const struct ekcert_store *trust, FILE *in,
	       const struct import_opts *o, unsigned long *ret_count, char *why, size_t why_size)
{
	_cleanup_free_ char *line = malloc(IMPORT_LINE_MAX + 2);
	_cleanup_free_ struct job *jobs = calloc(2 * CHUNK, sizeof(*jobs));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long lineno = 0, count = 0;
	int idx[C_COUNT];
	struct checker k = { .trust = trust, .o = o, .idx = idx,
			     .nthreads = cpus < 1 ? 1 : cpus > THREADS_MAX ? THREADS_MAX : (unsigned)cpus };
	struct chunk chunks[2] = { { .jobs = jobs }, { .jobs = jobs + CHUNK } };
	struct chunk *cur = &chunks[0], *done = NULL;
	char read_why[256];
	int r = 0, rr = 0;

	if (!line || !jobs)
		return -ENOMEM;
	if (o->sho && *o->sho) {
		struct op_sho sho;

		r = store_sho_get(s, o->sho, &sho);
		if (r < 0) {
			snprintf(why, why_size, "--sho %s: %s", o->sho,
				 r == -ENOENT ? "no such SHO (add it with `sho add`)" : store_errmsg(s));
			return r;
		}
	}
	r = store_import_begin(s);
	if (r < 0) {
		snprintf(why, why_size, "%s", store_errmsg(s));
		return r;
	}
	for (unsigned t = 0; r == 0 && t <= k.nthreads; t++) {
		k.libctx[t] = OSSL_LIB_CTX_new();
		k.prov[t] = k.libctx[t] ? OSSL_PROVIDER_load(k.libctx[t], "default") : NULL;
		if (!k.prov[t]) {
			snprintf(why, why_size, "OpenSSL: no library context");
			r = -ENOMEM;
		}
	}
	/*
	 * cur is read and checked while `done` (checked) is inserted.  A bad
	 * line met while reading is reported after the rows before it are
	 * inserted, so that the first bad line is the one reported.
	 */
	while (r == 0) {
		rr = read_chunk(in, line, cur, idx, &k.ncols, &lineno, &count, read_why,
				sizeof(read_why));
		r = check_and_insert(s, &k, cur, done, why, why_size);
		if (done)
			chunk_clear(done);
		if (r < 0 || rr < 0 || cur->njobs < CHUNK)
			break;
		done = cur;
		cur = cur == &chunks[0] ? &chunks[1] : &chunks[0];
	}
	if (r == 0)
		r = insert(s, cur, why, why_size);
	if (r == 0 && rr < 0) {
		snprintf(why, why_size, "%s", read_why);
		r = rr;
	}
	chunk_clear(&chunks[0]);
	chunk_clear(&chunks[1]);
	if (r == 0 && lineno == 0) {
		snprintf(why, why_size, "the CSV is empty (no header)");
		r = -EINVAL;
	}
	free_contexts(&k);
	if (r < 0) {
		store_import_abort(s);
		return r;
	}
	r = store_import_commit(s);
	if (r < 0) {
		snprintf(why, why_size, "commit: %s", store_errmsg(s));
		return r;
	}
	*ret_count = count;
	return 0;
}
