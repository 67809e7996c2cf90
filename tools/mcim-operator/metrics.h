/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `mcim-operator serve`'s metrics in the Prometheus text format (version
 * 0.0.4), served on their own plain-HTTP port ([metrics] listen): requests by
 * endpoint and status, a latency histogram per endpoint, validations refused
 * by check, and the store's database errors and retries.  docs/operator.md
 * says what each means and how to read them with curl.  Lock-free counters:
 * every worker thread adds to them.
 */
#ifndef MCIM_OPERATOR_METRICS_H
#define MCIM_OPERATOR_METRICS_H

#include <stdint.h>

#include "tools/mcim-operator/store.h"

struct metrics;

int metrics_new(struct metrics **ret);
void metrics_free(struct metrics *m);

/* One answered request: its path, HTTP status and time taken. */
void metrics_request(struct metrics *m, const char *path, unsigned status, double seconds);
/* One validation refused, counted once per failed check. */
void metrics_refused(struct metrics *m, const char *check);

/* The exposition text (malloc'ed); st may be NULL. */
char *metrics_render(struct metrics *m, struct store *st);

#endif
