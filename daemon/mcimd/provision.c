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
 * The provisioning profile (docs/store.md "Provisioning", TR 33.812
 * 5.1.3.5.2: the provisional connectivity identity installed at the
 * factory): mcimd enables it only while no operational profile exists,
 * refuses to enable it once an operational profile has worked (answered an
 * AUTHENTICATE), and deletes it once its expiry has passed
 * (mcimd_bootstrap(), at start, every tick and after each change).
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
#include <time.h>

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

/* Whether an operational profile has worked: the provisioning one is done. */
static int operational_worked(struct mcimd *d, bool *ret)
{
	_cleanup_free_ struct store_profile_info *v = NULL;
	size_t n = 0;
	int r = store_profile_list(d->store, &v, &n);

	*ret = false;
	for (size_t i = 0; r == 0 && i < n && !*ret; i++)
		if (v[i].cls == STORE_CLASS_OPERATIONAL)
			r = store_profile_used(d->store, v[i].id, ret);
	return r;
}

void mcimd_bootstrap(struct mcimd *d)
{
	_cleanup_free_ struct store_profile_info *v = NULL;
	const struct store_profile_info *prov = NULL;
	bool operational = false, enabled = false;
	time_t now = time(NULL);
	size_t n = 0;

	if (!d->tre || d->store_frozen || store_profile_list(d->store, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct store_profile_info *p = &v[i];

		if (p->cls == STORE_CLASS_PROVISIONING && p->expires && p->expires <= now) {
			bool card = mcimd_card_uses(d, p->id);

			if (card)
				mcimd_card_stop(d, "provisioning profile expired");
			if (lifecycle_tx(d, store_profile_delete, p->id) < 0) {
				log_error("deleting the expired provisioning profile %s: %s",
					  p->iccid, store_errmsg(d->store));
				if (card)
					mcimd_card_start(d);
				continue;
			}
			store_audit(d->store, "provisioning-expired", p->iccid, NULL);
			log_notice("provisioning profile %s expired: deleted", p->iccid);
			continue;
		}
		if (p->cls == STORE_CLASS_OPERATIONAL)
			operational = true;
		if (p->state == STORE_STATE_ENABLED)
			enabled = true;
		if (p->cls == STORE_CLASS_PROVISIONING && (!prov || p->id > prov->id))
			prov = p;
	}
	if (operational || enabled || !prov)
		return;
	if (lifecycle_tx(d, store_profile_enable, prov->id) < 0) {
		log_error("enabling the provisioning profile %s: %s", prov->iccid,
			  store_errmsg(d->store));
		return;
	}
	store_audit(d->store, "provisioning-enabled", prov->iccid,
		    "no operational profile");
	log_notice("no operational profile: provisioning profile %s enabled", prov->iccid);
	if (mcimd_card_switch(d) < 0)
		log_error("the provisioning profile's card did not start");
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
	if (in->cls == STORE_CLASS_PROVISIONING && in->enable) {
		bool worked;

		r = operational_worked(d, &worked);
		if (r == 0 && worked) {
			snprintf(why, why_size, "an operational profile has worked: a "
				 "provisioning profile is not enabled any more");
			r = -EPERM;
		}
		if (r < 0)
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
			.expires = in->expires,
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

static int lifecycle(struct mcimd *d, int64_t id, enum mcimd_lifecycle op, const char **ret_how,
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
	if (op == MCIMD_ENABLE) {
		struct store_profile_info info;
		bool worked = false;

		r = store_profile_get(d->store, id, &info);
		if (r == 0 && info.cls == STORE_CLASS_PROVISIONING)
			r = operational_worked(d, &worked);
		if (r < 0) {
			snprintf(why, why_size, "%s", store_errmsg(d->store));
			return r;
		}
		if (worked) {
			snprintf(why, why_size, "profile %s is a provisioning profile, and an "
				 "operational profile has worked: it is not used any more",
				 info.iccid);
			return -EPERM;
		}
	}
	r = mcimd_nv_budget(d, why, why_size);
	if (r < 0)
		return r;
	/* The card leaves before its rows and blobs go (delete: K flushed). */
	if (was_card && op != MCIMD_ENABLE)
		mcimd_card_stop(d, op == MCIMD_DISABLE ? "profile disabled" : "profile deleted");
	/* Revoked in the TPM first: a failure after it leaves a profile whose
	 * keys are dead, never a deleted one whose keys are not. */
	r = op == MCIMD_DELETE ? mcimd_profile_revoke_tpm(d, id, ret_how, why, why_size) : 0;
	if (r < 0) {
		if (was_card && d->tre && mcimd_card_start(d) < 0)
			log_error("the card of the enabled profile did not start");
		return r;
	}
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

int mcimd_profile_lifecycle(struct mcimd *d, int64_t id, enum mcimd_lifecycle op,
			    char *why, size_t why_size)
{
	const char *how = NULL;

	return lifecycle(d, id, op, &how, why, why_size);
}

int mcimd_profile_revoke(struct mcimd *d, int64_t id, const char **ret_how, char *why,
			 size_t why_size)
{
	*ret_how = NULL;
	return lifecycle(d, id, MCIMD_DELETE, ret_how, why, why_size);
}
