// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Updates of a profile's files (docs/change-format.md 6, kind `files`):
 * the checks (an allow-list of the EFs an operator may change over the air,
 * the file exists in the profile, the exact size), one store transaction,
 * then the card: a proactive REFRESH file change notification naming the
 * files when the terminal supports REFRESH, a card reset otherwise
 * (mcimd_card_files_changed(), slot.c).  Today the control method
 * profile.update_files calls it; the signed OTA envelope will.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/mcimd/log.h"
#include "daemon/mcimd/mcimd.h"

/*
 * What an update may change.  PLMN selection (TS 23.122 4.4.3, files of TS
 * 31.102 4.2): EF.PLMNwAcT 6F60 (4.2.5), EF.OPLMNwAcT 6F61 (4.2.53),
 * EF.HPLMNwAcT 6F62 (4.2.54), EF.HPPLMN 6F31 (4.2.6), EF.FPLMN 6F7B
 * (4.2.16), EF.EHPLMN 6FD9 (4.2.84); access classes EF.ACC 6F78 (4.2.15);
 * the names the terminal shows: EF.SPN 6F46 (4.2.12), EF.PNN 6FC5 (4.2.58),
 * EF.OPL 6FC6 (4.2.59), EF.SPDI 6FCD (4.2.66).  In ADF.USIM (3F00 7FFF)
 * and, for 2G terminals, their copies in DF.GSM (3F00 7F20, TS 51.011
 * 10.3).  Never: the identity (EF.ICCID, EF.IMSI, EF.AD's MNC length,
 * the SUCI keys and routing indicator), the card's own rules (EF.ARR,
 * EF.DIR, EF.UST), keys (EF.Keys, EF.KeysPS), what the terminal writes
 * (EF.LOCI and the like).
 */
static const uint16_t allowed[] = {
	0x6f60, 0x6f61, 0x6f62, 0x6f31, 0x6f7b, 0x6fd9, 0x6f78, 0x6f46, 0x6fc5, 0x6fc6, 0x6fcd,
};

static bool file_allowed(const uint16_t *fids, size_t n)
{
	if (n != 3 || fids[0] != USIM_FID_MF || (fids[1] != USIM_FID_ADF_ALIAS && fids[1] != 0x7f20))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		if (fids[2] == allowed[i])
			return true;
	return false;
}

/* "3F007FFF6F60": 2..USIM_MAX_DEPTH FIDs in hex from the MF. */
static int parse_path(const char *s, uint16_t *fids, size_t *ret_n)
{
	size_t len = s ? strlen(s) : 0, n = len / 4;

	if (len % 4 || n < 2 || n > USIM_MAX_DEPTH)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;

		for (size_t j = 0; j < 4; j++) {
			char c = s[4 * i + j];
			int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
				c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

			if (x < 0)
				return -EINVAL;
			v = v << 4 | (unsigned)x;
		}
		fids[i] = (uint16_t)v;
	}
	if (fids[0] != USIM_FID_MF)
		return -EINVAL;
	*ret_n = n;
	return 0;
}

/* ADF.USIM: the AID's RID A000000087 and application code 1002 (TS 101
 * 220 Annex E); 3F00 7FFF in a path stands for it. */
static int usim_adf(const struct usim_profile *p)
{
	static const uint8_t usim_aid[] = { 0xa0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02 };

	return usim_profile_find_adf(p, usim_aid, sizeof(usim_aid));
}

static int resolve(const struct mcimd_file_update *in, size_t i, const struct usim_profile *p,
		   struct usim_file_update *out, char *why, size_t why_size)
{
	uint16_t fids[USIM_MAX_DEPTH];
	const struct usim_file *f;
	size_t n = 0;
	int idx;

	if (parse_path(in->path, fids, &n) < 0) {
		snprintf(why, why_size, "files[%zu].path \"%.32s\": not a path from the MF "
			 "(3F00 first, 4 hex digits a file, e.g. 3F007FFF6F60)", i,
			 in->path ? in->path : "");
		return -EINVAL;
	}
	if (!file_allowed(fids, n)) {
		snprintf(why, why_size, "files[%zu] (%s): not a file an update may change "
			 "(docs/change-format.md 6: PLMN selection, access classes, names)",
			 i, in->path);
		return -EPERM;
	}
	idx = fids[1] == USIM_FID_ADF_ALIAS
		? usim_profile_find_app_path(p, usim_adf(p), fids, n)
		: usim_profile_find_path(p, fids, n);
	if (idx < 0 || (f = &p->files[idx])->kind == USIM_FILE_DF ||
	    f->kind == USIM_FILE_ADF || f->kind == USIM_FILE_MF) {
		snprintf(why, why_size, "files[%zu] (%s): the profile has no such EF", i, in->path);
		return -ENOENT;
	}
	if (f->kind == USIM_FILE_EF_TRANSPARENT && in->len != f->size) {
		snprintf(why, why_size, "files[%zu] (%s): %zu bytes, the file has %u (a file is "
			 "replaced whole)", i, in->path, in->len, f->size);
		return -EINVAL;
	}
	if (f->kind != USIM_FILE_EF_TRANSPARENT && in->len != f->size) {
		snprintf(why, why_size, "files[%zu] (%s): %zu bytes, the file has %u records of "
			 "%u bytes (give every record, in order)", i, in->path, in->len,
			 f->rec_count, f->rec_len);
		return -EINVAL;
	}
	*out = (struct usim_file_update){ .index = idx, .data = in->data, .len = in->len };
	return 0;
}

static void tree_freep(struct usim_profile **p)
{
	usim_profile_free(*p);
}

int mcimd_profile_update_files(struct mcimd *d, int64_t id, const struct mcimd_file_update *in,
			       size_t n, enum usim_refresh_mode mode,
			       int (*also)(struct mcimd *d, void *user), void *user,
			       enum mcimd_card_news *ret_news, char *why, size_t why_size)
{
	_cleanup_(tree_freep) struct usim_profile *tree = NULL;
	struct usim_file_update u[MCIMD_UPDATE_FILES_MAX];
	struct store_profile_info info;
	enum mcimd_card_news news;
	size_t total = 0;
	int r;

	if (mode != USIM_REFRESH_FCN && mode != USIM_REFRESH_INIT_FCN) {
		snprintf(why, why_size, "the REFRESH mode of an update is 1 or 2 (TS 102 223 8.6)");
		return -EINVAL;
	}
	if (n == 0 || n > MCIMD_UPDATE_FILES_MAX) {
		snprintf(why, why_size, "%zu files: an update has 1 to %u", n,
			 MCIMD_UPDATE_FILES_MAX);
		return n ? -E2BIG : -EINVAL;
	}
	if (d->tampered || d->tamper_recorded || d->store_frozen) {
		snprintf(why, why_size, "no updates: %s", d->store_frozen
			 ? "the store's state key cannot be unsealed" : "a tamper event was recorded");
		return -EPERM;
	}
	r = store_profile_get(d->store, id, &info);
	if (r == 0)
		r = store_profile_load_files(d->store, id, &tree);
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		r = resolve(&in[i], i, tree, &u[i], why, why_size);
		if (r < 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (u[j].index == u[i].index) {
				snprintf(why, why_size, "files[%zu] (%s): the same file as files[%zu]",
					 i, in[i].path, j);
				return -EINVAL;
			}
		total += in[i].len;
		if (total > MCIMD_UPDATE_BYTES_MAX) {
			snprintf(why, why_size, "files[%zu] (%s): the files hold more than %u bytes "
				 "in all", i, in[i].path, MCIMD_UPDATE_BYTES_MAX);
			return -E2BIG;
		}
	}
	/* One transaction: the contents, the audit record and the caller's own
	 * writes (the OTA envelope's sequence and nonce). */
	r = store_begin(d->store);
	if (r == 0)
		r = store_profile_update_files(d->store, id, u, n);
	if (r == 0 && also)
		r = also(d, user);
	if (r == 0)
		r = store_commit(d->store);
	if (r < 0 && store_in_transaction(d->store))
		store_rollback(d->store);
	if (r == 0)
		r = mcimd_rollback_sync(d);
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	news = mcimd_card_files_changed(d, id, u, n, mode);
	log_notice("profile %s: %zu file(s) updated, %s", info.iccid, n,
		   news == MCIMD_CARD_REFRESH ? "REFRESH (file change notification) queued"
		   : news == MCIMD_CARD_RESET ? "card reset" : "its card is not served");
	if (ret_news)
		*ret_news = news;
	return 0;
}

const char *mcimd_card_news_name(enum mcimd_card_news n)
{
	return n == MCIMD_CARD_REFRESH ? "refresh" : n == MCIMD_CARD_RESET ? "reset" : "none";
}
