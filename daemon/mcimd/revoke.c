// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One storage parent per operator subscription, and revocation in the TPM
 * (docs/change-format.md 7, docs/tre.md 4, daemon/tre/tre.h).
 *
 * Before the validation that precedes a download mcimd creates a fresh
 * parent P under the SRK with the bound b = max(R, the bounds of the live
 * parents) + 1; the AK certifies P in the evidence, the download request
 * names it, the package's objects are imported under it.  Until the install
 * P is the device blob "pending-parent"; the install moves it into the
 * profile (profile blob "parent", under the store's MAC) in its
 * transaction.  Both hold mcimd_parent_marshal()'s record.
 *
 * Deleting an operator profile moves R past its bound when no other live
 * profile has a bound <= its bound (the oldest goes: a switch, a key
 * rotation); else the store alone forgets it ("revoked: store only").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "daemon/mcimd/log.h"
#include "daemon/mcimd/mcimd.h"
#include "tpm2-crypto.h"

#define PARENT_MAGIC "MCPP"

/* "MCPP" 1 0 0 0 | bound (UINT64, big-endian) | tre_blob_marshal(P) */
static int parent_marshal(uint64_t bound, const struct tre_blob *b, uint8_t *buf, size_t max,
			  size_t *ret_len)
{
	size_t off = 8, n = 0;
	int r;

	if (max < 16)
		return -ENOBUFS;
	memcpy(buf, PARENT_MAGIC "\1\0\0\0", 8);
	if (Tss2_MU_UINT64_Marshal(bound, buf, max, &off))
		return -ENOBUFS;
	r = tre_blob_marshal(b, buf + off, max - off, &n);
	if (r < 0)
		return r;
	*ret_len = off + n;
	return 0;
}

static int parent_unmarshal(const uint8_t *buf, size_t len, uint64_t *ret_bound,
			    struct tre_blob *ret)
{
	size_t off = 8;

	if (len < 16 || memcmp(buf, PARENT_MAGIC "\1\0\0\0", 8) ||
	    Tss2_MU_UINT64_Unmarshal(buf, len, &off, ret_bound))
		return -EBADMSG;
	return tre_blob_unmarshal(buf + off, len - off, ret) < 0 ? -EBADMSG : 0;
}

/* Profile id's parent (its blob "parent"): -ENOENT for none. */
static int profile_parent(struct mcimd *d, int64_t id, uint64_t *ret_bound, struct tre_blob *ret)
{
	_cleanup_free_ uint8_t *b = NULL;
	size_t len = 0;
	int r = store_blob_get(d->store, id, MCIMD_BLOB_PARENT, &b, &len);

	return r < 0 ? r : parent_unmarshal(b, len, ret_bound, ret);
}

/*
 * The bounds of the live parents except profile skip's: the highest and
 * the lowest (0 and UINT64_MAX when there is none).
 */
static int live_bounds(struct mcimd *d, int64_t skip, uint64_t *ret_max, uint64_t *ret_min)
{
	_cleanup_free_ struct store_profile_info *v = NULL;
	size_t n = 0;
	int r = store_profile_list(d->store, &v, &n);

	*ret_max = 0;
	*ret_min = UINT64_MAX;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct tre_blob b;
		uint64_t bound;

		if (v[i].id == skip)
			continue;
		r = profile_parent(d, v[i].id, &bound, &b);
		if (r == -ENOENT) {
			r = 0; /* local, or installed before storage parents */
			continue;
		}
		if (r == 0) {
			*ret_max = bound > *ret_max ? bound : *ret_max;
			*ret_min = bound < *ret_min ? bound : *ret_min;
		}
	}
	return r;
}

int mcimd_parents_load(struct mcimd *d)
{
	_cleanup_free_ struct store_profile_info *v = NULL;
	size_t n = 0;
	int r = store_profile_list(d->store, &v, &n);

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct tre_parent *p;
		struct tre_blob b;
		uint64_t bound;

		r = profile_parent(d, v[i].id, &bound, &b);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r == 0)
			r = tre_parent_add(d->tre, &b, bound, &p);
		if (r < 0)
			log_error("store: the storage parent of profile %s: %s", v[i].iccid,
				  r == -EBADMSG ? "damaged" : tre_errmsg(d->tre));
	}
	return r;
}

int mcimd_parent_pending(struct mcimd *d, bool create, struct tre_parent **ret,
			 char *why, size_t why_size)
{
	_cleanup_free_ uint8_t *blob = NULL;
	uint8_t buf[16 + TRE_BLOB_MAX];
	uint64_t bound, hi, lo;
	struct tre_blob b;
	size_t len = 0;
	int r;

	r = store_device_blob_get(d->store, MCIMD_BLOB_PENDING_PARENT, &blob, &len);
	if (r == -ENOENT && create) {
		r = mcimd_parent_new(d, ret, buf, sizeof(buf), &len, why, why_size);
		if (r == 0 && store_device_blob_put(d->store, MCIMD_BLOB_PENDING_PARENT, buf,
						    len) < 0) {
			snprintf(why, why_size, "store: %s", store_errmsg(d->store));
			r = -EIO;
		}
		return r;
	}
	if (r < 0) {
		snprintf(why, why_size, "%s", r == -ENOENT ? "no storage parent is pending: "
			 "validate the platform first (mcimctl validate)" : store_errmsg(d->store));
		return r;
	}
	r = parent_unmarshal(blob, len, &bound, &b);
	if (r == 0)
		r = live_bounds(d, -1, &hi, &lo);
	/* Made after every live parent, else it is not this store's. */
	if (r == 0 && bound <= hi)
		r = -EBADMSG;
	if (r == 0)
		r = tre_parent_add(d->tre, &b, bound, ret);
	if (r < 0)
		snprintf(why, why_size, "the pending storage parent is not usable (%s): validate "
			 "the platform again", strerror(-r));
	return r;
}

bool mcimd_parent_installed(struct mcimd *d, const TPM2B_NAME *name)
{
	_cleanup_free_ struct store_profile_info *v = NULL;
	size_t n = 0;

	if (store_profile_list(d->store, &v, &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct tre_blob b;
		TPM2B_NAME pn;
		uint64_t bound;

		if (profile_parent(d, v[i].id, &bound, &b) == 0 &&
		    tpm2_public_name(&b.pub.publicArea, &pn) == 0 && pn.size == name->size &&
		    !memcmp(pn.name, name->name, pn.size))
			return true;
	}
	return false;
}

int mcimd_parent_adopt(struct mcimd *d, int64_t id)
{
	_cleanup_free_ uint8_t *blob = NULL;
	size_t len = 0;
	int r = store_device_blob_get(d->store, MCIMD_BLOB_PENDING_PARENT, &blob, &len);

	if (r == 0)
		r = store_blob_put(d->store, id, MCIMD_BLOB_PARENT, blob, len);
	if (r == 0)
		r = store_device_blob_delete(d->store, MCIMD_BLOB_PENDING_PARENT);
	return r;
}

int mcimd_parent_new(struct mcimd *d, struct tre_parent **ret, uint8_t *buf, size_t max,
		     size_t *ret_len, char *why, size_t why_size)
{
	uint64_t rnow = 0, hi, lo, bound;
	struct tre_blob b;
	int r;

	r = live_bounds(d, -1, &hi, &lo);
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	r = tre_revocation(d->tre, &rnow);
	bound = (rnow > hi ? rnow : hi) + 1;
	if (r == 0)
		r = tre_parent_create(d->tre, bound, &b);
	if (r == 0)
		r = tre_parent_add(d->tre, &b, bound, ret);
	if (r == 0)
		r = parent_marshal(bound, &b, buf, max, ret_len);
	if (r < 0) {
		snprintf(why, why_size, "a storage parent: %s", tre_errmsg(d->tre));
		return r;
	}
	log_info("storage parent of bound %llu made (R = %llu)", (unsigned long long)bound,
		 (unsigned long long)rnow);
	return 0;
}

int mcimd_profile_revoke_tpm(struct mcimd *d, int64_t id, const char **ret_how, char *why,
			     size_t why_size)
{
	struct store_profile_info info;
	struct tre_parent *p = NULL;
	uint64_t bound, hi, lo, rnow = 0;
	char text[160];
	struct tre_blob b;
	int r;

	r = store_profile_get(d->store, id, &info);
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	r = profile_parent(d, id, &bound, &b);
	if (r == -ENOENT) {
		*ret_how = "store only";
		snprintf(text, sizeof(text), "store only: no storage parent (a local profile, or "
			 "installed under the SRK)");
		goto audit;
	}
	if (r == 0)
		r = live_bounds(d, id, &hi, &lo);
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	if (lo <= bound) {
		/* Moving R past this bound would revoke a live one too. */
		*ret_how = "store only";
		snprintf(text, sizeof(text), "store only: a live profile has bound %llu <= %llu",
			 (unsigned long long)lo, (unsigned long long)bound);
		goto audit;
	}
	if (!d->tre) {
		snprintf(why, why_size, "no TPM: %s", d->tre_why);
		return -ENODEV;
	}
	r = tre_parent_add(d->tre, &b, bound, &p);
	if (r == 0)
		r = tre_revoke_upto(d->tre, bound, &rnow);
	if (r < 0) {
		snprintf(why, why_size, "revoking in the TPM: %s", tre_errmsg(d->tre));
		return r;
	}
	tre_parent_remove(p);
	*ret_how = "tpm";
	snprintf(text, sizeof(text), "tpm: revocation counter %llu > bound %llu",
		 (unsigned long long)rnow, (unsigned long long)bound);
audit:
	log_notice("profile %s revoked: %s", info.iccid, text);
	if (store_audit(d->store, "revoked", info.iccid, text) < 0)
		log_warning("audit: %s", store_errmsg(d->store));
	return 0;
}
