// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The store's freshness and authentication (docs/store.md "Rollback"):
 * the generation mirrored in a TPM NV counter, the state MAC under a key
 * only this TPM can unseal, the per-profile SQN ceilings that make a
 * restore of the current generation harmless (TS 33.102 6.3.3 and C.2:
 * no SQN already accepted can be accepted again), and the clean-stop mark.
 *
 * What the MAC covers (state_digest()): meta generation, nv_base, clean,
 * tampered;
 * per profile its id, ICCID, class, state, algorithm, SQN settings and
 * ceiling, its expiry when it has one; every SEQ_MS(IND); every PIN's
 * counters and flags; every profile blob (K, OPc, PIN values, operator
 * policy); the sealed state key; the last accepted package sequence;
 * what an operator package recorded (sho_id, subscriber name and key,
 * lock, replaces) and the consent and release ids accepted (schema 4).
 * Expiries, the package sequence and the records of schema 4 feed the
 * digest only when present, so that a store written before they existed
 * keeps its MAC.  Not covered:
 * EF contents, nicknames, the audit log, other device blobs (the SRK name
 * is checked against the TPM, the local policy is signed).
 */
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon/store/store-internal.h"

#define STATE_KEY_BLOB "state-key"
#define STATE_MAC_BLOB "state-mac"
#define MAC_LABEL "mcim-store-state-v1"

/* ---- generation ---------------------------------------------------------- */

static int meta_get(struct store *s, const char *key, uint64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_prepare(s, "SELECT value FROM meta WHERE key = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return store_sqlfail(s, rc, key);
	*ret = (uint64_t)sqlite3_column_int64(st, 0);
	return 0;
}

static int meta_set(struct store *s, const char *key, uint64_t v)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if (v > INT64_MAX)
		return store_fail(s, -EINVAL, "meta %s out of range", key);
	r = store_prepare(s, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)v);
	return store_step_done(s, st, key);
}

int store_generation(struct store *s, uint64_t *ret)
{
	int r;

	if (!s || !ret)
		return -EINVAL;
	r = meta_get(s, "generation", ret);
	return r == -ENOENT ? store_fail(s, -EBADMSG, "no generation in meta") : r;
}

void store_mark_bump(struct store *s)
{
	s->bump_pending = true;
}

int store_generation_bump(struct store *s, uint64_t *ret_new)
{
	uint64_t g;
	int r;

	if (!s)
		return -EINVAL;
	r = store_generation(s, &g);
	if (r < 0)
		return r;
	if (ret_new)
		*ret_new = g + 1;
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	store_mark_bump(s);
	return store_tx_end(s, 0);
}

int store_nv_base(struct store *s, uint64_t *ret)
{
	int r;

	if (!s || !ret)
		return -EINVAL;
	r = meta_get(s, "nv_base", ret);
	return r == -ENOENT ? store_fail(s, -ENOENT, "no NV base recorded") : r;
}

/* ---- the state digest and MAC -------------------------------------------- */

static const char *const covered[] = {
	"SELECT key, value FROM meta WHERE key IN ('generation', 'nv_base', 'clean', 'tampered')"
	" UNION ALL SELECT 'expires:' || id, expires FROM profiles WHERE expires != 0"
	" UNION ALL SELECT 'sho:' || id, sho_id FROM profiles WHERE sho_id != ''"
	" UNION ALL SELECT 'subscriber:' || id, subscriber FROM profiles WHERE subscriber != ''"
	" UNION ALL SELECT 'subscriber-key:' || id, subscriber_key FROM profiles"
	"  WHERE subscriber_key != ''"
	" UNION ALL SELECT 'lock:' || id, lock_until FROM profiles WHERE lock_until != 0"
	" UNION ALL SELECT 'replaces:' || id, replaces FROM profiles WHERE replaces != ''"
	" UNION ALL SELECT 'token:' || kind || ':' || id, expires FROM tokens"
	" ORDER BY 1",
	"SELECT id, iccid, class, state, algo, sqn_ind_bits, sqn_delta, sqn_limit_l,"
	" sqn_ceiling FROM profiles ORDER BY id",
	"SELECT profile_id, ind, seq_ms FROM sqn ORDER BY profile_id, ind",
	"SELECT profile_id, key_ref, pos, enabled, use_upin, has_puk, can_disable,"
	" max_tries, tries_left, puk_max_tries, puk_tries_left FROM pins"
	" ORDER BY profile_id, key_ref",
	"SELECT profile_id, kind, data FROM blobs ORDER BY profile_id, kind",
	"SELECT kind, data FROM device_blobs WHERE kind IN ('" STATE_KEY_BLOB "', '"
	STORE_PACKAGE_SEQ_BLOB "') OR kind LIKE '" STORE_PACKAGE_SEQ_PREFIX "%' ORDER BY kind",
};

static int feed(EVP_MD_CTX *md, const void *p, size_t n)
{
	return EVP_DigestUpdate(md, p, n) == 1 ? 0 : -EIO;
}

static int feed_u64(EVP_MD_CTX *md, uint64_t v)
{
	uint8_t b[8];

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	return feed(md, b, sizeof(b));
}

/* Every row of one query, each column typed and length-prefixed. */
static int feed_query(struct store *s, EVP_MD_CTX *md, unsigned tag, const char *sql)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	uint64_t rows = 0;
	int r, rc;

	r = store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	r = feed_u64(md, tag);
	while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int n = sqlite3_column_count(st);

		rows++;
		for (int i = 0; r >= 0 && i < n; i++) {
			int type = sqlite3_column_type(st, i);

			r = feed_u64(md, (uint64_t)type);
			if (r < 0)
				break;
			if (type == SQLITE_INTEGER) {
				r = feed_u64(md, (uint64_t)sqlite3_column_int64(st, i));
			} else if (type != SQLITE_NULL) {
				const void *p = type == SQLITE_TEXT
							? (const void *)sqlite3_column_text(st, i)
							: sqlite3_column_blob(st, i);
				size_t len = (size_t)sqlite3_column_bytes(st, i);

				r = feed_u64(md, len);
				if (r >= 0 && len)
					r = feed(md, p, len);
			}
		}
	}
	if (r < 0)
		return r;
	if (rc != SQLITE_DONE)
		return store_sqlfail(s, rc, "state digest");
	return feed_u64(md, rows);
}

static int state_digest(struct store *s, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned len = 0;
	int r = 0;

	if (!md)
		return -ENOMEM;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		r = -EIO;
	if (r >= 0)
		r = feed(md, MAC_LABEL, sizeof(MAC_LABEL));
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(covered); i++)
		r = feed_query(s, md, i, covered[i]);
	if (r >= 0 && (EVP_DigestFinal_ex(md, out, &len) != 1 || len != 32))
		r = -EIO;
	EVP_MD_CTX_free(md);
	return r < 0 && r != -EIO ? r : r < 0 ? store_fail(s, r, "state digest failed") : 0;
}

static int state_mac(struct store *s, uint8_t out[32])
{
	uint8_t d[32];
	size_t len = 0;
	int r = state_digest(s, d);

	if (r < 0)
		return r;
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, s->state_key, sizeof(s->state_key),
		       d, sizeof(d), out, 32, &len) || len != 32)
		return store_fail(s, -EIO, "state MAC failed");
	return 0;
}

static int device_blob_exists(struct store *s, const char *kind, bool *ret)
{
	_cleanup_free_ uint8_t *b = NULL;
	size_t len;
	int r = store_device_blob_get(s, kind, &b, &len);

	if (r < 0 && r != -ENOENT)
		return r;
	*ret = r == 0;
	return 0;
}

int store_precommit(struct store *s)
{
	uint8_t v[32];
	int r;

	if (s->bump_pending) {
		s->bump_pending = false;
		r = store_exec(s, "UPDATE meta SET value = value + 1 WHERE key = 'generation'");
		if (r < 0)
			return r;
	}
	if (s->keyed) {
		r = state_mac(s, v);
		if (r >= 0)
			r = store_device_blob_put(s, STATE_MAC_BLOB, v, sizeof(v));
		return r;
	}
	if (s->frozen) {
		r = state_digest(s, v);
		if (r < 0)
			return r;
		if (CRYPTO_memcmp(v, s->frozen_digest, sizeof(v)))
			return store_fail(s, -EACCES, "the store's state key is not available "
				    "(the platform state is not the approved one): "
				    "profile and card state cannot change");
	}
	return 0;
}

/* ---- SQN ceilings -------------------------------------------------------- */

int store_sqn_ceiling(struct store *s, int64_t id, uint64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	if (!s || !ret)
		return -EINVAL;
	r = store_prepare(s, "SELECT sqn_ceiling FROM profiles WHERE id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return store_fail(s, -ENOENT, "no profile %" PRId64, id);
	if (rc != SQLITE_ROW)
		return store_sqlfail(s, rc, "sqn_ceiling");
	*ret = (uint64_t)sqlite3_column_int64(st, 0);
	return 0;
}

int store_sqn_cover(struct store *s, int64_t id, uint64_t seq, unsigned ind_bits)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	uint64_t ceiling, max = (UINT64_C(1) << (48 - ind_bits)) - 1;
	int r;

	if (!s->headroom)
		return 0;
	r = store_sqn_ceiling(s, id, &ceiling);
	if (r < 0 || seq <= ceiling)
		return r;
	/* The ceiling must cover every SEQ ever answered (TS 33.102 C.2.2):
	 * it moves before the answer, in the same commit, with a bump. */
	ceiling = seq > max - s->headroom ? max : seq + s->headroom;
	r = store_prepare(s, "UPDATE profiles SET sqn_ceiling = ? WHERE id = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)ceiling);
	sqlite3_bind_int64(st, 2, id);
	r = store_step_done(s, st, "sqn_ceiling");
	if (r >= 0)
		store_mark_bump(s);
	return r;
}

/* ---- the anchor ---------------------------------------------------------- */

static int refuse(struct store *s, int r, const char *fmt, ...) _printf_(3, 4);
static int refuse(struct store *s, int r, const char *fmt, ...)
{
	char why[STORE_DETAIL_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	s->keyed = false;
	store_audit(s, "store-refused", NULL, why); /* not covered by the MAC */
	return store_fail(s, r, "%s", why);
}

static int load_key(struct store *s)
{
	_cleanup_free_ uint8_t *blob = NULL;
	size_t blob_len, len = 0;
	int r;

	if (!s->has_sealer)
		return store_fail(s, -ENOKEY, "no sealer: the state key cannot be unsealed");
	r = store_device_blob_get(s, STATE_KEY_BLOB, &blob, &blob_len);
	if (r < 0)
		return r;
	r = s->sealer.unseal(s->sealer.ctx, blob, blob_len, s->state_key,
			     sizeof(s->state_key), &len);
	if (r < 0 || len != sizeof(s->state_key)) {
		OPENSSL_cleanse(s->state_key, sizeof(s->state_key));
		return store_fail(s, -ENOKEY, "unsealing the state key: %s",
				  strerror(r < 0 ? -r : EBADMSG));
	}
	return 0;
}

/* First use of an empty store: a fresh key, generation 0 = the counter now. */
static int anchor_new(struct store *s, uint64_t nv)
{
	uint8_t blob[STORE_BLOB_MAX];
	size_t blob_len = 0;
	char detail[48];
	int r;

	if (!s->has_sealer)
		return store_fail(s, -ENOKEY, "no sealer: cannot anchor the store");
	if (nv > INT64_MAX)
		return store_fail(s, -ERANGE, "generation counter out of range");
	if (RAND_priv_bytes(s->state_key, sizeof(s->state_key)) != 1)
		return store_fail(s, -EIO, "no random state key");
	r = s->sealer.seal(s->sealer.ctx, s->state_key, sizeof(s->state_key), blob,
			   sizeof(blob), &blob_len);
	if (r < 0)
		return store_fail(s, r, "sealing the state key: %s", strerror(-r));
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	r = meta_set(s, "generation", 0);
	if (r >= 0)
		r = meta_set(s, "nv_base", nv);
	if (r >= 0)
		r = meta_set(s, "clean", 0);
	if (r >= 0)
		r = store_device_blob_put(s, STATE_KEY_BLOB, blob, blob_len);
	snprintf(detail, sizeof(detail), "nv_base=%" PRIu64, nv);
	if (r >= 0)
		r = store_audit(s, "anchor", NULL, detail);
	s->keyed = true;
	r = store_tx_end(s, r);
	if (r < 0)
		s->keyed = false;
	return r;
}

int store_anchor_check(struct store *s, const struct store_counter *c, uint64_t headroom)
{
	_cleanup_free_ uint8_t *mac = NULL;
	uint64_t gen, nv, base, clean = 0;
	int64_t n = 0;
	bool have_key, have_mac, have_base;
	uint8_t want[32];
	size_t mac_len = 0;
	int r;

	if (!s || !c || !c->read || !c->increment || s->in_tx || !headroom ||
	    headroom > STORE_SQN_HEADROOM_MAX)
		return -EINVAL;
	s->keyed = s->nv_known = false;
	s->headroom = 0;
	r = store_generation(s, &gen);
	if (r < 0)
		return r;
	r = c->read(c->ctx, &nv);
	if (r < 0)
		return store_fail(s, r, "reading the generation counter: %s", strerror(-r));
	r = meta_get(s, "nv_base", &base);
	if (r < 0 && r != -ENOENT)
		return r;
	have_base = r == 0;
	r = device_blob_exists(s, STATE_KEY_BLOB, &have_key);
	if (r >= 0)
		r = device_blob_exists(s, STATE_MAC_BLOB, &have_mac);
	if (r >= 0)
		r = store_count_profiles(s, &n);
	if (r < 0)
		return r;
	if (!have_base && !have_key && !have_mac) {
		if (n)
			return refuse(s, -EBADMSG, "missing anchor: the store holds %" PRId64
				      " profiles but no NV base, state key or MAC", n);
		r = anchor_new(s, nv);
		if (r < 0)
			return r;
		base = nv;
		goto done_new;
	}
	if (!have_base || !have_key || !have_mac)
		return refuse(s, -EBADMSG, "missing anchor: no %s",
			      !have_base ? "NV base" : !have_key ? "state key" : "state MAC");
	if (nv < base || nv - base + 1 < gen)
		return refuse(s, -EBADMSG, "the store does not match the TPM's generation "
			      "counter (store generation %" PRIu64 ", counter %" PRIu64
			      ", base %" PRIu64 ")", gen, nv, base);
	if (nv - base > gen)
		return refuse(s, -ESTALE, "the store is older than the TPM's generation "
			      "counter (store generation %" PRIu64 ", counter %" PRIu64
			      ", base %" PRIu64 "): a restored copy; refusing it", gen, nv, base);
	r = load_key(s);
	if (r == -ENOKEY) {
		/* Cannot verify: serve nothing that depends on it, change nothing. */
		r = state_digest(s, s->frozen_digest);
		if (r < 0)
			return r;
		s->frozen = true;
		return -ENOKEY;
	}
	if (r < 0)
		return r;
	r = store_device_blob_get(s, STATE_MAC_BLOB, &mac, &mac_len);
	if (r >= 0)
		r = state_mac(s, want);
	if (r < 0)
		return r;
	if (mac_len != sizeof(want) || CRYPTO_memcmp(mac, want, sizeof(want))) {
		OPENSSL_cleanse(s->state_key, sizeof(s->state_key));
		return refuse(s, -EBADMSG, "the store's state does not match its MAC: "
			      "edited outside mcimd; refusing it");
	}
	s->nv_base = base;
	s->nv_value = nv;
	s->nv_known = true;
	if (nv - base + 1 == gen) {
		/* A crash between a commit and its increment: the store is the
		 * newer one, and nothing of that commit was answered. */
		r = c->increment(c->ctx);
		if (r < 0)
			return store_fail(s, r, "incrementing the generation counter: %s",
					  strerror(-r));
		s->nv_value++;
	}
	r = meta_get(s, "clean", &clean);
	if (r < 0 && r != -ENOENT)
		return r;
	s->keyed = true;
	s->frozen = false;
	s->headroom = headroom;
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	if (clean && nv - base == gen) {
		/* The exact state of a clean stop: consume the mark, so that
		 * this copy cannot be started again. */
		r = meta_set(s, "clean", 0);
		store_mark_bump(s);
		r = store_tx_end(s, r);
		if (r >= 0)
			r = store_anchor_sync(s, c);
		return r < 0 ? r : STORE_ANCHOR_FRESH;
	}
	/* Not provably the last state: no SQN ever answered stays acceptable. */
	r = store_exec(s, "UPDATE sqn SET seq_ms = (SELECT sqn_ceiling FROM profiles p"
			  " WHERE p.id = sqn.profile_id) WHERE seq_ms < (SELECT sqn_ceiling"
			  " FROM profiles p WHERE p.id = sqn.profile_id)");
	if (r >= 0 && clean)
		r = meta_set(s, "clean", 0);
	r = store_tx_end(s, r);
	return r < 0 ? r : STORE_ANCHOR_RAISED;

done_new:
	s->nv_base = base;
	s->nv_value = nv;
	s->nv_known = true;
	s->headroom = headroom;
	return STORE_ANCHOR_NEW;
}

int store_anchor_freeze(struct store *s)
{
	bool anchored;
	int r = device_blob_exists(s, STATE_KEY_BLOB, &anchored);

	if (r < 0 || !anchored)
		return r;
	r = state_digest(s, s->frozen_digest);
	if (r >= 0)
		s->frozen = true;
	return r;
}

int store_anchor_sync(struct store *s, const struct store_counter *c)
{
	uint64_t gen;
	int r;

	if (!s || !c || !c->increment || s->in_tx)
		return -EINVAL;
	if (!s->nv_known)
		return store_fail(s, -EINVAL, "store_anchor_check() first");
	r = store_generation(s, &gen);
	if (r < 0)
		return r;
	while (s->nv_value - s->nv_base < gen) {
		r = c->increment(c->ctx);
		if (r < 0)
			return store_fail(s, r, "incrementing the generation counter: %s",
					  strerror(-r));
		s->nv_value++;
	}
	return 0;
}

int store_anchor_close(struct store *s, const struct store_counter *c)
{
	int r;

	if (!s || !c || s->in_tx)
		return -EINVAL;
	if (!s->keyed || !s->nv_known)
		return 0; /* nothing verified, nothing to vouch for */
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	r = meta_set(s, "clean", 1);
	store_mark_bump(s);
	r = store_tx_end(s, r);
	if (r >= 0)
		r = store_anchor_sync(s, c);
	return r;
}

/* ---- the tamper record --------------------------------------------------- */

int store_tamper_record(struct store *s)
{
	int r;

	if (!s || s->in_tx)
		return -EINVAL;
	r = store_tx_begin(s);
	if (r < 0)
		return r;
	r = meta_set(s, "tampered", 1);
	store_mark_bump(s);
	return store_tx_end(s, r);
}

int store_tampered(struct store *s, bool *ret)
{
	uint64_t v = 0;
	int r;

	if (!s || !ret)
		return -EINVAL;
	r = meta_get(s, "tampered", &v);
	if (r < 0 && r != -ENOENT)
		return r;
	*ret = v != 0;
	return 0;
}
