// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mcimd's store on SQLite.  docs/store.md is the design; store.h the API.
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

static bool digits_ok(const char *d, size_t min, size_t max, bool allow_f)
{
	size_t n = strlen(d);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(d[i] >= '0' && d[i] <= '9') && !(allow_f && d[i] == 'F'))
			return false;
	return true;
}

/* Printable UTF-8 text without control characters, at most max bytes. */
static bool text_ok(const char *t, size_t max)
{
	size_t n = strlen(t);

	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
			return false;
	return true;
}

static bool kind_ok(const char *k)
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

static int64_t now_ms(void)
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

/* ---- audit and generation ---------------------------------------------- */

int store_audit(struct store *s, const char *event, const char *iccid,
		const char *detail)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if (!s || !kind_ok(event) || (iccid && !text_ok(iccid, STORE_ICCID_MAX)))
		return -EINVAL;
	if (detail && !text_ok(detail, STORE_DETAIL_MAX))
		return store_fail(s, -EINVAL, "audit detail too long or not text");
	r = store_prepare(s, "INSERT INTO audit(time_ms, event, iccid, detail)"
		       " VALUES (?, ?, ?, ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, now_ms());
	sqlite3_bind_text(st, 2, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, iccid ? iccid : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, detail ? detail : "", -1, SQLITE_STATIC);
	r = store_step_done(s, st, "audit");
	if (r < 0)
		return r;
	/* Bounded: keep the last STORE_AUDIT_KEEP entries. */
	if (sqlite3_last_insert_rowid(s->db) % 100 == 0) {
		_cleanup_stmt_ sqlite3_stmt *del = NULL;

		r = store_prepare(s, "DELETE FROM audit WHERE seq <= ?", &del);
		if (r < 0)
			return r;
		sqlite3_bind_int64(del, 1, sqlite3_last_insert_rowid(s->db) -
						   STORE_AUDIT_KEEP);
		r = store_step_done(s, del, "audit prune");
	}
	return r;
}

int store_audit_list(struct store *s, size_t max, struct store_audit_entry **ret,
		     size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ struct store_audit_entry *v = NULL;
	size_t n = 0;
	int r, rc;

	if (!s || !ret || !ret_n || max > STORE_AUDIT_KEEP)
		return -EINVAL;
	r = store_prepare(s, "SELECT seq, time_ms, event, iccid, detail FROM"
		       " (SELECT * FROM audit ORDER BY seq DESC LIMIT ?)"
		       " ORDER BY seq", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	v = calloc(max ? max : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
		struct store_audit_entry *e = &v[n++];

		e->seq = sqlite3_column_int64(st, 0);
		e->time_ms = sqlite3_column_int64(st, 1);
		snprintf(e->event, sizeof(e->event), "%s", sqlite3_column_text(st, 2));
		snprintf(e->iccid, sizeof(e->iccid), "%s", sqlite3_column_text(st, 3));
		snprintf(e->detail, sizeof(e->detail), "%s", sqlite3_column_text(st, 4));
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_sqlfail(s, rc, "audit list");
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

/* ---- sealed secrets ---------------------------------------------------- */

static int seal_put(struct store *s, int64_t id, const char *kind,
		    const uint8_t *secret, size_t len)
{
	uint8_t blob[STORE_BLOB_MAX];
	size_t blob_len = 0;
	int r;

	if (!s->has_sealer)
		return store_fail(s, -ENOKEY, "no sealer: cannot store secrets");
	r = s->sealer.seal(s->sealer.ctx, secret, len, blob, sizeof(blob),
			   &blob_len);
	if (r < 0)
		return store_fail(s, r, "sealing %s: %s", kind, strerror(-r));
	if (blob_len > sizeof(blob))
		return store_fail(s, -EOVERFLOW, "sealer overflowed");
	return store_blob_put(s, id, kind, blob, blob_len);
}

static int unseal_get(struct store *s, int64_t id, const char *kind,
		      uint8_t *secret, size_t max, size_t *ret_len)
{
	_cleanup_free_ uint8_t *blob = NULL;
	size_t blob_len;
	int r;

	if (!s->has_sealer)
		return store_fail(s, -ENOKEY, "no sealer: cannot read secrets");
	r = store_blob_get(s, id, kind, &blob, &blob_len);
	if (r < 0)
		return r == -ENOENT ? store_fail(s, -EBADMSG, "profile %" PRId64
					   " has no %s blob", id, kind) : r;
	r = s->sealer.unseal(s->sealer.ctx, blob, blob_len, secret, max, ret_len);
	if (r < 0)
		return store_fail(s, r, "unsealing %s: %s", kind, strerror(-r));
	return 0;
}

static void pin_kind(char *buf, size_t size, uint8_t key_ref)
{
	snprintf(buf, size, STORE_BLOB_PIN_PREFIX "%02x", key_ref);
}

/* value || puk, the secret part of a PIN. */
static void pin_secret(const struct usim_pin *pin, uint8_t out[2 * USIM_PIN_LEN])
{
	memcpy(out, pin->value, USIM_PIN_LEN);
	memcpy(out + USIM_PIN_LEN, pin->puk, USIM_PIN_LEN);
}

static int pin_fingerprint(struct store *s, const struct usim_pin *pin,
			   uint8_t fp[FP_LEN])
{
	uint8_t sec[2 * USIM_PIN_LEN];
	size_t len = 0;
	int r = 0;

	pin_secret(pin, sec);
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, s->fp_key,
		       sizeof(s->fp_key), sec, sizeof(sec), fp, FP_LEN, &len) ||
	    len != FP_LEN)
		r = -EIO;
	OPENSSL_cleanse(sec, sizeof(sec));
	return r;
}

static struct pin_fp *fp_find(struct store *s, int64_t id, uint8_t key_ref)
{
	for (size_t i = 0; i < s->n_fps; i++)
		if (s->fps[i].id == id && s->fps[i].key_ref == key_ref)
			return &s->fps[i];
	return NULL;
}

static void fp_forget(struct store *s, int64_t id)
{
	size_t j = 0;

	for (size_t i = 0; i < s->n_fps; i++)
		if (s->fps[i].id != id)
			s->fps[j++] = s->fps[i];
	s->n_fps = j;
}

/* Remembers what is committed for (id, key_ref); failures just forget. */
static void fp_set(struct store *s, int64_t id, const uint8_t *key_ref_fp,
		   uint8_t key_ref)
{
	struct pin_fp *f = fp_find(s, id, key_ref);

	if (!f) {
		struct pin_fp *n = reallocarray(s->fps, s->n_fps + 1, sizeof(*n));

		if (!n)
			return;
		s->fps = n;
		f = &s->fps[s->n_fps++];
		f->id = id;
		f->key_ref = key_ref;
	}
	memcpy(f->fp, key_ref_fp, FP_LEN);
}

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

static bool is_record_ef(enum usim_file_kind k)
{
	return k == USIM_FILE_EF_LINEAR || k == USIM_FILE_EF_CYCLIC;
}

static bool is_ef(enum usim_file_kind k)
{
	return k == USIM_FILE_EF_TRANSPARENT || is_record_ef(k);
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
		if (is_record_ef(f->kind) &&
		    (uint32_t)f->rec_len * f->rec_count != f->size)
			return store_fail(s, -EINVAL, "files[%zu]: size is not records", i);
		if (is_ef(f->kind) && f->size && !f->data)
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
		if (!is_record_ef(f->kind))
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

static int install_pins(struct store *s, int64_t id, const struct usim_profile *p)
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
		pin_kind(kind, sizeof(kind), pin->key_ref);
		pin_secret(pin, sec);
		r = seal_put(s, id, kind, sec, sizeof(sec));
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
		       " sqn_limit_l, n_files, n_pins)"
		       " VALUES (?,?,?,0,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st);
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
	rc = sqlite3_step(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return store_fail(s, -EEXIST, "ICCID %s is already installed", m->iccid);
	if (rc != SQLITE_DONE)
		return store_sqlfail(s, rc, "profile");
	*ret_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int count_profiles(struct store *s, int64_t *ret)
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

	r = count_profiles(s, &n);
	if (r < 0)
		return r;
	if (n >= STORE_MAX_PROFILES)
		return store_fail(s, -ENOSPC, "%d profiles installed already",
			    STORE_MAX_PROFILES);
	r = install_row(s, meta, p, &id);
	if (r >= 0)
		r = install_files(s, id, p);
	if (r >= 0)
		r = install_pins(s, id, p);
	if (r >= 0)
		r = install_sqn(s, id, p);
	if (r >= 0) {
		if (p->aka.algo == AKA_ALGO_MILENAGE)
			r = seal_put(s, id, STORE_BLOB_OPC, p->aka.milenage.opc,
				     AKA_OPC_LEN);
		else
			r = seal_put(s, id, STORE_BLOB_OPC, p->aka.tuak.topc,
				     AKA_TOPC_LEN);
	}
	for (size_t i = 0; r >= 0 && i < n_blobs; i++)
		r = store_blob_put(s, id, blobs[i].kind, blobs[i].data, blobs[i].len);
	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "class=%s imsi=%s files=%zu pins=%zu",
		 store_class_name(meta->cls), meta->imsi ? meta->imsi : "",
		 p->n_files, p->n_pins);
	r = store_audit(s, "install", meta->iccid, detail);
	if (r >= 0)
		store_mark_bump(s);
	if (r >= 0)
		*ret_id = id;
	return r;
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
	if (!meta->iccid || !digits_ok(meta->iccid, 1, STORE_ICCID_MAX, true))
		return store_fail(s, -EINVAL, "ICCID must be 1..%d digits", STORE_ICCID_MAX);
	if (meta->imsi && *meta->imsi && !digits_ok(meta->imsi, 6, STORE_IMSI_MAX, false))
		return store_fail(s, -EINVAL, "IMSI must be 6..%d digits", STORE_IMSI_MAX);
	if ((meta->nickname && !text_ok(meta->nickname, STORE_NAME_MAX)) ||
	    (meta->operator_name && !text_ok(meta->operator_name, STORE_NAME_MAX)))
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
		if (!kind_ok(blobs[i].kind) || blobs[i].len > STORE_BLOB_MAX ||
		    (blobs[i].len && !blobs[i].data))
			return store_fail(s, -EINVAL, "blob %zu: bad kind or size", i);
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
	" changed_at, n_files, n_pins, algo"

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
		fp_forget(s, id);
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
	if (nickname && !text_ok(nickname, STORE_NAME_MAX))
		return store_fail(s, -EINVAL, "nickname: at most %d printable bytes",
			    STORE_NAME_MAX);
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	return store_tx_end(s, nickname_tx(s, id, nickname));
}

/* ---- blobs ------------------------------------------------------------- */

static int blob_put(struct store *s, const char *sql, int64_t id, bool with_id,
		    const char *kind, const uint8_t *data, size_t len)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, i = 1;

	if (!kind_ok(kind) || len > STORE_BLOB_MAX || (len && !data))
		return store_fail(s, -EINVAL, "blob: bad kind or size");
	r = store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	if (with_id)
		sqlite3_bind_int64(st, i++, id);
	sqlite3_bind_text(st, i++, kind, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, i, len ? (const void *)data : "", (int)len, SQLITE_STATIC);
	r = sqlite3_step(st);
	if ((r & 0xff) == SQLITE_CONSTRAINT)
		return store_fail(s, -ENOENT, "no such profile");
	return r == SQLITE_DONE ? 0 : store_sqlfail(s, r, "blob");
}

static int blob_get(struct store *s, const char *sql, int64_t id, bool with_id,
		    const char *kind, uint8_t **ret, size_t *ret_len)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	const void *d;
	size_t n;
	int r, rc, i = 1;

	if (!kind_ok(kind) || !ret || !ret_len)
		return -EINVAL;
	r = store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	if (with_id)
		sqlite3_bind_int64(st, i++, id);
	sqlite3_bind_text(st, i, kind, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return store_fail(s, -ENOENT, "no blob %s", kind);
	if (rc != SQLITE_ROW)
		return store_sqlfail(s, rc, "blob");
	d = sqlite3_column_blob(st, 0);
	n = (size_t)sqlite3_column_bytes(st, 0);
	if (n > STORE_BLOB_MAX)
		return store_fail(s, -EBADMSG, "blob %s too large", kind);
	*ret = malloc(n ? n : 1);
	if (!*ret)
		return -ENOMEM;
	if (n)
		memcpy(*ret, d, n);
	*ret_len = n;
	return 0;
}

int store_blob_put(struct store *s, int64_t id, const char *kind,
		   const uint8_t *data, size_t len)
{
	if (!s)
		return -EINVAL;
	return blob_put(s, "INSERT OR REPLACE INTO blobs(profile_id, kind, data)"
			   " VALUES (?,?,?)", id, true, kind, data, len);
}

int store_blob_get(struct store *s, int64_t id, const char *kind, uint8_t **ret,
		   size_t *ret_len)
{
	if (!s)
		return -EINVAL;
	return blob_get(s, "SELECT data FROM blobs WHERE profile_id = ? AND kind = ?",
			id, true, kind, ret, ret_len);
}

int store_blob_delete(struct store *s, int64_t id, const char *kind)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if (!s || !kind_ok(kind))
		return -EINVAL;
	r = store_prepare(s, "DELETE FROM blobs WHERE profile_id = ? AND kind = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	r = store_step_done(s, st, "blob delete");
	if (r >= 0 && sqlite3_changes(s->db) == 0)
		return store_fail(s, -ENOENT, "no blob %s", kind);
	return r;
}

int store_device_blob_put(struct store *s, const char *kind, const uint8_t *data,
			  size_t len)
{
	if (!s)
		return -EINVAL;
	return blob_put(s, "INSERT OR REPLACE INTO device_blobs(kind, data) VALUES (?,?)",
			0, false, kind, data, len);
}

int store_device_blob_get(struct store *s, const char *kind, uint8_t **ret,
			  size_t *ret_len)
{
	if (!s)
		return -EINVAL;
	return blob_get(s, "SELECT data FROM device_blobs WHERE kind = ?", 0, false,
			kind, ret, ret_len);
}

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
		} else if (is_record_ef(spec.kind)) {
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
		pin_kind(kind, sizeof(kind), pin.key_ref);
		r = unseal_get(s, id, kind, sec, sizeof(sec), &len);
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
		if (r >= 0 && cache && pin_fingerprint(s, &pin, fp) >= 0)
			fp_set(s, id, fp, pin.key_ref);
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
	r = unseal_get(s, id, STORE_BLOB_OPC, sec, sizeof(sec), &len);
	if (r >= 0 && len != want)
		r = store_fail(s, -EBADMSG, "OPc: unsealed %zu bytes", len);
	if (r >= 0)
		memcpy(p->aka.algo == AKA_ALGO_MILENAGE ? p->aka.milenage.opc
							 : p->aka.tuak.topc,
		       sec, want);
	OPENSSL_cleanse(sec, sizeof(sec));
	return r;
}

int store_profile_load(struct store *s, int64_t id, struct usim_profile **ret)
{
	_cleanup_(usim_profile_freep) struct usim_profile *p = NULL;
	size_t n_files = 0, n_pins = 0;
	bool own_tx;
	int r;

	if (!s || !ret)
		return -EINVAL;
	if (!s->has_sealer)
		return store_fail(s, -ENOKEY, "no sealer: cannot read secrets");
	r = usim_profile_new(&p);
	if (r < 0)
		return r;
	/* One read transaction: a consistent snapshot of the profile. */
	own_tx = !s->in_tx;
	if (own_tx) {
		r = store_exec(s, "BEGIN");
		if (r < 0)
			return r;
	}
	r = load_row(s, id, p, &n_files, &n_pins);
	if (r >= 0)
		r = load_files(s, id, p, n_files);
	if (r >= 0)
		r = load_pins(s, id, p, n_pins, own_tx);
	if (r >= 0)
		r = load_sqn(s, id, p);
	if (r >= 0)
		r = load_secret_params(s, id, p);
	if (own_tx)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}

/* ---- change records ---------------------------------------------------- */

static int apply_ef(struct store *s, int64_t id, const struct usim_profile *p,
		    const struct usim_change *c)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	const struct usim_file *f;
	int r;

	if (c->index >= p->n_files || !is_ef(p->files[c->index].kind))
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
	r = pin_fingerprint(s, pin, fp);
	if (r < 0)
		return r;
	known = fp_find(s, id, pin->key_ref);
	if (!known || CRYPTO_memcmp(known->fp, fp, FP_LEN)) {
		uint8_t sec[2 * USIM_PIN_LEN];
		char kind[STORE_KIND_MAX + 1];

		pin_kind(kind, sizeof(kind), pin->key_ref);
		pin_secret(pin, sec);
		r = seal_put(s, id, kind, sec, sizeof(sec));
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
		fp_forget(s, id);
	r = store_tx_end(s, r);
	if (r >= 0 && outer)
		for (size_t i = 0; i < n_pend; i++)
			fp_set(s, id, pend[i].fp, pend[i].key_ref);
	OPENSSL_cleanse(pend, sizeof(pend));
	return r;
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
