/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Request rate limits per key (a device id, a source address): at most
 * `limit` requests per 60-second window.  Memory is bounded: at most
 * RATELIMIT_KEYS keys are tracked; when full, the oldest windows are dropped
 * first.  Thread-safe.  This is per process: with several instances behind a
 * load balancer, each enforces its own share (docs/operator.md).
 */
#ifndef MCIM_OPERATOR_RATELIMIT_H
#define MCIM_OPERATOR_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RATELIMIT_KEYS 65536u
#define RATELIMIT_KEY_MAX 64u
#define RATELIMIT_WINDOW 60

struct ratelimit;

int ratelimit_new(unsigned limit, struct ratelimit **ret);
void ratelimit_free(struct ratelimit *rl);
/*
 * Counts one request for key at time now; true when it is within the limit.
 * When not, *ret_retry_after (may be NULL) gets the seconds until the window ends.
 */
bool ratelimit_allow(struct ratelimit *rl, const char *key, time_t now,
		     unsigned *ret_retry_after);

#endif
