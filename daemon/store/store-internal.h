/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of daemon/store/ shared between its files. */
#ifndef MCIM_STORE_INTERNAL_H
#define MCIM_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"

#define FP_LEN 32
#define STATE_KEY_LEN 32

/* A fingerprint of a PIN's sealed value as last committed (memory only). */
struct pin_fp {
	int64_t id;
	uint8_t key_ref;
	uint8_t fp[FP_LEN];
};

struct store {
	sqlite3 *db;
	struct store_sealer sealer;
	bool has_sealer;
	bool in_tx; /* store_begin() called */
	bool locked;        /* this struct's pages are mlock'ed */
	uint8_t fp_key[32]; /* random per process: fingerprints are not
			     * comparable across runs or to anything stored */
	struct pin_fp *fps;
	size_t n_fps;
	/* anchor.c (docs/store.md "Rollback") */
	bool bump_pending;  /* bump the generation once at this commit */
	bool keyed;         /* state key known: every commit writes the MAC */
	bool frozen;        /* anchored, key not available: the covered state
			     * must not change (frozen_digest) */
	uint8_t state_key[STATE_KEY_LEN];
	uint8_t frozen_digest[32];
	uint64_t headroom;  /* SQN ceiling headroom (SEQ steps); 0: no ceiling */
	bool nv_known;      /* after store_anchor_check() */
	uint64_t nv_value;  /* the counter as last read or incremented */
	uint64_t nv_base;
	char err[256];
};

/* schema.c: migration N (1-based) is store_migrations[N - 1]. */
extern const char *const store_migrations[];
extern const size_t store_n_migrations;

/* sql.c: SQLite helpers and transactions. */
void store_stmt_finalizep(sqlite3_stmt **st);
#define _cleanup_stmt_ _cleanup_(store_stmt_finalizep)
_printf_(3, 4) int store_fail(struct store *s, int r, const char *fmt, ...);
int store_errno_of(int rc);
int store_sqlfail(struct store *s, int rc, const char *what);
int store_exec(struct store *s, const char *sql);
int store_prepare(struct store *s, const char *sql, sqlite3_stmt **ret);
int store_step_done(struct store *s, sqlite3_stmt *st, const char *what);
/* One public call's transaction, or a savepoint in the caller's. */
int store_tx_begin(struct store *s);
int store_tx_end(struct store *s, int r);

/* Shared between the files of the store (store.c, secrets.c, profiles.c). */
bool store_digits_ok(const char *d, size_t min, size_t max, bool allow_f);
bool store_text_ok(const char *t, size_t max);
bool store_hex_ok(const char *h, size_t n);
bool store_kind_ok(const char *k);
int64_t store_now_ms(void);
int store_seal_put(struct store *s, int64_t id, const char *kind,
		    const uint8_t *secret, size_t len);
int store_unseal_get(struct store *s, int64_t id, const char *kind,
		      uint8_t *secret, size_t max, size_t *ret_len);
void store_pin_kind(char *buf, size_t size, uint8_t key_ref);
void store_pin_secret(const struct usim_pin *pin, uint8_t out[2 * USIM_PIN_LEN]);
int store_pin_fingerprint(struct store *s, const struct usim_pin *pin,
			   uint8_t fp[FP_LEN]);
struct pin_fp *store_fp_find(struct store *s, int64_t id, uint8_t key_ref);
void store_fp_forget(struct store *s, int64_t id);
void store_fp_set(struct store *s, int64_t id, const uint8_t *key_ref_fp,
		   uint8_t key_ref);
bool store_is_record_ef(enum usim_file_kind k);
bool store_is_ef(enum usim_file_kind k);
int store_count_profiles(struct store *s, int64_t *ret);

/* anchor.c */
/* Before every COMMIT: the pending generation bump, then the state MAC
 * (keyed) or the frozen-state check. */
int store_precommit(struct store *s);
/*
 * After SEQ_MS(IND) of profile id became seq: raises the profile's SQN
 * ceiling to seq + headroom (and marks a generation bump) when seq is above
 * it; nothing without a headroom (store not anchored).
 */
int store_sqn_cover(struct store *s, int64_t id, uint64_t seq, unsigned ind_bits);
/* At open: an anchored store is frozen until store_anchor_check() keyed it,
 * so that no program without the state key changes what the MAC covers. */
int store_anchor_freeze(struct store *s);
/* Marks the generation to be bumped (once) when the transaction commits. */
void store_mark_bump(struct store *s);

#endif
