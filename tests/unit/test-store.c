// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of daemon/store/: schema and migration, install/load round
 * trip of the test profile, no secret in clear on disk, lifecycle (one
 * enabled profile), change records from the real USIM engine, atomicity
 * of failed calls, the generation and its rollback check, the audit log.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/store/store.h"
#include "daemon/usim/profile-json.h"
#include "hex.h"
#include "macro.h"

#define PROFILE_PATH "daemon/usim/profiles/test-usim.json"
#define TUAK_PROFILE_PATH "daemon/usim/profiles/test-usim-tuak.json"

/* A fake sealer: "SEAL" || secret xor 0xa5; counts seals, can fail. */
struct fake_sealer {
	unsigned seals, unseals;
	int fail_at; /* seal number that fails (1-based), 0 = never */
};

static int fake_seal(void *ctx, const uint8_t *sec, size_t len, uint8_t *blob,
		     size_t max, size_t *ret_len)
{
	struct fake_sealer *f = ctx;

	f->seals++;
	if (f->fail_at && f->seals == (unsigned)f->fail_at)
		return -EIO;
	if (len + 4 > max)
		return -ENOBUFS;
	memcpy(blob, "SEAL", 4);
	for (size_t i = 0; i < len; i++)
		blob[4 + i] = sec[i] ^ 0xa5;
	*ret_len = len + 4;
	return 0;
}

static int fake_unseal(void *ctx, const uint8_t *blob, size_t len, uint8_t *sec,
		       size_t max, size_t *ret_len)
{
	struct fake_sealer *f = ctx;

	f->unseals++;
	if (len < 4 || memcmp(blob, "SEAL", 4) || len - 4 > max)
		return -EBADMSG;
	for (size_t i = 4; i < len; i++)
		sec[i - 4] = blob[i] ^ 0xa5;
	*ret_len = len - 4;
	return 0;
}

struct t {
	char dir[64];
	char path[96];
	struct fake_sealer fs;
	struct store_sealer sealer;
	struct store *s;
	struct usim_profile *p;
	struct aka_plain_secret k;
	char iccid[STORE_ICCID_MAX + 1];
	char imsi[STORE_IMSI_MAX + 1];
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	char why[PROFILE_JSON_WHY_SIZE];

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/test-store.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/store.db", t->dir);
	t->sealer = (struct store_sealer){ fake_seal, fake_unseal, &t->fs };
	assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
	assert_int_equal(profile_json_load_file(PROFILE_PATH, &t->p, &t->k, why,
						sizeof(why)), 0);
	assert_int_equal(store_profile_identity(t->p, t->iccid, t->imsi), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	char cmd[160];

	store_close(t->s);
	usim_profile_free(t->p);
	wipe(&t->k, sizeof(t->k));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static int64_t install(struct t *t, const char *iccid, enum store_class cls)
{
	static const uint8_t key_blob[] = { 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef };
	struct store_blob b = { STORE_BLOB_KEY, key_blob, sizeof(key_blob) };
	struct store_profile_meta m = {
		.iccid = iccid, .imsi = t->imsi, .cls = cls,
		.nickname = "test", .operator_name = "mcim test",
	};
	int64_t id = -1;

	assert_int_equal(store_profile_install(t->s, &m, t->p, &b, 1, &id), 0);
	assert_true(id > 0);
	return id;
}

static int64_t count(struct t *t, const char *table)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char sql[96];
	int64_t n;

	assert_int_equal(sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* ---- tests ---- */

static void test_identity(void **state)
{
	struct t *t = *state;

	/* test-usim.json: ICCID 89001010000000000018, IMSI 001010123456789 */
	assert_string_equal(t->iccid, "89001010000000000018");
	assert_string_equal(t->imsi, "001010123456789");
}

static void test_open_schema(void **state)
{
	struct t *t = *state;
	struct stat stb;
	int v = 0;
	uint64_t g = 99;

	assert_int_equal(store_schema_version(t->s, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	assert_int_equal(stat(t->path, &stb), 0);
	assert_int_equal(stb.st_mode & 0777, 0600);
	assert_int_equal(store_generation(t->s, &g), 0);
	assert_int_equal(g, 0);
	assert_int_equal(store_check(t->s), 0);
	/* Reopening does not migrate again (one "migrate" audit entry). */
	store_close(t->s);
	assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
	assert_int_equal(count(t, "audit WHERE event = 'migrate'"), 1);
}

static void test_newer_schema_refused(void **state)
{
	struct t *t = *state;
	struct store *s2 = NULL;
	sqlite3 *db;

	store_close(t->s);
	t->s = NULL;
	assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	{
		char why[256];

		assert_int_equal(store_open(t->path, &t->sealer, &s2, why, sizeof(why)),
				 -EPROTO);
		assert_non_null(strstr(why, "schema version 99 is newer"));
	}
	assert_null(s2);
	assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
}

static void assert_same_profile(const struct usim_profile *a,
				const struct usim_profile *b)
{
	assert_int_equal(a->n_files, b->n_files);
	for (size_t i = 0; i < a->n_files; i++) {
		const struct usim_file *x = &a->files[i], *y = &b->files[i];

		assert_int_equal(x->kind, y->kind);
		assert_int_equal(x->fid, y->fid);
		assert_int_equal(x->parent, y->parent);
		assert_int_equal(x->sfi, y->sfi);
		assert_int_equal(x->lcs, y->lcs);
		assert_int_equal(x->arr_fid, y->arr_fid);
		assert_int_equal(x->arr_record, y->arr_record);
		assert_int_equal(x->aid_len, y->aid_len);
		assert_memory_equal(x->aid, y->aid, x->aid_len);
		assert_int_equal(x->size, y->size);
		assert_int_equal(x->rec_len, y->rec_len);
		assert_int_equal(x->rec_count, y->rec_count);
		if (x->size)
			assert_memory_equal(x->data, y->data, x->size);
	}
	assert_int_equal(a->n_pins, b->n_pins);
	assert_memory_equal(a->pins, b->pins, a->n_pins * sizeof(a->pins[0]));
	assert_int_equal(a->atr_len, b->atr_len);
	assert_memory_equal(a->atr, b->atr, a->atr_len);
	assert_int_equal(a->aka.algo, b->aka.algo);
	if (a->aka.algo == AKA_ALGO_MILENAGE)
		assert_memory_equal(&a->aka.milenage, &b->aka.milenage,
				    sizeof(a->aka.milenage));
	else
		assert_memory_equal(&a->aka.tuak, &b->aka.tuak, sizeof(a->aka.tuak));
	assert_memory_equal(&a->sqn_cfg, &b->sqn_cfg, sizeof(a->sqn_cfg));
	assert_memory_equal(&a->sqn, &b->sqn, sizeof(a->sqn));
}

static void test_install_load_roundtrip(void **state)
{
	struct t *t = *state;
	struct usim_profile *q = NULL;
	struct store_profile_info info;
	_cleanup_free_ uint8_t *blob = NULL;
	size_t len = 0;
	int64_t id;
	uint64_t g;

	t->p->sqn.seq_ms[3] = 0x123456; /* something non-zero to carry */
	id = install(t, t->iccid, STORE_CLASS_OPERATIONAL);
	assert_int_equal(store_profile_get(t->s, id, &info), 0);
	assert_string_equal(info.iccid, t->iccid);
	assert_string_equal(info.imsi, t->imsi);
	assert_int_equal(info.state, STORE_STATE_INSTALLED);
	assert_int_equal(info.cls, STORE_CLASS_OPERATIONAL);
	assert_string_equal(info.operator_name, "mcim test");
	assert_int_equal(info.n_files, t->p->n_files);
	assert_int_equal(store_profile_load(t->s, id, &q), 0);
	assert_same_profile(t->p, q);
	usim_profile_free(q);
	assert_int_equal(store_blob_get(t->s, id, STORE_BLOB_KEY, &blob, &len), 0);
	assert_int_equal(len, 6);
	assert_int_equal(blob[2], 0xde);
	assert_int_equal(store_generation(t->s, &g), 0);
	assert_int_equal(g, 1);
	assert_int_equal(store_check(t->s), 0);

	/* TUAK: TOPc and the TUAK lengths survive as well. */
	{
		struct usim_profile *tp = NULL, *tq = NULL;
		struct aka_plain_secret k2;
		char why[PROFILE_JSON_WHY_SIZE];
		struct store_profile_meta m = { .iccid = "8900000000000000099",
						.cls = STORE_CLASS_OPERATIONAL };
		int64_t id2;

		assert_int_equal(profile_json_load_file(TUAK_PROFILE_PATH, &tp, &k2,
							why, sizeof(why)), 0);
		wipe(&k2, sizeof(k2));
		assert_int_equal(tp->aka.algo, AKA_ALGO_TUAK);
		assert_int_equal(store_profile_install(t->s, &m, tp, NULL, 0, &id2), 0);
		assert_int_equal(store_profile_load(t->s, id2, &tq), 0);
		assert_same_profile(tp, tq);
		usim_profile_free(tp);
		usim_profile_free(tq);
	}
}

static bool file_contains(const char *path, const uint8_t *needle, size_t n)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat stb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return false;
	assert_int_equal(fstat(fd, &stb), 0);
	buf = malloc((size_t)stb.st_size + 1);
	assert_non_null(buf);
	got = read(fd, buf, (size_t)stb.st_size);
	close(fd);
	assert_int_equal(got, stb.st_size);
	for (size_t i = 0; i + n <= (size_t)got; i++)
		if (!memcmp(buf + i, needle, n))
			return true;
	return false;
}

static void test_no_clear_secrets(void **state)
{
	struct t *t = *state;
	char wal[128];
	const struct usim_pin *pin1 = usim_profile_pin(t->p, USIM_KEYREF_PIN1);
	const struct usim_pin *pin2 = usim_profile_pin(t->p, USIM_KEYREF_PIN2);
	const struct usim_pin *adm = usim_profile_pin(t->p, USIM_KEYREF_ADM1);

	assert_non_null(pin1);
	assert_non_null(pin2);
	assert_non_null(adm);
	install(t, t->iccid, STORE_CLASS_OPERATIONAL);
	snprintf(wal, sizeof(wal), "%s-wal", t->path);
	/* Before the checkpoint (WAL) and after it (main file). */
	for (int round = 0; round < 2; round++) {
		const char *files[] = { t->path, wal };

		for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
			assert_false(file_contains(files[i], t->p->aka.milenage.opc, 16));
			assert_false(file_contains(files[i], pin1->value, 8));
			/* (PIN1's PUK 12345678 is part of the IMSI's digits) */
			assert_false(file_contains(files[i], pin2->value, 8));
			assert_false(file_contains(files[i], pin2->puk, 8));
			assert_false(file_contains(files[i], adm->value, 8));
			assert_false(file_contains(files[i], t->k.k, t->k.len));
		}
		store_close(t->s);
		assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
	}
	/* ... but an EF body is there, so the scan can find things. */
	assert_true(file_contains(t->path, t->p->files[1].data, t->p->files[1].rec_len));
}

static void test_duplicate_and_atomic_install(void **state)
{
	struct t *t = *state;
	struct store_profile_meta m = { .iccid = t->iccid, .cls = STORE_CLASS_OPERATIONAL };
	int64_t before_files;

	install(t, t->iccid, STORE_CLASS_OPERATIONAL);
	before_files = count(t, "files");
	assert_int_equal(store_profile_install(t->s, &m, t->p, NULL, 0, NULL), -EEXIST);
	/* A sealer failing on the 3rd seal: nothing of the profile stays. */
	m.iccid = "8900000000000000001";
	t->fs.seals = 0;
	t->fs.fail_at = 3;
	assert_int_equal(store_profile_install(t->s, &m, t->p, NULL, 0, NULL), -EIO);
	t->fs.fail_at = 0;
	assert_int_equal(count(t, "profiles"), 1);
	assert_int_equal(count(t, "files"), before_files);
	assert_int_equal(count(t, "blobs"), (int64_t)t->p->n_pins + 2);
	/* Bad metadata. */
	m.iccid = "89ab";
	assert_int_equal(store_profile_install(t->s, &m, t->p, NULL, 0, NULL), -EINVAL);
	m.iccid = "8900000000000000002";
	m.nickname = "bad\nname";
	assert_int_equal(store_profile_install(t->s, &m, t->p, NULL, 0, NULL), -EINVAL);
	assert_int_equal(store_check(t->s), 0);
}

static void test_enable_switch_delete(void **state)
{
	struct t *t = *state;
	struct store_profile_info info;
	struct store_audit_entry *a = NULL;
	size_t n = 0;
	int64_t a_id, b_id;
	uint64_t g0, g1;

	a_id = install(t, "8900000000000000011", STORE_CLASS_PROVISIONING);
	b_id = install(t, "8900000000000000012", STORE_CLASS_OPERATIONAL);
	assert_int_equal(store_profile_enabled(t->s, &info), -ENOENT);
	assert_int_equal(store_generation(t->s, &g0), 0);
	assert_int_equal(store_profile_enable(t->s, a_id), 0);
	assert_int_equal(store_profile_enable(t->s, a_id), 0); /* no-op */
	assert_int_equal(store_profile_enabled(t->s, &info), 0);
	assert_int_equal(info.id, a_id);
	assert_int_equal(store_profile_enable(t->s, b_id), 0);
	assert_int_equal(store_profile_enabled(t->s, &info), 0);
	assert_int_equal(info.id, b_id);
	assert_int_equal(store_profile_get(t->s, a_id, &info), 0);
	assert_int_equal(info.state, STORE_STATE_DISABLED);
	assert_int_equal(count(t, "profiles WHERE state = 1"), 1);
	assert_int_equal(store_generation(t->s, &g1), 0);
	assert_int_equal(g1, g0 + 2);
	assert_int_equal(store_profile_disable(t->s, a_id), -EALREADY);
	assert_int_equal(store_profile_disable(t->s, b_id), 0);
	assert_int_equal(store_profile_enabled(t->s, &info), -ENOENT);
	assert_int_equal(store_profile_enable(t->s, 9999), -ENOENT);
	assert_int_equal(store_profile_set_nickname(t->s, a_id, "bootstrap"), 0);
	assert_int_equal(store_profile_get(t->s, a_id, &info), 0);
	assert_string_equal(info.nickname, "bootstrap");

	/* The database itself refuses a second enabled profile. */
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "UPDATE profiles SET state = 1", NULL,
					      NULL, NULL), SQLITE_CONSTRAINT);
		sqlite3_close(db);
	}

	assert_int_equal(store_profile_delete(t->s, a_id), 0);
	assert_int_equal(store_profile_get(t->s, a_id, &info), -ENOENT);
	assert_int_equal(store_profile_delete(t->s, b_id), 0);
	assert_int_equal(count(t, "profiles"), 0);
	assert_int_equal(count(t, "files"), 0);
	assert_int_equal(count(t, "records"), 0);
	assert_int_equal(count(t, "pins"), 0);
	assert_int_equal(count(t, "sqn"), 0);
	assert_int_equal(count(t, "blobs"), 0);

	assert_int_equal(store_audit_list(t->s, 100, &a, &n), 0);
	{
		static const char *const want[] = {
			"migrate", "install", "install", "enable", "disable", "enable",
			"disable", "nickname", "delete", "delete",
		};

		assert_int_equal(n, ARRAY_SIZE(want));
		for (size_t i = 0; i < n; i++)
			assert_string_equal(a[i].event, want[i]);
		assert_string_equal(a[4].iccid, "8900000000000000011");
		assert_string_equal(a[4].detail, "switch to 8900000000000000012");
	}
	free(a);
	assert_int_equal(store_check(t->s), 0);
}

/* ---- with the real engine ---- */

struct eng {
	struct usim_profile *p; /* loaded from the store */
	struct aka_key key;
	struct usim_engine *e;
	int64_t id;
};

static uint16_t run(struct t *t, struct eng *g, const char *hexcmd, int expect_r)
{
	uint8_t cmd[300], rsp[USIM_RSP_MIN + 64];
	const struct usim_change *ch = NULL;
	size_t rlen = 0, nch = 0;
	int n = hex_decode(hexcmd, cmd, sizeof(cmd));

	assert_true(n > 0);
	assert_int_equal(usim_engine_process(g->e, cmd, (size_t)n, rsp, sizeof(rsp),
					     &rlen, &ch, &nch), 0);
	assert_int_equal(store_apply(t->s, g->id, g->p, ch, nch, 0), expect_r);
	return (uint16_t)(rsp[rlen - 2] << 8 | rsp[rlen - 1]);
}

static void eng_open(struct t *t, struct eng *g)
{
	size_t atr_len;
	uint8_t atr[USIM_ATR_MAX];

	assert_int_equal(store_profile_load(t->s, g->id, &g->p), 0);
	assert_int_equal(profile_json_key_new(g->p->aka.algo, &t->k, &g->key), 0);
	assert_int_equal(usim_engine_new(g->p, &g->key, &g->e), 0);
	assert_int_equal(usim_engine_reset(g->e, USIM_RESET_COLD, atr, sizeof(atr),
					   &atr_len), 0);
}

static void eng_close(struct eng *g)
{
	usim_engine_free(g->e);
	profile_json_key_free(&g->key);
	usim_profile_free(g->p);
	g->e = NULL;
	g->p = NULL;
}

static void test_engine_changes(void **state)
{
	struct t *t = *state;
	struct eng g = { 0 };
	struct usim_profile *q = NULL;
	struct usim_pin *pin2;
	struct aka_vector v;
	struct aka_cipher ek;
	char hexbuf[200], hrand[33], hautn[33];
	uint8_t rand[16], sqn[6] = { 0, 0, 0, 0, 0, 0x41 }; /* SEQ 2, IND 1 */
	uint8_t amf[2] = { 0x80, 0x00 };
	unsigned seals;

	g.id = install(t, t->iccid, STORE_CLASS_OPERATIONAL);
	eng_open(t, &g);

	/* UPDATE BINARY of EF.PL (update: PIN1, disabled on this card). */
	assert_int_equal(run(t, &g, "00a4000c022f05", 0), 0x9000);
	assert_int_equal(run(t, &g, "00d60000026465", 0), 0x9000);

	/* A wrong PIN2: counter 3 -> 2, committed; value not resealed. */
	seals = t->fs.seals;
	assert_int_equal(run(t, &g, "0020008108 35363738ffffff00", 0), 0x63c2);
	assert_int_equal(t->fs.seals, seals);

	/* AUTHENTICATE with a fresh SQN (IND 1): SEQ_MS(1) committed. */
	memset(rand, 0x5a, sizeof(rand));
	assert_int_equal(aka_soft_cipher_new(t->k.k, &ek), 0);
	{
		struct aka_key nk = { .cipher = ek };

		assert_int_equal(aka_network_generate(&g.p->aka, &nk, rand, sqn, amf, &v),
				 0);
	}
	aka_soft_cipher_free(&ek);
	hex_encode(rand, 16, hrand);
	hex_encode(v.autn, v.autn_len, hautn);
	assert_int_equal(run(t, &g, "00a4040c07a0000000871002", 0), 0x9000);
	snprintf(hexbuf, sizeof(hexbuf), "008800812210%s10%s", hrand, hautn);
	assert_int_equal(run(t, &g, hexbuf, 0) >> 8, 0x61);
	assert_int_equal(g.p->sqn.seq_ms[1], 2);

	/* CHANGE PIN2 (old value 5678): the new value is resealed. */
	seals = t->fs.seals;
	assert_int_equal(run(t, &g, "0024008110 35363738ffffffff 39393939ffffffff", 0),
			 0x9000);
	assert_int_equal(t->fs.seals, seals + 1);
	eng_close(&g);

	/* Everything above is in the store. */
	assert_int_equal(store_profile_load(t->s, g.id, &q), 0);
	{
		int ef = usim_profile_find_path(q, (const uint16_t[]){ 0x3f00, 0x2f05 }, 2);

		assert_true(ef > 0);
		assert_memory_equal(q->files[ef].data, "de", 2);
	}
	pin2 = usim_profile_pin(q, USIM_KEYREF_PIN2);
	assert_non_null(pin2);
	assert_int_equal(pin2->tries_left, 3); /* reset by the right PIN */
	assert_memory_equal(pin2->value, "9999\xff\xff\xff\xff", 8);
	assert_int_equal(q->sqn.seq_ms[1], 2);
	assert_int_equal(q->sqn.seq_ms[0], 0);
	usim_profile_free(q);

	/* Block PIN2 with 3 wrong tries: audited. */
	eng_open(t, &g);
	seals = t->fs.seals;
	for (int i = 0; i < 3; i++)
		assert_int_equal(run(t, &g, "0020008108 30303030ffffffff", 0),
				 0x63c2 - i);
	assert_int_equal(t->fs.seals, seals); /* fingerprint known after load */
	eng_close(&g);
	assert_int_equal(count(t, "audit WHERE event = 'pin-blocked'"), 1);
	assert_int_equal(store_check(t->s), 0);
}

static void test_apply_atomic(void **state)
{
	struct t *t = *state;
	struct usim_profile *q = NULL;
	int64_t id = install(t, t->iccid, STORE_CLASS_OPERATIONAL);
	int ef = usim_profile_find_path(t->p, (const uint16_t[]){ 0x3f00, 0x2f05 }, 2);
	struct usim_change ch[2] = {
		{ .kind = USIM_CHANGE_EF, .index = (uint32_t)ef, .offset = 0, .len = 2 },
		{ .kind = USIM_CHANGE_SQN, .index = 4 },
	};
	uint64_t g0, g1;

	assert_true(ef > 0);
	/* SEQ_MS(4) 100 is committed; then an EF change together with an SQN
	 * going backwards fails as a whole: the EF keeps its old bytes. */
	t->p->sqn.seq_ms[4] = 100;
	assert_int_equal(store_apply(t->s, id, t->p, &ch[1], 1, 0), 0);
	memcpy(t->p->files[ef].data, "zz", 2);
	t->p->sqn.seq_ms[4] = 99;
	assert_int_equal(store_apply(t->s, id, t->p, ch, 2, 0), -ERANGE);
	assert_int_equal(store_profile_load(t->s, id, &q), 0);
	assert_memory_not_equal(q->files[ef].data, "zz", 2);
	assert_int_equal(q->sqn.seq_ms[4], 100);
	usim_profile_free(q);

	/* Out-of-range records are refused. */
	ch[0].len = t->p->files[ef].size + 1;
	assert_int_equal(store_apply(t->s, id, t->p, ch, 1, 0), -EINVAL);
	ch[1].index = 1u << t->p->sqn_cfg.ind_bits;
	assert_int_equal(store_apply(t->s, id, t->p, &ch[1], 1, 0), -EINVAL);

	/* Generation bump on request, inside the same transaction. */
	assert_int_equal(store_generation(t->s, &g0), 0);
	t->p->sqn.seq_ms[4] = 101;
	ch[1].index = 4;
	assert_int_equal(store_apply(t->s, id, t->p, &ch[1], 1,
				     STORE_APPLY_BUMP_GENERATION), 0);
	assert_int_equal(store_generation(t->s, &g1), 0);
	assert_int_equal(g1, g0 + 1);

	/* An explicit transaction rolled back leaves nothing. */
	assert_int_equal(store_begin(t->s), 0);
	assert_true(store_in_transaction(t->s));
	t->p->sqn.seq_ms[4] = 200;
	assert_int_equal(store_apply(t->s, id, t->p, &ch[1], 1, 0), 0);
	assert_int_equal(store_profile_delete(t->s, id), 0);
	assert_int_equal(store_rollback(t->s), 0);
	assert_int_equal(store_profile_load(t->s, id, &q), 0);
	assert_int_equal(q->sqn.seq_ms[4], 101);
	usim_profile_free(q);
	assert_int_equal(store_check(t->s), 0);
}

static void test_generation_check(void **state)
{
	static const struct {
		uint64_t gen, nv, base, window;
		int want;
	} cases[] = {
		{ 0, 7, 7, 1, STORE_GEN_OK },
		{ 5, 12, 7, 1, STORE_GEN_OK },
		{ 6, 12, 7, 1, STORE_GEN_NV_BEHIND },  /* crash after commit */
		{ 4, 12, 7, 1, -ESTALE },              /* restored older copy */
		{ 0, 12, 7, 1, -ESTALE },
		{ 7, 12, 7, 1, -EBADMSG },             /* two ahead: not ours */
		{ 0, 3, 7, 1, -EBADMSG },              /* NV below its base */
		/* W = 16: the counter follows gen / 16. */
		{ 15, 7, 7, 16, STORE_GEN_OK },        /* same window */
		{ 16, 8, 7, 16, STORE_GEN_OK },
		{ 16, 7, 7, 16, STORE_GEN_NV_BEHIND }, /* crossed, not counted */
		{ 17, 7, 7, 16, -EBADMSG },            /* crossed long ago */
		{ 31, 9, 7, 16, -ESTALE },             /* a copy from an older window */
		{ 40, 9, 7, 16, STORE_GEN_OK },
		{ 1, 1, 0, 0, -EINVAL },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (store_generation_check(cases[i].gen, cases[i].nv, cases[i].base,
					   cases[i].window) != cases[i].want)
			fail_msg("case %zu", i);
}

static void test_nv_base(void **state)
{
	struct t *t = *state;
	uint64_t v = 0;

	assert_int_equal(store_nv_base(t->s, &v), -ENOENT);
	assert_int_equal(store_set_nv_base(t->s, 41), 0);
	assert_int_equal(store_set_nv_base(t->s, 42), -EEXIST);
	assert_int_equal(store_nv_base(t->s, &v), 0);
	assert_int_equal(v, 41);
	assert_int_equal(count(t, "audit WHERE event = 'anchor'"), 1);
}

static void test_generation_align(void **state)
{
	struct t *t = *state;
	uint64_t g = 0;

	/* A delete inside an explicit transaction, aligned to W = 16. */
	int64_t id = install(t, t->iccid, STORE_CLASS_OPERATIONAL); /* g = 1 */

	assert_int_equal(store_begin(t->s), 0);
	assert_int_equal(store_profile_delete(t->s, id), 0); /* g = 2 */
	assert_int_equal(store_generation_align(t->s, 16, &g), 0);
	assert_int_equal(g, 16);
	assert_int_equal(store_commit(t->s), 0);
	assert_int_equal(store_generation_align(t->s, 16, &g), 0);
	assert_int_equal(g, 16); /* already aligned */
	assert_int_equal(store_generation_bump(t->s, &g), 0);
	assert_int_equal(g, 17);
	assert_int_equal(store_generation_align(t->s, 0, &g), -EINVAL);
}

/* A monotonic counter in memory standing in for the TPM NV counter. */
struct fake_counter {
	uint64_t value;
	unsigned increments;
};

static int fc_read(void *ctx, uint64_t *ret)
{
	*ret = ((struct fake_counter *)ctx)->value;
	return 0;
}

static int fc_inc(void *ctx)
{
	struct fake_counter *c = ctx;

	c->value++;
	c->increments++;
	return 0;
}

static void copy_file(const char *from, const char *to)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	assert_int_equal(system(cmd), 0);
}

static void reopen(struct t *t)
{
	store_close(t->s);
	assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
}

static void test_rollback(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 1000 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	char copy[128];
	int64_t id;
	uint64_t base;

	snprintf(copy, sizeof(copy), "%s.copy", t->path);
	/* A new store anchors at the counter's value. */
	assert_int_equal(store_rollback_check(t->s, &c, 1), 0);
	assert_int_equal(store_nv_base(t->s, &base), 0);
	assert_int_equal(base, 1000);
	id = install(t, t->iccid, STORE_CLASS_OPERATIONAL);
	assert_int_equal(store_rollback_sync(t->s, &c, 1), 0);
	assert_int_equal(fc.value, 1001);

	/* Someone keeps a copy (closed: the WAL is checkpointed). */
	store_close(t->s);
	copy_file(t->path, copy);
	assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
	assert_int_equal(store_rollback_check(t->s, &c, 1), 0);
	assert_int_equal(store_profile_delete(t->s, id), 0);
	assert_int_equal(store_rollback_sync(t->s, &c, 1), 0);
	assert_int_equal(fc.value, 1002);

	/* ... and puts it back to bring the deleted profile back: refused. */
	store_close(t->s);
	copy_file(copy, t->path);
	assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
	assert_int_equal(store_rollback_check(t->s, &c, 1), -ESTALE);
	assert_non_null(strstr(store_errmsg(t->s), "older than the TPM's generation counter"));
	assert_int_equal(count(t, "audit WHERE event = 'rollback-refused'"), 1);
	assert_int_equal(store_rollback_sync(t->s, &c, 1), -EINVAL); /* not checked */

	/* A crash between commit and increment is repaired at the next start. */
	store_close(t->s);
	unlink(t->path);
	assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
	fc.value = 5000;
	assert_int_equal(store_rollback_check(t->s, &c, 1), 0);
	install(t, t->iccid, STORE_CLASS_OPERATIONAL); /* no sync: "crash" */
	reopen(t);
	fc.increments = 0;
	assert_int_equal(store_rollback_check(t->s, &c, 1), 0);
	assert_int_equal(fc.increments, 1);
	assert_int_equal(fc.value, 5001);
	/* A counter that fell behind by more is not ours. */
	fc.value = 4000;
	assert_int_equal(store_rollback_check(t->s, &c, 1), -EBADMSG);
	assert_int_equal(unlink(copy), 0);
}

static void test_rollback_window(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 7 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	struct usim_change ch = { .kind = USIM_CHANGE_SQN, .index = 2 };
	int64_t id;
	uint64_t g;

	assert_int_equal(store_rollback_check(t->s, &c, 16), 0);
	id = install(t, t->iccid, STORE_CLASS_OPERATIONAL); /* g = 1 */
	/* A lifecycle change aligned: the counter moves at once. */
	assert_int_equal(store_generation_align(t->s, 16, &g), 0);
	assert_int_equal(store_rollback_sync(t->s, &c, 16), 0);
	assert_int_equal(fc.value, 8);
	/* 15 authentications: no increment; the 16th: one. */
	for (int i = 1; i <= 16; i++) {
		t->p->sqn.seq_ms[2] = (uint64_t)i;
		assert_int_equal(store_apply(t->s, id, t->p, &ch, 1,
					     STORE_APPLY_BUMP_GENERATION), 0);
		assert_int_equal(store_rollback_sync(t->s, &c, 16), 0);
		assert_int_equal(fc.value, i < 16 ? 8u : 9u);
	}
	reopen(t);
	assert_int_equal(store_rollback_check(t->s, &c, 16), 0);
}

static void test_device_blobs_and_limits(void **state)
{
	struct t *t = *state;
	_cleanup_free_ uint8_t *b = NULL;
	uint8_t big[STORE_BLOB_MAX + 1] = { 0 };
	size_t n = 0;

	assert_int_equal(store_device_blob_put(t->s, "ak", (const uint8_t *)"AK", 2), 0);
	assert_int_equal(store_device_blob_put(t->s, "ak", (const uint8_t *)"AK2", 3), 0);
	assert_int_equal(store_device_blob_get(t->s, "ak", &b, &n), 0);
	assert_int_equal(n, 3);
	free(TAKE_PTR(b));
	assert_int_equal(store_device_blob_get(t->s, "nope", &b, &n), -ENOENT);
	assert_int_equal(store_device_blob_put(t->s, "Bad Kind", big, 1), -EINVAL);
	assert_int_equal(store_device_blob_put(t->s, "big", big, sizeof(big)), -EINVAL);
	assert_int_equal(store_blob_put(t->s, 42, "key", big, 1), -ENOENT);
	assert_int_equal(store_audit(t->s, "tamper", NULL, "gpio"), 0);
	assert_int_equal(count(t, "audit WHERE event = 'tamper'"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_load_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_clear_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_and_atomic_install, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_enable_switch_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_atomic, setup, teardown),
		cmocka_unit_test(test_generation_check),
		cmocka_unit_test_setup_teardown(test_nv_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generation_align, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_blobs_and_limits, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
