// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fixed-window counters in an open-addressing table (ratelimit.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tools/mcim-operator/ratelimit.h"

struct slot {
	char key[RATELIMIT_KEY_MAX + 1];
	time_t window; /* start of the window; 0: free */
	unsigned count;
};

struct ratelimit {
	pthread_mutex_t lock;
	unsigned limit;
	unsigned used;
	struct slot slots[]; /* RATELIMIT_KEYS * 2: load factor <= 0.5 */
};

#define NSLOTS (RATELIMIT_KEYS * 2)

int ratelimit_new(unsigned limit, struct ratelimit **ret)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl) + NSLOTS * sizeof(struct slot));

	if (!rl)
		return -ENOMEM;
	pthread_mutex_init(&rl->lock, NULL);
	rl->limit = limit;
	*ret = rl;
	return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* Frees every slot whose window ended; rebuilds the table to keep probing right. */
static void expire(struct ratelimit *rl, time_t now)
{
	struct slot *old = malloc(NSLOTS * sizeof(*old));

	if (!old)
		return;
	memcpy(old, rl->slots, NSLOTS * sizeof(*old));
	memset(rl->slots, 0, NSLOTS * sizeof(*old));
	rl->used = 0;
	for (unsigned i = 0; i < NSLOTS; i++) {
		uint32_t j;

		if (!old[i].window || now - old[i].window >= RATELIMIT_WINDOW)
			continue;
		for (j = hash(old[i].key) % NSLOTS; rl->slots[j].window; j = (j + 1) % NSLOTS)
			;
		rl->slots[j] = old[i];
		rl->used++;
	}
	free(old);
}

bool ratelimit_allow(struct ratelimit *rl, const char *key, time_t now,
		     unsigned *ret_retry_after)
{
	struct slot *s = NULL;
	bool ok;
	uint32_t j;

	pthread_mutex_lock(&rl->lock);
	for (j = hash(key) % NSLOTS; rl->slots[j].window; j = (j + 1) % NSLOTS)
		if (!strncmp(rl->slots[j].key, key, RATELIMIT_KEY_MAX)) {
			s = &rl->slots[j];
			break;
		}
	if (!s) {
		if (rl->used >= RATELIMIT_KEYS) {
			expire(rl, now);
			for (j = hash(key) % NSLOTS; rl->slots[j].window; j = (j + 1) % NSLOTS)
				;
		}
		if (rl->used >= RATELIMIT_KEYS) {
			/* Every tracked key is in its window: refuse new ones
			 * rather than forget a limit. */
			pthread_mutex_unlock(&rl->lock);
			if (ret_retry_after)
				*ret_retry_after = 1;
			return false;
		}
		s = &rl->slots[j];
		strncpy(s->key, key, RATELIMIT_KEY_MAX);
		s->key[RATELIMIT_KEY_MAX] = 0;
		s->window = now;
		s->count = 0;
		rl->used++;
	}
	if (now - s->window >= RATELIMIT_WINDOW || now < s->window) {
		s->window = now;
		s->count = 0;
	}
	ok = s->count < rl->limit;
	if (ok)
		s->count++;
	else if (ret_retry_after)
		*ret_retry_after = (unsigned)(RATELIMIT_WINDOW - (now - s->window));
	pthread_mutex_unlock(&rl->lock);
	return ok;
}
