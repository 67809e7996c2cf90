// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of daemon/store/: schema and migration, install/load round
 * trip of the test profile, no secret in clear on disk, lifecycle (one
 * enabled profile), change records from the real USIM engine, atomicity
 * of failed calls, the generation, the anchor (freshness in a counter, the
 * state MAC, SQN ceilings: docs/store.md "Rollback"), the audit log.
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
	{
		char sql[48];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
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

/*
 * Operator-made secrets: the OPc and PIN values arrive sealed (imported
 * duplication blobs); the store never calls its sealer's seal() and needs
 * every one of them.
 */
static void test_presealed_install(void **state)
{
	struct t *t = *state;
	static const uint8_t key_blob[] = { 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef };
	uint8_t opc[AKA_OPC_LEN], sealed_opc[64], sealed_pin[USIM_MAX_PINS][64];
	char kinds[USIM_MAX_PINS][STORE_KIND_MAX + 1];
	struct store_blob b[2 + USIM_MAX_PINS];
	struct store_profile_meta m = {
		.iccid = t->iccid, .imsi = t->imsi, .cls = STORE_CLASS_OPERATIONAL,
		.presealed = true,
	};
	struct usim_profile *q = NULL;
	size_t n = 0, len = 0;
	int64_t id = 0;

	memset(opc, 0x3c, sizeof(opc));
	b[n++] = (struct store_blob){ STORE_BLOB_KEY, key_blob, sizeof(key_blob) };
	assert_int_equal(fake_seal(&t->fs, opc, sizeof(opc), sealed_opc, sizeof(sealed_opc),
				   &len), 0);
	b[n++] = (struct store_blob){ STORE_BLOB_OPC, sealed_opc, len };
	for (size_t i = 0; i < t->p->n_pins; i++) {
		uint8_t sec[2 * USIM_PIN_LEN];

		memset(sec, (int)('0' + i), sizeof(sec));
		assert_int_equal(fake_seal(&t->fs, sec, sizeof(sec), sealed_pin[i],
					   sizeof(sealed_pin[i]), &len), 0);
		snprintf(kinds[i], sizeof(kinds[i]), "pin:%02x", t->p->pins[i].key_ref);
		b[n++] = (struct store_blob){ kinds[i], sealed_pin[i], len };
	}
	t->fs.seals = 0;
	/* One PIN blob missing: refused, nothing written. */
	assert_int_equal(store_profile_install(t->s, &m, t->p, b, n - 1, &id), -EINVAL);
	assert_non_null(strstr(store_errmsg(t->s), "no pin:"));
	assert_int_equal(count(t, "profiles"), 0);
	assert_int_equal(store_profile_install(t->s, &m, t->p, b, n, &id), 0);
	assert_int_equal(t->fs.seals, 0);
	assert_int_equal(count(t, "blobs"), (int64_t)n);
	/* The profile's own (clear) OPc never reached the store. */
	store_close(t->s);
	assert_false(file_contains(t->path, t->p->aka.milenage.opc, AKA_OPC_LEN));
	assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
	/* Loading unseals the operator's values. */
	assert_int_equal(store_profile_load(t->s, id, &q), 0);
	assert_memory_equal(q->aka.milenage.opc, opc, sizeof(opc));
	for (size_t i = 0; i < q->n_pins; i++)
		assert_int_equal(q->pins[i].value[0], '0' + (int)i);
	usim_profile_free(q);
	assert_int_equal(store_check(t->s), 0);
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

static void test_generation_bump(void **state)
{
	struct t *t = *state;
	uint64_t g0 = 0, g = 0;
	int64_t id;

	assert_int_equal(store_generation(t->s, &g0), 0);
	/* Install, enable and delete in one transaction: one bump. */
	assert_int_equal(store_begin(t->s), 0);
	id = install(t, t->iccid, STORE_CLASS_OPERATIONAL);
	assert_int_equal(store_profile_enable(t->s, id), 0);
	assert_int_equal(store_profile_delete(t->s, id), 0);
	assert_int_equal(store_commit(t->s), 0);
	assert_int_equal(store_generation(t->s, &g), 0);
	assert_int_equal(g, g0 + 1);
	assert_int_equal(store_generation_bump(t->s, &g), 0);
	assert_int_equal(g, g0 + 2);
	assert_int_equal(store_generation(t->s, &g), 0);
	assert_int_equal(g, g0 + 2);
	/* A rolled-back transaction bumps nothing. */
	assert_int_equal(store_begin(t->s), 0);
	install(t, t->iccid, STORE_CLASS_OPERATIONAL);
	assert_int_equal(store_rollback(t->s), 0);
	assert_int_equal(store_generation_bump(t->s, NULL), 0);
	assert_int_equal(store_generation(t->s, &g), 0);
	assert_int_equal(g, g0 + 3);
}

/* store_profile_update_files(): every file checked before anything is
 * written, all in one transaction, audited, no generation step. */
static void test_update_files(void **state)
{
	struct t *t = *state;
	struct usim_profile *p = NULL;
	struct store_audit_entry *a = NULL;
	int64_t id = install(t, t->iccid, STORE_CLASS_OPERATIONAL);
	int adf = usim_profile_find_adf(t->p, (const uint8_t *)"\xa0\x00\x00\x00\x87\x10\x02", 7);
	int plmn = usim_profile_find_child(t->p, adf, 0x6f60);
	int opl = usim_profile_find_child(t->p, adf, 0x6fc6);
	uint8_t a40[40], b16[16];
	uint64_t g0 = 0, g = 0;
	size_t n = 0;

	assert_true(plmn > 0 && opl > 0);
	assert_int_equal(t->p->files[opl].rec_count, 2);
	memset(a40, 0x11, sizeof(a40));
	memset(b16, 0x22, sizeof(b16));
	b16[8] = 0x33; /* record 2 starts here */
	assert_int_equal(store_generation(t->s, &g0), 0);
	/* Refusals: a good first file and a bad second one write nothing. */
	assert_int_equal(store_profile_update_files(t->s, id, (const struct usim_file_update[]){
			{ plmn, a40, 40 }, { opl, b16, 8 } }, 2), -EINVAL);
	assert_non_null(strstr(store_errmsg(t->s), "3F00/7FFF/6FC6: 8 bytes, the file has 16"));
	assert_int_equal(store_profile_update_files(t->s, id, (const struct usim_file_update[]){
			{ plmn, a40, 40 }, { adf, b16, 0 } }, 2), -EINVAL);
	assert_int_equal(store_profile_update_files(t->s, id, (const struct usim_file_update[]){
			{ plmn, a40, 40 }, { plmn, a40, 40 } }, 2), -EINVAL);
	assert_int_equal(store_profile_update_files(t->s, id + 1, (const struct usim_file_update[]){
			{ plmn, a40, 40 } }, 1), -ENOENT);
	assert_int_equal(store_profile_update_files(t->s, id, (const struct usim_file_update[]){
			{ 100000, a40, 40 } }, 1), -EINVAL);
	assert_int_equal(store_profile_load(t->s, id, &p), 0);
	assert_memory_equal(p->files[plmn].data, t->p->files[plmn].data, 40);
	assert_memory_equal(p->files[opl].data, t->p->files[opl].data, 16);
	usim_profile_free(p);
	p = NULL;

	assert_int_equal(store_profile_update_files(t->s, id, (const struct usim_file_update[]){
			{ plmn, a40, 40 }, { opl, b16, 16 } }, 2), 0);
	assert_int_equal(store_profile_load_files(t->s, id, &p), 0);
	assert_memory_equal(p->files[plmn].data, a40, 40);
	assert_memory_equal(p->files[opl].data, b16, 16);
	assert_int_equal(p->n_pins, 0); /* the tree only */
	usim_profile_free(p);
	assert_int_equal(store_check(t->s), 0);
	assert_int_equal(store_generation(t->s, &g), 0);
	assert_int_equal(g, g0);
	assert_int_equal(store_audit_list(t->s, 1, &a, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].event, "files-update");
	assert_string_equal(a[0].detail, "3F00/7FFF/6F60 3F00/7FFF/6FC6");
	free(a);
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
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	assert_int_equal(system(cmd), 0);
}

static void reopen(struct t *t)
{
	store_close(t->s);
	assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
}

/* An edit with the sqlite3 library while the store is closed. */
static void edit(struct t *t, const char *sql)
{
	sqlite3 *db;

	store_close(t->s);
	t->s = NULL;
	assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
}

/* Saves (save) or restores (!save) a copy of the closed store. */
static void snapshot(struct t *t, const char *name, bool save)
{
	char copy[160];

	snprintf(copy, sizeof(copy), "%s/%s", t->dir, name);
	store_close(t->s); /* checkpoints the WAL into the file */
	t->s = NULL;
	if (save) {
		copy_file(t->path, copy);
	} else {
		char wal[160];

		copy_file(copy, t->path);
		snprintf(wal, sizeof(wal), "%s-wal", t->path);
		unlink(wal);
	}
	assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
}

/* An anchored store with the test profile enabled. */
static int64_t anchored(struct t *t, struct store_counter *c, uint64_t headroom)
{
	int64_t id;

	assert_int_equal(store_anchor_check(t->s, c, headroom), STORE_ANCHOR_NEW);
	id = install(t, t->iccid, STORE_CLASS_OPERATIONAL);
	assert_int_equal(store_profile_enable(t->s, id), 0);
	assert_int_equal(store_anchor_sync(t->s, c), 0);
	return id;
}

/* Commits SEQ_MS(ind) = seq as the daemon does after an AUTHENTICATE. */
static int auth_commit(struct t *t, struct store_counter *c, int64_t id, unsigned ind,
		       uint64_t seq)
{
	struct usim_change ch = { .kind = USIM_CHANGE_SQN, .index = ind };
	int r;

	t->p->sqn.seq_ms[ind] = seq;
	r = store_apply(t->s, id, t->p, &ch, 1, 0);
	return r < 0 ? r : store_anchor_sync(t->s, c);
}

static uint64_t seq_ms(struct t *t, int64_t id, unsigned ind)
{
	struct usim_profile *q = NULL;
	uint64_t v;

	assert_int_equal(store_profile_load(t->s, id, &q), 0);
	v = q->sqn.seq_ms[ind];
	usim_profile_free(q);
	return v;
}

/*
 * Expiry, the package sequences and "used": stored, and covered by the
 * MAC.  A sequence per operator (its sho_id), the device-wide one of older
 * stores a floor for all.
 */
static void test_expiry_and_package_seq(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 3 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	struct store_profile_meta m = {
		.iccid = "8900000000000000009", .imsi = t->imsi,
		.cls = STORE_CLASS_PROVISIONING, .expires = 1900000000,
	};
	static const char *const edits[] = {
		"UPDATE profiles SET expires = expires + 86400 WHERE expires != 0",
		"UPDATE profiles SET expires = 0",
		"DELETE FROM device_blobs WHERE kind = 'package-seq'",
		"UPDATE device_blobs SET data = zeroblob(8) WHERE kind = 'package-seq'",
		"DELETE FROM device_blobs WHERE kind LIKE 'pkgseq:%'",
		"UPDATE device_blobs SET data = zeroblob(8) WHERE kind LIKE 'pkgseq:b0b0%'",
	};
	static const char sho_a[] = "a0a0000000000000000000000000000000000000000000000000000000000a0a";
	static const char sho_b[] = "b0b0000000000000000000000000000000000000000000000000000000000b0b";
	struct store_profile_info info;
	int64_t id = anchored(t, &c, 16), prov = 0;
	uint64_t seq = 99;
	bool used = true;

	assert_int_equal(store_profile_install(t->s, &m, t->p, NULL, 0, &prov), 0);
	m.expires = -1;
	m.iccid = "8900000000000000010";
	assert_int_equal(store_profile_install(t->s, &m, t->p, NULL, 0, NULL), -EINVAL);
	assert_int_equal(store_profile_get(t->s, prov, &info), 0);
	assert_int_equal(info.expires, 1900000000);
	assert_int_equal(info.cls, STORE_CLASS_PROVISIONING);
	assert_int_equal(store_profile_get(t->s, id, &info), 0);
	assert_int_equal(info.expires, 0);
	assert_int_equal(store_profile_used(t->s, id, &used), 0);
	assert_false(used);
	assert_int_equal(auth_commit(t, &c, id, 1, 9), 0);
	assert_int_equal(store_profile_used(t->s, id, &used), 0);
	assert_true(used);

	assert_int_equal(store_package_seq(t->s, NULL, &seq), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(store_package_seq_set(t->s, NULL, 0), -ERANGE);
	/* the device-wide sequence of an older store: a floor for every operator */
	assert_int_equal(store_package_seq_set(t->s, NULL, 2), 0);
	assert_int_equal(store_package_seq_set(t->s, sho_a, 2), -ERANGE);
	assert_int_equal(store_package_seq_set(t->s, sho_a, 5), 0);
	assert_int_equal(store_package_seq_set(t->s, sho_a, 5), -ERANGE);
	assert_int_equal(store_package_seq_set(t->s, sho_a, 4), -ERANGE);
	assert_int_equal(store_package_seq(t->s, sho_a, &seq), 0);
	assert_int_equal(seq, 5);
	/* another operator numbers its own: above the floor, not above A's */
	assert_int_equal(store_package_seq(t->s, sho_b, &seq), 0);
	assert_int_equal(seq, 2);
	assert_int_equal(store_package_seq_set(t->s, sho_b, 3), 0);
	assert_int_equal(store_package_seq_set(t->s, sho_b, 3), -ERANGE);
	assert_int_equal(store_package_seq_set(t->s, "B0B0", 9), -EINVAL);
	assert_int_equal(store_package_seq(t->s, sho_a, &seq), 0);
	assert_int_equal(seq, 5);
	assert_int_equal(store_anchor_sync(t->s, &c), 0);
	snapshot(t, "good", true);
	for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
		int r;

		edit(t, edits[i]);
		r = store_anchor_check(t->s, &c, 16);
		if (r != -EBADMSG)
			fail_msg("edit accepted (%d: %s): %s", r, store_errmsg(t->s), edits[i]);
		snapshot(t, "good", false);
	}
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
	assert_int_equal(store_package_seq(t->s, sho_a, &seq), 0);
	assert_int_equal(seq, 5);
	assert_int_equal(store_package_seq(t->s, sho_b, &seq), 0);
	assert_int_equal(seq, 3);
}

/* What version 4 added, taken away (a store of an older version). */
#define V4_DROP                                                                \
	"ALTER TABLE profiles DROP COLUMN sho_id;"                             \
	"ALTER TABLE profiles DROP COLUMN subscriber;"                         \
	"ALTER TABLE profiles DROP COLUMN subscriber_key;"                     \
	"ALTER TABLE profiles DROP COLUMN lock_until;"                         \
	"ALTER TABLE profiles DROP COLUMN replaces;"                           \
	"DROP TABLE tokens;"

/*
 * A version 2 store (no expiry column) anchored with its MAC: migrated to
 * version 3 it keeps its MAC (what version 3 adds feeds the digest only
 * when present).
 */
static void test_migrate_v2_keeps_mac(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 11 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	int v = 0;

	anchored(t, &c, 16);
	edit(t, "ALTER TABLE profiles DROP COLUMN expires;" V4_DROP "PRAGMA user_version = 2");
	assert_int_equal(store_schema_version(t->s, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	assert_int_equal(count(t, "audit WHERE event = 'migrate'"), 2);
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
}

/*
 * What an operator package records (docs/change-format.md 1) and the
 * consent and release ids accepted (section 2): stored, read back, covered
 * by the MAC, and an older copy of the store (before an id was used) is
 * refused by the counter.
 */
static void test_package_records_and_tokens(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 7 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	static const char sho[] = "1111111111111111111111111111111111111111111111111111111111111111";
	static const char key[] = "2222222222222222222222222222222222222222222222222222222222222222";
	static const char cid[] = "0123456789abcdef0123456789abcdef";
	struct store_profile_meta m = {
		.iccid = "8900000000000000026", .imsi = t->imsi,
		.cls = STORE_CLASS_OPERATIONAL, .sho_id = sho, .subscriber = "acme",
		.subscriber_key = key, .lock_until = 1900000000, .replaces = t->iccid,
	};
	static const char *const edits[] = {
		"UPDATE profiles SET lock_until = 0 WHERE lock_until != 0",
		"UPDATE profiles SET lock_until = lock_until - 1 WHERE lock_until != 0",
		"UPDATE profiles SET sho_id = '' WHERE sho_id != ''",
		"UPDATE profiles SET subscriber_key = replace(subscriber_key, '2', '3')",
		"UPDATE profiles SET subscriber = 'other' WHERE subscriber != ''",
		"UPDATE profiles SET replaces = '' WHERE replaces != ''",
		"DELETE FROM tokens",
		"UPDATE tokens SET expires = expires + 1",
	};
	struct store_profile_info info;
	int64_t id;
	bool used = true;
	uint64_t g0, g1;

	anchored(t, &c, 16);
	/* Refused records: nothing written. */
	m.sho_id = "ABCD";
	assert_int_equal(store_profile_install(t->s, &m, t->p, NULL, 0, NULL), -EINVAL);
	m.sho_id = sho;
	m.lock_until = -1;
	assert_int_equal(store_profile_install(t->s, &m, t->p, NULL, 0, NULL), -EINVAL);
	m.lock_until = 1900000000;
	assert_int_equal(store_profile_install(t->s, &m, t->p, NULL, 0, &id), 0);
	assert_int_equal(store_profile_get(t->s, id, &info), 0);
	assert_string_equal(info.sho_id, sho);
	assert_string_equal(info.subscriber, "acme");
	assert_string_equal(info.subscriber_key, key);
	assert_int_equal(info.lock_until, 1900000000);
	assert_string_equal(info.replaces, t->iccid);
	/* A local install records nothing. */
	assert_int_equal(store_profile_find_iccid(t->s, t->iccid, &info), 0);
	assert_string_equal(info.sho_id, "");
	assert_int_equal(info.lock_until, 0);

	assert_int_equal(store_token_used(t->s, "consent", cid, &used), 0);
	assert_false(used);
	assert_int_equal(store_token_used(t->s, "lease", cid, &used), -EINVAL);
	assert_int_equal(store_token_use(t->s, "consent", "0123", 2000, 1000), -EINVAL);
	assert_int_equal(store_token_use(t->s, "consent", cid, 0, 1000), -EINVAL);
	assert_int_equal(store_anchor_sync(t->s, &c), 0);
	snapshot(t, "before", true);
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
	assert_int_equal(store_generation(t->s, &g0), 0);
	assert_int_equal(store_token_use(t->s, "consent", cid, 2000, 1000), 0);
	assert_int_equal(store_generation(t->s, &g1), 0);
	assert_int_equal(g1, g0 + 1);
	assert_int_equal(store_token_use(t->s, "consent", cid, 2000, 1500), -EALREADY);
	assert_int_equal(store_token_use(t->s, "release", cid, 2000, 1500), 0);
	assert_int_equal(store_token_used(t->s, "consent", cid, &used), 0);
	assert_true(used);
	assert_int_equal(store_anchor_sync(t->s, &c), 0);
	/* An older copy, from before the id was used: the counter says so. */
	snapshot(t, "good", true);
	snapshot(t, "before", false);
	assert_int_equal(store_anchor_check(t->s, &c, 16), -ESTALE);
	snapshot(t, "good", false);
	for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
		int r;

		edit(t, edits[i]);
		r = store_anchor_check(t->s, &c, 16);
		if (r != -EBADMSG)
			fail_msg("edit accepted (%d: %s): %s", r, store_errmsg(t->s), edits[i]);
		snapshot(t, "good", false);
	}
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
	/* Expired ids are pruned when the next one is recorded. */
	assert_int_equal(store_token_use(t->s, "release", "ffffffffffffffffffffffffffffffff",
					 3000, 2000), 0);
	assert_int_equal(store_token_used(t->s, "consent", cid, &used), 0);
	assert_false(used);
	assert_int_equal(count(t, "tokens"), 1);
}

/*
 * A version 3 store (no package records) anchored with its MAC: migrated
 * to version 4 it keeps its MAC.
 */
static void test_migrate_v3_keeps_mac(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 11 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	int v = 0;

	anchored(t, &c, 16);
	edit(t, V4_DROP "PRAGMA user_version = 3");
	assert_int_equal(store_schema_version(t->s, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	assert_int_equal(count(t, "audit WHERE event = 'migrate'"), 2);
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
}

/* A new store anchors; a store with profiles and no anchor is refused. */
static void test_anchor_new_and_missing(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 1000 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	uint64_t base = 0;

	install(t, t->iccid, STORE_CLASS_OPERATIONAL);
	assert_int_equal(store_anchor_check(t->s, &c, 16), -EBADMSG);
	assert_non_null(strstr(store_errmsg(t->s), "missing anchor"));
	assert_int_equal(count(t, "audit WHERE event = 'store-refused'"), 1);
	assert_int_equal(store_nv_base(t->s, &base), -ENOENT);
	edit(t, "DELETE FROM profiles");
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_NEW);
	assert_int_equal(store_nv_base(t->s, &base), 0);
	assert_int_equal(base, 1000);
	assert_int_equal(count(t, "audit WHERE event = 'anchor'"), 1);
	assert_int_equal(count(t, "device_blobs WHERE kind IN ('state-key', 'state-mac')"), 2);
	assert_int_equal(store_anchor_check(t->s, &c, 0), -EINVAL);
	assert_int_equal(store_anchor_check(t->s, &c, STORE_SQN_HEADROOM_MAX + 1), -EINVAL);
}

/* Finding 1: a copy of the current generation brings back no used SQN. */
static void test_rollback_sqn_zero_window(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 7 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	int64_t id = anchored(t, &c, 16);
	uint64_t ceiling = 0;
	unsigned before;

	/* The first SQN moves the ceiling to 1 + 16: one NV increment. */
	before = fc.increments;
	assert_int_equal(auth_commit(t, &c, id, 2, 1), 0);
	assert_int_equal(fc.increments, before + 1);
	assert_int_equal(store_sqn_ceiling(t->s, id, &ceiling), 0);
	assert_int_equal(ceiling, 17);
	snapshot(t, "copy", true);
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
	/* SEQ 2..17 under the ceiling: no NV write; 18 moves it again. */
	before = fc.increments;
	for (uint64_t q = 18; q <= 33; q++)
		assert_int_equal(auth_commit(t, &c, id, (unsigned)(q % 32), q), 0);
	assert_int_equal(fc.increments, before + 1);
	/* The copy of the generation before the move is refused ... */
	snapshot(t, "now", true);
	snapshot(t, "copy", false);
	assert_int_equal(store_anchor_check(t->s, &c, 16), -ESTALE);
	/* ... and a copy of the current generation is served with every
	 * SEQ_MS at the ceiling: no SEQ ever accepted is fresh again. */
	snapshot(t, "now", false);
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
	assert_int_equal(auth_commit(t, &c, id, 5, 34), 0); /* at the ceiling */
	snapshot(t, "now", false);
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
	assert_int_equal(store_sqn_ceiling(t->s, id, &ceiling), 0);
	assert_int_equal(ceiling, 18 + 16);
	for (unsigned ind = 0; ind < 32; ind++)
		assert_int_equal(seq_ms(t, id, ind), 34);
}

/* A clean stop restarts without raising; its copy cannot start twice. */
static void test_anchor_clean_stop(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 7 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	int64_t id = anchored(t, &c, 16);

	assert_int_equal(auth_commit(t, &c, id, 3, 5), 0);
	assert_int_equal(store_anchor_close(t->s, &c), 0);
	snapshot(t, "clean", true);
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_FRESH);
	assert_int_equal(seq_ms(t, id, 0), 0); /* not raised */
	assert_int_equal(seq_ms(t, id, 3), 5);
	assert_int_equal(auth_commit(t, &c, id, 3, 6), 0);
	snapshot(t, "clean", false);
	assert_int_equal(store_anchor_check(t->s, &c, 16), -ESTALE);
}

/* Finding 2: SQL edits of the store are refused. */
static void test_anchor_sql_edits(void **state)
{
	static const char *const edits[] = {
		"UPDATE sqn SET seq_ms = 0",
		"UPDATE meta SET value = value + 1 WHERE key = 'generation'",
		"UPDATE pins SET tries_left = max_tries",
		"UPDATE profiles SET sqn_ceiling = 0",
		"UPDATE profiles SET state = 2",
		"DELETE FROM meta WHERE key = 'nv_base'",
		"DELETE FROM device_blobs WHERE kind = 'state-mac'",
	};
	struct t *t = *state;
	struct fake_counter fc = { .value = 7 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	int64_t id = anchored(t, &c, 16);

	assert_int_equal(auth_commit(t, &c, id, 1, 9), 0);
	t->p->pins[0].tries_left = 1;
	{
		struct usim_change ch = { .kind = USIM_CHANGE_PIN, .index = 0 };

		assert_int_equal(store_apply(t->s, id, t->p, &ch, 1, 0), 0);
	}
	snapshot(t, "good", true);
	for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
		edit(t, edits[i]);
		if (store_anchor_check(t->s, &c, 16) != -EBADMSG)
			fail_msg("edit accepted: %s", edits[i]);
		snapshot(t, "good", false);
	}
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
}

/* Finding 3: a deleted profile does not come back, generation patched or not. */
static void test_rollback_deleted_profile(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 1000 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	int64_t id = anchored(t, &c, 16);
	char sql[96];
	uint64_t g = 0;

	snapshot(t, "before", true);
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
	assert_int_equal(store_profile_delete(t->s, id), 0);
	assert_int_equal(store_anchor_sync(t->s, &c), 0);
	assert_int_equal(store_generation(t->s, &g), 0);
	snapshot(t, "before", false);
	assert_int_equal(store_anchor_check(t->s, &c, 16), -ESTALE);
	assert_non_null(strstr(store_errmsg(t->s), "older than the TPM's generation counter"));
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = %llu WHERE key = 'generation'",
		 (unsigned long long)g);
	edit(t, sql);
	assert_int_equal(store_anchor_check(t->s, &c, 16), -EBADMSG);
	assert_non_null(strstr(store_errmsg(t->s), "does not match its MAC"));
}

/* A crash between a commit and its increment is repaired at the next start. */
static void test_anchor_crash_repair(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 5000 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	int64_t id = anchored(t, &c, 16);
	struct usim_change ch = { .kind = USIM_CHANGE_SQN, .index = 0 };

	t->p->sqn.seq_ms[0] = 100; /* moves the ceiling; no sync: "crash" */
	assert_int_equal(store_apply(t->s, id, t->p, &ch, 1, 0), 0);
	reopen(t);
	fc.increments = 0;
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
	assert_int_equal(fc.increments, 1);
	assert_true(seq_ms(t, id, 7) >= 100);
	/* A counter that fell behind by more is not ours. */
	reopen(t);
	fc.value -= 5;
	assert_int_equal(store_anchor_check(t->s, &c, 16), -EBADMSG);
	assert_int_equal(store_anchor_sync(t->s, &c), -EINVAL); /* not checked */
}

/* Finding 4: the tamper record is authenticated and cannot be rolled back. */
static void test_tamper_record(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 3 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	bool tampered = true;

	anchored(t, &c, 16);
	assert_int_equal(store_tampered(t->s, &tampered), 0);
	assert_false(tampered);
	snapshot(t, "untampered", true);
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
	assert_int_equal(store_tamper_record(t->s), 0);
	assert_int_equal(store_anchor_sync(t->s, &c), 0);
	snapshot(t, "tampered", true);
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
	assert_int_equal(store_tampered(t->s, &tampered), 0);
	assert_true(tampered);
	snapshot(t, "untampered", false);
	assert_int_equal(store_anchor_check(t->s, &c, 16), -ESTALE);
	snapshot(t, "tampered", false);
	edit(t, "UPDATE meta SET value = 0 WHERE key = 'tampered'");
	assert_int_equal(store_anchor_check(t->s, &c, 16), -EBADMSG);
	/* Frozen: the record cannot be written (mcimd then moves the counter). */
	snapshot(t, "tampered", false);
	assert_int_equal(store_tamper_record(t->s), -EACCES);
}

/* No state key (the platform state is not the approved one): frozen. */
static void test_anchor_frozen(void **state)
{
	struct t *t = *state;
	struct fake_counter fc = { .value = 3 };
	struct store_counter c = { fc_read, fc_inc, &fc };
	int64_t id = anchored(t, &c, 16);

	/* Opened and not checked (a program without the TPM): frozen too. */
	reopen(t);
	assert_int_equal(store_profile_disable(t->s, id), -EACCES);
	assert_non_null(strstr(store_errmsg(t->s), "state key is not available"));
	store_close(t->s);
	t->sealer.unseal = NULL; /* store_open() then has no sealer */
	assert_int_equal(store_open(t->path, &t->sealer, &t->s, NULL, 0), 0);
	assert_int_equal(store_anchor_check(t->s, &c, 16), -ENOKEY);
	assert_int_equal(store_profile_disable(t->s, id), -EACCES);
	assert_int_equal(store_audit(t->s, "tamper", NULL, "still recorded"), 0);
	t->sealer.unseal = fake_unseal;
	reopen(t);
	assert_int_equal(store_anchor_check(t->s, &c, 16), STORE_ANCHOR_RAISED);
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
		cmocka_unit_test_setup_teardown(test_generation_bump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchor_new_and_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_sqn_zero_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchor_clean_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchor_sql_edits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_deleted_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchor_crash_repair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchor_frozen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presealed_install, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_and_package_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2_keeps_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v3_keeps_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_package_records_and_tokens, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_device_blobs_and_limits, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
