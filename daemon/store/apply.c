// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The store (store.h, docs/store.md): the engine's change records (EF,
 * PIN, SQN, file state), each APDU's in one transaction.
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

/* ---- change records ---------------------------------------------------- */

static int apply_ef(struct store *s, int64_t id, const struct usim_profile *p,
		    const struct usim_change *c)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	const struct usim_file *f;
	int r;

	if (c->index >= p->n_files || !store_is_ef(p->files[c->index].kind))
		return store_fail(s, -EINVAL, "EF change: no EF at index %u", c->index);
	f = &p->files[c->index];
	if (c->offset > f->size || c->len > f->size - c->offset || c->len == 0)
		return store_fail(s, -EINVAL, "EF change beyond file %04X", f->fid);
	if (f->kind == USIM_FILE_EF_TRANSPARENT) {
		r = store_prepare(s, "UPDATE files SET data = ? WHERE profile_id = ?"
			       " AND idx = ?", &st);
		if (r < 0)
			return r;
		sqlite3_bind_blob(st, 1, f->data, (int)f->size, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
		sqlite3_bind_int(st, 3, (int)c->index);
		r = store_step_done(s, st, "EF");
		if (r >= 0 && sqlite3_changes(s->db) != 1)
			return store_fail(s, -EBADMSG, "EF %04X not in the store", f->fid);
		return r;
	}
	/* Record EFs: rewrite every record the change touches (a cyclic
	 * update covers the whole body, TS 102 221 8.2.3). */
	r = store_prepare(s, "UPDATE records SET data = ? WHERE profile_id = ? AND idx = ?"
		       " AND recno = ?", &st);
	if (r < 0)
		return r;
	for (uint32_t k = c->offset / f->rec_len;
	     k <= (c->offset + c->len - 1) / f->rec_len; k++) {
		sqlite3_reset(st);
		sqlite3_bind_blob(st, 1, f->data + (size_t)k * f->rec_len, f->rec_len,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
		sqlite3_bind_int(st, 3, (int)c->index);
		sqlite3_bind_int(st, 4, (int)k + 1);
		r = store_step_done(s, st, "record");
		if (r >= 0 && sqlite3_changes(s->db) != 1)
			r = store_fail(s, -EBADMSG, "EF %04X record %u not in the store",
				 f->fid, k + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A resealed PIN value: its fingerprint, committed after the transaction. */
struct pending_fp {
	uint8_t key_ref;
	uint8_t fp[FP_LEN];
};

static int apply_pin(struct store *s, int64_t id, const struct usim_profile *p,
		     const struct usim_change *c, struct pending_fp *pend,
		     size_t *n_pend)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	const struct usim_pin *pin;
	const struct pin_fp *known;
	struct store_profile_info info;
	uint8_t fp[FP_LEN];
	int r, old_tries, rc;

	if (c->index >= p->n_pins)
		return store_fail(s, -EINVAL, "PIN change: no PIN %u", c->index);
	pin = &p->pins[c->index];
	r = store_prepare(s, "SELECT tries_left FROM pins WHERE profile_id = ? AND key_ref = ?",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, pin->key_ref);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return store_fail(s, -EBADMSG, "PIN %02x not in the store", pin->key_ref);
	if (rc != SQLITE_ROW)
		return store_sqlfail(s, rc, "pin");
	old_tries = sqlite3_column_int(st, 0);
	sqlite3_finalize(TAKE_PTR(st));
	r = store_prepare(s, "UPDATE pins SET enabled = ?, use_upin = ?, tries_left = ?,"
		       " puk_tries_left = ? WHERE profile_id = ? AND key_ref = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int(st, 1, pin->enabled);
	sqlite3_bind_int(st, 2, pin->use_upin);
	sqlite3_bind_int(st, 3, pin->tries_left);
	sqlite3_bind_int(st, 4, pin->puk_tries_left);
	sqlite3_bind_int64(st, 5, id);
	sqlite3_bind_int(st, 6, pin->key_ref);
	r = store_step_done(s, st, "pin");
	if (r < 0)
		return r;
	if (pin->tries_left == 0 && old_tries != 0) {
		char detail[48];

		r = store_profile_get(s, id, &info);
		if (r < 0)
			return r;
		snprintf(detail, sizeof(detail), "key reference %02X", pin->key_ref);
		r = store_audit(s, "pin-blocked", info.iccid, detail);
		if (r < 0)
			return r;
	}
	/* Reseal the value only when it changed (CHANGE/UNBLOCK PIN). */
	r = store_pin_fingerprint(s, pin, fp);
	if (r < 0)
		return r;
	known = store_fp_find(s, id, pin->key_ref);
	if (!known || CRYPTO_memcmp(known->fp, fp, FP_LEN)) {
		uint8_t sec[2 * USIM_PIN_LEN];
		char kind[STORE_KIND_MAX + 1];

		store_pin_kind(kind, sizeof(kind), pin->key_ref);
		store_pin_secret(pin, sec);
		r = store_seal_put(s, id, kind, sec, sizeof(sec));
		OPENSSL_cleanse(sec, sizeof(sec));
		if (r < 0)
			return r;
		if (*n_pend < USIM_MAX_CHANGES) {
			pend[*n_pend].key_ref = pin->key_ref;
			memcpy(pend[(*n_pend)++].fp, fp, FP_LEN);
		}
	}
	return 0;
}

static int apply_sqn(struct store *s, int64_t id, const struct usim_profile *p,
		     const struct usim_change *c)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	uint64_t v;
	int r;

	if (c->index >= (1u << p->sqn_cfg.ind_bits))
		return store_fail(s, -EINVAL, "SQN change: IND %u out of range", c->index);
	v = p->sqn.seq_ms[c->index];
	if (v > INT64_MAX)
		return store_fail(s, -EINVAL, "SQN out of range");
	/* SEQ_MS(IND) only ever grows (TS 33.102 C.2.2). */
	r = store_prepare(s, "UPDATE sqn SET seq_ms = ? WHERE profile_id = ? AND ind = ?"
		       " AND seq_ms <= ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)v);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_int(st, 3, (int)c->index);
	r = store_step_done(s, st, "sqn");
	if (r >= 0 && sqlite3_changes(s->db) != 1)
		return store_fail(s, -ERANGE, "SEQ_MS(%u) would go backwards or is missing",
			    c->index);
	if (r >= 0)
		r = store_sqn_cover(s, id, v, p->sqn_cfg.ind_bits);
	return r;
}

/* DEACTIVATE / ACTIVATE FILE, TS 102 221 11.1.14-15. */
static int apply_lcs(struct store *s, int64_t id, const struct usim_profile *p,
		     const struct usim_change *c)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if (c->index >= p->n_files)
		return store_fail(s, -EINVAL, "file state change: no file %u", c->index);
	r = store_prepare(s, "UPDATE files SET lcs = ? WHERE profile_id = ? AND idx = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int(st, 1, p->files[c->index].lcs);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_int(st, 3, (int)c->index);
	r = store_step_done(s, st, "lcs");
	if (r >= 0 && sqlite3_changes(s->db) != 1)
		return store_fail(s, -EBADMSG, "file %u not in the store", c->index);
	return r;
}

static int apply_all(struct store *s, int64_t id, const struct usim_profile *p,
		     const struct usim_change *changes, size_t n, unsigned flags,
		     struct pending_fp *pend, size_t *n_pend)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < n; i++) {
		const struct usim_change *c = &changes[i];

		switch (c->kind) {
		case USIM_CHANGE_EF:
			r = apply_ef(s, id, p, c);
			break;
		case USIM_CHANGE_PIN:
			r = apply_pin(s, id, p, c, pend, n_pend);
			break;
		case USIM_CHANGE_FILE_STATE:
			r = apply_lcs(s, id, p, c);
			break;
		case USIM_CHANGE_SQN:
			r = apply_sqn(s, id, p, c);
			break;
		case USIM_CHANGE_PROACTIVE:
			break;
		default:
			r = store_fail(s, -EINVAL, "unknown change record kind %d", c->kind);
		}
	}
	if (r >= 0 && (flags & STORE_APPLY_BUMP_GENERATION))
		store_mark_bump(s);
	return r;
}

int store_apply(struct store *s, int64_t id, const struct usim_profile *p,
		const struct usim_change *changes, size_t n_changes, unsigned flags)
{
	struct pending_fp pend[USIM_MAX_CHANGES];
	size_t n_pend = 0;
	bool outer;
	int r;

	if (!s || !p || (n_changes && !changes) || n_changes > USIM_MAX_CHANGES ||
	    (flags & ~STORE_APPLY_BUMP_GENERATION))
		return -EINVAL;
	if (n_changes == 0 && !flags)
		return 0;
	outer = !s->in_tx;
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	r = apply_all(s, id, p, changes, n_changes, flags, pend, &n_pend);
	if (r < 0 || !outer)
		/* Resealed inside someone else's transaction: it may still
		 * roll back, so forget what we knew about this profile. */
		store_fp_forget(s, id);
	r = store_tx_end(s, r);
	if (r >= 0 && outer)
		for (size_t i = 0; i < n_pend; i++)
			store_fp_set(s, id, pend[i].fp, pend[i].key_ref);
	OPENSSL_cleanse(pend, sizeof(pend));
	return r;
}
