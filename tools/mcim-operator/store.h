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

struct op_sho {
	char id[OP_ID_MAX + 1];
	char name[OP_ID_MAX * 2 + 1];
	char pva_url[OP_URL_MAX + 1];
	char dpf_url[OP_URL_MAX + 1];
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

/* states: created -> packaged (a package was issued) -> active (receipt) */
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
};

/*
 * The DPF's decision, one transaction: refuses with -EPERM when a tamper
 * report of the device is outstanding, -EEXIST when a package was built for
 * (device, nonce), -ENXIO when no subscription is assigned to the device
 * (one with its device_id, else the first `created` one of its SHO and
 * subscriber, which it then takes); marks the ticket jti (of this device)
 * used (-ENOENT unknown, -EALREADY used); assigns the device's next
 * sequence number; records the package p (p->sequence and p->iccid are set)
 * and the subscription `packaged`.  On a refusal nothing changes.  -EBUSY:
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
 * The receipt: package (device, sequence) confirmed and its subscription
 * active, with an audit record; -EALREADY confirmed before.
 */
int store_package_confirm(struct store *s, const char *device_id, int64_t sequence, int64_t now,
			  const char *detail);

/* Tamper reports: recorded, outstanding until cleared. */
int store_tamper_add(struct store *s, const char *device_id, int64_t at, int64_t received,
		     const char *reason);
int store_tamper_outstanding(struct store *s, const char *device_id, int64_t *ret_count);
int store_tamper_clear(struct store *s, const char *device_id, int64_t now, int64_t *ret_count);

#endif
