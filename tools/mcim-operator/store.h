/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mcim-operator's store: devices, home operators (SHOs), device models with
 * their reference values, validation sessions, tickets and the audit log.
 * The SQL lives in store.c (schema and migrations in store-schema.c) and runs
 * on every engine db.h offers.  Every single-use rule is a database
 * transaction (UPDATE ... WHERE used = 0 RETURNING), never process memory, so
 * that any server instance can serve any request.
 *
 * Threading: the server's worker threads share one store; every call takes
 * a connection of its pool for one statement or transaction, and retries a
 * bounded number of times when the database says so (store.c).
 *
 * Errors: 0 or a negative errno: -ENOENT no such row, -EEXIST a duplicate,
 * -EALREADY a single-use row already used, -EBUSY retry later (after the
 * store's own retries), -ETIMEDOUT the statement timeout, -EIO and
 * others: store_errmsg() says what.
 */
#ifndef MCIM_OPERATOR_STORE_H
#define MCIM_OPERATOR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct store;

#define OP_ID_MAX 64            /* names: SHO ids, models, subscribers, batches */
#define OP_DEVICE_ID_LEN 64     /* hex SHA-256 */
#define OP_EK_PUBLIC_HEX_MAX 1400 /* hex of a marshalled TPMT_PUBLIC */
#define OP_URL_MAX 256
#define OP_ROOT_PEM_MAX 8192

struct op_sho {
	char id[OP_ID_MAX + 1];
	char name[OP_ID_MAX * 2 + 1];
	char pva_url[OP_URL_MAX + 1];
	char dpf_url[OP_URL_MAX + 1];
	/* A peer operator's root (sho add --root): PEM ("" none) and its sho_id. */
	char root[OP_ROOT_PEM_MAX + 1];
	char root_id[65];
};

struct op_device {
	char id[OP_DEVICE_ID_LEN + 1];
	char ek_type[4];                       /* "rsa" or "ecc" */
	char ek_public[OP_EK_PUBLIC_HEX_MAX + 1]; /* hex TPMT_PUBLIC */
	char ek_ca[OP_DEVICE_ID_LEN + 1];      /* fingerprint of the CA that matched, "" if none */
	char model[OP_ID_MAX + 1];
	char subscriber[OP_ID_MAX + 1];
	char sho[OP_ID_MAX + 1];               /* "" when not assigned */
	char batch[OP_ID_MAX + 1];
	int64_t created;
	/* Highest TPMS_CLOCK_INFO seen in a successful validation. */
	bool clock_known;
	int64_t reset_count, restart_count, clock;
	int64_t validated;                     /* time of the last success, 0 never */
};

struct op_session {
	char id[33];                 /* hex of 16 random bytes */
	char device_id[OP_DEVICE_ID_LEN + 1];
	uint8_t nonce[32];
	uint8_t secret[32];          /* the credential's secret */
	char ak_public[OP_EK_PUBLIC_HEX_MAX + 1]; /* hex TPM2B_PUBLIC */
	char model[OP_ID_MAX + 1];
	int64_t model_version;
	char mode[20];
	int64_t created, expires;
};

/*
 * Opens the store at url (db.h: sqlite:PATH or postgresql://...) and brings
 * its schema to this version (migrations, serialized between processes).
 * store_open_pool keeps `pool` connections for the calling threads to share
 * (PostgreSQL; SQLite always has one); store_open one.
 */
int store_open(const char *url, struct store **ret, char *why, size_t why_size);
int store_open_pool(const char *url, unsigned pool, struct store **ret, char *why,
		    size_t why_size);
void store_close(struct store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct store *, store_close)
/* The calling thread's last error. */
const char *store_errmsg(const struct store *s);
/* Schema version after migrations. */
int store_schema_version(struct store *s, int64_t *ret);
/* "sqlite" or "postgresql". */
const char *store_engine(const struct store *s);
/* 0 when the database answers (readiness). */
int store_ping(struct store *s);
/* Counters since store_open, for the metrics. */
struct store_stats {
	_Atomic uint64_t db_errors; /* statements the database refused or failed */
	_Atomic uint64_t retries;   /* -EBUSY answers retried (serialization, lost connection) */
};
void store_stats_get(struct store *s, struct store_stats *ret);

/* ---- SHOs ---- */
int store_sho_put(struct store *s, const struct op_sho *sho);
int store_sho_get(struct store *s, const char *id, struct op_sho *ret);
typedef int (*store_sho_fn)(const struct op_sho *sho, void *user);
int store_sho_list(struct store *s, store_sho_fn fn, void *user);

/* ---- Device models: versioned reference values (a JSON document) ---- */
/* Adds version `version` of model `name`; -EEXIST unless above the latest. */
int store_model_put(struct store *s, const char *name, int64_t version, const char *body);
/* The latest version (version < 0) or the given one; *ret_body malloc'ed. */
int store_model_get(struct store *s, const char *name, int64_t version, int64_t *ret_version,
		    char **ret_body);
typedef int (*store_model_fn)(const char *name, int64_t version, int64_t created, void *user);
int store_model_list(struct store *s, store_model_fn fn, void *user);

/* ---- Devices ---- */
/*
 * Batch import: store_import_begin(), store_device_add() per device,
 * store_import_commit() (or store_import_abort()): all of the batch or none.
 * store_device_add gives -EEXIST for a device already registered.
 */
int store_import_begin(struct store *s);
int store_device_add(struct store *s, const struct op_device *dev);
/*
 * Sends what store_device_add buffered (PostgreSQL's COPY reports a duplicate
 * only here): -EEXIST with the duplicate device's id in ret_conflict.
 */
int store_import_flush(struct store *s, char ret_conflict[OP_DEVICE_ID_LEN + 1]);
int store_import_commit(struct store *s);
void store_import_abort(struct store *s);

int store_device_get(struct store *s, const char *id, struct op_device *ret);
struct store_device_filter {
	const char *model, *subscriber, *sho, *batch; /* NULL: any */
	bool unassigned;                              /* sho is "" */
	unsigned limit;                               /* 0: no limit */
};
typedef int (*store_device_fn)(const struct op_device *dev, void *user);
int store_device_list(struct store *s, const struct store_device_filter *f,
		      store_device_fn fn, void *user);
/* Sets the SHO of one device (id) or of every device of a batch; *ret_count. */
int store_device_assign(struct store *s, const char *id, const char *batch, const char *sho,
			int64_t *ret_count);

/* ---- Validation sessions (single use) ---- */
int store_session_create(struct store *s, const struct op_session *sess);
/*
 * Marks the session used and returns it, in one statement: -ENOENT no such
 * session, -EALREADY it was used before.  Expiry is the caller's check (the
 * session is consumed either way).
 */
int store_session_consume(struct store *s, const char *id, struct op_session *ret);

/*
 * Records a successful validation: the device's clock info, its ticket (jti,
 * expiry) and an audit record, in one transaction.  -ESTALE: a validation
 * with a later TPM clock was recorded meanwhile (nothing is written).
 */
int store_validation_success(struct store *s, const char *device_id, int64_t now,
			     int64_t reset_count, int64_t restart_count, int64_t clock,
			     const char *jti, int64_t ticket_expires, const char *detail);

/*
 * Records a refused validation of a registered device: its audit record, and
 * every ticket of the device not used yet revoked (used = 2), in one
 * transaction: a platform that failed its latest validation buys no package
 * with a ticket of an earlier one (store_package_issue: -EKEYREVOKED).
 */
int store_validation_refused(struct store *s, int64_t now, const char *device_id,
			     const char *detail);

/* ---- Audit: every decision ---- */
int store_audit(struct store *s, int64_t now, const char *device_id, const char *event,
		const char *result, const char *detail);
typedef int (*store_audit_fn)(int64_t at, const char *device_id, const char *event,
			      const char *result, const char *detail, void *user);
int store_audit_list(struct store *s, const char *device_id, unsigned limit,
		     store_audit_fn fn, void *user);

/* ---- Subscriptions (SHO): docs/operator.md "Subscriptions" ---- */
#define OP_ICCID_MAX 20
#define OP_IMSI_MAX 15

/*
 * states: created -> packaged (a package was issued) -> active (receipt);
 * docs/change-format.md 4: active -> releasing (release issued) -> ended
 * (release report `switched`) or back to active (`fallback`); a package
 * that replaces another operator's: packaged -> active (receipt `switched`)
 * or failed (receipt `fallback`).
 */
struct op_subscription {
	char iccid[OP_ICCID_MAX + 1];
	char imsi[OP_IMSI_MAX + 1];
	char msisdn[OP_IMSI_MAX + 1];          /* "" none */
	char sho[OP_ID_MAX + 1];
	char subscriber[OP_ID_MAX + 1];        /* "" none */
	char device_id[OP_DEVICE_ID_LEN + 1];  /* "" not assigned yet */
	char algorithm[16];
	char state[16];
	char *secrets;  /* hex, sealed with the KEK (kek.h), AAD = iccid; malloc'ed */
	char *profile;  /* the profile template (JSON, no secrets); malloc'ed */
	char pin_refs[33]; /* the profile's PIN key references in order, hex ("01810a") */
	int64_t created, updated;
	int64_t lock_until; /* the contract lock's end (unix time); 0 none */
};
void op_subscription_clear(struct op_subscription *x);

/* -EEXIST when the ICCID or the IMSI exists (pick the next and retry). */
int store_subscription_add(struct store *s, const struct op_subscription *x);
/* The highest IMSI in [first, last] ("" when none). */
int store_subscription_last_imsi(struct store *s, const char *first, const char *last,
				 char ret[OP_IMSI_MAX + 1]);
/* By ICCID or IMSI; -ENOENT. */
int store_subscription_get(struct store *s, const char *iccid_or_imsi, struct op_subscription *ret);
struct store_subscription_filter {
	const char *sho, *device, *subscriber, *state; /* NULL: any */
	unsigned limit;                                /* 0: no limit */
};
typedef int (*store_subscription_fn)(const struct op_subscription *x, void *user);
int store_subscription_list(struct store *s, const struct store_subscription_filter *f,
			    store_subscription_fn fn, void *user);

/* ---- The download (DPF) ---- */
struct op_package {
	char device_id[OP_DEVICE_ID_LEN + 1];
	int64_t sequence;
	char nonce[65];                        /* hex */
	char jti[65];
	char iccid[OP_ICCID_MAX + 1];
	char ak_public[OP_EK_PUBLIC_HEX_MAX + 1]; /* hex TPM2B_PUBLIC of the request's AK */
	char kpd[65];                          /* hex: the approved key PCR digest */
	int64_t issued, expires, confirmed;
	/* docs/change-format.md 4: a package that replaces another operator's */
	char replaces[OP_ICCID_MAX + 1];       /* "" none */
	char consent_id[33], release_id[33];   /* consumed with the ticket; release "" none */
	int64_t consent_expires, release_expires;
	char result[16];                       /* the receipt's: installed, switched, fallback */
	char reason[257];                      /* a fallback's */
};

/*
 * The DPF's decision, one transaction: refuses with -EPERM when a tamper
 * report of the device is outstanding, -EEXIST when a package was built for
 * (device, nonce), -ENXIO when no subscription is assigned to the device
 * (one with its device_id, else the first `created` one of its SHO and
 * subscriber, which it then takes); marks the ticket jti (of this device)
 * used (-ENOENT unknown, -EALREADY used); assigns the device's next
 * sequence number; records the package p (p->sequence and p->iccid are set)
 * and the subscription `packaged`.  With p->replaces set, the consent's
 * and the release's ids are consumed in the same transaction (-EADDRINUSE
 * the consent's was used before, -EADDRNOTAVAIL the release's).  Only a
 * `created` or `packaged` subscription is issued.  On a refusal nothing
 * changes.  -EBUSY:
 * the pool's free subscriptions stayed held by other downloads' claims
 * through the retries (PostgreSQL).
 * *ret_sub gets the subscription (the caller clears it).
 */
int store_package_issue(struct store *s, const char *sho, const char *subscriber,
			struct op_package *p, struct op_subscription *ret_sub);
/* The package (device, sequence); -ENOENT. */
int store_package_get(struct store *s, const char *device_id, int64_t sequence,
		      struct op_package *ret);
/* The device's last package (highest sequence); -ENOENT none. */
int store_package_latest(struct store *s, const char *device_id, struct op_package *ret);
/*
 * The receipt: package (device, sequence) confirmed with result
 * ("installed", "switched": its subscription active; "fallback": failed,
 * reason recorded), with an audit record; -EALREADY confirmed before.
 * The caller checks the result against the package (replaces).
 */
int store_package_confirm(struct store *s, const char *device_id, int64_t sequence, int64_t now,
			  const char *result, const char *reason, const char *detail);

/* Tamper reports: recorded, outstanding until cleared. */
int store_tamper_add(struct store *s, const char *device_id, int64_t at, int64_t received,
		     const char *reason);
int store_tamper_outstanding(struct store *s, const char *device_id, int64_t *ret_count);
int store_tamper_clear(struct store *s, const char *device_id, int64_t now, int64_t *ret_count);

/* ---- Changes of subscription (docs/change-format.md 4) ---- */
#define OP_CERT_B64_MAX 5500 /* base64 of PACKAGE_CERT_MAX bytes */

struct op_subscriber {
	char name[OP_ID_MAX + 1];
	char cert[OP_CERT_B64_MAX + 1]; /* base64 DER */
	char key_id[65];                /* SHA-256 of its SubjectPublicKeyInfo, hex */
	int64_t created;
};
/* -EEXIST when the name exists. */
int store_subscriber_add(struct store *s, const struct op_subscriber *x);
int store_subscriber_get(struct store *s, const char *name, struct op_subscriber *ret);
typedef int (*store_subscriber_fn)(const struct op_subscriber *x, void *user);
int store_subscriber_list(struct store *s, store_subscriber_fn fn, void *user);

/* The contract lock of a subscription, audited; -ENOENT. */
int store_subscription_lock(struct store *s, const char *iccid, int64_t until, int64_t now);

/* A consent (add) or a release (issue) as recorded. */
struct op_token_rec {
	char id[33];
	char device_id[OP_DEVICE_ID_LEN + 1];
	char iccid[OP_ICCID_MAX + 1];
	char to_sho[65];
	char subscriber[OP_ID_MAX + 1]; /* consent: its subscriber; release: the consent's id */
	int64_t issued, expires, added;
};
/* Records a verified consent, audited; -EEXIST the id was recorded before. */
int store_consent_add(struct store *s, const struct op_token_rec *c, int64_t now);
typedef int (*store_token_fn)(const struct op_token_rec *x, void *user);
int store_consent_list(struct store *s, store_token_fn fn, void *user);
/*
 * A release, one transaction: a consent recorded for (device, iccid,
 * to_sho) that has not expired at now (-ENOENT none; its id goes into
 * rel->subscriber), the subscription the device's and `active` or
 * `releasing` (-EPERM), then the release recorded, the subscription
 * `releasing` and an audit record.
 */
int store_release_issue(struct store *s, struct op_token_rec *rel, int64_t now);

/*
 * A release report (POST /v1/dpf/released), one transaction: `switched`
 * ends the device's subscription iccid (from active or releasing) and
 * carries out the DRF's switch order of the device (its SHO becomes the
 * order's, the order is removed); `fallback` puts a releasing one back to
 * active (and removes the order).  -ENOENT no such subscription of the
 * device, -EALREADY already in the state the report asks, -EPERM another
 * state (ret_state says which).  Audited.
 */
int store_release_report(struct store *s, const char *device_id, const char *iccid,
			 const char *result, const char *reason, int64_t now,
			 char ret_state[16]);

/* The DRF's switch order of a device (docs/change-format.md 4). */
struct op_switch_order {
	char device_id[OP_DEVICE_ID_LEN + 1];
	char sho[OP_ID_MAX + 1];
	char *consent, *release; /* base64 DER (malloc'ed); release NULL when none */
	int64_t created;
};
void op_switch_order_clear(struct op_switch_order *o);
/* Records (replaces) the order, audited; -ENOENT no such device or SHO. */
int store_switch_order_put(struct store *s, const struct op_switch_order *o, int64_t now);
int store_switch_order_get(struct store *s, const char *device_id, struct op_switch_order *ret);

#endif
