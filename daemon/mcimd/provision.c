// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Profiles: the local install path (a profile description with K in
 * clear: the factory and test path, docs/control-api.md) and the life
 * cycle (enable, disable, delete) with the card following.
 *
 * Install: the description is parsed and validated (profile-json.h); K is
 * wrapped to this TPM's SRK with lib/tpm2-dup.h and imported with the TRE
 * (an AES key object in the TRE's AES modes, a sealed object in sealed mode
 * and for TUAK); every clear copy of K is wiped; then one store transaction
 * holds the rows, the key blob and the secrets the store seals (OPc/TOPc,
 * PIN values: TRE sealed objects), with the optional enable.  K is in clear
 * in the caller's file and in this process for a moment: this path is less
 * protected than the operator's package (docs/store.md).
 *
 * Each life-cycle change is one transaction that also aligns the store
 * generation to the NV window, so the TPM counter is incremented at once
 * (store.h, docs/store.md "Rollback").  The card then follows: removed,
 * and the new enabled profile's card inserted (the modem sees a card
 * change).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/mcimd/log.h"
#include "daemon/mcimd/mcimd.h"
#include "daemon/usim/profile-json.h"

/* One transaction: fn, then the generation aligned; rolled back on error. */
static int lifecycle_tx(struct mcimd *d, int (*fn)(struct store *, int64_t), int64_t id)
{
	int r = store_begin(d->store);

	if (r < 0)
		return r;
	r = fn(d->store, id);
	if (r == 0)
		r = store_commit(d->store);
	if (r < 0 && store_in_transaction(d->store))
		store_rollback(d->store);
	if (r == 0)
		r = mcimd_rollback_sync(d);
	return r;
}

static int install_tx(struct mcimd *d, const struct store_profile_meta *meta,
		      const struct usim_profile *p, const struct store_blob *blob, bool enable,
		      int64_t *ret_id)
{
	int r = store_begin(d->store);

	if (r < 0)
		return r;
	r = store_profile_install(d->store, meta, p, blob, 1, ret_id);
	if (r == 0 && enable)
		r = store_profile_enable(d->store, *ret_id);
	if (r == 0)
		r = store_commit(d->store);
	if (r < 0 && store_in_transaction(d->store))
		store_rollback(d->store);
	if (r == 0)
		r = mcimd_rollback_sync(d);
	return r;
}

int mcimd_profile_install(struct mcimd *d, const struct mcimd_install *in,
			  struct store_profile_info *ret, char *why, size_t why_size)
{
	struct usim_profile *p = NULL;
	struct aka_plain_secret k = { .len = 0 };
	char iccid[STORE_ICCID_MAX + 1], imsi[STORE_IMSI_MAX + 1];
	uint8_t blob[TRE_BLOB_MAX];
	size_t blob_len = 0;
	bool sealed;
	int64_t id = 0;
	int r;

	if (!d->tre || !d->have_policy) {
		snprintf(why, why_size, "no TPM: %s", d->tre ? "no local policy" : d->tre_why);
		return -ENODEV;
	}
	r = profile_json_load_buf(in->text, in->len, &p, &k, why, why_size);
	if (r < 0)
		goto out;
	r = store_profile_identity(p, iccid, imsi);
	if (r < 0) {
		snprintf(why, why_size, "the profile has no valid EF.ICCID / EF.IMSI");
		goto out;
	}
	if (k.len == 0) {
		snprintf(why, why_size, "the profile description holds no K");
		r = -EINVAL;
		goto out;
	}
	if (store_profile_find_iccid(d->store, iccid, ret) == 0) {
		snprintf(why, why_size, "profile %s is installed already", iccid);
		r = -EEXIST;
		goto out;
	}
	r = mcimd_nv_budget(d, why, why_size);
	if (r < 0)
		goto out;
	/* docs/tre.md 3: AES key object when the TPM can run E_K (MILENAGE). */
	sealed = p->aka.algo != AKA_ALGO_MILENAGE || tre_mode(d->tre) == TRE_MODE_SEALED;
	r = mcimd_tpm_import(d, sealed, k.k, k.len, blob, sizeof(blob), &blob_len);
	explicit_bzero(&k, sizeof(k));
	if (r < 0) {
		snprintf(why, why_size, "importing K into the TPM: %s", tre_errmsg(d->tre));
		goto out;
	}
	{
		const struct store_profile_meta meta = {
			.iccid = iccid, .imsi = imsi, .cls = in->cls,
			.nickname = in->nickname, .operator_name = in->operator_name,
		};
		const struct store_blob b = { .kind = STORE_BLOB_KEY, .data = blob,
					      .len = blob_len };

		r = install_tx(d, &meta, p, &b, in->enable, &id);
	}
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		goto out;
	}
	log_notice("profile %s installed (%s K, local path)%s", iccid,
		   sealed ? "sealed" : "AES", in->enable ? " and enabled" : "");
	if (in->enable && mcimd_card_switch(d) < 0)
		log_error("profile %s enabled but its card did not start", iccid);
	r = store_profile_get(d->store, id, ret);
out:
	explicit_bzero(&k, sizeof(k));
	usim_profile_free(p);
	return r;
}

int mcimd_profile_lifecycle(struct mcimd *d, int64_t id, enum mcimd_lifecycle op,
			    char *why, size_t why_size)
{
	static int (*const fns[])(struct store *, int64_t) = {
		[MCIMD_ENABLE] = store_profile_enable,
		[MCIMD_DISABLE] = store_profile_disable,
		[MCIMD_DELETE] = store_profile_delete,
	};
	bool was_card = mcimd_card_uses(d, id);
	int r;

	if (op == MCIMD_ENABLE && mcimd_card_profile(d) == id)
		return 0; /* enabled already, and its card is in */
	r = mcimd_nv_budget(d, why, why_size);
	if (r < 0)
		return r;
	/* The card leaves before its rows and blobs go (delete: K flushed). */
	if (was_card && op != MCIMD_ENABLE)
		mcimd_card_stop(d, op == MCIMD_DISABLE ? "profile disabled" : "profile deleted");
	r = lifecycle_tx(d, fns[op], id);
	if (r < 0) {
		snprintf(why, why_size, "%s", store_errmsg(d->store));
		/* The card that was, if it was stopped. */
		if (was_card && op != MCIMD_ENABLE && d->tre && mcimd_card_start(d) < 0)
			log_error("the card of the enabled profile did not start");
		return r;
	}
	/* Enable: the new card, by REFRESH or by removal and insertion. */
	if (op == MCIMD_ENABLE && d->tre && mcimd_card_switch(d) < 0)
		log_error("the card of the enabled profile did not start");
	/* The old card of a pending switch went: the enabled one comes in. */
	if (op != MCIMD_ENABLE && was_card && d->tre && mcimd_card_start(d) < 0)
		log_error("the card of the enabled profile did not start");
	return 0;
}
