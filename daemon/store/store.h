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
#define STORE_SCHEMA_VERSION 4

#define STORE_ICCID_MAX 20    /* TS 102 221 13.2: up to 20 BCD digits */
#define STORE_IMSI_MAX 15     /* TS 23.003 2.2 */
#define STORE_NAME_MAX 64     /* nickname, operator name */
#define STORE_KIND_MAX 32     /* blob kind names */
#define STORE_BLOB_MAX 8192   /* one opaque blob */
#define STORE_DETAIL_MAX 256  /* audit detail text */
#define STORE_MAX_PROFILES 64 /* installed profiles */
#define STORE_AUDIT_KEEP 10000 /* audit rows kept; older ones are pruned */
#define STORE_ID_HEX 64       /* sho_id, subscriber key: SHA-256, lowercase hex */
#define STORE_TOKEN_ID_MAX 32 /* consent and release ids: 32 lowercase hex */
#define STORE_TOKENS_MAX 4096 /* unexpired consent and release ids kept */

/* Blob kinds the daemon uses (any other short name is allowed). */
#define STORE_BLOB_KEY "key"       /* K: TRE blob (tre_blob_marshal) */
#define STORE_BLOB_OPC "opc"       /* sealed OPc (16) or TOPc (32) */
#define STORE_BLOB_PIN_PREFIX "pin:" /* "pin:01": sealed value || PUK */
#define STORE_BLOB_POLICY "policy" /* an operator profile's approved policy */
/* Device blobs of the package download (docs/package-format.md). */
#define STORE_PACKAGE_SEQ_BLOB "package-seq" /* last accepted before per-operator ones */
#define STORE_PACKAGE_SEQ_PREFIX "pkgseq:"   /* + 24 hex of the sho_id: UINT64 BE */
#define STORE_PACKAGE_NONCE_BLOB "package-nonce" /* the pending nonce, 32 */

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
	int64_t expires;      /* Unix time; 0: never (version 3) */
	/* From an operator package (version 4, docs/change-format.md 1); "", 0: none. */
	char sho_id[STORE_ID_HEX + 1];
	char subscriber[STORE_NAME_MAX + 1];
	char subscriber_key[STORE_ID_HEX + 1];
	int64_t lock_until;
	char replaces[STORE_ICCID_MAX + 1]; /* the ICCID a switch package replaces */
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
 * fail with -ENOKEY).  An anchored store (docs/store.md "Rollback") is
 * frozen until store_anchor_check() unsealed its state key: commits that
 * change the authenticated state fail with -EACCES.  On failure why
 * (why_size bytes, may be NULL) gets a one-line reason naming the file.
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
	/*
	 * Unix time after which the profile is of no use (the provisional
	 * identity of a provisioning profile, docs/store.md); 0: never.
	 */
	int64_t expires;
	/*
	 * The OPc/TOPc and PIN values come already sealed (operator-made TRE
	 * objects imported from duplication blobs): the blobs hold "opc" and
	 * "pin:XX" for every PIN of p, the sealer's seal() is not called and
	 * p's OPc/TOPc and PIN values are ignored (the store never sees them).
	 */
	bool presealed;
	/*
	 * From an operator package (docs/change-format.md 1), each may be
	 * NULL/""/0: the installing SHO's sho_id and the subscriber's key id
	 * (64 lowercase hex), the subscriber's name, the contract lock's end
	 * (Unix time), the ICCID this profile replaces (a switch package).
	 */
	const char *sho_id;
	const char *subscriber;
	const char *subscriber_key;
	int64_t lock_until;
	const char *replaces;
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

/*
 * The file tree of profile id with its contents, nothing else (no PINs,
 * SQN state or secrets; no sealer needed): for checks before
 * store_profile_update_files().  Free with usim_profile_free().
 */
int store_profile_load_files(struct store *s, int64_t id, struct usim_profile **ret);

/*
 * New contents for EFs of profile id (an update over the air,
 * docs/change-format.md 6) in one transaction (a savepoint in the
 * caller's): each u[i].index an EF of the profile, u[i].len its size (a
 * record EF: every record, in order); audit "files-update" with their
 * paths.  -ENOENT no such profile; -EINVAL a file given twice, not an EF,
 * a length that is not its size (store_errmsg() names the path): nothing
 * written.  No generation bump: EF contents are outside the state MAC.
 */
int store_profile_update_files(struct store *s, int64_t id, const struct usim_file_update *u,
			       size_t n);

/* ---- Change records ---------------------------------------------------- */

#define STORE_APPLY_BUMP_GENERATION 0x1u

/*
 * Commits the change records that usim_engine_process() returned for one
 * APDU on profile id (p: the engine's profile, after the command), in one
 * transaction: EF bytes (the whole transparent body, or the records
 * touched), PIN state (counters, enabled, use_upin; the sealed value only
 * when it changed), SQN array entries.  USIM_CHANGE_PROACTIVE records are
 * skipped.  A PIN that reaches 0 tries is audited ("pin-blocked").  With
 * STORE_APPLY_BUMP_GENERATION the generation is bumped as well.  In an
 * anchored store an SQN change above the profile's SQN ceiling raises the
 * ceiling and bumps the generation (docs/store.md "Rollback").  When this,
 * or the store_anchor_sync() that must follow, fails the daemon must not
 * send the response (usim.h).
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
int store_device_blob_delete(struct store *s, const char *kind);

/*
 * Whether profile id ever answered an AUTHENTICATE (a SEQ_MS above 0): an
 * operational profile that "worked" (docs/store.md "Provisioning").
 */
int store_profile_used(struct store *s, int64_t id, bool *ret);

/* ---- Operator packages (docs/package-format.md) ------------------------ */

/*
 * The last package sequence number this device accepted from the operator
 * of sho_id (64 hex; "" or NULL: of no operator), covered by the state
 * MAC; never below the device-wide one of stores written before
 * per-operator sequences (device blob "package-seq"); 0 before the first.
 */
int store_package_seq(struct store *s, const char *sho_id, uint64_t *ret);
/*
 * Records seq as the last accepted one of that operator, with a generation
 * bump (inside the caller's transaction if any); -ERANGE when it is not
 * above the last: nothing written.
 */
int store_package_seq_set(struct store *s, const char *sho_id, uint64_t seq);

/*
 * The ids of the consents and releases accepted (docs/change-format.md 2:
 * single use), kind "consent" or "release", id 32 lowercase hex, kept until
 * expires and covered by the MAC.  store_token_used(): whether id of kind
 * was accepted before.  store_token_use(): records it, with a generation
 * bump (inside the caller's transaction if any; an older copy of the store
 * cannot bring an id back), after pruning the ids expired at now;
 * -EALREADY when it is recorded already, -ENOSPC at STORE_TOKENS_MAX.
 */
int store_token_used(struct store *s, const char *kind, const char *id, bool *ret);
int store_token_use(struct store *s, const char *kind, const char *id, int64_t expires,
		    int64_t now);

/* ---- Freshness and authentication (docs/store.md "Rollback") ---------- */

/*
 * The store generation: a counter that every lifecycle change (install,
 * enable, disable, delete), every raise of an SQN ceiling and every clean
 * stop and start increments once, at the commit of its transaction.  The
 * daemon mirrors it in a TPM NV counter: counter = nv_base + generation
 * once store_anchor_sync() has run after the commit.
 */
int store_generation(struct store *s, uint64_t *ret);
/* Bumps the generation once when the transaction (the caller's if open)
 * commits; *ret_new (may be NULL) gets the value it will have. */
int store_generation_bump(struct store *s, uint64_t *ret_new);
/* The NV counter value that stands for generation 0; -ENOENT before the
 * store was anchored. */
int store_nv_base(struct store *s, uint64_t *ret);

/*
 * A monotonic counter in the TPM (the TRE's NV counter at [tpm]
 * generation_nv_index; one in memory in tests).  read() returns its value,
 * increment() adds one; both return 0 or a negative errno.
 */
struct store_counter {
	int (*read)(void *ctx, uint64_t *ret);
	int (*increment)(void *ctx);
	void *ctx;
};

/* Default SQN ceiling headroom, in SEQ steps (docs/store.md). */
#define STORE_SQN_HEADROOM_DEFAULT 4096u
#define STORE_SQN_HEADROOM_MAX (1u << 28) /* TS 33.102 Annex C delta */

enum store_anchor_verdict {
	STORE_ANCHOR_FRESH = 0,   /* a clean stop: the exact last state */
	STORE_ANCHOR_RAISED = 1,  /* no clean stop (crash, power cut, a copy of
				   * this generation): every SEQ_MS raised to
				   * its profile's SQN ceiling */
	STORE_ANCHOR_NEW = 2,     /* an empty store anchored for the first time */
};

/*
 * At start, before serving (never inside a transaction).  The store's
 * security state (the set of profiles, their states, SQN arrays, SQN
 * ceilings, PIN counters and blobs, the generation and the NV base) is
 * authenticated by an HMAC under a 32-byte state key that only this TPM
 * can unseal (the sealer), and its freshness is anchored in the counter:
 *   - an empty, never anchored store is anchored (state key drawn and
 *     sealed, nv_base recorded, audit "anchor"): STORE_ANCHOR_NEW;
 *   - a store with profiles but no anchor (nv_base, state key or MAC
 *     missing): -EBADMSG ("missing anchor"), never a silent re-anchor;
 *   - counter ahead of nv_base + generation: -ESTALE (an older copy);
 *     counter one behind: the increment lost at a crash is repaired; any
 *     other difference: -EBADMSG;
 *   - a MAC that does not match: -EBADMSG (edited outside mcimd);
 *   - the state key cannot be unsealed (the platform state is not the
 *     approved one): -ENOKEY, and the store is frozen: reads work, any
 *     commit that changes the authenticated state fails with -EACCES;
 *   - otherwise the store is keyed (every later commit rewrites the MAC)
 *     and, unless the last stop was clean (store_anchor_close()), every
 *     SEQ_MS(IND) is raised to its profile's SQN ceiling:
 *     STORE_ANCHOR_RAISED.
 * Refusals are audited ("store-refused") and explained in store_errmsg().
 * headroom (1..STORE_SQN_HEADROOM_MAX): how far above an accepted SEQ the
 * ceiling is set when it has to move (one NV write).
 */
int store_anchor_check(struct store *s, const struct store_counter *c,
		       uint64_t headroom);

/*
 * After every commit that may have bumped the generation (never inside a
 * transaction): increments the counter until it reads nv_base +
 * generation.  Costs no TPM command when nothing was bumped.  The daemon
 * must not answer (RES) nor report success before this returned 0.
 */
int store_anchor_sync(struct store *s, const struct store_counter *c);

/*
 * At a clean stop: records that the state is the exact last one (a bump,
 * synced), so that the next start need not raise SEQ_MS.
 */
int store_anchor_close(struct store *s, const struct store_counter *c);

/*
 * The persistent tamper record (docs/security.md): meta "tampered" = 1,
 * covered by the MAC, with a generation bump (store_anchor_sync() after),
 * so that neither an edit nor an older copy removes it.  Nothing in the
 * store clears it.  -EACCES when the store is frozen.
 */
int store_tamper_record(struct store *s);
int store_tampered(struct store *s, bool *ret);

/* The SQN ceiling of a profile (SEQ units; 0 before its first AUTHENTICATE). */
int store_sqn_ceiling(struct store *s, int64_t id, uint64_t *ret);

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
