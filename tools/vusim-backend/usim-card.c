// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The card of vusim-backend: the mcim USIM engine (daemon/usim/usim.h,
 * TS 102 221 / TS 31.102) over a JSON profile (daemon/usim/profile-json.h).
 *
 * K comes from the profile (the factory/test path); it lives in this
 * object, locked in memory where the system allows, and is wiped when the
 * card is freed.  The engine's change records (EF updates, PIN counters,
 * SQN) stay in memory: this backend keeps no store, so a restarted backend
 * serves the profile as the JSON describes it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "daemon/usim/profile-json.h"
#include "daemon/usim/usim.h"
#include "macro.h"

#include "card.h"

struct usim_card {
	struct card card;
	struct usim_profile *profile;
	struct aka_plain_secret k;	/* borrowed by key: freed after it */
	struct aka_key key;
	bool have_key;
	bool locked;
	struct usim_engine *engine;
	char desc[160];
};

static struct usim_card *to_usim(struct card *c)
{
	return (struct usim_card *)c;
}

static int usim_reset(struct card *c, bool warm, uint8_t *atr, size_t atr_size,
		      size_t *ret_atr_len)
{
	return usim_engine_reset(to_usim(c)->engine,
				 warm ? USIM_RESET_WARM : USIM_RESET_COLD, atr,
				 atr_size, ret_atr_len);
}

static void usim_power_off(struct card *c)
{
	/* Nothing to keep: the next activation resets the engine (cold). */
	(void)c;
}

static int usim_apdu(struct card *c, const uint8_t *cmd, size_t cmd_len,
		     uint8_t *rsp, size_t rsp_size, size_t *ret_rsp_len,
		     size_t *ret_changes)
{
	const struct usim_change *changes;
	size_t n_changes = 0;
	int r;

	r = usim_engine_process(to_usim(c)->engine, cmd, cmd_len, rsp, rsp_size,
				ret_rsp_len, &changes, &n_changes);
	*ret_changes = n_changes;
	return r;
}

static const char *usim_describe(const struct card *c)
{
	return ((const struct usim_card *)c)->desc;
}

static void usim_free(struct card *c)
{
	struct usim_card *u = to_usim(c);

	usim_engine_free(u->engine);
	if (u->have_key)
		profile_json_key_free(&u->key);
	usim_profile_free(u->profile);
	wipe(&u->k, sizeof(u->k));
	if (u->locked)
		munlock(&u->k, sizeof(u->k));
	free(u);
}

static const struct card_ops usim_card_ops = {
	.reset = usim_reset,
	.power_off = usim_power_off,
	.apdu = usim_apdu,
	.describe = usim_describe,
	.free = usim_free,
};

int usim_card_new(const char *path, int transport, struct card **ret,
		  char *why, size_t why_size)
{
	struct usim_card *u = calloc(1, sizeof(*u));
	int r;

	if (!u) {
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	u->card.ops = &usim_card_ops;
	/* Keep K out of swap where we may (RLIMIT_MEMLOCK permitting). */
	u->locked = mlock(&u->k, sizeof(u->k)) == 0;

	r = profile_json_load_file(path, &u->profile, &u->k, why, why_size);
	if (r < 0)
		goto err;
	if (u->k.len == 0) {
		snprintf(why, why_size, "%s: the profile has no K (auth.k)", path);
		r = -EINVAL;
		goto err;
	}
	r = profile_json_key_new(u->profile->aka.algo, &u->k, &u->key);
	if (r < 0) {
		snprintf(why, why_size, "%s: K does not suit the algorithm (%s)",
			 path, strerror(-r));
		goto err;
	}
	u->have_key = true;
	r = usim_engine_new(u->profile, &u->key, &u->engine);
	if (r == 0)
		r = usim_engine_set_transport(u->engine,
					      (enum usim_transport)transport);
	if (r < 0) {
		snprintf(why, why_size, "%s: the engine refused the profile (%s)",
			 path, strerror(-r));
		goto err;
	}
	snprintf(u->desc, sizeof(u->desc),
		 "USIM engine on profile %s (%zu files, %s, transport %s)",
		 path, u->profile->n_files,
		 u->profile->aka.algo == AKA_ALGO_TUAK ? "TUAK" : "MILENAGE",
		 usim_transport_to_string((enum usim_transport)transport));
	*ret = &u->card;
	return 0;
err:
	usim_free(&u->card);
	return r;
}
