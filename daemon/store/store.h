/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mcimd's persistent store: one SQLite database (WAL, synchronous=FULL,
 * foreign keys on) holding the profiles, their file contents, PIN state,
 * SQN arrays, TPM blobs, an audit log and the store generation used for
 * anti-rollback.  docs/store.md is the design (schema, durability, rollback
 * detection, TPM NV write budget).
 *
 * Every public call that changes the database is one transaction, or, when
 * the caller has opened one with store_begin(), a savepoint inside it: a
 * failed call leaves nothing behind, and the caller's transaction can still
 * be committed or rolled back as a whole.  A call returns only once its
 * transaction is durable (COMMIT with synchronous=FULL fsyncs the WAL), so
 * the daemon may answer the modem as soon as it returns.
 *
 * Secrets: the store never writes OPc/TOPc or PIN/PUK values in clear.  It
 * hands them to a sealer (struct store_sealer: the daemon's is the TRE, a
 * TPM sealed object) and keeps only the sealed blob.  K never reaches the
 * store at all: the caller gives the TRE's blob (tre_blob_marshal()) as an
 * opaque blob of kind STORE_BLOB_KEY.
 *
 * Threading: none; a struct store belongs to one thread.
 * Errors: 0 or a negative errno; store_errmsg() says more in words.
 *   -EEXIST     an ICCID that is already installed
 *   -ENOENT     no such profile / blob
 *   -EPROTO     the database's schema is newer than this program
 *   -EBADMSG    the database is corrupt or inconsistent
 *   -EBUSY      the database is locked by another process
 *   -EIO        any other SQLite failure
 *   -EINVAL     bad argument (or a profile the store cannot represent)
 */
#ifndef MCIM_STORE_H
#define MCIM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/usim/usim.h"
#include "macro.h"

/* Schema version this program writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 1

#define STORE_ICCID_MAX 20    /* TS 102 221 13.2: up to 20 BCD digits */
#define STORE_IMSI_MAX 15     /* TS 23.003 2.2 */
#define STORE_NAME_MAX 64     /* nickname, operator name */
#define STORE_KIND_MAX 32     /* blob kind names */
#define STORE_BLOB_MAX 8192   /* one opaque blob */
#define STORE_DETAIL_MAX 256  /* audit detail text */
#define STORE_MAX_PROFILES 64 /* installed profiles */
#define STORE_AUDIT_KEEP 10000 /* audit rows kept; older ones are pruned */

/* Blob kinds the daemon uses (any other short name is allowed). */
#define STORE_BLOB_KEY "key"       /* K: TRE blob (tre_blob_marshal) */
#define STORE_BLOB_OPC "opc"       /* sealed OPc (16) or TOPc (32) */
#define STORE_BLOB_PIN_PREFIX "pin:" /* "pin:01": sealed value || PUK */

enum store_class {
	STORE_CLASS_PROVISIONING = 0,
	STORE_CLASS_OPERATIONAL = 1,
};

enum store_state {
	STORE_STATE_INSTALLED = 0, /* never enabled yet */
	STORE_STATE_ENABLED = 1,
	STORE_STATE_DISABLED = 2,
};

const char *store_class_name(enum store_class c);
const char *store_state_name(enum store_state s);
int store_class_from_name(const char *name, enum store_class *ret);

/* The descriptive part of a profile (what list/show print). */
struct store_profile_info {
	int64_t id;
	char iccid[STORE_ICCID_MAX + 1];
	char imsi[STORE_IMSI_MAX + 1];
	enum store_class cls;
	enum store_state state;
	char nickname[STORE_NAME_MAX + 1];
	char operator_name[STORE_NAME_MAX + 1];
	int64_t installed_at; /* Unix time, seconds */
	int64_t changed_at;
	uint32_t n_files;     /* nodes of the file tree */
	uint32_t n_pins;
	unsigned algo;        /* enum aka_algo */
};

/*
 * Seals and unseals short secrets (at most 128 bytes: TPM2 sealed data
 * object limit).  seal() writes the sealed form to blob (max bytes) and its
 * length to *ret_len; unseal() reverses it into secret (max bytes).  Both
 * return 0 or a negative errno.  The store wipes every clear copy it makes.
 */
#define STORE_SECRET_MAX 128
struct store_sealer {
	int (*seal)(void *ctx, const uint8_t *secret, size_t len, uint8_t *blob,
		    size_t max, size_t *ret_len);
	int (*unseal)(void *ctx, const uint8_t *blob, size_t len,
		      uint8_t *secret, size_t max, size_t *ret_len);
	void *ctx;
};

struct store;

/*
 * Opens (creating it, mode 0600, when absent) the database at path, sets WAL,
 * synchronous=FULL and foreign keys, and migrates the schema to
 * STORE_SCHEMA_VERSION in one transaction.  sealer is copied; it may be
 * NULL for tools that only read descriptive data (then install and load
 * fail with -ENOKEY).  On failure why (why_size bytes, may be NULL) gets a
 * one-line reason naming the file.
 */
int store_open(const char *path, const struct store_sealer *sealer,
	       struct store **ret, char *why, size_t why_size);
void store_close(struct store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct store *, store_close)
#define _cleanup_store_ _cleanup_(store_closep)

/* Last error in words (never NULL). */
const char *store_errmsg(const struct store *s);

/* Schema version of the open database. */
int store_schema_version(struct store *s, int *ret);

/*
 * Explicit transaction around several calls (BEGIN IMMEDIATE ... COMMIT).
 * Not nestable.  store_commit() returns once the commit is durable.
 */
int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);
bool store_in_transaction(const struct store *s);

/* ---- Profiles ---------------------------------------------------------- */

struct store_profile_meta {
	const char *iccid;         /* required: digits (and F padding) */
	const char *imsi;          /* may be NULL/"" */
	enum store_class cls;
	const char *nickname;      /* may be NULL */
	const char *operator_name; /* may be NULL */
};

/* An opaque blob to store with a profile (TPM objects). */
struct store_blob {
	const char *kind;
	const uint8_t *data;
	size_t len;
};

/*
 * Installs a profile in one transaction: the descriptive row, every node of
 * p's file tree with its contents (records one row each), the PIN state,
 * the SQN settings and array, the algorithm parameters, the sealed OPc/TOPc
 * and PIN values (through the sealer) and the given blobs; state INSTALLED;
 * audit "install"; the generation is bumped.  Either all of it is there
 * afterwards or nothing.  *ret_id (may be NULL) gets the new id.
 */
int store_profile_install(struct store *s, const struct store_profile_meta *meta,
			  const struct usim_profile *p,
			  const struct store_blob *blobs, size_t n_blobs,
			  int64_t *ret_id);

/*
 * Enables profile id: the profile enabled before (if any) becomes DISABLED
 * in the same transaction, so at most one is ever enabled.  Audit, bump.
 * Enabling the enabled profile is a no-op returning 0.
 */
int store_profile_enable(struct store *s, int64_t id);
/* Disables profile id (-EALREADY when it is not enabled).  Audit, bump. */
int store_profile_disable(struct store *s, int64_t id);
/* Deletes profile id and everything it owns (cascade).  Audit, bump. */
int store_profile_delete(struct store *s, int64_t id);
/* Sets the nickname (NULL clears it).  Audit. */
int store_profile_set_nickname(struct store *s, int64_t id, const char *nickname);

int store_profile_get(struct store *s, int64_t id, struct store_profile_info *ret);
int store_profile_find_iccid(struct store *s, const char *iccid,
			     struct store_profile_info *ret);
/* The enabled profile; -ENOENT when none is enabled. */
int store_profile_enabled(struct store *s, struct store_profile_info *ret);

/*
 * Lists the profiles ordered by id: *ret gets a malloc'ed array (free()),
 * *ret_n its length.
 */
int store_profile_list(struct store *s, struct store_profile_info **ret,
		       size_t *ret_n);

/*
 * Builds the engine's profile model from the store: file tree and contents,
 * PINs (values unsealed), ATR, algorithm with its OPc/TOPc (unsealed), SQN
 * settings and array.  Free with usim_profile_free() (it wipes).
 */
int store_profile_load(struct store *s, int64_t id, struct usim_profile **ret);

/* ---- Change records ---------------------------------------------------- */

#define STORE_APPLY_BUMP_GENERATION 0x1u

/*
 * Commits the change records that usim_engine_process() returned for one
 * APDU on profile id (p: the engine's profile, after the command), in one
 * transaction: EF bytes (the whole transparent body, or the records
 * touched), PIN state (counters, enabled, use_upin; the sealed value only
 * when it changed), SQN array entries.  USIM_CHANGE_PROACTIVE records are
 * skipped.  A PIN that reaches 0 tries is audited ("pin-blocked").  With
 * STORE_APPLY_BUMP_GENERATION the generation is bumped as well.  When this
 * fails the daemon must not send the response (usim.h).
 */
int store_apply(struct store *s, int64_t id, const struct usim_profile *p,
		const struct usim_change *changes, size_t n_changes,
		unsigned flags);

/* ---- Blobs ------------------------------------------------------------- */

/* Profile blobs: put replaces; get mallocs *ret (free()); -ENOENT. */
int store_blob_put(struct store *s, int64_t id, const char *kind,
		   const uint8_t *data, size_t len);
int store_blob_get(struct store *s, int64_t id, const char *kind,
		   uint8_t **ret, size_t *ret_len);
int store_blob_delete(struct store *s, int64_t id, const char *kind);

/* Device-wide blobs (AK, platform policy): same, not tied to a profile. */
int store_device_blob_put(struct store *s, const char *kind,
			  const uint8_t *data, size_t len);
int store_device_blob_get(struct store *s, const char *kind, uint8_t **ret,
			  size_t *ret_len);

/* ---- Anti-rollback generation ------------------------------------------ */

/*
 * The store generation: a counter that every lifecycle change (install,
 * enable, disable, delete) and every store_apply() with
 * STORE_APPLY_BUMP_GENERATION increments inside its own transaction.  The
 * daemon mirrors it in a TPM NV counter (docs/store.md "Rollback"): after
 * the commit it increments the NV counter; at start it compares the two
 * with store_generation_check().
 */
int store_generation(struct store *s, uint64_t *ret);
/* Increments the generation (inside the caller's transaction if any). */
int store_generation_bump(struct store *s, uint64_t *ret_new);
/*
 * Raises the generation to the next multiple of window (unchanged when it
 * is one already), inside the caller's transaction if any: after a
 * lifecycle change the daemon aligns, so that the NV counter is
 * incremented at once and a deleted profile cannot come back from a copy
 * of the same window.
 */
int store_generation_align(struct store *s, uint64_t window, uint64_t *ret_new);

/*
 * The NV counter value that stands for generation 0 (a TPM counter cannot
 * be reset, so the daemon records its value when it first uses the store).
 * store_nv_base(): -ENOENT until store_set_nv_base() was called once;
 * store_set_nv_base(): -EEXIST when already set.
 */
int store_nv_base(struct store *s, uint64_t *ret);
int store_set_nv_base(struct store *s, uint64_t nv_base);

enum store_gen_verdict {
	STORE_GEN_OK = 0,        /* store and NV counter agree */
	STORE_GEN_NV_BEHIND = 1, /* the last NV increment was lost (crash
				  * between commit and NV write): catch up */
};
/*
 * Compares the store's generation with the NV counter's value nv, where
 * nv_base is store_nv_base() and window the batching factor W >= 1: the
 * daemon increments the counter after a commit whose generation g is a
 * multiple of W, so the counter should read nv_base + g / W
 * (docs/store.md "Rollback").  Returns STORE_GEN_OK; STORE_GEN_NV_BEHIND
 * when the counter is one short and g is a multiple of W (a crash between
 * the commit and the increment: increment once); -ESTALE when the counter
 * is ahead, i.e. the store is older than the TPM says (a restored copy:
 * refuse it); -EBADMSG when the counter is further behind (not this
 * store's counter, or an edited store); -EINVAL for window 0.
 */
int store_generation_check(uint64_t store_gen, uint64_t nv, uint64_t nv_base,
			   uint64_t window);

/*
 * The daemon's side of the protocol above, over any monotonic counter (the
 * TRE's NV counter at [tpm] generation_nv_index; a fake one in tests).
 * read() returns the counter's value, increment() adds one; both return 0
 * or a negative errno.
 */
struct store_counter {
	int (*read)(void *ctx, uint64_t *ret);
	int (*increment)(void *ctx);
	void *ctx;
};

/*
 * At start, before serving: records the NV base on first use (a new store,
 * or one from before anchoring: trust on first use, audited "anchor"),
 * then store_generation_check().  STORE_GEN_NV_BEHIND is repaired (one
 * increment) and counts as success.  -ESTALE (an older copy) and -EBADMSG
 * are audited ("rollback-refused") and returned with the reason in
 * store_errmsg(); the daemon must then refuse to serve.
 */
int store_rollback_check(struct store *s, const struct store_counter *c,
			 uint64_t window);

/*
 * After a transaction that bumped the generation has committed (never
 * inside one): increments the counter when the generation reached a new
 * multiple of window.  Costs no TPM command otherwise (the last value is
 * remembered from store_rollback_check()).  A failure leaves the store one
 * step ahead, which the next store_rollback_check() repairs.
 */
int store_rollback_sync(struct store *s, const struct store_counter *c,
			uint64_t window);

/* ---- Audit log --------------------------------------------------------- */

struct store_audit_entry {
	int64_t seq;
	int64_t time_ms; /* Unix time in milliseconds */
	char event[STORE_KIND_MAX + 1];
	char iccid[STORE_ICCID_MAX + 1]; /* "" when not about a profile */
	char detail[STORE_DETAIL_MAX + 1];
};

/* Appends an entry (inside the caller's transaction if any). */
int store_audit(struct store *s, const char *event, const char *iccid,
		const char *detail);
/* The last (at most) max entries, oldest first; malloc'ed array. */
int store_audit_list(struct store *s, size_t max,
		     struct store_audit_entry **ret, size_t *ret_n);

/* ---- Maintenance ------------------------------------------------------- */

/*
 * PRAGMA integrity_check and foreign_key_check, plus the store's own
 * invariants (at most one enabled profile).  0, or -EBADMSG with the first
 * finding in store_errmsg().
 */
int store_check(struct store *s);

/*
 * Copies the WAL into the database file and truncates it (PRAGMA
 * wal_checkpoint(TRUNCATE)); the daemon calls it when idle.  -EBUSY when
 * a reader holds the WAL.
 */
int store_checkpoint(struct store *s);

/*
 * Identity of a profile from its files: ICCID from EF.ICCID (3F00/2FE2,
 * TS 102 221 13.2, swapped BCD, F padding dropped) and IMSI from EF.IMSI
 * (ADF.USIM/6F07, TS 31.102 4.2.2).  Either output may be NULL; -ENOENT
 * when a file is missing, -EINVAL when its contents are malformed.
 */
int store_profile_identity(const struct usim_profile *p,
			   char ret_iccid[STORE_ICCID_MAX + 1],
			   char ret_imsi[STORE_IMSI_MAX + 1]);

#endif
