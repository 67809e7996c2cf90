// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "tools/mcim-operator/metrics.h"

/* Fixed label sets: nothing a client sends can add a series. */
static const char *const endpoints[] = { "register", "validations", "evidence", "health",
					 "other" };
static const unsigned statuses[] = { 200, 201, 400, 403, 404, 405, 409, 410, 413, 415, 429,
				     500, 503, 0 /* any other */ };
static const double buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				   0.1,	  0.25,	  0.5,	 1,    2.5,   5 };
/* The PVA's checks (pva.c); "other" for a name not listed. */
static const char *const checks[] = { "ak_attributes",	"clock",	 "credential",
				      "firmware_allowlist", "ima_allowlist", "ima_log",
				      "pcr_digest",	"pcr_reference", "pcr_selection",
				      "quote_nonce",	"quote_signature", "srk_certify",
				      "summary",	"tcg_log",	 "other" };
#define NE ARRAY_SIZE(endpoints)
#define NS ARRAY_SIZE(statuses)
#define NB ARRAY_SIZE(buckets)
#define NC ARRAY_SIZE(checks)

struct metrics {
	_Atomic uint64_t requests[NE][NS];
	_Atomic uint64_t le[NE][NB + 1]; /* per bucket, not cumulative; [NB] is +Inf */
	_Atomic uint64_t usec_sum[NE];
	_Atomic uint64_t refused[NC];
};

int metrics_new(struct metrics **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void metrics_free(struct metrics *m)
{
	free(m);
}

static unsigned endpoint(const char *path)
{
	if (!strcmp(path, "/v1/register"))
		return 0;
	if (!strcmp(path, "/v1/validations"))
		return 1;
	if (!strncmp(path, "/v1/validations/", 16))
		return 2;
	if (!strcmp(path, "/v1/health") || !strcmp(path, "/healthz") || !strcmp(path, "/readyz"))
		return 3;
	return 4;
}

void metrics_request(struct metrics *m, const char *path, unsigned status, double seconds)
{
	unsigned e = endpoint(path), s, b;

	for (s = 0; s < NS - 1 && statuses[s] != status; s++)
		;
	for (b = 0; b < NB && seconds > buckets[b]; b++)
		;
	atomic_fetch_add(&m->requests[e][s], 1);
	atomic_fetch_add(&m->le[e][b], 1);
	atomic_fetch_add(&m->usec_sum[e], (uint64_t)(seconds * 1e6));
}

void metrics_refused(struct metrics *m, const char *check)
{
	unsigned c;

	for (c = 0; c < NC - 1 && strcmp(checks[c], check); c++)
		;
	atomic_fetch_add(&m->refused[c], 1);
}

struct out {
	char *buf;
	size_t len, size;
	bool oom;
};

static void __attribute__((format(printf, 2, 3))) put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf ? o->buf + o->len : NULL, o->buf ? o->size - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0 || o->oom)
			return;
		if (o->buf && o->len + (size_t)n < o->size) {
			o->len += (size_t)n;
			return;
		}
		size_t size = MAX(o->size * 2, o->len + (size_t)n + 4096);
		char *p = realloc(o->buf, size);

		if (!p) {
			o->oom = true;
			return;
		}
		o->buf = p;
		o->size = size;
	}
}

char *metrics_render(struct metrics *m, struct store *st)
{
	struct out o = { 0 };

	put(&o, "# HELP mcim_operator_requests_total HTTP requests answered, by endpoint "
		"and status.\n# TYPE mcim_operator_requests_total counter\n");
	for (unsigned e = 0; e < NE; e++)
		for (unsigned s = 0; s < NS; s++) {
			uint64_t v = atomic_load(&m->requests[e][s]);

			if (!v)
				continue;
			if (statuses[s])
				put(&o, "mcim_operator_requests_total{endpoint=\"%s\",code=\"%u\"} %llu\n",
				    endpoints[e], statuses[s], (unsigned long long)v);
			else
				put(&o, "mcim_operator_requests_total{endpoint=\"%s\",code=\"other\"} %llu\n",
				    endpoints[e], (unsigned long long)v);
		}
	put(&o, "# HELP mcim_operator_request_duration_seconds Time from the whole request "
		"received to the answer queued.\n"
		"# TYPE mcim_operator_request_duration_seconds histogram\n");
	for (unsigned e = 0; e < NE; e++) {
		uint64_t cum = 0;

		for (unsigned b = 0; b <= NB; b++) {
			cum += atomic_load(&m->le[e][b]);
			if (b < NB)
				put(&o, "mcim_operator_request_duration_seconds_bucket{endpoint=\"%s\","
					"le=\"%g\"} %llu\n", endpoints[e], buckets[b],
				    (unsigned long long)cum);
			else
				put(&o, "mcim_operator_request_duration_seconds_bucket{endpoint=\"%s\","
					"le=\"+Inf\"} %llu\n", endpoints[e], (unsigned long long)cum);
		}
		put(&o, "mcim_operator_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n",
		    endpoints[e], (double)atomic_load(&m->usec_sum[e]) / 1e6);
		put(&o, "mcim_operator_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
		    endpoints[e], (unsigned long long)cum);
	}
	put(&o, "# HELP mcim_operator_validations_refused_total Failed checks of refused "
		"validations (one validation may fail several).\n"
		"# TYPE mcim_operator_validations_refused_total counter\n");
	for (unsigned c = 0; c < NC; c++)
		put(&o, "mcim_operator_validations_refused_total{check=\"%s\"} %llu\n", checks[c],
		    (unsigned long long)atomic_load(&m->refused[c]));
	if (st) {
		struct store_stats ss;

		store_stats_get(st, &ss);
		put(&o, "# HELP mcim_operator_db_errors_total Statements the database failed or "
			"refused (constraints included).\n"
			"# TYPE mcim_operator_db_errors_total counter\n"
			"mcim_operator_db_errors_total{engine=\"%s\"} %llu\n",
		    store_engine(st), (unsigned long long)ss.db_errors);
		put(&o, "# HELP mcim_operator_db_retries_total Statements or transactions retried "
			"(serialization failure, deadlock, lost connection).\n"
			"# TYPE mcim_operator_db_retries_total counter\n"
			"mcim_operator_db_retries_total{engine=\"%s\"} %llu\n",
		    store_engine(st), (unsigned long long)ss.retries);
		put(&o, "# HELP mcim_operator_db_up 1 when the database answered this scrape.\n"
			"# TYPE mcim_operator_db_up gauge\nmcim_operator_db_up %d\n",
		    store_ping(st) == 0);
	}
	if (o.oom) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}
