// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The store (store.h, docs/store.md): profile install and rows: info,
 * list, enable, disable, delete, nickname.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/store/store-internal.h"

/* ---- install ----------------------------------------------------------- */

/* Absolute path text of files[idx], e.g. "3F00/7FFF/6F07". */
static int file_path(const struct usim_profile *p, size_t idx, char *buf,
		     size_t size)
{
	uint16_t fids[USIM_MAX_DEPTH + 2];
	size_t n = 0, off = 0;
	int i = (int)idx;

	while (i >= 0) {
		if (n == ARRAY_SIZE(fids) || (size_t)i >= p->n_files)
			return -EINVAL;
		fids[n++] = p->files[i].fid;
		if (i == 0)
			break;
		if (p->files[i].parent >= i)
			return -EINVAL; /* parents come first in files[] */
		i = p->files[i].parent;
	}
	while (n--) {
		int w = snprintf(buf + off, size - off, "%s%04X", off ? "/" : "",
				 fids[n]);

		if (w < 0 || (size_t)w >= size - off)
			return -ENOBUFS;
		off += (size_t)w;
	}
	return 0;
}

bool store_is_record_ef(enum usim_file_kind k)
{
	return k == USIM_FILE_EF_LINEAR || k == USIM_FILE_EF_CYCLIC;
}

bool store_is_ef(enum usim_file_kind k)
{
	return k == USIM_FILE_EF_TRANSPARENT || store_is_record_ef(k);
}

static int put_record(struct store *s, sqlite3_stmt *st, int64_t id, size_t idx,
		      unsigned recno, const uint8_t *data, size_t len)
{
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)idx);
	sqlite3_bind_int(st, 3, (int)recno);
	sqlite3_bind_blob(st, 4, data, (int)len, SQLITE_STATIC);
	return store_step_done(s, st, "record");
}

static int install_files(struct store *s, int64_t id, const struct usim_profile *p)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL, *rec = NULL;
	char path[(USIM_MAX_DEPTH + 2) * 5 + 1];
	int r;

	r = store_prepare(s, "INSERT INTO files(profile_id, idx, parent, path, kind, fid,"
		       " sfi, lcs, shareable, arr_fid, arr_record, aid, size,"
		       " rec_len, rec_count, data)"
		       " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st);
	if (r >= 0)
		r = store_prepare(s, "INSERT INTO records(profile_id, idx, recno, data)"
			       " VALUES (?,?,?,?)", &rec);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n_files; i++) {
		const struct usim_file *f = &p->files[i];

		if (file_path(p, i, path, sizeof(path)) < 0)
			return store_fail(s, -EINVAL, "files[%zu]: bad tree", i);
		if (store_is_record_ef(f->kind) &&
		    (uint32_t)f->rec_len * f->rec_count != f->size)
			return store_fail(s, -EINVAL, "files[%zu]: size is not records", i);
		if (store_is_ef(f->kind) && f->size && !f->data)
			return store_fail(s, -EINVAL, "files[%zu]: no data", i);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		sqlite3_bind_int(st, 3, f->parent);
		sqlite3_bind_text(st, 4, path, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, f->kind);
		sqlite3_bind_int(st, 6, f->fid);
		sqlite3_bind_int(st, 7, f->sfi);
		sqlite3_bind_int(st, 8, f->lcs);
		sqlite3_bind_int(st, 9, f->shareable);
		sqlite3_bind_int(st, 10, f->arr_fid);
		sqlite3_bind_int(st, 11, f->arr_record);
		if (f->kind == USIM_FILE_ADF)
			sqlite3_bind_blob(st, 12, f->aid, f->aid_len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 13, f->size);
		sqlite3_bind_int(st, 14, f->rec_len);
		sqlite3_bind_int(st, 15, f->rec_count);
		if (f->kind == USIM_FILE_EF_TRANSPARENT)
			sqlite3_bind_blob(st, 16, f->size ? (const void *)f->data : "",
					  (int)f->size, SQLITE_STATIC);
		r = store_step_done(s, st, "file");
		if (r < 0)
			return r;
		if (!store_is_record_ef(f->kind))
			continue;
		for (unsigned k = 0; k < f->rec_count; k++) {
			r = put_record(s, rec, id, i, k + 1,
				       f->data + (size_t)k * f->rec_len, f->rec_len);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int install_pins(struct store *s, int64_t id, const struct usim_profile *p,
			bool presealed)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, "INSERT INTO pins(profile_id, key_ref, pos, enabled,"
		       " use_upin, has_puk, can_disable, max_tries, tries_left,"
		       " puk_max_tries, puk_tries_left)"
		       " VALUES (?,?,?,?,?,?,?,?,?,?,?)", &st);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n_pins; i++) {
		const struct usim_pin *pin = &p->pins[i];
		uint8_t sec[2 * USIM_PIN_LEN];
		char kind[STORE_KIND_MAX + 1];

		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int(st, 2, pin->key_ref);
		sqlite3_bind_int(st, 3, (int)i);
		sqlite3_bind_int(st, 4, pin->enabled);
		sqlite3_bind_int(st, 5, pin->use_upin);
		sqlite3_bind_int(st, 6, pin->has_puk);
		sqlite3_bind_int(st, 7, pin->can_disable);
		sqlite3_bind_int(st, 8, pin->max_tries);
		sqlite3_bind_int(st, 9, pin->tries_left);
		sqlite3_bind_int(st, 10, pin->puk_max_tries);
		sqlite3_bind_int(st, 11, pin->puk_tries_left);
		r = store_step_done(s, st, "pin");
		if (r < 0)
			return r;
		if (presealed)
			continue; /* the caller's blob "pin:XX" */
		store_pin_kind(kind, sizeof(kind), pin->key_ref);
		store_pin_secret(pin, sec);
		r = store_seal_put(s, id, kind, sec, sizeof(sec));
		OPENSSL_cleanse(sec, sizeof(sec));
		if (r < 0)
			return r;
	}
	return 0;
}

static int install_sqn(struct store *s, int64_t id, const struct usim_profile *p)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	unsigned n = 1u << p->sqn_cfg.ind_bits;
	int r;

	r = store_prepare(s, "INSERT INTO sqn(profile_id, ind, seq_ms) VALUES (?,?,?)", &st);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		if (p->sqn.seq_ms[i] > INT64_MAX)
			return store_fail(s, -EINVAL, "SEQ_MS(%u) out of range", i);
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int(st, 2, (int)i);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)p->sqn.seq_ms[i]);
		r = store_step_done(s, st, "sqn");
		if (r < 0)
			return r;
	}
	return 0;
}

static int install_row(struct store *s, const struct store_profile_meta *m,
		       const struct usim_profile *p, int64_t *ret_id)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	const struct aka_tuak_params *t = &p->aka.tuak;
	int64_t now = time(NULL);
	int r, rc;

	r = store_prepare(s, "INSERT INTO profiles(iccid, imsi, class, state, nickname,"
		       " operator, installed_at, changed_at, atr, algo, milenage_r,"
		       " milenage_c, tuak_mac_bits, tuak_res_bits, tuak_ck_bits,"
		       " tuak_ik_bits, tuak_iterations, sqn_ind_bits, sqn_delta,"
		       " sqn_limit_l, n_files, n_pins, expires, sho_id, subscriber,"
		       " subscriber_key, lock_until, replaces)"
		       " VALUES (?,?,?,0,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, m->iccid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->imsi ? m->imsi : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, m->cls);
	sqlite3_bind_text(st, 4, m->nickname ? m->nickname : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, m->operator_name ? m->operator_name : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int64(st, 7, now);
	if (p->atr_len)
		sqlite3_bind_blob(st, 8, p->atr, (int)p->atr_len, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, p->aka.algo);
	if (p->aka.algo == AKA_ALGO_MILENAGE) {
		sqlite3_bind_blob(st, 10, p->aka.milenage.r, 5, SQLITE_STATIC);
		sqlite3_bind_blob(st, 11, p->aka.milenage.c, 5 * 16, SQLITE_STATIC);
	} else {
		sqlite3_bind_int(st, 12, (int)t->mac_bits);
		sqlite3_bind_int(st, 13, (int)t->res_bits);
		sqlite3_bind_int(st, 14, (int)t->ck_bits);
		sqlite3_bind_int(st, 15, (int)t->ik_bits);
		sqlite3_bind_int(st, 16, (int)t->iterations);
	}
	sqlite3_bind_int(st, 17, (int)p->sqn_cfg.ind_bits);
	sqlite3_bind_int64(st, 18, (sqlite3_int64)p->sqn_cfg.delta);
	sqlite3_bind_int64(st, 19, (sqlite3_int64)p->sqn_cfg.limit_l);
	sqlite3_bind_int64(st, 20, (sqlite3_int64)p->n_files);
	sqlite3_bind_int64(st, 21, (sqlite3_int64)p->n_pins);
	sqlite3_bind_int64(st, 22, m->expires);
	sqlite3_bind_text(st, 23, m->sho_id ? m->sho_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 24, m->subscriber ? m->subscriber : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 25, m->subscriber_key ? m->subscriber_key : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 26, m->lock_until);
	sqlite3_bind_text(st, 27, m->replaces ? m->replaces : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return store_fail(s, -EEXIST, "ICCID %s is already installed", m->iccid);
	if (rc != SQLITE_DONE)
		return store_sqlfail(s, rc, "profile");
	*ret_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int store_count_profiles(struct store *s, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s, "SELECT count(*) FROM profiles", &st);

	if (r < 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_sqlfail(s, sqlite3_errcode(s->db), "count");
	*ret = sqlite3_column_int64(st, 0);
	return 0;
}

static int install_all(struct store *s, const struct store_profile_meta *meta,
		       const struct usim_profile *p, const struct store_blob *blobs,
		       size_t n_blobs, int64_t *ret_id)
{
	char detail[STORE_DETAIL_MAX + 1];
	int64_t id = 0, n = 0;
	int r;

	r = store_count_profiles(s, &n);
	if (r < 0)
		return r;
	if (n >= STORE_MAX_PROFILES)
		return store_fail(s, -ENOSPC, "%d profiles installed already",
			    STORE_MAX_PROFILES);
	r = install_row(s, meta, p, &id);
	if (r >= 0)
		r = install_files(s, id, p);
	if (r >= 0)
		r = install_pins(s, id, p, meta->presealed);
	if (r >= 0)
		r = install_sqn(s, id, p);
	if (r >= 0 && !meta->presealed) {
		if (p->aka.algo == AKA_ALGO_MILENAGE)
			r = store_seal_put(s, id, STORE_BLOB_OPC, p->aka.milenage.opc,
				     AKA_OPC_LEN);
		else
			r = store_seal_put(s, id, STORE_BLOB_OPC, p->aka.tuak.topc,
				     AKA_TOPC_LEN);
	}
	for (size_t i = 0; r >= 0 && i < n_blobs; i++)
		r = store_blob_put(s, id, blobs[i].kind, blobs[i].data, blobs[i].len);
	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "class=%s imsi=%s files=%zu pins=%zu%s",
		 store_class_name(meta->cls), meta->imsi ? meta->imsi : "",
		 p->n_files, p->n_pins, meta->presealed ? " sealed-by=operator" : "");
	r = store_audit(s, "install", meta->iccid, detail);
	if (r >= 0)
		store_mark_bump(s);
	if (r >= 0)
		*ret_id = id;
	return r;
}

/* With presealed secrets every one must be among the caller's blobs. */
static bool has_blob(const struct store_blob *blobs, size_t n, const char *kind)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(blobs[i].kind, kind))
			return blobs[i].len > 0;
	return false;
}

static int check_presealed(struct store *s, const struct usim_profile *p,
			   const struct store_blob *blobs, size_t n)
{
	char kind[STORE_KIND_MAX + 1];

	if (!has_blob(blobs, n, STORE_BLOB_OPC))
		return store_fail(s, -EINVAL, "sealed secrets: no %s blob", STORE_BLOB_OPC);
	for (size_t i = 0; i < p->n_pins; i++) {
		store_pin_kind(kind, sizeof(kind), p->pins[i].key_ref);
		if (!has_blob(blobs, n, kind))
			return store_fail(s, -EINVAL, "sealed secrets: no %s blob", kind);
	}
	return 0;
}

/* NULL, "", or a SHA-256 in lowercase hex. */
static bool hex_id_ok(const char *h)
{
	return !h || !h[0] || store_hex_ok(h, STORE_ID_HEX);
}

int store_profile_install(struct store *s, const struct store_profile_meta *meta,
			  const struct usim_profile *p,
			  const struct store_blob *blobs, size_t n_blobs,
			  int64_t *ret_id)
{
	int64_t id = 0;
	int r;

	if (!s || !meta || !p || (n_blobs && !blobs))
		return -EINVAL;
	if (!meta->iccid || !store_digits_ok(meta->iccid, 1, STORE_ICCID_MAX, true))
		return store_fail(s, -EINVAL, "ICCID must be 1..%d digits", STORE_ICCID_MAX);
	if (meta->imsi && *meta->imsi && !store_digits_ok(meta->imsi, 6, STORE_IMSI_MAX, false))
		return store_fail(s, -EINVAL, "IMSI must be 6..%d digits", STORE_IMSI_MAX);
	if ((meta->nickname && !store_text_ok(meta->nickname, STORE_NAME_MAX)) ||
	    (meta->operator_name && !store_text_ok(meta->operator_name, STORE_NAME_MAX)))
		return store_fail(s, -EINVAL, "names are at most %d printable bytes",
			    STORE_NAME_MAX);
	if (meta->cls != STORE_CLASS_PROVISIONING && meta->cls != STORE_CLASS_OPERATIONAL)
		return store_fail(s, -EINVAL, "bad profile class");
	if (p->n_files == 0 || p->files[0].kind != USIM_FILE_MF ||
	    p->n_files > USIM_MAX_FILES || p->n_pins > USIM_MAX_PINS ||
	    p->sqn_cfg.ind_bits > AKA_SQN_IND_BITS_MAX ||
	    p->sqn_cfg.delta > INT64_MAX || p->sqn_cfg.limit_l > INT64_MAX ||
	    p->atr_len > USIM_ATR_MAX ||
	    (p->aka.algo != AKA_ALGO_MILENAGE && p->aka.algo != AKA_ALGO_TUAK))
		return store_fail(s, -EINVAL, "profile model out of the store's limits");
	for (size_t i = 0; i < n_blobs; i++)
		if (!store_kind_ok(blobs[i].kind) || blobs[i].len > STORE_BLOB_MAX ||
		    (blobs[i].len && !blobs[i].data))
			return store_fail(s, -EINVAL, "blob %zu: bad kind or size", i);
	if (meta->expires < 0)
		return store_fail(s, -EINVAL, "bad expiry");
	if (!hex_id_ok(meta->sho_id) || !hex_id_ok(meta->subscriber_key) ||
	    (meta->subscriber && !store_text_ok(meta->subscriber, STORE_NAME_MAX)) ||
	    meta->lock_until < 0 ||
	    (meta->replaces && meta->replaces[0] &&
	     !store_digits_ok(meta->replaces, 1, STORE_ICCID_MAX, true)))
		return store_fail(s, -EINVAL, "bad package record (sho_id, subscriber, lock, "
				  "replaces)");
	if (meta->presealed) {
		r = check_presealed(s, p, blobs, n_blobs);
		if (r < 0)
			return r;
	}
	if (!s->has_sealer)
		return store_fail(s, -ENOKEY, "no sealer: cannot store secrets");
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	r = store_tx_end(s, install_all(s, meta, p, blobs, n_blobs, &id));
	if (r < 0)
		return r;
	if (ret_id)
		*ret_id = id;
	return 0;
}

/* ---- profile rows ------------------------------------------------------ */

#define INFO_COLUMNS                                                           \
	"id, iccid, imsi, class, state, nickname, operator, installed_at,"    \
	" changed_at, n_files, n_pins, algo, expires, sho_id, subscriber,"        \
	" subscriber_key, lock_until, replaces"

static void read_info(sqlite3_stmt *st, struct store_profile_info *i)
{
	memset(i, 0, sizeof(*i));
	i->id = sqlite3_column_int64(st, 0);
	snprintf(i->iccid, sizeof(i->iccid), "%s", sqlite3_column_text(st, 1));
	snprintf(i->imsi, sizeof(i->imsi), "%s", sqlite3_column_text(st, 2));
	i->cls = (enum store_class)sqlite3_column_int(st, 3);
	i->state = (enum store_state)sqlite3_column_int(st, 4);
	snprintf(i->nickname, sizeof(i->nickname), "%s", sqlite3_column_text(st, 5));
	snprintf(i->operator_name, sizeof(i->operator_name), "%s",
		 sqlite3_column_text(st, 6));
	i->installed_at = sqlite3_column_int64(st, 7);
	i->changed_at = sqlite3_column_int64(st, 8);
	i->n_files = (uint32_t)sqlite3_column_int64(st, 9);
	i->n_pins = (uint32_t)sqlite3_column_int64(st, 10);
	i->algo = (unsigned)sqlite3_column_int(st, 11);
	i->expires = sqlite3_column_int64(st, 12);
	snprintf(i->sho_id, sizeof(i->sho_id), "%s", sqlite3_column_text(st, 13));
	snprintf(i->subscriber, sizeof(i->subscriber), "%s", sqlite3_column_text(st, 14));
	snprintf(i->subscriber_key, sizeof(i->subscriber_key), "%s",
		 sqlite3_column_text(st, 15));
	i->lock_until = sqlite3_column_int64(st, 16);
	snprintf(i->replaces, sizeof(i->replaces), "%s", sqlite3_column_text(st, 17));
}

static int get_info(struct store *s, const char *where, int64_t id,
		    const char *text, struct store_profile_info *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char sql[256];
	int r, rc;

	snprintf(sql, sizeof(sql), "SELECT " INFO_COLUMNS " FROM profiles WHERE %s",
		 where);
	r = store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return store_fail(s, -ENOENT, "no such profile");
	if (rc != SQLITE_ROW)
		return store_sqlfail(s, rc, "profile");
	read_info(st, ret);
	return 0;
}

int store_profile_get(struct store *s, int64_t id, struct store_profile_info *ret)
{
	if (!s || !ret)
		return -EINVAL;
	return get_info(s, "id = ?", id, NULL, ret);
}

int store_profile_find_iccid(struct store *s, const char *iccid,
			     struct store_profile_info *ret)
{
	if (!s || !iccid || !ret)
		return -EINVAL;
	return get_info(s, "iccid = ?", 0, iccid, ret);
}

int store_profile_enabled(struct store *s, struct store_profile_info *ret)
{
	if (!s || !ret)
		return -EINVAL;
	return get_info(s, "state = 1 AND ?1 = ?1", 0, NULL, ret);
}

int store_profile_list(struct store *s, struct store_profile_info **ret,
		       size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ struct store_profile_info *v = NULL;
	size_t n = 0;
	int r, rc;

	if (!s || !ret || !ret_n)
		return -EINVAL;
	r = store_prepare(s, "SELECT " INFO_COLUMNS " FROM profiles ORDER BY id LIMIT ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int(st, 1, STORE_MAX_PROFILES);
	v = calloc(STORE_MAX_PROFILES, sizeof(*v));
	if (!v)
		return -ENOMEM;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		read_info(st, &v[n++]);
	if (rc != SQLITE_DONE)
		return store_sqlfail(s, rc, "list");
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

static int set_state(struct store *s, int64_t id, enum store_state st_new)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, "UPDATE profiles SET state = ?, changed_at = ? WHERE id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int(st, 1, st_new);
	sqlite3_bind_int64(st, 2, time(NULL));
	sqlite3_bind_int64(st, 3, id);
	r = store_step_done(s, st, "state");
	if (r >= 0 && sqlite3_changes(s->db) != 1)
		return store_fail(s, -ENOENT, "no such profile");
	return r;
}

static int enable_tx(struct store *s, int64_t id)
{
	struct store_profile_info want, old;
	char detail[STORE_DETAIL_MAX + 1];
	int r;

	r = store_profile_get(s, id, &want);
	if (r < 0)
		return r;
	if (want.state == STORE_STATE_ENABLED)
		return 0;
	r = store_profile_enabled(s, &old);
	if (r >= 0) {
		r = set_state(s, old.id, STORE_STATE_DISABLED);
		if (r < 0)
			return r;
		snprintf(detail, sizeof(detail), "switch to %s", want.iccid);
		r = store_audit(s, "disable", old.iccid, detail);
		snprintf(detail, sizeof(detail), "switch from %s", old.iccid);
	} else if (r == -ENOENT) {
		r = 0;
		detail[0] = 0;
	}
	if (r >= 0)
		r = set_state(s, id, STORE_STATE_ENABLED);
	if (r >= 0)
		r = store_audit(s, "enable", want.iccid, detail);
	if (r >= 0)
		store_mark_bump(s);
	return r;
}

int store_profile_enable(struct store *s, int64_t id)
{
	int r;

	if (!s)
		return -EINVAL;
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	return store_tx_end(s, enable_tx(s, id));
}

static int disable_tx(struct store *s, int64_t id)
{
	struct store_profile_info i;
	int r;

	r = store_profile_get(s, id, &i);
	if (r < 0)
		return r;
	if (i.state != STORE_STATE_ENABLED)
		return store_fail(s, -EALREADY, "profile %s is not enabled", i.iccid);
	r = set_state(s, id, STORE_STATE_DISABLED);
	if (r >= 0)
		r = store_audit(s, "disable", i.iccid, NULL);
	if (r >= 0)
		store_mark_bump(s);
	return r;
}

int store_profile_disable(struct store *s, int64_t id)
{
	int r;

	if (!s)
		return -EINVAL;
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	return store_tx_end(s, disable_tx(s, id));
}

static int delete_tx(struct store *s, int64_t id)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct store_profile_info i;
	int r;

	r = store_profile_get(s, id, &i);
	if (r < 0)
		return r;
	r = store_prepare(s, "DELETE FROM profiles WHERE id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	r = store_step_done(s, st, "delete");
	if (r >= 0)
		r = store_audit(s, "delete", i.iccid,
				i.state == STORE_STATE_ENABLED ? "was enabled" : NULL);
	if (r >= 0)
		store_mark_bump(s);
	return r;
}

int store_profile_delete(struct store *s, int64_t id)
{
	int r;

	if (!s)
		return -EINVAL;
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	r = store_tx_end(s, delete_tx(s, id));
	if (r >= 0)
		store_fp_forget(s, id);
	return r;
}

static int nickname_tx(struct store *s, int64_t id, const char *nick)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct store_profile_info i;
	int r;

	r = store_profile_get(s, id, &i);
	if (r < 0)
		return r;
	r = store_prepare(s, "UPDATE profiles SET nickname = ?, changed_at = ? WHERE id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, nick ? nick : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, time(NULL));
	sqlite3_bind_int64(st, 3, id);
	r = store_step_done(s, st, "nickname");
	if (r >= 0)
		r = store_audit(s, "nickname", i.iccid, nick);
	return r;
}

int store_profile_set_nickname(struct store *s, int64_t id, const char *nickname)
{
	int r;

	if (!s)
		return -EINVAL;
	if (nickname && !store_text_ok(nickname, STORE_NAME_MAX))
		return store_fail(s, -EINVAL, "nickname: at most %d printable bytes",
			    STORE_NAME_MAX);
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	return store_tx_end(s, nickname_tx(s, id, nickname));
}
