// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The store (store.h, docs/store.md): a profile read back as the engine's
 * struct usim_profile.
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

/* ---- load -------------------------------------------------------------- */

static void usim_profile_freep(struct usim_profile **p)
{
	usim_profile_free(*p);
}

static int blob_col(sqlite3_stmt *st, int col, uint8_t *out, size_t want)
{
	if ((size_t)sqlite3_column_bytes(st, col) != want)
		return -EBADMSG;
	if (want)
		memcpy(out, sqlite3_column_blob(st, col), want);
	return 0;
}

static int load_row(struct store *s, int64_t id, struct usim_profile *p,
		    size_t *ret_files, size_t *ret_pins)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct aka_tuak_params *t = &p->aka.tuak;
	int r, rc, n;

	r = store_prepare(s, "SELECT atr, algo, milenage_r, milenage_c, tuak_mac_bits,"
		       " tuak_res_bits, tuak_ck_bits, tuak_ik_bits, tuak_iterations,"
		       " sqn_ind_bits, sqn_delta, sqn_limit_l, n_files, n_pins"
		       " FROM profiles WHERE id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return store_fail(s, -ENOENT, "no such profile");
	if (rc != SQLITE_ROW)
		return store_sqlfail(s, rc, "profile");
	n = sqlite3_column_bytes(st, 0);
	if (n > USIM_ATR_MAX)
		return store_fail(s, -EBADMSG, "ATR too long");
	p->atr_len = (size_t)n;
	blob_col(st, 0, p->atr, p->atr_len);
	p->aka.algo = (enum aka_algo)sqlite3_column_int(st, 1);
	if (p->aka.algo == AKA_ALGO_MILENAGE) {
		if (blob_col(st, 2, p->aka.milenage.r, 5) < 0 ||
		    blob_col(st, 3, (uint8_t *)p->aka.milenage.c, 80) < 0)
			return store_fail(s, -EBADMSG, "MILENAGE constants malformed");
	} else {
		t->mac_bits = (unsigned)sqlite3_column_int(st, 4);
		t->res_bits = (unsigned)sqlite3_column_int(st, 5);
		t->ck_bits = (unsigned)sqlite3_column_int(st, 6);
		t->ik_bits = (unsigned)sqlite3_column_int(st, 7);
		t->iterations = (unsigned)sqlite3_column_int(st, 8);
	}
	p->sqn_cfg.ind_bits = (unsigned)sqlite3_column_int(st, 9);
	p->sqn_cfg.delta = (uint64_t)sqlite3_column_int64(st, 10);
	p->sqn_cfg.limit_l = (uint64_t)sqlite3_column_int64(st, 11);
	*ret_files = (size_t)sqlite3_column_int64(st, 12);
	*ret_pins = (size_t)sqlite3_column_int64(st, 13);
	if (p->sqn_cfg.ind_bits > AKA_SQN_IND_BITS_MAX ||
	    *ret_files > USIM_MAX_FILES || *ret_pins > USIM_MAX_PINS)
		return store_fail(s, -EBADMSG, "profile row out of range");
	return 0;
}

/* Reads the records of files[idx] into buf (rec_len * rec_count bytes). */
static int load_records(struct store *s, int64_t id, int idx, uint8_t *buf,
			unsigned rec_len, unsigned rec_count)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	unsigned want = 1;
	int r, rc;

	r = store_prepare(s, "SELECT recno, data FROM records WHERE profile_id = ?"
		       " AND idx = ? ORDER BY recno", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, idx);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((unsigned)sqlite3_column_int(st, 0) != want || want > rec_count ||
		    blob_col(st, 1, buf + (size_t)(want - 1) * rec_len, rec_len) < 0)
			return store_fail(s, -EBADMSG, "file %d: record %u malformed", idx, want);
		want++;
	}
	if (rc != SQLITE_DONE)
		return store_sqlfail(s, rc, "records");
	if (want != rec_count + 1)
		return store_fail(s, -EBADMSG, "file %d: %u of %u records", idx, want - 1,
			    rec_count);
	return 0;
}

static int load_files(struct store *s, int64_t id, struct usim_profile *p,
		      size_t n_files)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r, rc;

	r = store_prepare(s, "SELECT idx, parent, kind, fid, sfi, lcs, shareable, arr_fid,"
		       " arr_record, aid, size, rec_len, rec_count, data FROM files"
		       " WHERE profile_id = ? ORDER BY idx", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct usim_file_spec spec = { 0 };
		_cleanup_free_ uint8_t *recbuf = NULL;
		uint8_t aid[USIM_AID_MAX];
		int idx = sqlite3_column_int(st, 0), parent = sqlite3_column_int(st, 1);
		int64_t size = sqlite3_column_int64(st, 10);
		int got;

		if ((size_t)idx != n || n >= n_files || size < 0 || size > USIM_MAX_EF_SIZE)
			return store_fail(s, -EBADMSG, "file rows out of order at %zu", n);
		spec.kind = (enum usim_file_kind)sqlite3_column_int(st, 2);
		spec.fid = (uint16_t)sqlite3_column_int(st, 3);
		spec.sfi = (uint8_t)sqlite3_column_int(st, 4);
		spec.lcs = (uint8_t)sqlite3_column_int(st, 5);
		spec.shareable = sqlite3_column_int(st, 6);
		spec.arr_fid = (uint16_t)sqlite3_column_int(st, 7);
		spec.arr_record = (uint8_t)sqlite3_column_int(st, 8);
		spec.size = (uint32_t)size;
		spec.rec_len = (uint16_t)sqlite3_column_int(st, 11);
		spec.rec_count = (uint16_t)sqlite3_column_int(st, 12);
		n++;
		if (idx == 0) {
			struct usim_file *mf = &p->files[0];

			if (spec.kind != USIM_FILE_MF)
				return store_fail(s, -EBADMSG, "files[0] is not the MF");
			mf->sfi = spec.sfi;
			mf->lcs = spec.lcs;
			mf->shareable = spec.shareable;
			mf->arr_fid = spec.arr_fid;
			mf->arr_record = spec.arr_record;
			continue;
		}
		if (spec.kind == USIM_FILE_ADF) {
			int al = sqlite3_column_bytes(st, 9);

			if (al < USIM_AID_MIN || al > USIM_AID_MAX)
				return store_fail(s, -EBADMSG, "files[%d]: AID", idx);
			blob_col(st, 9, aid, (size_t)al);
			spec.aid = aid;
			spec.aid_len = (size_t)al;
		}
		if (spec.kind == USIM_FILE_EF_TRANSPARENT) {
			if ((int64_t)sqlite3_column_bytes(st, 13) != size)
				return store_fail(s, -EBADMSG, "files[%d]: size", idx);
			spec.data = sqlite3_column_blob(st, 13);
			spec.data_len = (size_t)size;
		} else if (store_is_record_ef(spec.kind)) {
			if ((int64_t)spec.rec_len * spec.rec_count != size)
				return store_fail(s, -EBADMSG, "files[%d]: size", idx);
			recbuf = malloc(size ? (size_t)size : 1);
			if (!recbuf)
				return -ENOMEM;
			r = load_records(s, id, idx, recbuf, spec.rec_len, spec.rec_count);
			if (r < 0)
				return r;
			spec.data = recbuf;
			spec.data_len = (size_t)size;
		}
		r = usim_profile_add_file(p, parent, &spec, &got);
		if (r < 0)
			return store_fail(s, -EBADMSG, "files[%d]: rejected by the model: %s",
				    idx, strerror(-r));
		if (got != idx)
			return store_fail(s, -EBADMSG, "files[%d] came back as %d", idx, got);
	}
	if (rc != SQLITE_DONE)
		return store_sqlfail(s, rc, "files");
	if (n != n_files)
		return store_fail(s, -EBADMSG, "%zu of %zu files", n, n_files);
	return 0;
}

static int load_pins(struct store *s, int64_t id, struct usim_profile *p,
		     size_t n_pins, bool cache)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r = 0, rc;

	r = store_prepare(s, "SELECT key_ref, enabled, use_upin, has_puk, can_disable,"
		       " max_tries, tries_left, puk_max_tries, puk_tries_left"
		       " FROM pins WHERE profile_id = ? ORDER BY pos", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct usim_pin pin = {
			.key_ref = (uint8_t)sqlite3_column_int(st, 0),
			.enabled = sqlite3_column_int(st, 1),
			.use_upin = sqlite3_column_int(st, 2),
			.has_puk = sqlite3_column_int(st, 3),
			.can_disable = sqlite3_column_int(st, 4),
			.max_tries = (uint8_t)sqlite3_column_int(st, 5),
			.tries_left = (uint8_t)sqlite3_column_int(st, 6),
			.puk_max_tries = (uint8_t)sqlite3_column_int(st, 7),
			.puk_tries_left = (uint8_t)sqlite3_column_int(st, 8),
		};
		uint8_t sec[STORE_SECRET_MAX], fp[FP_LEN];
		char kind[STORE_KIND_MAX + 1];
		size_t len = 0;

		if (++n > n_pins)
			return store_fail(s, -EBADMSG, "too many PIN rows");
		store_pin_kind(kind, sizeof(kind), pin.key_ref);
		r = store_unseal_get(s, id, kind, sec, sizeof(sec), &len);
		if (r >= 0 && len != 2 * USIM_PIN_LEN)
			r = store_fail(s, -EBADMSG, "%s: unsealed %zu bytes", kind, len);
		if (r >= 0) {
			memcpy(pin.value, sec, USIM_PIN_LEN);
			memcpy(pin.puk, sec + USIM_PIN_LEN, USIM_PIN_LEN);
			r = usim_profile_add_pin(p, &pin);
			if (r < 0)
				r = store_fail(s, -EBADMSG, "PIN %02x rejected by the model",
					 pin.key_ref);
		}
		if (r >= 0 && cache && store_pin_fingerprint(s, &pin, fp) >= 0)
			store_fp_set(s, id, fp, pin.key_ref);
		OPENSSL_cleanse(sec, sizeof(sec));
		OPENSSL_cleanse(&pin, sizeof(pin));
		if (r < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return store_sqlfail(s, rc, "pins");
	if (n != n_pins)
		return store_fail(s, -EBADMSG, "%zu of %zu PINs", n, n_pins);
	return 0;
}

static int load_sqn(struct store *s, int64_t id, struct usim_profile *p)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	unsigned n = 0, want = 1u << p->sqn_cfg.ind_bits;
	int r, rc;

	r = store_prepare(s, "SELECT ind, seq_ms FROM sqn WHERE profile_id = ? ORDER BY ind", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(st, 1);

		if ((unsigned)sqlite3_column_int(st, 0) != n || n >= want || v < 0)
			return store_fail(s, -EBADMSG, "SQN row %u malformed", n);
		p->sqn.seq_ms[n++] = (uint64_t)v;
	}
	if (rc != SQLITE_DONE)
		return store_sqlfail(s, rc, "sqn");
	if (n != want)
		return store_fail(s, -EBADMSG, "%u of %u SQN entries", n, want);
	return 0;
}

static int load_secret_params(struct store *s, int64_t id, struct usim_profile *p)
{
	uint8_t sec[STORE_SECRET_MAX];
	size_t len = 0, want;
	int r;

	want = p->aka.algo == AKA_ALGO_MILENAGE ? AKA_OPC_LEN : AKA_TOPC_LEN;
	r = store_unseal_get(s, id, STORE_BLOB_OPC, sec, sizeof(sec), &len);
	if (r >= 0 && len != want)
		r = store_fail(s, -EBADMSG, "OPc: unsealed %zu bytes", len);
	if (r >= 0)
		memcpy(p->aka.algo == AKA_ALGO_MILENAGE ? p->aka.milenage.opc
							 : p->aka.tuak.topc,
		       sec, want);
	OPENSSL_cleanse(sec, sizeof(sec));
	return r;
}

/* The profile of id in one read transaction (a consistent snapshot): the
 * file tree, and with full its PINs, SQN state and secrets as well. */
static int load(struct store *s, int64_t id, bool full, struct usim_profile **ret)
{
	_cleanup_(usim_profile_freep) struct usim_profile *p = NULL;
	size_t n_files = 0, n_pins = 0;
	bool own_tx;
	int r;

	if (!s || !ret)
		return -EINVAL;
	if (full && !s->has_sealer)
		return store_fail(s, -ENOKEY, "no sealer: cannot read secrets");
	r = usim_profile_new(&p);
	if (r < 0)
		return r;
	own_tx = !s->in_tx;
	if (own_tx) {
		r = store_exec(s, "BEGIN");
		if (r < 0)
			return r;
	}
	r = load_row(s, id, p, &n_files, &n_pins);
	if (r >= 0)
		r = load_files(s, id, p, n_files);
	if (r >= 0 && full)
		r = load_pins(s, id, p, n_pins, own_tx);
	if (r >= 0 && full)
		r = load_sqn(s, id, p);
	if (r >= 0 && full)
		r = load_secret_params(s, id, p);
	if (own_tx)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}

int store_profile_load(struct store *s, int64_t id, struct usim_profile **ret)
{
	return load(s, id, true, ret);
}

int store_profile_load_files(struct store *s, int64_t id, struct usim_profile **ret)
{
	return load(s, id, false, ret);
}
