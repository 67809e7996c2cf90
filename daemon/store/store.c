// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mcimd's store on SQLite.  docs/store.md is the design; store.h the API.
 * This file: open, migrate and close; names and validation; checks,
 * checkpoint and a profile's identity.  The rest, by concern:
 * daemon/store/README.md.
 *
 * Durability: journal_mode=WAL with synchronous=FULL makes every COMMIT
 * fsync the WAL before it returns, so a committed transaction survives a
 * crash or power cut; an uncommitted one leaves no trace.  All writes of
 * one public call are one transaction (or one savepoint inside the
 * caller's transaction).
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

/* ---- names and validation ---------------------------------------------- */

const char *store_class_name(enum store_class c)
{
	return c == STORE_CLASS_PROVISIONING ? "provisioning" : "operational";
}

const char *store_state_name(enum store_state st)
{
	switch (st) {
	case STORE_STATE_INSTALLED:
		return "installed";
	case STORE_STATE_ENABLED:
		return "enabled";
	case STORE_STATE_DISABLED:
		return "disabled";
	}
	return "?";
}

int store_class_from_name(const char *name, enum store_class *ret)
{
	if (!name || !ret)
		return -EINVAL;
	if (!strcmp(name, "provisioning"))
		*ret = STORE_CLASS_PROVISIONING;
	else if (!strcmp(name, "operational"))
		*ret = STORE_CLASS_OPERATIONAL;
	else
		return -EINVAL;
	return 0;
}

bool store_digits_ok(const char *d, size_t min, size_t max, bool allow_f)
{
	size_t n = strlen(d);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(d[i] >= '0' && d[i] <= '9') && !(allow_f && d[i] == 'F'))
			return false;
	return true;
}

/* Exactly n lowercase hex digits (an id: SHA-256, a consent's id). */
bool store_hex_ok(const char *h, size_t n)
{
	if (strlen(h) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(h[i] >= '0' && h[i] <= '9') && !(h[i] >= 'a' && h[i] <= 'f'))
			return false;
	return true;
}

/* Printable UTF-8 text without control characters, at most max bytes. */
bool store_text_ok(const char *t, size_t max)
{
	size_t n = strlen(t);

	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
			return false;
	return true;
}

bool store_kind_ok(const char *k)
{
	size_t n = k ? strlen(k) : 0;

	if (n == 0 || n > STORE_KIND_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') ||
		      k[i] == '-' || k[i] == '_' || k[i] == ':' || k[i] == '.'))
			return false;
	return true;
}

int64_t store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- open, migrate, close ---------------------------------------------- */

static int migrate(struct store *s)
{
	char sql[64];
	int version, r;

	r = store_schema_version(s, &version);
	if (r < 0)
		return r;
	if (version > STORE_SCHEMA_VERSION)
		return store_fail(s, -EPROTO,
			    "store schema version %d is newer than this program's %d",
			    version, STORE_SCHEMA_VERSION);
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	r = store_exec(s, "BEGIN EXCLUSIVE");
	if (r < 0)
		return r;
	/* Read again under the lock: another process may have migrated. */
	r = store_schema_version(s, &version);
	for (int v = version; r >= 0 && v < STORE_SCHEMA_VERSION; v++)
		r = store_exec(s, store_migrations[v]);
	if (r >= 0) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 STORE_SCHEMA_VERSION);
		r = store_exec(s, sql);
	}
	if (r >= 0 && version < STORE_SCHEMA_VERSION) {
		char detail[64];

		snprintf(detail, sizeof(detail), "schema %d -> %d", version,
			 STORE_SCHEMA_VERSION);
		r = store_audit(s, "migrate", NULL, detail);
	}
	return store_tx_end(s, r);
}

int store_schema_version(struct store *s, int *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, "PRAGMA user_version", &st);
	if (r < 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_sqlfail(s, sqlite3_errcode(s->db), "user_version");
	*ret = sqlite3_column_int(st, 0);
	return 0;
}

static int pragma_text(struct store *s, const char *sql, const char *want)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	const char *got;
	int r;

	r = store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_sqlfail(s, sqlite3_errcode(s->db), sql);
	got = (const char *)sqlite3_column_text(st, 0);
	if (!got || strcasecmp(got, want))
		return store_fail(s, -EIO, "%s: got '%s', want '%s'", sql,
			    got ? got : "", want);
	return 0;
}

int store_open(const char *path, const struct store_sealer *sealer,
	       struct store **ret, char *why, size_t why_size)
{
	struct store *s;
	int rc, r, fd;

	if (!path || !ret)
		return -EINVAL;
	if (why && why_size)
		why[0] = 0;
	/* Its own pages, locked and out of core dumps: the state key and the
	 * fingerprint key live here (docs/security.md). */
	if (posix_memalign((void **)&s, (size_t)sysconf(_SC_PAGESIZE), sizeof(*s)))
		return -ENOMEM;
	memset(s, 0, sizeof(*s));
	if (mlock(s, sizeof(*s)) == 0)
		s->locked = true;
	madvise(s, (sizeof(*s) + (size_t)sysconf(_SC_PAGESIZE) - 1) &
		~((size_t)sysconf(_SC_PAGESIZE) - 1), MADV_DONTDUMP);
	if (sealer && sealer->seal && sealer->unseal) {
		s->sealer = *sealer;
		s->has_sealer = true;
	}
	if (RAND_bytes(s->fp_key, sizeof(s->fp_key)) != 1) {
		free(s);
		return -EIO;
	}
	/* Create it 0600 ourselves: SQLite would honour the umask only;
	 * its -wal and -shm files copy the database file's mode. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		if (why && why_size)
			snprintf(why, why_size, "%s: %s", path, strerror(-r));
		store_close(s);
		return r;
	}
	close(fd);
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
				     SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK) {
		r = store_errno_of(rc);
		if (why && why_size)
			snprintf(why, why_size, "%s: %s", path, sqlite3_errstr(rc));
		store_close(s);
		return r;
	}
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_busy_timeout(s->db, 2000);
	r = pragma_text(s, "PRAGMA journal_mode = WAL", "wal");
	if (r >= 0)
		r = store_exec(s, "PRAGMA synchronous = FULL;"
			    "PRAGMA foreign_keys = ON;"
			    "PRAGMA secure_delete = ON;"
			    "PRAGMA temp_store = MEMORY");
	if (r >= 0)
		r = pragma_text(s, "PRAGMA synchronous", "2");
	if (r >= 0)
		r = migrate(s);
	if (r >= 0)
		r = store_anchor_freeze(s);
	if (r < 0) {
		if (why && why_size)
			snprintf(why, why_size, "%s: %s", path, s->err);
		store_close(s);
		return r;
	}
	*ret = s;
	return 0;
}

void store_close(struct store *s)
{
	bool locked;

	if (!s)
		return;
	if (s->db) {
		if (s->in_tx)
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close_v2(s->db);
	}
	if (s->fps)
		OPENSSL_cleanse(s->fps, s->n_fps * sizeof(*s->fps));
	free(s->fps);
	locked = s->locked;
	OPENSSL_cleanse(s, sizeof(*s));
	if (locked)
		munlock(s, sizeof(*s));
	free(s);
}

const char *store_errmsg(const struct store *s)
{
	return s && s->err[0] ? s->err : "no error";
}

/* ---- maintenance ------------------------------------------------------- */

static int check_rows(struct store *s, const char *sql, const char *what)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return store_fail(s, -EBADMSG, "%s: %s", what,
			    sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0)
						       : "(row)");
	return rc == SQLITE_DONE ? 0 : store_sqlfail(s, rc, what);
}

int store_check(struct store *s)
{
	int r;

	if (!s)
		return -EINVAL;
	r = check_rows(s, "SELECT integrity_check FROM pragma_integrity_check"
			  " WHERE integrity_check != 'ok'", "integrity_check");
	if (r >= 0)
		r = check_rows(s, "SELECT \"table\" FROM pragma_foreign_key_check",
			       "foreign_key_check");
	if (r >= 0)
		r = check_rows(s, "SELECT 'more than one enabled profile' FROM (SELECT"
				  " count(*) AS n FROM profiles WHERE state = 1) WHERE n > 1", "profiles");
	/* A profile is whole: every file, record, PIN, SQN entry and the
	 * sealed OPc are there (install is one transaction). */
	if (r >= 0)
		r = check_rows(s, "SELECT 'profile ' || iccid || ': files' FROM profiles p"
				  " WHERE n_files != (SELECT count(*) FROM files f"
				  " WHERE f.profile_id = p.id)", "profiles");
	if (r >= 0)
		r = check_rows(s, "SELECT 'profile ' || p.iccid || ': records of ' || f.path"
				  " FROM files f JOIN profiles p ON p.id = f.profile_id"
				  " WHERE f.kind IN (4, 5) AND f.rec_count != (SELECT count(*)"
				  " FROM records r WHERE r.profile_id = f.profile_id"
				  " AND r.idx = f.idx)", "records");
	if (r >= 0)
		r = check_rows(s, "SELECT 'profile ' || iccid || ': PINs' FROM profiles p"
				  " WHERE n_pins != (SELECT count(*) FROM pins x"
				  " WHERE x.profile_id = p.id) OR n_pins != (SELECT count(*)"
				  " FROM blobs b WHERE b.profile_id = p.id AND b.kind"
				  " LIKE 'pin:%')", "pins");
	if (r >= 0)
		r = check_rows(s, "SELECT 'profile ' || iccid || ': SQN array' FROM profiles p"
				  " WHERE (1 << sqn_ind_bits) != (SELECT count(*) FROM sqn q"
				  " WHERE q.profile_id = p.id)", "sqn");
	if (r >= 0)
		r = check_rows(s, "SELECT 'profile ' || iccid || ': no sealed OPc' FROM"
				  " profiles p WHERE NOT EXISTS (SELECT 1 FROM blobs b"
				  " WHERE b.profile_id = p.id AND b.kind = 'opc')", "opc");
	return r;
}

int store_checkpoint(struct store *s)
{
	int rc;

	if (!s || s->in_tx)
		return -EINVAL;
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
				       NULL);
	if (rc == SQLITE_BUSY)
		return store_fail(s, -EBUSY, "checkpoint: the WAL is in use");
	return rc == SQLITE_OK ? 0 : store_sqlfail(s, rc, "checkpoint");
}

/* ---- identity ---------------------------------------------------------- */

static int find_usim_adf(const struct usim_profile *p)
{
	/* TS 101 220 Annex E: 3GPP RID A000000087, USIM application 1002. */
	static const uint8_t usim_aid[] = { 0xa0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02 };

	for (size_t i = 1; i < p->n_files; i++)
		if (p->files[i].kind == USIM_FILE_ADF &&
		    p->files[i].aid_len >= sizeof(usim_aid) &&
		    !memcmp(p->files[i].aid, usim_aid, sizeof(usim_aid)))
			return (int)i;
	return -ENOENT;
}

static int child(const struct usim_profile *p, int parent, uint16_t fid)
{
	for (size_t i = 1; i < p->n_files; i++)
		if (p->files[i].parent == parent && p->files[i].fid == fid)
			return (int)i;
	return -ENOENT;
}

int store_profile_identity(const struct usim_profile *p,
			   char ret_iccid[STORE_ICCID_MAX + 1],
			   char ret_imsi[STORE_IMSI_MAX + 1])
{
	static const char hexd[] = "0123456789ABCDEF";
	const struct usim_file *f;
	int i;

	if (!p)
		return -EINVAL;
	if (ret_iccid) {
		size_t n = 0;

		i = child(p, 0, USIM_FID_ICCID);
		if (i < 0)
			return -ENOENT;
		f = &p->files[i];
		if (f->kind != USIM_FILE_EF_TRANSPARENT || f->size != 10)
			return -EINVAL;
		/* TS 102 221 13.2: BCD, low nibble first; F pads. */
		for (unsigned k = 0; k < 10; k++) {
			uint8_t lo = f->data[k] & 0x0f, hi = f->data[k] >> 4;

			if (lo == 0xf)
				break;
			if (lo > 9)
				return -EINVAL;
			ret_iccid[n++] = hexd[lo];
			if (hi == 0xf)
				break;
			if (hi > 9)
				return -EINVAL;
			ret_iccid[n++] = hexd[hi];
		}
		ret_iccid[n] = 0;
		if (n == 0)
			return -EINVAL;
	}
	if (ret_imsi) {
		size_t n = 0, len;
		int adf = find_usim_adf(p);

		if (adf < 0)
			return -ENOENT;
		i = child(p, adf, 0x6f07);
		if (i < 0)
			return -ENOENT;
		f = &p->files[i];
		/* TS 31.102 4.2.2: length, then digit 1 with the parity/type
		 * nibble, then two digits per byte, low nibble first. */
		if (f->kind != USIM_FILE_EF_TRANSPARENT || f->size != 9)
			return -EINVAL;
		len = f->data[0];
		if (len < 1 || len > 8 || (f->data[1] & 0x07) != 0x01)
			return -EINVAL;
		ret_imsi[n++] = hexd[f->data[1] >> 4];
		for (size_t k = 2; k <= len; k++) {
			uint8_t lo = f->data[k] & 0x0f, hi = f->data[k] >> 4;

			if (lo > 9)
				return -EINVAL;
			ret_imsi[n++] = hexd[lo];
			if (hi == 0xf && k == len)
				break;
			if (hi > 9)
				return -EINVAL;
			ret_imsi[n++] = hexd[hi];
		}
		ret_imsi[n] = 0;
		if (ret_imsi[0] > '9' || n < 6)
			return -EINVAL;
	}
	return 0;
}
