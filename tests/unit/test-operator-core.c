// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mcim-operator's pure pieces: the model parser (coverage rules, allowlist
 * lookups), the request parsers, the rate limiter, the store's single-use and
 * versioning rules, the DPF's download decision under races, the store's
 * rules of a change of subscription (docs/change-format.md 4), the CSV
 * import's all-or-nothing, and the AK checks of the PVA's challenge.  The whole flow against a TPM is
 * tests/integration/operator/pva.sh.
 *
 * The store's tests run on SQLite, or on PostgreSQL when MCIM_TEST_PG_URL
 * names a server (tests/lib/with-postgres; store-pg.sh runs this program
 * that way): each test then gets a database of its own.
 */
#include <errno.h>
#include <pthread.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "json-util.h"
#include "model.h"
#include "tools/mcim-operator/evidence.h"
#include "tools/mcim-operator/import.h"
#include "tools/mcim-operator/metrics.h"
#include "tools/mcim-operator/pva.h"
#include "tools/mcim-operator/ratelimit.h"
#include "tools/mcim-operator/store.h"

#define ZERO64 "0000000000000000000000000000000000000000000000000000000000000000"
#define ONE64 "1111111111111111111111111111111111111111111111111111111111111111"

static int parse(const char *json, struct op_model *m, char *why)
{
	return model_parse(json, strlen(json), m, why, 256);
}

static void model_rules(void **state _unused_)
{
	struct op_model m;
	char why[256];
	uint8_t d[32];

	/* remote: PCR 0 by the firmware allowlist, 10 by IMA, 23 by a reference */
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":2,\"pcrs\":[0,10,23],"
			       "\"reference\":{\"23\":\"" ZERO64 "\"},"
			       "\"firmware_allow\":[\"" ONE64 "\"],"
			       "\"ima_allow\":[{\"path\":\"/b\",\"digest\":\"sha256:" ONE64 "\"},"
			       "{\"path\":\"/a\",\"digest\":\"" ZERO64 "\"}]}", &m, why), 0);
	assert_int_equal(m.mode, PVA_MODE_REMOTE);
	assert_int_equal(m.pcr_mask, (1u << 0) | (1u << 10) | (1u << 23));
	memset(d, 0x11, 32);
	assert_true(model_fw_allowed(&m, d));
	assert_true(model_ima_allowed(&m, "/b", TPM2_ALG_SHA256, d, 32));
	assert_false(model_ima_allowed(&m, "/a", TPM2_ALG_SHA256, d, 32));
	assert_false(model_ima_allowed(&m, "/b", TPM2_ALG_SHA1, d, 20));
	memset(d, 0, 32);
	assert_false(model_fw_allowed(&m, d));
	assert_true(model_ima_allowed(&m, "/a", TPM2_ALG_SHA256, d, 32));
	model_free(&m);

	/* key_pcrs: default pcrs without 10; a subset without 10 when given */
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"mode\":\"semi-autonomous\","
			       "\"pcrs\":[0,7,10,23]}", &m, why), 0);
	assert_int_equal(m.key_pcr_mask, (1u << 0) | (1u << 7) | (1u << 23));
	model_free(&m);
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"mode\":\"semi-autonomous\","
			       "\"pcrs\":[0,7,10,23],\"key_pcrs\":[23,7]}", &m, why), 0);
	assert_int_equal(m.key_pcr_mask, (1u << 7) | (1u << 23));
	model_free(&m);
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"mode\":\"semi-autonomous\","
			       "\"pcrs\":[0,10],\"key_pcrs\":[0,10]}", &m, why), -EINVAL);
	assert_non_null(strstr(why, "PCR 10"));
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"mode\":\"semi-autonomous\","
			       "\"pcrs\":[0,10],\"key_pcrs\":[1]}", &m, why), -EINVAL);
	assert_non_null(strstr(why, "not in \"pcrs\""));
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"mode\":\"semi-autonomous\","
			       "\"pcrs\":[0,10],\"key_pcrs\":[]}", &m, why), -EINVAL);
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"mode\":\"semi-autonomous\","
			       "\"pcrs\":[10]}", &m, why), -EINVAL);
	assert_non_null(strstr(why, "only PCR 10"));
	/* a selected PCR nothing checks */
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"pcrs\":[0,23],"
			       "\"reference\":{\"23\":\"" ZERO64 "\"}}", &m, why), -EINVAL);
	assert_non_null(strstr(why, "PCR 0 is selected but nothing checks it"));
	/* autonomous needs a reference per PCR, allowlists do not count */
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"mode\":\"autonomous\",\"pcrs\":[0],"
			       "\"firmware_allow\":[]}", &m, why), -EINVAL);
	assert_non_null(strstr(why, "autonomous"));
	/* semi-autonomous: the device's summary covers the PCRs */
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"mode\":\"semi-autonomous\","
			       "\"pcrs\":[0,10]}", &m, why), 0);
	model_free(&m);
	/* strictness */
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"pcrs\":[23],\"extra\":1,"
			       "\"reference\":{\"23\":\"" ZERO64 "\"}}", &m, why), -EINVAL);
	assert_non_null(strstr(why, "unknown member \"extra\""));
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"pcrs\":[23,23]}", &m, why), -EINVAL);
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"pcrs\":[23],"
			       "\"reference\":{\"23\":\"00\"}}", &m, why), -EINVAL);
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"pcrs\":[23],"
			       "\"reference\":{\"22\":\"" ZERO64 "\",\"23\":\"" ZERO64 "\"}}", &m, why),
			 -EINVAL);
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":0,\"pcrs\":[23],"
			       "\"reference\":{\"23\":\"" ZERO64 "\"}}", &m, why), -EINVAL);
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"mode\":\"local\",\"pcrs\":[23],"
			       "\"reference\":{\"23\":\"" ZERO64 "\"}}", &m, why), -EINVAL);
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"pcrs\":[24]}", &m, why), -EINVAL);
	/* a SHA-512 digest where SHA-256 ones go (was a heap overflow, found by
	 * fuzz-operator-requests) */
	assert_int_equal(parse("{\"model\":\"gw\",\"version\":1,\"pcrs\":[0],"
			       "\"firmware_allow\":[\"sha512:" ONE64 ONE64 "\"]}", &m, why), -EINVAL);
	assert_non_null(strstr(why, "not a SHA-256 digest"));
	assert_int_equal(parse("{\"model\":\"gw\"} x", &m, why), -EINVAL);
}

static void requests(void **state _unused_)
{
	struct pva_start_request st;
	struct pva_evidence ev;
	char why[256];
	const char *id = "\"device_id\":\"" ZERO64 "\"";
	char body[512];

	snprintf(body, sizeof(body), "{%s,\"ak_public\":\"AAAA\"}", id);
	assert_int_equal(evidence_parse_start(body, strlen(body), &st, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not a marshalled TPM2B_PUBLIC"));
	snprintf(body, sizeof(body), "{\"device_id\":\"%.63s\",\"ak_public\":\"AAAA\"}", ZERO64);
	assert_int_equal(evidence_parse_start(body, strlen(body), &st, why, sizeof(why)), -EINVAL);
	snprintf(body, sizeof(body), "{%s,\"ak_public\":\"AAAA\",\"x\":1}", id);
	assert_int_equal(evidence_parse_start(body, strlen(body), &st, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "unknown member"));
	assert_int_equal(evidence_parse_start("[]", 2, &st, why, sizeof(why)), -EINVAL);

	static const char *const bad[] = {
		"{}",
		"{\"credential_secret\":\"AAAA\"}",
		"{\"credential_secret\":\"AAA\",\"quote\":{}}",
		/* PCR values out of order, and another bank */
		"{\"credential_secret\":\"AAAA\",\"quote\":{\"attest\":\"AAAA\",\"signature\":\"AAAA\"}}",
		"{\"credential_secret\":\"AAAA\",\"quote\":{\"attest\":\"AAAA\",\"signature\":\"AAAA\",\"x\":1}}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(evidence_parse(bad[i], strlen(bad[i]), &ev, why, sizeof(why)), -EINVAL);
		assert_true(why[0] != '\0');
	}
	/* a TPMT_SIGNATURE of ECDSA SHA-256 with empty r and s, base64 */
	static const char *const sig = "ABgACwAAAAA=";
	char big[2048];

	snprintf(big, sizeof(big),
		 "{\"credential_secret\":\"AAAA\",\"quote\":{\"attest\":\"AAAA\",\"signature\":\"%s\"},"
		 "\"pcr_values\":[{\"bank\":\"sha256\",\"pcr\":1,\"digest\":\"" ZERO64 "\"},"
		 "{\"bank\":\"sha256\",\"pcr\":0,\"digest\":\"" ZERO64 "\"}]}", sig);
	assert_int_equal(evidence_parse(big, strlen(big), &ev, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "ascending"));
	snprintf(big, sizeof(big),
		 "{\"credential_secret\":\"AAAA\",\"quote\":{\"attest\":\"AAAA\",\"signature\":\"%s\"},"
		 "\"pcr_values\":[{\"bank\":\"sha1\",\"pcr\":0,\"digest\":\"" ZERO64 "\"}]}", sig);
	assert_int_equal(evidence_parse(big, strlen(big), &ev, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "sha256"));
}

static void rate_limits(void **state _unused_)
{
	struct ratelimit *rl;
	unsigned retry = 0;

	assert_int_equal(ratelimit_new(3, &rl), 0);
	for (int i = 0; i < 3; i++)
		assert_true(ratelimit_allow(rl, "dev", 1000, &retry));
	assert_false(ratelimit_allow(rl, "dev", 1010, &retry));
	assert_int_equal(retry, 50);
	assert_true(ratelimit_allow(rl, "other", 1010, &retry));
	assert_true(ratelimit_allow(rl, "dev", 1060, &retry)); /* a new window */
	ratelimit_free(rl);
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/mcim-optest.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void rmtree(const char *d)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

/* A fresh store's URL: a file in d, or a new database on MCIM_TEST_PG_URL. */
static void fresh_url(const char *d, char *url, size_t size)
{
	const char *pg = getenv("MCIM_TEST_PG_URL");
	static unsigned n;
	char cmd[512];

	if (!pg || !*pg) {
		snprintf(url, size, "sqlite:%s/op.db", d);
		return;
	}
	n++;
	snprintf(cmd, sizeof(cmd),
		 "psql -X -q '%s/postgres' -c 'CREATE DATABASE t%u_%d' >/dev/null", pg, n,
		 (int)getpid());
	assert_int_equal(system(cmd), 0);
	snprintf(url, size, "%s/t%u_%d", pg, n, (int)getpid());
}

/* Runs one SQL statement on url's database with the engine's own client. */
static int sql(const char *url, const char *statement)
{
	char cmd[1024];

	if (!strncmp(url, "sqlite:", 7))
		snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"%s\"", url + 7, statement);
	else
		snprintf(cmd, sizeof(cmd), "psql -X -q '%s' -c \"%s\" >/dev/null", url, statement);
	return system(cmd);
}

static void store_rules(void **state _unused_)
{
	_cleanup_free_ char *d = tmpdir();
	char url[256], why[256];
	struct store *s;
	struct op_session sess = { .id = "0123456789abcdef0123456789abcdef", .device_id = ZERO64,
				   .model = "gw", .model_version = 1, .mode = "remote",
				   .expires = 100 };
	struct op_session got;
	struct op_device dev = { .id = ZERO64, .ek_type = "rsa", .ek_public = "00", .model = "gw",
				 .subscriber = "acme" };
	int64_t v;

	fresh_url(d, url, sizeof(url));
	assert_int_equal(store_open(url, &s, why, sizeof(why)), 0);
	assert_int_equal(store_ping(s), 0);
	assert_int_equal(store_schema_version(s, &v), 0);
	assert_true(v >= 1);
	/* models: versions only grow */
	assert_int_equal(store_model_put(s, "gw", 2, "{}"), 0);
	assert_int_equal(store_model_put(s, "gw", 2, "{}"), -EEXIST);
	assert_int_equal(store_model_put(s, "gw", 1, "{}"), -EEXIST);
	/* a batch is all or nothing */
	assert_int_equal(store_import_begin(s), 0);
	assert_int_equal(store_device_add(s, &dev), 0);
	/* the duplicate is refused at once (SQLite) or when sent (COPY) */
	int r = store_device_add(s, &dev);
	char conflict[OP_DEVICE_ID_LEN + 1];
	if (r == 0)
		r = store_import_flush(s, conflict);
	assert_int_equal(r, -EEXIST);
	assert_non_null(strstr(store_errmsg(s), "device " ZERO64 " is already registered"));
	store_import_abort(s);
	assert_int_equal(store_device_get(s, ZERO64, &dev), -ENOENT);
	assert_int_equal(store_import_begin(s), 0);
	assert_int_equal(store_device_add(s, &dev), 0);
	assert_int_equal(store_import_commit(s), 0);
	/* a session is consumed once */
	memset(sess.nonce, 7, sizeof(sess.nonce));
	memset(sess.secret, 9, sizeof(sess.secret));
	assert_int_equal(store_session_create(s, &sess), 0);
	assert_int_equal(store_session_create(s, &sess), -EEXIST);
	assert_int_equal(store_session_consume(s, sess.id, &got), 0);
	assert_memory_equal(got.nonce, sess.nonce, 32);
	assert_memory_equal(got.secret, sess.secret, 32);
	assert_int_equal(store_session_consume(s, sess.id, &got), -EALREADY);
	assert_int_equal(store_session_consume(s, "ffffffffffffffffffffffffffffffff", &got), -ENOENT);
	/* the device's TPM clock only goes forward, also against a racing
	 * validation that the PVA's own check could not see */
	assert_int_equal(store_validation_success(s, ZERO64, 10, 5, 1, 1000, "j1", 20, "ok"), 0);
	assert_int_equal(store_validation_success(s, ZERO64, 11, 5, 1, 1000, "j2", 20, "ok"), 0);
	assert_int_equal(store_validation_success(s, ZERO64, 12, 5, 0, 2000, "j3", 20, "ok"),
			 -ESTALE);
	assert_int_equal(store_validation_success(s, ZERO64, 12, 5, 1, 999, "j4", 20, "ok"),
			 -ESTALE);
	assert_int_equal(store_validation_success(s, ZERO64, 13, 6, 0, 1500, "j5", 20, "ok"), 0);
	/* a ticket id is issued once */
	assert_int_equal(store_validation_success(s, ZERO64, 14, 6, 0, 1600, "j5", 20, "ok"), -EEXIST);
	assert_int_equal(store_device_get(s, ZERO64, &dev), 0);
	assert_true(dev.clock_known);
	assert_int_equal(dev.reset_count, 6);
	assert_int_equal(dev.clock, 1500);
	assert_int_equal(dev.validated, 13);
	store_close(s);
	/* a database from a newer mcim-operator is refused */
	if (sql(url, "INSERT INTO schema_version VALUES (99)") == 0) {
		assert_int_equal(store_open(url, &s, why, sizeof(why)), -EPROTO);
		assert_non_null(strstr(why, "newer"));
	}
	rmtree(d);
}

/* base64 DER SubjectPublicKeyInfo of a fresh P-256 key: a bare EK public key. */
static char *spki_b64(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	char *b;

	assert_true(n > 0);
	b = b64_encode(der, (size_t)n);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	return b;
}

static int counter(const struct op_device *x _unused_, void *user)
{
	(*(int *)user)++;
	return 0;
}

static void csv_import(void **state _unused_)
{
	_cleanup_free_ char *d = tmpdir(), *k1 = spki_b64(), *k2 = spki_b64(), *k3 = spki_b64();
	char url[256], why[256], csv[2048];
	struct import_opts o = { .batch = "b1", .now = 1000 };
	struct op_device dev = { .id = ZERO64 };
	unsigned long n = 0;
	struct store *s;
	FILE *f;

	fresh_url(d, url, sizeof(url));
	assert_int_equal(store_open(url, &s, why, sizeof(why)), 0);
	/* row 3 is bad: nothing of the file is imported */
	snprintf(csv, sizeof(csv), "model,ek_public,subscriber\ngw,%s,acme\ngw,%s,\n", k1, k2);
	f = fmemopen(csv, strlen(csv), "r");
	assert_int_equal(import_csv(s, NULL, f, &o, &n, why, sizeof(why)), -EINVAL);
	fclose(f);
	assert_non_null(strstr(why, "line 3:"));
	struct store_device_filter all = { 0 };
	int count = 0;
	assert_int_equal(store_device_list(s, &all, counter, &count), 0);
	assert_int_equal(count, 0);
	/* quoted fields, CRLF, a blank line */
	snprintf(csv, sizeof(csv), "model,ek_public,subscriber\r\n\"gw\",%s,\"acme\"\r\n\ngw,%s,acme\n",
		 k1, k2);
	f = fmemopen(csv, strlen(csv), "r");
	assert_int_equal(import_csv(s, NULL, f, &o, &n, why, sizeof(why)), 0);
	fclose(f);
	assert_int_equal(n, 2);
	count = 0;
	assert_int_equal(store_device_list(s, &all, counter, &count), 0);
	assert_int_equal(count, 2);
	/* again: the first row is a duplicate, named by its line */
	f = fmemopen(csv, strlen(csv), "r");
	assert_int_equal(import_csv(s, NULL, f, &o, &n, why, sizeof(why)), -EEXIST);
	fclose(f);
	assert_non_null(strstr(why, "line 2: device"));
	/* a duplicate inside one file: the second line is named (on
	 * PostgreSQL the COPY finds it only at the end of the chunk) */
	snprintf(csv, sizeof(csv), "model,ek_public,subscriber\ngw,%s,acme\ngw,%s,acme\n", k3, k3);
	f = fmemopen(csv, strlen(csv), "r");
	assert_int_equal(import_csv(s, NULL, f, &o, &n, why, sizeof(why)), -EEXIST);
	fclose(f);
	assert_non_null(strstr(why, "line 3: device"));
	count = 0;
	assert_int_equal(store_device_list(s, &all, counter, &count), 0);
	assert_int_equal(count, 2);
	/* names with characters COPY's text format escapes are refused
	 * before the store (name_ok), so none reach it; a batch name filter: */
	struct store_device_filter b1 = { .batch = "b1", .limit = 1 };
	count = 0;
	assert_int_equal(store_device_list(s, &b1, counter, &count), 0);
	assert_int_equal(count, 1);
	/* an unknown column */
	snprintf(csv, sizeof(csv), "model,ek_public,subscriber,colour\n");
	f = fmemopen(csv, strlen(csv), "r");
	assert_int_equal(import_csv(s, NULL, f, &o, &n, why, sizeof(why)), -EINVAL);
	fclose(f);
	assert_non_null(strstr(why, "colour"));
	assert_int_equal(store_device_get(s, dev.id, &dev), -ENOENT);
	store_close(s);
	rmtree(d);
}

/*
 * Several threads on a pool of connections (several on PostgreSQL): every
 * single-use rule holds when they race for one session, and a validation
 * recorded by many at once keeps the latest clock.
 */
#define RACERS 8
struct race {
	struct store *s;
	const char *session;
	int r;
	int64_t clock;
	char jti[16];
};

static void *racer(void *arg)
{
	struct race *x = arg;
	struct op_session got;

	if (x->session)
		x->r = store_session_consume(x->s, x->session, &got);
	else
		x->r = store_validation_success(x->s, ZERO64, 50, 7, 0, x->clock, x->jti, 60, "race");
	return NULL;
}

static void store_races(void **state _unused_)
{
	_cleanup_free_ char *d = tmpdir();
	char url[256], why[256];
	struct store *s;
	struct op_device dev = { .id = ZERO64, .ek_type = "rsa", .ek_public = "00", .model = "gw",
				 .subscriber = "acme" };
	struct op_session sess = { .device_id = ZERO64, .model = "gw", .model_version = 1,
				   .mode = "remote", .expires = 100 };
	struct race x[RACERS];
	pthread_t th[RACERS];
	int won, busy;

	fresh_url(d, url, sizeof(url));
	assert_int_equal(store_open_pool(url, 4, &s, why, sizeof(why)), 0);
	assert_int_equal(store_import_begin(s), 0);
	assert_int_equal(store_device_add(s, &dev), 0);
	assert_int_equal(store_import_commit(s), 0);
	for (unsigned round = 0; round < 20; round++) {
		snprintf(sess.id, sizeof(sess.id), "%032x", round);
		memset(sess.nonce, (int)round, sizeof(sess.nonce));
		assert_int_equal(store_session_create(s, &sess), 0);
		for (unsigned i = 0; i < RACERS; i++) {
			x[i] = (struct race){ .s = s, .session = sess.id };
			assert_int_equal(pthread_create(&th[i], NULL, racer, &x[i]), 0);
		}
		won = 0;
		for (unsigned i = 0; i < RACERS; i++) {
			pthread_join(th[i], NULL);
			assert_true(x[i].r == 0 || x[i].r == -EALREADY);
			won += x[i].r == 0;
		}
		assert_int_equal(won, 1);
	}
	/* one nonce, one session: a second session with the same nonce is refused */
	snprintf(sess.id, sizeof(sess.id), "%032x", 99);
	assert_int_equal(store_session_create(s, &sess), -EEXIST);
	/* racing successes with clocks 1..RACERS: the row ends at the highest,
	 * each refusal is a later clock recorded first, or a retry given up */
	for (unsigned i = 0; i < RACERS; i++) {
		x[i] = (struct race){ .s = s, .clock = (int64_t)i + 1 };
		snprintf(x[i].jti, sizeof(x[i].jti), "race%u", i);
		assert_int_equal(pthread_create(&th[i], NULL, racer, &x[i]), 0);
	}
	won = busy = 0;
	for (unsigned i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		assert_true(x[i].r == 0 || x[i].r == -ESTALE || x[i].r == -EBUSY);
		won += x[i].r == 0;
		busy += x[i].r == -EBUSY;
	}
	assert_true(won >= 1);
	assert_int_equal(store_device_get(s, ZERO64, &dev), 0);
	if (!busy)
		assert_int_equal(dev.clock, RACERS);
	for (unsigned i = 0; i < RACERS; i++)
		if (x[i].r == 0)
			assert_true(x[i].clock <= dev.clock);
	store_close(s);
	rmtree(d);
}

/*
 * The DPF's download decision racing (store_package_issue): devices of one
 * subscriber claiming from its pool at once each get a subscription of
 * their own until the pool is empty, the others a true -ENXIO (never a
 * free subscription missed because another download held it); downloads
 * of one device at once get consecutive sequence numbers and one
 * subscription.
 */
struct download {
	struct store *s;
	struct op_package p;
	int r;
};

static void *downloader(void *arg)
{
	struct download *x = arg;
	struct op_subscription sub;

	x->r = store_package_issue(x->s, "op-a", "acme", &x->p, &sub);
	op_subscription_clear(&sub);
	return NULL;
}

static void store_download_races(void **state _unused_)
{
	_cleanup_free_ char *d = tmpdir();
	char url[256], why[256], seen[RACERS][OP_ICCID_MAX + 1];
	struct store *s;
	struct download x[RACERS];
	pthread_t th[RACERS];
	unsigned won = 0, first = RACERS;
	bool seq[RACERS + 2] = { false };

	fresh_url(d, url, sizeof(url));
	assert_int_equal(store_open_pool(url, 4, &s, why, sizeof(why)), 0);
	assert_int_equal(store_import_begin(s), 0);
	for (unsigned i = 0; i < RACERS; i++) {
		struct op_device dev = { .ek_type = "rsa", .ek_public = "00", .model = "gw",
					 .subscriber = "acme", .sho = "op-a" };

		snprintf(dev.id, sizeof(dev.id), "%064x", i + 1);
		assert_int_equal(store_device_add(s, &dev), 0);
	}
	assert_int_equal(store_import_commit(s), 0);
	/* a pool two short of the devices */
	for (unsigned i = 0; i < RACERS - 2; i++) {
		struct op_subscription sub = { .sho = "op-a", .subscriber = "acme",
					       .algorithm = "milenage", .state = "created",
					       .secrets = (char *)"00", .profile = (char *)"{}",
					       .created = 1 };

		snprintf(sub.iccid, sizeof(sub.iccid), "89000000000000000%02u", i);
		snprintf(sub.imsi, sizeof(sub.imsi), "0010100000000%02u", i);
		assert_int_equal(store_subscription_add(s, &sub), 0);
	}
	for (unsigned i = 0; i < RACERS; i++) {
		x[i] = (struct download){ .s = s, .p = { .ak_public = "00", .kpd = "aa",
							 .issued = 10, .expires = 20 } };
		snprintf(x[i].p.device_id, sizeof(x[i].p.device_id), "%064x", i + 1);
		snprintf(x[i].p.nonce, sizeof(x[i].p.nonce), "n%u", i);
		snprintf(x[i].p.jti, sizeof(x[i].p.jti), "t%u", i);
		assert_int_equal(store_validation_success(s, x[i].p.device_id, 5, 0, 0, 0,
							  x[i].p.jti, 100, "ok"), 0);
	}
	for (unsigned i = 0; i < RACERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, downloader, &x[i]), 0);
	for (unsigned i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		assert_true(x[i].r == 0 || x[i].r == -ENXIO);
		if (x[i].r)
			continue;
		assert_int_equal(x[i].p.sequence, 1);
		for (unsigned j = 0; j < won; j++)
			assert_string_not_equal(seen[j], x[i].p.iccid);
		snprintf(seen[won++], sizeof(seen[0]), "%s", x[i].p.iccid);
		if (first == RACERS)
			first = i;
	}
	assert_int_equal(won, RACERS - 2);
	/* one device, RACERS downloads at once: sequences 2.., its one subscription */
	for (unsigned i = 0; i < RACERS; i++) {
		x[i] = (struct download){ .s = s, .p = x[first].p };
		snprintf(x[i].p.nonce, sizeof(x[i].p.nonce), "m%u", i);
		snprintf(x[i].p.jti, sizeof(x[i].p.jti), "u%u", i);
		assert_int_equal(store_validation_success(s, x[i].p.device_id, 6, 0, 0, 0,
							  x[i].p.jti, 100, "ok"), 0);
	}
	for (unsigned i = 0; i < RACERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, downloader, &x[i]), 0);
	for (unsigned i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(x[i].r, 0);
		assert_string_equal(x[i].p.iccid, seen[0]);
		assert_true(x[i].p.sequence >= 2 && x[i].p.sequence < RACERS + 2);
		assert_false(seq[x[i].p.sequence]);
		seq[x[i].p.sequence] = true;
	}
	store_close(s);
	rmtree(d);
}

/*
 * docs/change-format.md 4 in the store: subscriber accounts, the contract
 * lock, peer roots, consents and releases (a release only with a recorded,
 * unexpired consent for that device, subscription and SHO), the switch ids
 * consumed with the ticket (a refusal consumes nothing), receipts of a
 * replacing package, release reports (each state change once) and the
 * DRF's switch order.
 */
static int count_consent(const struct op_token_rec *x _unused_, void *user)
{
	(*(int *)user)++;
	return 0;
}

static void issue(struct download *x, const char *nonce, const char *jti, int64_t now)
{
	snprintf(x->p.nonce, sizeof(x->p.nonce), "%s", nonce);
	snprintf(x->p.jti, sizeof(x->p.jti), "%s", jti);
	assert_int_equal(store_validation_success(x->s, x->p.device_id, now, 0, 0, now, jti, 1000,
						  "ok"), 0);
	downloader(x);
}

static void store_changes(void **state _unused_)
{
	_cleanup_free_ char *d = tmpdir();
	char url[256], why[256], st[16];
	struct op_device dev = { .ek_type = "rsa", .ek_public = "00", .model = "gw",
				 .subscriber = "acme", .sho = "op-a" };
	struct op_subscription sub = { .sho = "op-a", .subscriber = "acme", .algorithm = "milenage",
				       .state = "created", .secrets = (char *)"00",
				       .profile = (char *)"{}", .created = 1 };
	struct op_subscriber acc = { .name = "acme", .cert = "AAAA", .key_id = ONE64, .created = 1 },
			     got_acc;
	struct op_sho sho_b = { .id = "op-b", .name = "B", .pva_url = "https://b", .dpf_url = "https://b",
				.root = "PEM", .root_id = ONE64 }, got_sho;
	struct op_token_rec c1 = { .id = "c1", .iccid = "8900000000000000017", .to_sho = ONE64,
				   .subscriber = "acme", .issued = 10, .expires = 500 },
			    rel = { .id = "r1", .iccid = "8900000000000000017", .to_sho = ONE64,
				    .issued = 20, .expires = 400 };
	struct op_switch_order order = { .sho = "op-b", .consent = (char *)"Y29uc2VudA==" }, got;
	struct download x = { .p = { .ak_public = "00", .kpd = "aa", .issued = 10, .expires = 20 } };
	struct op_subscription now_sub;
	struct op_package pkg;
	struct op_sho sho_a = { .id = "op-a", .name = "A", .pva_url = "https://a", .dpf_url = "https://a" };
	struct store *s;
	int n = 0;

	fresh_url(d, url, sizeof(url));
	assert_int_equal(store_open_pool(url, 1, &s, why, sizeof(why)), 0);
	snprintf(dev.id, sizeof(dev.id), "%064x", 9);
	assert_int_equal(store_import_begin(s), 0);
	assert_int_equal(store_device_add(s, &dev), 0);
	assert_int_equal(store_import_commit(s), 0);
	snprintf(sub.iccid, sizeof(sub.iccid), "8900000000000000017");
	snprintf(sub.imsi, sizeof(sub.imsi), "001010000000017");
	assert_int_equal(store_subscription_add(s, &sub), 0);
	x.s = s;
	snprintf(x.p.device_id, sizeof(x.p.device_id), "%s", dev.id);

	/* accounts and roots */
	assert_int_equal(store_subscriber_add(s, &acc), 0);
	assert_int_equal(store_subscriber_add(s, &acc), -EEXIST);
	assert_int_equal(store_subscriber_get(s, "acme", &got_acc), 0);
	assert_string_equal(got_acc.key_id, ONE64);
	assert_int_equal(store_subscriber_get(s, "nobody", &got_acc), -ENOENT);
	assert_int_equal(store_sho_put(s, &sho_a), 0);
	assert_int_equal(store_sho_put(s, &sho_b), 0);
	sho_b.root[0] = sho_b.root_id[0] = 0; /* an update without a root keeps it */
	assert_int_equal(store_sho_put(s, &sho_b), 0);
	assert_int_equal(store_sho_get(s, "op-b", &got_sho), 0);
	assert_string_equal(got_sho.root_id, ONE64);
	assert_string_equal(got_sho.root, "PEM");

	/* the lock; the package; the receipt */
	assert_int_equal(store_subscription_lock(s, sub.iccid, 1000, 5), 0);
	assert_int_equal(store_subscription_lock(s, "8900000000000000099", 1000, 5), -ENOENT);
	assert_int_equal(store_subscription_get(s, sub.iccid, &now_sub), 0);
	assert_int_equal(now_sub.lock_until, 1000);
	op_subscription_clear(&now_sub);
	issue(&x, "n1", "t1", 5);
	assert_int_equal(x.r, 0);
	assert_int_equal(store_package_confirm(s, dev.id, 1, 6, "installed", "", "ok"), 0);

	/* a release needs a recorded, unexpired consent for device, subscription and SHO */
	snprintf(c1.device_id, sizeof(c1.device_id), "%s", dev.id);
	assert_int_equal(store_release_issue(s, &rel, 30), -ENOENT);
	assert_int_equal(store_consent_add(s, &c1, 30), 0);
	assert_int_equal(store_consent_add(s, &c1, 30), -EEXIST);
	assert_int_equal(store_consent_list(s, count_consent, &n), 0);
	assert_int_equal(n, 1);
	snprintf(rel.to_sho, sizeof(rel.to_sho), "%s", ZERO64);
	assert_int_equal(store_release_issue(s, &rel, 30), -ENOENT); /* another SHO */
	snprintf(rel.to_sho, sizeof(rel.to_sho), "%s", ONE64);
	assert_int_equal(store_release_issue(s, &rel, 500), -ENOENT); /* the consent expired */
	assert_int_equal(store_subscription_get(s, sub.iccid, &now_sub), 0);
	assert_string_equal(now_sub.state, "active");
	op_subscription_clear(&now_sub);
	assert_int_equal(store_release_issue(s, &rel, 30), 0);
	assert_string_equal(rel.subscriber, "c1");
	assert_string_equal(rel.device_id, dev.id);
	assert_int_equal(store_subscription_get(s, sub.iccid, &now_sub), 0);
	assert_string_equal(now_sub.state, "releasing");
	op_subscription_clear(&now_sub);

	/* the new SHO's side (here in the same store): ids consumed with the ticket */
	snprintf(sub.iccid, sizeof(sub.iccid), "8900000000000000025");
	snprintf(sub.imsi, sizeof(sub.imsi), "001010000000025");
	snprintf(sub.device_id, sizeof(sub.device_id), "%s", dev.id);
	assert_int_equal(store_subscription_add(s, &sub), 0);
	snprintf(x.p.replaces, sizeof(x.p.replaces), "8900000000000000017");
	snprintf(x.p.consent_id, sizeof(x.p.consent_id), "c1");
	snprintf(x.p.release_id, sizeof(x.p.release_id), "r1");
	issue(&x, "n2", "t2", 40);
	assert_int_equal(x.r, 0);
	assert_string_equal(x.p.iccid, sub.iccid);
	issue(&x, "n3", "t3", 41);
	assert_int_equal(x.r, -EADDRINUSE); /* the consent again */
	snprintf(x.p.consent_id, sizeof(x.p.consent_id), "c2");
	snprintf(x.p.nonce, sizeof(x.p.nonce), "n3");
	downloader(&x);
	assert_int_equal(x.r, -EADDRNOTAVAIL); /* a fresh consent, the release again */
	snprintf(x.p.release_id, sizeof(x.p.release_id), "r2");
	downloader(&x); /* t3 and c2 were not consumed by the refusals */
	assert_int_equal(x.r, 0);
	assert_int_equal(store_package_get(s, dev.id, 3, &pkg), 0);
	assert_string_equal(pkg.replaces, "8900000000000000017");
	assert_int_equal(store_package_confirm(s, dev.id, 3, 50, "fallback", "no AUTN", "x"), 0);
	assert_int_equal(store_package_confirm(s, dev.id, 3, 51, "switched", "", "x"), -EALREADY);
	assert_int_equal(store_package_get(s, dev.id, 3, &pkg), 0);
	assert_string_equal(pkg.result, "fallback");
	assert_string_equal(pkg.reason, "no AUTN");
	assert_int_equal(store_subscription_get(s, sub.iccid, &now_sub), 0);
	assert_string_equal(now_sub.state, "failed");
	op_subscription_clear(&now_sub);
	issue(&x, "n4", "t4", 52); /* a failed subscription is not packaged again */
	assert_int_equal(x.r, -ENXIO);

	/* the DRF's order */
	snprintf(order.device_id, sizeof(order.device_id), "%064x", 1);
	assert_int_equal(store_switch_order_put(s, &order, 60), -ENOENT);
	snprintf(order.device_id, sizeof(order.device_id), "%s", dev.id);
	snprintf(order.sho, sizeof(order.sho), "op-z");
	assert_int_equal(store_switch_order_put(s, &order, 60), -ENOENT);
	snprintf(order.sho, sizeof(order.sho), "op-b");
	assert_int_equal(store_switch_order_put(s, &order, 60), 0);
	order.release = (char *)"cmVsZWFzZQ==";
	assert_int_equal(store_switch_order_put(s, &order, 61), 0);
	assert_int_equal(store_switch_order_get(s, dev.id, &got), 0);
	assert_string_equal(got.consent, "Y29uc2VudA==");
	assert_string_equal(got.release, "cmVsZWFzZQ==");
	op_switch_order_clear(&got);

	/* release reports: each state change once */
	assert_int_equal(store_release_report(s, dev.id, "8900000000000000099", "switched", "", 70, st),
			 -ENOENT);
	assert_int_equal(store_release_report(s, dev.id, "8900000000000000017", "fallback", "t/o", 70,
					      st), 0);
	assert_string_equal(st, "active");
	assert_int_equal(store_switch_order_get(s, dev.id, &got), -ENOENT); /* the order ended */
	assert_int_equal(store_release_report(s, dev.id, "8900000000000000017", "fallback", "", 71, st),
			 -EALREADY);
	assert_int_equal(store_switch_order_put(s, &order, 72), 0);
	assert_int_equal(store_release_report(s, dev.id, "8900000000000000017", "switched", "", 73, st),
			 0);
	assert_string_equal(st, "ended");
	assert_int_equal(store_device_get(s, dev.id, &dev), 0);
	assert_string_equal(dev.sho, "op-b"); /* the order carried out */
	assert_int_equal(store_release_report(s, dev.id, "8900000000000000017", "switched", "", 74, st),
			 -EALREADY);
	assert_int_equal(store_release_report(s, dev.id, "8900000000000000017", "fallback", "", 75, st),
			 -EPERM);
	assert_string_equal(st, "ended");
	store_close(s);
	rmtree(d);
}

/*
 * A validation refused on the device's own evidence revokes its unused
 * tickets: the DPF answers -EKEYREVOKED for them; a used ticket stays used.
 * pva_verdict_from_device() decides which refusals count.
 */
static void tickets_revoked_by_refusal(void **state _unused_)
{
	_cleanup_free_ char *d = tmpdir();
	char url[256], why[256];
	struct op_device dev = { .ek_type = "rsa", .ek_public = "00", .model = "gw",
				 .subscriber = "acme", .sho = "op-a" };
	struct op_subscription sub = { .sho = "op-a", .subscriber = "acme", .algorithm = "milenage",
				       .state = "created", .secrets = (char *)"00",
				       .profile = (char *)"{}", .created = 1 };
	struct download x = { .p = { .ak_public = "00", .kpd = "aa", .issued = 10, .expires = 20 } };
	struct pva_verdict v = { .n = 3 };
	struct store *s;

	fresh_url(d, url, sizeof(url));
	assert_int_equal(store_open_pool(url, 1, &s, why, sizeof(why)), 0);
	snprintf(dev.id, sizeof(dev.id), "%064x", 7);
	assert_int_equal(store_import_begin(s), 0);
	assert_int_equal(store_device_add(s, &dev), 0);
	assert_int_equal(store_import_commit(s), 0);
	snprintf(sub.iccid, sizeof(sub.iccid), "8900000000000000017");
	snprintf(sub.imsi, sizeof(sub.imsi), "001010000000017");
	assert_int_equal(store_subscription_add(s, &sub), 0);
	x.s = s;
	snprintf(x.p.device_id, sizeof(x.p.device_id), "%s", dev.id);
	/* t1 buys a package; t2 is issued, then the platform fails a validation */
	assert_int_equal(store_validation_success(s, dev.id, 5, 0, 0, 1, "t1", 100, "ok"), 0);
	assert_int_equal(store_validation_success(s, dev.id, 6, 0, 0, 2, "t2", 100, "ok"), 0);
	snprintf(x.p.nonce, sizeof(x.p.nonce), "n1");
	snprintf(x.p.jti, sizeof(x.p.jti), "t1");
	downloader(&x);
	assert_int_equal(x.r, 0);
	assert_int_equal(store_validation_refused(s, 7, dev.id, "pcr_reference: PCR 23"), 0);
	snprintf(x.p.nonce, sizeof(x.p.nonce), "n2");
	snprintf(x.p.jti, sizeof(x.p.jti), "t2");
	downloader(&x);
	assert_int_equal(x.r, -EKEYREVOKED);
	assert_non_null(strstr(store_errmsg(s), "revoked"));
	snprintf(x.p.jti, sizeof(x.p.jti), "t1");
	downloader(&x);
	assert_int_equal(x.r, -EALREADY);
	/* a ticket of a later valid validation works again */
	assert_int_equal(store_validation_success(s, dev.id, 8, 0, 0, 3, "t3", 100, "ok"), 0);
	snprintf(x.p.nonce, sizeof(x.p.nonce), "n3");
	snprintf(x.p.jti, sizeof(x.p.jti), "t3");
	downloader(&x);
	assert_int_equal(x.r, 0);
	store_close(s);
	rmtree(d);

	/* only evidence the device's TPM made (credential, quote signature and nonce) */
	v.checks[0] = (struct pva_check){ .check = "credential", .ok = true };
	v.checks[1] = (struct pva_check){ .check = "quote_signature", .ok = true };
	v.checks[2] = (struct pva_check){ .check = "quote_nonce", .ok = true };
	assert_true(pva_verdict_from_device(&v));
	v.checks[0].ok = false;
	assert_false(pva_verdict_from_device(&v));
	v.checks[0].ok = true;
	v.n = 2;
	assert_false(pva_verdict_from_device(&v));
}

/* The Prometheus text: fixed label sets, cumulative buckets. */
static void metrics_text(void **state _unused_)
{
	struct metrics *m;
	char *t;

	assert_int_equal(metrics_new(&m), 0);
	metrics_request(m, "/v1/validations/0123/evidence", 200, 0.003);
	metrics_request(m, "/v1/validations/0123/evidence", 403, 0.2);
	metrics_request(m, "/v1/validations/0123/evidence", 418, 7);
	metrics_request(m, "/anything/a/client/sends", 404, 0.0001);
	metrics_refused(m, "quote_nonce");
	metrics_refused(m, "quote_nonce");
	metrics_refused(m, "a name a client made up");
	t = metrics_render(m, NULL);
	assert_non_null(t);
	assert_non_null(strstr(t, "# TYPE mcim_operator_requests_total counter\n"));
	assert_non_null(strstr(t, "mcim_operator_requests_total{endpoint=\"evidence\",code=\"200\"} 1\n"));
	assert_non_null(strstr(t, "mcim_operator_requests_total{endpoint=\"evidence\",code=\"403\"} 1\n"));
	assert_non_null(strstr(t, "mcim_operator_requests_total{endpoint=\"evidence\",code=\"other\"} 1\n"));
	assert_non_null(strstr(t, "mcim_operator_requests_total{endpoint=\"other\",code=\"404\"} 1\n"));
	assert_null(strstr(t, "anything"));
	/* 3 ms is in le=0.005 and above, 200 ms from 0.25, 7 s only in +Inf */
	assert_non_null(strstr(t, "_bucket{endpoint=\"evidence\",le=\"0.0025\"} 0\n"));
	assert_non_null(strstr(t, "_bucket{endpoint=\"evidence\",le=\"0.005\"} 1\n"));
	assert_non_null(strstr(t, "_bucket{endpoint=\"evidence\",le=\"0.25\"} 2\n"));
	assert_non_null(strstr(t, "_bucket{endpoint=\"evidence\",le=\"5\"} 2\n"));
	assert_non_null(strstr(t, "_bucket{endpoint=\"evidence\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(t, "_count{endpoint=\"evidence\"} 3\n"));
	assert_non_null(strstr(t, "_sum{endpoint=\"evidence\"} 7.203000\n"));
	assert_non_null(strstr(t, "mcim_operator_validations_refused_total{check=\"quote_nonce\"} 2\n"));
	assert_non_null(strstr(t, "mcim_operator_validations_refused_total{check=\"other\"} 1\n"));
	assert_null(strstr(t, "made up"));
	free(t);
	metrics_free(m);
}

static void ak_checks(void **state _unused_)
{
	TPM2B_PUBLIC ak = { .publicArea = {
		.type = TPM2_ALG_ECC, .nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_SIGN_ENCRYPT |
				    TPMA_OBJECT_DECRYPT,
		.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256 } };
	TPMT_PUBLIC ek = { 0 };
	struct pva_challenge ch;
	struct pva_verdict v;

	/* not restricted and decrypt: both named, in one check */
	assert_int_equal(pva_challenge_make(&ek, &ak, &ch, &v), -EPERM);
	assert_int_equal(v.failed, 1);
	assert_string_equal(v.checks[0].check, "ak_attributes");
	assert_non_null(strstr(v.checks[0].reason, "not restricted"));
	assert_non_null(strstr(v.checks[0].reason, "has decrypt"));
	ak.publicArea.nameAlg = TPM2_ALG_SHA1;
	ak.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
	assert_int_equal(pva_challenge_make(&ek, &ak, &ch, &v), -EPERM);
	assert_non_null(strstr(v.checks[0].reason, "nameAlg"));
	assert_non_null(strstr(v.checks[0].reason, "P-256"));
}

/* The evidence's storage key: the SRK or a storage parent (pva_srk_check). */
static void srk_checks(void **state _unused_)
{
	const TPMA_OBJECT storage = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED |
				    TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA;
	TPM2B_PUBLIC k = { .publicArea = {
		.type = TPM2_ALG_ECC, .nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = storage,
		.authPolicy = { .size = 32 },
		.parameters.eccDetail = {
			.symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
				       .mode.aes = TPM2_ALG_CFB },
			.scheme = { .scheme = TPM2_ALG_NULL },
			.curveID = TPM2_ECC_NIST_P256,
			.kdf = { .scheme = TPM2_ALG_NULL } } } };
	TPM2B_PUBLIC x;
	char why[256];

	/* the SRK's template and a storage parent's: the same shape */
	assert_int_equal(pva_srk_check(&k, why, sizeof(why)), 0);
	memset(k.publicArea.authPolicy.buffer, 0x5a, 32); /* PolicyNV(R <= b), any digest */
	assert_int_equal(pva_srk_check(&k, why, sizeof(why)), 0);
	x = k; /* without noDA nor sensitiveDataOrigin: still a storage key */
	x.publicArea.objectAttributes &= ~(TPMA_OBJECT_NODA | TPMA_OBJECT_SENSITIVEDATAORIGIN);
	assert_int_equal(pva_srk_check(&x, why, sizeof(why)), 0);
	x = k; /* a signing key */
	x.publicArea.objectAttributes = (storage & ~TPMA_OBJECT_DECRYPT) | TPMA_OBJECT_SIGN_ENCRYPT;
	assert_int_equal(pva_srk_check(&x, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "a signing key"));
	x = k; /* not restricted */
	x.publicArea.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	assert_int_equal(pva_srk_check(&x, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not restricted"));
	x = k; /* duplicable */
	x.publicArea.objectAttributes &= ~TPMA_OBJECT_FIXEDPARENT;
	assert_int_equal(pva_srk_check(&x, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "duplicable"));
	x = k;
	x.publicArea.objectAttributes &= ~(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT);
	assert_int_equal(pva_srk_check(&x, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "duplicable"));
	x = k; /* usable with an authValue */
	x.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	assert_int_equal(pva_srk_check(&x, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "userWithAuth"));
	x = k; /* no policy */
	x.publicArea.authPolicy.size = 0;
	assert_int_equal(pva_srk_check(&x, why, sizeof(why)), -EINVAL);
	x = k; /* another symmetric */
	x.publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CTR;
	assert_int_equal(pva_srk_check(&x, why, sizeof(why)), -EINVAL);
	x = k; /* a scheme: not a storage key */
	x.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDH;
	assert_int_equal(pva_srk_check(&x, why, sizeof(why)), -EINVAL);
}

/*
 * Files of more than one chunk (import.c checks chunk N+1 while it inserts
 * chunk N): the first bad line is the one reported even when a later line
 * of the same chunk cannot be read; a duplicate across chunks is named by
 * its second line; nothing of a refused file stays; a good file arrives
 * whole.
 */
#define ROWS 2200 /* import.c's CHUNK is 2048 */
static FILE *rows_csv(char **keys, unsigned bad, unsigned toolong, unsigned dup)
{
	FILE *f = tmpfile();

	assert_non_null(f);
	fputs("model,ek_public,subscriber\n", f);
	for (unsigned i = 0; i < ROWS; i++) {
		unsigned line = i + 2;

		if (line == toolong) {
			for (unsigned j = 0; j < IMPORT_LINE_MAX + 1; j++)
				fputc('x', f);
			fputc('\n', f);
		} else {
			fprintf(f, "gw,%s,%s\n", keys[line == dup ? 0 : i], line == bad ? "a b" : "acme");
		}
	}
	rewind(f);
	return f;
}

static void csv_import_chunks(void **state _unused_)
{
	_cleanup_free_ char *d = tmpdir();
	char url[256], why[256], *keys[ROWS];
	struct import_opts o = { .now = 1000 };
	struct store_device_filter all = { 0 };
	unsigned long n = 0;
	struct store *s;
	int count = 0;
	FILE *f;

	for (unsigned i = 0; i < ROWS; i++)
		keys[i] = spki_b64();
	fresh_url(d, url, sizeof(url));
	assert_int_equal(store_open(url, &s, why, sizeof(why)), 0);
	f = rows_csv(keys, 2101, 2150, 0);
	assert_int_equal(import_csv(s, NULL, f, &o, &n, why, sizeof(why)), -EINVAL);
	fclose(f);
	assert_non_null(strstr(why, "line 2101: model, subscriber"));
	f = rows_csv(keys, 0, 2150, 0);
	assert_int_equal(import_csv(s, NULL, f, &o, &n, why, sizeof(why)), -EINVAL);
	fclose(f);
	assert_non_null(strstr(why, "line 2150: longer than"));
	f = rows_csv(keys, 0, 0, 2120);
	assert_int_equal(import_csv(s, NULL, f, &o, &n, why, sizeof(why)), -EEXIST);
	fclose(f);
	assert_non_null(strstr(why, "line 2120: device"));
	assert_int_equal(store_device_list(s, &all, counter, &count), 0);
	assert_int_equal(count, 0);
	f = rows_csv(keys, 0, 0, 0);
	assert_int_equal(import_csv(s, NULL, f, &o, &n, why, sizeof(why)), 0);
	fclose(f);
	assert_int_equal(n, ROWS);
	assert_int_equal(store_device_list(s, &all, counter, &count), 0);
	assert_int_equal(count, ROWS);
	for (unsigned i = 0; i < ROWS; i++)
		free(keys[i]);
	store_close(s);
	rmtree(d);
}

/*
 * Which subscription a download packages (docs/package-format.md section 3):
 * the device's own that is not active, else its own active one of its SHO
 * again (a re-issue: the next sequence, the subscription stays active), else
 * a claim from the pool; never a second subscription of a SHO from the pool.
 */
static void issue_one(struct store *s, struct download *x, unsigned k, const char *want_iccid,
		      const char *want_state)
{
	struct op_subscription sub;

	snprintf(x->p.nonce, sizeof(x->p.nonce), "c%u", k);
	snprintf(x->p.jti, sizeof(x->p.jti), "c%u", k);
	assert_int_equal(store_validation_success(s, x->p.device_id, 10 + k, 0, 0, 0, x->p.jti,
						  100, "ok"), 0);
	assert_int_equal(store_package_issue(s, "op-a", "acme", &x->p, &sub), 0);
	assert_int_equal(x->p.sequence, k);
	assert_string_equal(x->p.iccid, want_iccid);
	assert_string_equal(sub.state, want_state);
	op_subscription_clear(&sub);
	assert_int_equal(store_subscription_get(s, want_iccid, &sub), 0);
	assert_string_equal(sub.state, want_state);
	assert_string_equal(sub.device_id, x->p.device_id);
	op_subscription_clear(&sub);
}

static void store_download_choice(void **state _unused_)
{
	_cleanup_free_ char *d = tmpdir();
	char url[256], why[256];
	struct op_device dev = { .ek_type = "rsa", .ek_public = "00", .model = "gw",
				 .subscriber = "acme", .sho = "op-a" };
	struct download x = { .p = { .ak_public = "00", .kpd = "aa", .issued = 10, .expires = 20 } };
	struct op_subscription sub;
	struct store *s;
	static const char *const pool[] = { "8900000000000000017", "8900000000000000025" };
	static const char own[] = "8900000000000000033";

	fresh_url(d, url, sizeof(url));
	assert_int_equal(store_open_pool(url, 1, &s, why, sizeof(why)), 0);
	snprintf(dev.id, sizeof(dev.id), "%064x", 9);
	snprintf(x.p.device_id, sizeof(x.p.device_id), "%s", dev.id);
	assert_int_equal(store_import_begin(s), 0);
	assert_int_equal(store_device_add(s, &dev), 0);
	assert_int_equal(store_import_commit(s), 0);
	for (unsigned i = 0; i < 2; i++) {
		struct op_subscription p = { .sho = "op-a", .subscriber = "acme",
					     .algorithm = "milenage", .state = "created",
					     .secrets = (char *)"00", .profile = (char *)"{}",
					     .created = 1 };

		snprintf(p.iccid, sizeof(p.iccid), "%s", pool[i]);
		snprintf(p.imsi, sizeof(p.imsi), "00101000000001%u", i);
		assert_int_equal(store_subscription_add(s, &p), 0);
	}
	/* an active one of another SHO (a bootstrap's) is not re-issued */
	{
		struct op_subscription p = { .iccid = "8900000000000000041", .sho = "icf",
					     .subscriber = "batch-7", .algorithm = "milenage",
					     .state = "active", .secrets = (char *)"00",
					     .profile = (char *)"{}", .imsi = "001010000000030" };

		snprintf(p.device_id, sizeof(p.device_id), "%s", dev.id);
		assert_int_equal(store_subscription_add(s, &p), 0);
	}
	/* the first download claims from the pool; unconfirmed, the same again */
	issue_one(s, &x, 1, pool[0], "packaged");
	issue_one(s, &x, 2, pool[0], "packaged");
	assert_int_equal(store_package_confirm(s, dev.id, 2, 30, "installed", "", "ok"), 0);
	/* active: a re-issue of the same ICCID, never the pool's second */
	issue_one(s, &x, 3, pool[0], "active");
	assert_int_equal(store_package_confirm(s, dev.id, 3, 31, "installed", "", "ok"), 0);
	assert_int_equal(store_package_confirm(s, dev.id, 3, 32, "installed", "", "ok"), -EALREADY);
	assert_int_equal(store_subscription_get(s, pool[0], &sub), 0);
	assert_string_equal(sub.state, "active");
	op_subscription_clear(&sub);
	issue_one(s, &x, 4, pool[0], "active");
	assert_int_equal(store_subscription_get(s, pool[1], &sub), 0);
	assert_string_equal(sub.device_id, "");
	assert_string_equal(sub.state, "created");
	op_subscription_clear(&sub);
	/* one an admin assigned (--device) comes before the active one */
	{
		struct op_subscription p = { .sho = "op-a", .subscriber = "",
					     .algorithm = "milenage", .state = "created",
					     .secrets = (char *)"00", .profile = (char *)"{}",
					     .created = 2, .imsi = "001010000000020" };

		snprintf(p.iccid, sizeof(p.iccid), "%s", own);
		snprintf(p.device_id, sizeof(p.device_id), "%s", dev.id);
		assert_int_equal(store_subscription_add(s, &p), 0);
	}
	issue_one(s, &x, 5, own, "packaged");
	issue_one(s, &x, 6, own, "packaged");
	assert_int_equal(store_package_confirm(s, dev.id, 6, 33, "installed", "", "ok"), 0);
	assert_int_equal(store_subscription_get(s, own, &sub), 0);
	assert_string_equal(sub.state, "active");
	op_subscription_clear(&sub);
	/* both active: the first created of its SHO is re-issued; the pool's second stays free */
	issue_one(s, &x, 7, pool[0], "active");
	assert_int_equal(store_subscription_get(s, pool[1], &sub), 0);
	assert_string_equal(sub.device_id, "");
	op_subscription_clear(&sub);
	store_close(s);
	rmtree(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(model_rules), cmocka_unit_test(requests),
		cmocka_unit_test(rate_limits), cmocka_unit_test(store_rules),
		cmocka_unit_test(csv_import),  cmocka_unit_test(store_races),
		cmocka_unit_test(store_download_races),
		cmocka_unit_test(tickets_revoked_by_refusal), cmocka_unit_test(store_changes),
		cmocka_unit_test(metrics_text), cmocka_unit_test(ak_checks),
		cmocka_unit_test(srk_checks),
		cmocka_unit_test(csv_import_chunks), cmocka_unit_test(store_download_choice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
