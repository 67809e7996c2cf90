// SPDX-License-Identifier: LGPL-2.1-or-later
/* Unit tests of daemon/mcimd/operator-json.c: the device's parsers of the
 * operator's answers (docs/operator-protocol.md v1), accepting the
 * protocol's examples and refusing each kind of malformed answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/mcimd/operator-json.h"
#include "json-util.h"
#include "macro.h"

#define DEV "3f2a000000000000000000000000000000000000000000000000000000000001"

static int reg(const char *text, struct op_registration *g, char *why)
{
	return op_parse_registration(text, strlen(text), g, why, 256);
}

/* The device decodes with lib's b64_decode(): canonical RFC 4648 4 only. */
static long dec(const char *s, uint8_t *out, size_t max)
{
	uint8_t *b;
	size_t n;
	int r = b64_decode(s, strlen(s), max, &b, &n);

	if (r < 0)
		return r;
	memcpy(out, b, n);
	free(b);
	return (long)n;
}

static void test_base64(void **state)
{
	uint8_t out[8];
	char *s;
	(void)state;

	assert_int_equal(dec("Zm9vYg==", out, sizeof(out)), 4);
	assert_memory_equal(out, "foob", 4);
	assert_int_equal(dec("Zm9vYmE=", out, sizeof(out)), 5);
	assert_int_equal(dec("", out, sizeof(out)), 0);
	assert_int_equal(dec("Zm9vYg", out, sizeof(out)), -EINVAL); /* no padding */
	assert_int_equal(dec("Zm9v\nYg==", out, sizeof(out)), -EINVAL);
	assert_int_equal(dec("Zm=vYg==", out, sizeof(out)), -EINVAL);
	assert_int_equal(dec("Zm9vYh==", out, sizeof(out)), -EINVAL); /* bits */
	assert_int_equal(dec("Zm9vYmF=", out, sizeof(out)), -EINVAL); /* bits, one pad */
	assert_int_equal(dec("Zm9-Yg==", out, sizeof(out)), -EINVAL); /* url */
	assert_int_equal(dec("Zm9vYmFyYmF6", out, 8), -EMSGSIZE);
	s = b64_encode((const uint8_t *)"foob", 4);
	assert_string_equal(s, "Zm9vYg==");
	free(s);
}

static void test_registration(void **state)
{
	struct op_registration g;
	char why[256];
	(void)state;

	assert_int_equal(reg("{\"device_id\": \"" DEV "\", \"model\": \"gw-1000\","
			     " \"subscriber\": \"acme-meters\","
			     " \"sho\": {\"id\": \"op-a\", \"name\": \"Operator A\"},"
			     " \"pva_url\": \"https://127.0.0.1:8443\","
			     " \"dpf_url\": \"https://127.0.0.1:8443/\", \"ek\": \"rsa\"}\n",
			     &g, why), 0);
	assert_string_equal(g.device_id, DEV);
	assert_string_equal(g.sho_name, "Operator A");
	assert_string_equal(g.pva_url, "https://127.0.0.1:8443");
	assert_int_equal(g.ek, OP_EK_RSA);
	/* model and subscriber may be absent */
	assert_int_equal(reg("{\"device_id\": \"" DEV "\", \"sho\": {\"id\": \"a\", \"name\": \"b\"},"
			     " \"pva_url\": \"https://p\", \"dpf_url\": \"https://d\", \"ek\": \"ecc\"}",
			     &g, why), 0);
	assert_int_equal(g.ek, OP_EK_ECC);

	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "{\"device_id\": \"" DEV "\", \"sho\": {\"id\": \"a\", \"name\": \"b\"},"
		  " \"pva_url\": \"https://p\", \"dpf_url\": \"https://d\", \"ek\": \"rsa\", \"x\": 1}",
		  "the registration: unknown member \"x\"" },
		{ "{\"device_id\": \"" DEV "\", \"sho\": {\"id\": \"a\", \"name\": \"b\"},"
		  " \"pva_url\": \"http://p\", \"dpf_url\": \"https://d\", \"ek\": \"rsa\"}",
		  "the registration: \"pva_url\" is not an https:// URL" },
		{ "{\"device_id\": \"3F2A\", \"sho\": {\"id\": \"a\", \"name\": \"b\"},"
		  " \"pva_url\": \"https://p\", \"dpf_url\": \"https://d\", \"ek\": \"rsa\"}",
		  "the registration: \"device_id\" is not 64 lowercase hex digits" },
		{ "{\"device_id\": \"" DEV "\", \"sho\": {\"id\": \"a\", \"name\": \"b\"},"
		  " \"pva_url\": \"https://p\", \"dpf_url\": \"https://d\", \"ek\": \"dsa\"}",
		  "the registration: \"ek\" is neither \"rsa\" nor \"ecc\"" },
		{ "{\"device_id\": \"" DEV "\", \"sho\": \"op-a\","
		  " \"pva_url\": \"https://p\", \"dpf_url\": \"https://d\", \"ek\": \"rsa\"}",
		  "the registration: \"sho\" is not an object" },
		{ "{\"device_id\": 7}", "the registration: \"device_id\" is not a string" },
		{ "{} x", "the answer is not JSON: unexpected character" },
		{ "[1]", "the answer is not a JSON object" },
		{ "{\"device_id\": \"a\\u0000b\"}",
		  "the registration: \"device_id\" holds a NUL character" },
		{ "{\"a\":[[[[[[[[[1]]]]]]]]]}", NULL },
		{ "<html>", NULL },
		{ "", "the answer is empty" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = 0;
		assert_int_equal(reg(bad[i].text, &g, why), -EBADMSG);
		if (bad[i].why)
			assert_string_equal(why, bad[i].why);
		else
			assert_non_null(strstr(why, "not JSON"));
	}
}

/* change-format.md 4: the registration's optional switch order. */
static void test_switch(void **state)
{
#define REG_HEAD "{\"device_id\": \"" DEV "\", \"sho\": {\"id\": \"a\", \"name\": \"b\"}," \
		 " \"pva_url\": \"https://p\", \"dpf_url\": \"https://d\", \"ek\": \"rsa\", "
#define SW_SHO "\"sho\": {\"id\": \"op-b\", \"name\": \"Operator B\"}, "
	static struct op_registration g;
	static struct op_switch w;
	char why[256];
	(void)state;

	assert_int_equal(reg(REG_HEAD "\"switch\": {" SW_SHO "\"pva\": \"https://b:1\","
			     " \"dpf\": \"https://b:2\", \"consent\": \"Zm9vYg==\","
			     " \"release\": \"YmFy\"}}", &g, why), 0);
	assert_true(g.has_switch);
	assert_string_equal(g.sw.sho_id, "op-b");
	assert_string_equal(g.sw.sho_name, "Operator B");
	assert_string_equal(g.sw.pva_url, "https://b:1");
	assert_string_equal(g.sw.dpf_url, "https://b:2");
	assert_int_equal(g.sw.consent_len, 4);
	assert_memory_equal(g.sw.consent, "foob", 4);
	assert_int_equal(g.sw.release_len, 3);
	assert_int_equal(reg(REG_HEAD "\"switch\": {" SW_SHO "\"pva\": \"https://b:1\","
			     " \"dpf\": \"https://b:2\", \"consent\": \"Zm9vYg==\","
			     " \"release\": null}}", &g, why), 0);
	assert_true(g.has_switch);
	assert_int_equal(g.sw.release_len, 0);
	/* The order as mcimd keeps it: the "switch" object alone. */
	{
		static const char sw[] = "{" SW_SHO "\"pva\": \"https://b\", \"dpf\": \"https://c\","
					 " \"consent\": \"YmFy\", \"release\": null}";

		assert_int_equal(op_parse_switch(sw, strlen(sw), &w, why, sizeof(why)), 0);
		assert_int_equal(w.consent_len, 3);
		assert_int_equal(op_parse_switch(sw, strlen(sw) - 1, &w, why, sizeof(why)),
				 -EBADMSG);
	}
	assert_int_equal(reg(REG_HEAD "\"x\": 1}", &g, why), -EBADMSG);

	static const struct {
		const char *text, *why;
	} bad[] = {
		{ REG_HEAD "\"switch\": null}", "the registration: \"switch\" is not an object" },
		{ REG_HEAD "\"switch\": {" SW_SHO "\"pva\": \"https://b\", \"dpf\": \"https://c\","
		  " \"consent\": \"YmFy\"}}", "switch: \"release\" is missing (null or base64)" },
		{ REG_HEAD "\"switch\": {" SW_SHO "\"pva\": \"https://b\", \"dpf\": \"https://c\","
		  " \"release\": null}}", "switch: \"consent\" is missing" },
		{ REG_HEAD "\"switch\": {" SW_SHO "\"pva\": \"https://b\", \"dpf\": \"https://c\","
		  " \"consent\": \"\", \"release\": null}}", "switch: \"consent\" is empty" },
		{ REG_HEAD "\"switch\": {" SW_SHO "\"pva\": \"http://b\", \"dpf\": \"https://c\","
		  " \"consent\": \"YmFy\", \"release\": null}}",
		  "switch: \"pva\" is not an https:// URL" },
		{ REG_HEAD "\"switch\": {" SW_SHO "\"pva\": \"https://b\", \"dpf\": \"https://c\","
		  " \"consent\": \"YmFy\", \"release\": \"Y\"}}",
		  "switch: \"release\" is not base64 (RFC 4648 4, with padding)" },
		{ REG_HEAD "\"switch\": {\"sho\": \"op-b\", \"pva\": \"https://b\","
		  " \"dpf\": \"https://c\", \"consent\": \"YmFy\", \"release\": null}}",
		  "switch: \"sho\" is not an object" },
		{ REG_HEAD "\"switch\": {" SW_SHO "\"pva\": \"https://b\", \"dpf\": \"https://c\","
		  " \"consent\": \"YmFy\", \"release\": null, \"iccid\": \"1\"}}",
		  "switch: unknown member \"iccid\"" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = 0;
		assert_int_equal(reg(bad[i].text, &g, why), -EBADMSG);
		assert_string_equal(why, bad[i].why);
	}
}

/* A consent over OP_TOKEN_MAX bytes is refused. */
static void test_switch_oversize(void **state)
{
	static struct op_switch w;
	size_t n = (OP_TOKEN_MAX + 3) / 3 * 4 + 4;
	char *big = malloc(n + 200), *b64;
	uint8_t *raw = calloc(1, OP_TOKEN_MAX + 1);
	char why[256];
	int len;
	(void)state;

	assert_non_null(big);
	assert_non_null(raw);
	b64 = b64_encode(raw, OP_TOKEN_MAX + 1);
	len = snprintf(big, n + 200, "{" SW_SHO "\"pva\": \"https://b\", \"dpf\": \"https://c\","
		       " \"consent\": \"%s\", \"release\": null}", b64);
	assert_int_equal(op_parse_switch(big, (size_t)len, &w, why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "switch: \"consent\" is longer than 16384 bytes");
	free(b64);
	free(raw);
	free(big);
}

static void test_oversize(void **state)
{
	size_t n = OP_BODY_MAX + 1;
	char *big = malloc(n), why[256];
	struct op_registration g;
	(void)state;

	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	assert_int_equal(op_parse_registration(big, n, &g, why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "the answer is longer than 65536 bytes");
	free(big);
}

/* A session answer with a credential of the given sizes. */
static char *session_text(const char *extra, const char *mode, const char *session)
{
	uint8_t blob[2 + 68] = { 0, 68 }, secret[2 + 256] = { 1, 0 }, nonce[32] = { 1, 2, 3 };
	char *b = b64_encode(blob, sizeof(blob)), *s = b64_encode(secret, sizeof(secret));
	char *n = b64_encode(nonce, sizeof(nonce)), *t = malloc(4096);

	snprintf(t, 4096,
		 "{\"session\": \"%s\", \"nonce\": \"%s\","
		 " \"credential\": {\"blob\": \"%s\", \"secret\": \"%s\", \"ek\": \"rsa\"},"
		 " \"pcr_selection\": [{\"bank\": \"sha256\", \"pcrs\": [0, 1, 7, 10, 23]}],"
		 " \"mode\": \"%s\", \"expires\": 1796400000%s}",
		 session, n, b, s, mode, extra);
	free(b);
	free(s);
	free(n);
	return t;
}

static void test_session(void **state)
{
	struct op_session x;
	char why[256], *t;
	(void)state;

	t = session_text("", "remote", "b5c1-9");
	assert_int_equal(op_parse_session(t, strlen(t), &x, why, sizeof(why)), 0);
	free(t);
	assert_string_equal(x.session, "b5c1-9");
	assert_int_equal(x.nonce_len, 32);
	assert_int_equal(x.blob.size, 68);
	assert_int_equal(x.secret.size, 256);
	assert_int_equal(x.sel.count, 1);
	assert_int_equal(x.sel.pcrSelections[0].hash, TPM2_ALG_SHA256);
	assert_int_equal(x.sel.pcrSelections[0].pcrSelect[0], 0x83);
	assert_int_equal(x.sel.pcrSelections[0].pcrSelect[1], 0x04);
	assert_int_equal(x.sel.pcrSelections[0].pcrSelect[2], 0x80);
	assert_int_equal(x.mode, OP_MODE_REMOTE);
	assert_int_equal(x.expires, 1796400000);

	t = session_text("", "semi-autonomous", "s");
	assert_int_equal(op_parse_session(t, strlen(t), &x, why, sizeof(why)), 0);
	assert_int_equal(x.mode, OP_MODE_SEMI_AUTONOMOUS);
	free(t);
	t = session_text("", "lazy", "s");
	assert_int_equal(op_parse_session(t, strlen(t), &x, why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "the session: unknown \"mode\" \"lazy\"");
	free(t);
	t = session_text("", "remote", "../../register");
	assert_int_equal(op_parse_session(t, strlen(t), &x, why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "the session: \"session\" is empty or not made of [A-Za-z0-9-._~]");
	free(t);
	t = session_text(", \"summary\": 1", "remote", "s");
	assert_int_equal(op_parse_session(t, strlen(t), &x, why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "the session: unknown member \"summary\"");
	free(t);
	/* A blob whose TPM2B size does not match its bytes. */
	t = session_text("", "remote", "s");
	{
		char *p = strstr(t, "\"blob\": \"") + 9;

		p[1] = 'F'; /* size 0x0044 -> 0x0054: more than there is */
	}
	assert_int_equal(op_parse_session(t, strlen(t), &x, why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "credential: \"blob\" is not a TPM2B_ID_OBJECT");
	free(t);
	{
		static const char sel[] =
			"{\"session\": \"s\", \"nonce\": \"AAAAAAAAAAAAAAAAAAAAAA==\","
			" \"credential\": {\"blob\": \"AAEA\", \"secret\": \"AAEA\", \"ek\": \"rsa\"},"
			" \"pcr_selection\": [{\"bank\": \"sha256\", \"pcrs\": [0, 24]}],"
			" \"mode\": \"remote\", \"expires\": 1}";

		assert_int_equal(op_parse_session(sel, strlen(sel), &x, why, sizeof(why)),
				 -EBADMSG);
		assert_string_equal(why, "pcr_selection[0]: PCR 24 is not 0..23");
	}
}

static void test_result_and_error(void **state)
{
	static const char ok[] =
		"{\"result\": \"valid\", \"ticket\": \"eyJh.eyJi.c2ln-_\", \"expires\": 1796400600,"
		" \"checks\": [{\"check\": \"credential\", \"result\": \"pass\"},"
		" {\"check\": \"quote_nonce\", \"result\": \"pass\"}]}";
	static const char err[] =
		"{\"error\": {\"code\": \"validation_failed\", \"message\": \"2 checks failed\","
		" \"failures\": [{\"check\": \"pcr_reference\", \"reason\": \"PCR 23 differs\"},"
		" {\"check\": \"ima_allowlist\", \"reason\": \"/usr/bin/x: digest not allowed\"}]}}";
	static const char err2[] = "{\"error\": {\"code\": \"Not Registered\", \"message\": \"\"}}";
	struct op_result *r = malloc(sizeof(*r));
	struct op_error e;
	char why[256];
	(void)state;

	assert_int_equal(op_parse_result(ok, strlen(ok), r, why, sizeof(why)), 0);
	assert_string_equal(r->ticket, "eyJh.eyJi.c2ln-_");
	assert_int_equal(r->n_checks, 2);
	assert_string_equal(r->checks[1].check, "quote_nonce");
	assert_int_equal(op_parse_result("{\"result\": \"invalid\"}", 21, r, why, sizeof(why)),
			 -EBADMSG);
	assert_string_equal(why, "the validation result: \"result\" is \"invalid\", not \"valid\"");
	free(r);
	assert_int_equal(op_parse_error(err, strlen(err), &e, why, sizeof(why)), 0);
	assert_string_equal(e.code, "validation_failed");
	assert_int_equal(e.n_failures, 2);
	assert_string_equal(e.failures[1].text, "/usr/bin/x: digest not allowed");
	assert_int_equal(op_parse_error(err2, strlen(err2), &e, why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "error: \"code\" is not a lowercase identifier");
}

/* The DPF's answer (docs/package-format.md 3): the package, its sequence and ICCID. */
static void test_package(void **state)
{
	struct op_package a;
	char why[256];
	(void)state;

	assert_int_equal(op_parse_package("{\"package\":\"MIIB\",\"sequence\":3,"
					  "\"iccid\":\"8988211000000000011\"}", 61, &a, why,
					  sizeof(why)), 0);
	assert_int_equal(a.der_len, 3);
	assert_int_equal(a.sequence, 3);
	assert_string_equal(a.iccid, "8988211000000000011");
	free(a.der);
	assert_int_equal(op_parse_package("{\"package\":\"MIIB\",\"sequence\":0,"
					  "\"iccid\":\"8988211000000000011\"}", 61, &a, why,
					  sizeof(why)), -EBADMSG);
	assert_int_equal(op_parse_package("{\"package\":\"MIIB\",\"sequence\":3,"
					  "\"iccid\":\"89882110000000000x1\"}", 61, &a, why,
					  sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "iccid"));
	assert_int_equal(op_parse_package("{\"package\":\"MIIB\",\"sequence\":3,"
					  "\"iccid\":\"8988211000000000011\",\"x\":1}", 67, &a,
					  why, sizeof(why)), -EBADMSG);
	assert_int_equal(op_parse_package("{\"sequence\":3,\"iccid\":\"8988211000000000011\"}",
					  44, &a, why, sizeof(why)), -EBADMSG);
	assert_null(a.der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),        cmocka_unit_test(test_registration),
		cmocka_unit_test(test_oversize),      cmocka_unit_test(test_session),
		cmocka_unit_test(test_result_and_error), cmocka_unit_test(test_package),
		cmocka_unit_test(test_switch),        cmocka_unit_test(test_switch_oversize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
