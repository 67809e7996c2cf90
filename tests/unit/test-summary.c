// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The semi-autonomous validation summary (daemon/mcimd/summary.h): logs and
 * PCRs made here (a SHA-256 crypto-agile firmware log, an ima-ng list, the
 * PCRs they extend, computed independently of lib/eventlog), checked against
 * reference values in the device model format (lib/model.h), and the exact
 * summary bytes compared with what docs/operator-protocol.md section 4 says.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "hex.h"
#include "macro.h"
#include "model.h"

#include "daemon/mcimd/summary.h"

#define EV_NO_ACTION 3
#define EV_SEPARATOR 4
#define EV_ACTION 5
#define EV_S_CRTM_VERSION 8

struct buf {
	uint8_t *d;
	size_t n, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = MAX(b->cap * 2, b->n + n + 4096);
		b->d = realloc(b->d, b->cap);
		assert_non_null(b->d);
	}
	if (n)
		memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { v, v >> 8, v >> 16, v >> 24 };

	put(b, x, 4);
}

static void sha256(const void *a, size_t an, const void *b, size_t bn, uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
	EVP_DigestUpdate(c, a, an);
	EVP_DigestUpdate(c, b, bn);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

/* The device under test: its logs, its PCRs (sha256 bank) and its model. */
struct device {
	struct buf tcg, ima;
	struct summary_pcrs pcrs;
	char fw_allow[16][65];  /* hex digests of the firmware events, in order */
	unsigned nfw;
	char ima_path[8][64], ima_digest[8][65];
	unsigned nima;
};

/* TCG PC Client PFP 10.2: Spec ID Event03 header (SHA-1 format), one bank. */
static void tcg_header(struct buf *b)
{
	uint8_t zero[20] = { 0 };

	put32(b, 0);
	put32(b, EV_NO_ACTION);
	put(b, zero, 20);
	put32(b, 24 + 4 + 4 + 1);
	put(b, "Spec ID Event03", 16);
	put32(b, 0);
	put(b, "\x00\x02\x00\x02", 4); /* minor, major, errata, uintnSize */
	put32(b, 1);
	put(b, "\x0b\x00\x20\x00", 4);  /* sha256, 32 */
	put(b, "", 1);                  /* vendorInfoSize */
}

static void tcg_event(struct device *dv, uint32_t pcr, uint32_t type, const char *data)
{
	uint8_t d[32];

	sha256(data, strlen(data), "", 0, d);
	put32(&dv->tcg, pcr);
	put32(&dv->tcg, type);
	put32(&dv->tcg, 1);
	put(&dv->tcg, "\x0b\x00", 2);
	put(&dv->tcg, d, 32);
	put32(&dv->tcg, (uint32_t)strlen(data));
	put(&dv->tcg, data, strlen(data));
	if (type == EV_NO_ACTION)
		return;
	sha256(dv->pcrs.value[pcr], 32, d, 32, dv->pcrs.value[pcr]);
	hex_encode(d, 32, dv->fw_allow[dv->nfw++]);
}

/* An ima-ng entry (Documentation/security/IMA-templates.rst) in PCR 10. */
static void ima_entry(struct device *dv, const char *path, const char *content, bool violation)
{
	struct buf data = { 0 };
	uint8_t fd[32] = { 0 }, td[20] = { 0 }, ext[32];

	if (!violation)
		sha256(content, strlen(content), "", 0, fd);
	put32(&data, 8 + 32); /* "sha256:" NUL digest */
	put(&data, "sha256:", 8);
	put(&data, fd, 32);
	put32(&data, (uint32_t)strlen(path) + 1);
	put(&data, path, strlen(path) + 1);
	if (!violation) {
		EVP_Digest(data.d, data.n, td, NULL, EVP_sha1(), NULL);
		sha256(data.d, data.n, "", 0, ext);
	} else {
		memset(ext, 0xff, 32);
	}
	put32(&dv->ima, 10);
	put(&dv->ima, td, 20);
	put32(&dv->ima, 6);
	put(&dv->ima, "ima-ng", 6);
	put32(&dv->ima, (uint32_t)data.n);
	put(&dv->ima, data.d, data.n);
	free(data.d);
	sha256(dv->pcrs.value[10], 32, ext, 32, dv->pcrs.value[10]);
	snprintf(dv->ima_path[dv->nima], sizeof(dv->ima_path[0]), "%s", path);
	hex_encode(fd, 32, dv->ima_digest[dv->nima++]);
}

/* A measured boot: PCRs 0-7 from the firmware, PCR 10 from IMA, PCR 23 zero. */
static void boot(struct device *dv)
{
	memset(dv, 0, sizeof(*dv));
	tcg_header(&dv->tcg);
	tcg_event(dv, 0, EV_S_CRTM_VERSION, "firmware-1.0");
	tcg_event(dv, 4, EV_ACTION, "bootloader-2.3");
	tcg_event(dv, 5, EV_NO_ACTION, "not extended");
	for (uint32_t p = 0; p < 8; p++)
		tcg_event(dv, p, EV_SEPARATOR, "\xff\xff\xff\xff");
	ima_entry(dv, "boot_aggregate", "aggregate", false);
	ima_entry(dv, "/usr/sbin/mcimd", "mcimd-binary", false);
	ima_entry(dv, "/etc/mcim/mcimd.conf", "config-text", false);
	dv->pcrs.mask = 0xffu | (1u << 10) | (1u << 23);
}

static void device_free(struct device *dv)
{
	free(dv->tcg.d);
	free(dv->ima.d);
}

/* The model: every digest of dv allowed, except skip_fw / skip_ima (-1: none). */
static void model(const struct device *dv, int skip_fw, int skip_ima, const char *extra,
		  struct op_model *ret)
{
	char text[8192], why[256];
	size_t off = 0;

	off += (size_t)snprintf(text + off, sizeof(text) - off,
				"{\"model\": \"gw-1000\", \"version\": 2, \"mode\": \"semi-autonomous\","
				" \"pcrs\": [0, 1, 2, 3, 4, 5, 6, 7, 10, 23],"
				" \"reference\": {\"23\": \"%064d\"}, \"firmware_allow\": [", 0);
	for (unsigned i = 0; i < dv->nfw; i++)
		if ((int)i != skip_fw)
			off += (size_t)snprintf(text + off, sizeof(text) - off, "%s\"%s\"",
						text[off - 1] == '[' ? "" : ", ", dv->fw_allow[i]);
	off += (size_t)snprintf(text + off, sizeof(text) - off, "], \"ima_allow\": [");
	for (unsigned i = 0; i < dv->nima; i++)
		if ((int)i != skip_ima)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
						"%s{\"path\": \"%s\", \"digest\": \"sha256:%s\"}",
						text[off - 1] == '[' ? "" : ", ", dv->ima_path[i],
						dv->ima_digest[i]);
	off += (size_t)snprintf(text + off, sizeof(text) - off, "]%s}", extra ? extra : "");
	assert_true(off < sizeof(text));
	if (model_parse(text, off, ret, why, sizeof(why)) < 0)
		fail_msg("model: %s", why);
}

/* Builds the summary; returns it (to free), checks the count against the list. */
static char *build(const struct op_model *m, const struct device *dv, bool tcg, bool ima,
		   unsigned *ret_failures)
{
	struct json_object *o, *f;
	char *s = NULL;
	size_t len = 0;

	assert_int_equal(summary_build(m, &dv->pcrs, tcg ? dv->tcg.d : NULL, dv->tcg.n,
				       ima ? dv->ima.d : NULL, dv->ima.n, &s, &len, ret_failures),
			 0);
	assert_int_equal(strlen(s), len);
	if (getenv("SUMMARY_DEBUG"))
		print_message("%s\n", s);
	o = json_tokener_parse(s);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "failures", &f));
	assert_int_equal(json_object_array_length(f), MIN(*ret_failures, SUMMARY_FAILURES_MAX + 1));
	json_object_put(o);
	return s;
}

static void test_pass(void **state)
{
	struct device dv;
	struct op_model m;
	unsigned n;
	char *s;
	(void)state;

	boot(&dv);
	model(&dv, -1, -1, NULL, &m);
	s = build(&m, &dv, true, true, &n);
	assert_int_equal(n, 0);
	assert_string_equal(s, "{\"version\":1,\"model\":\"gw-1000\",\"reference_version\":2,"
			       "\"failures\":[]}");
	free(s);
	model_free(&m);
	device_free(&dv);
}

static void test_ima_not_allowed(void **state)
{
	struct device dv;
	struct op_model m;
	char want[512];
	unsigned n;
	char *s;
	(void)state;

	boot(&dv);
	model(&dv, -1, 1, NULL, &m); /* /usr/sbin/mcimd left out */
	s = build(&m, &dv, true, true, &n);
	assert_int_equal(n, 1);
	snprintf(want, sizeof(want),
		 "\"failures\":[{\"pcr\":10,\"event\":1,\"reason\":\"/usr/sbin/mcimd: "
		 "sha256:%s is not in ima_allow\"}]}",
		 dv.ima_digest[1]);
	assert_non_null(strstr(s, want));
	free(s);
	model_free(&m);
	device_free(&dv);
}

static void test_fw_not_allowed(void **state)
{
	struct device dv;
	struct op_model m;
	char want[512];
	unsigned n;
	char *s;
	(void)state;

	boot(&dv);
	model(&dv, 1, -1, NULL, &m); /* the bootloader (TCG event 2, PCR 4) left out */
	s = build(&m, &dv, true, true, &n);
	assert_int_equal(n, 1);
	snprintf(want, sizeof(want),
		 "[{\"pcr\":4,\"event\":2,\"reason\":\"firmware event digest %s (EV_ACTION) "
		 "is not in firmware_allow\"}]",
		 dv.fw_allow[1]);
	assert_non_null(strstr(s, want));
	free(s);
	model_free(&m);
	device_free(&dv);
}

static void test_violation_never_allowed(void **state)
{
	struct device dv;
	struct op_model m;
	unsigned n;
	char *s;
	(void)state;

	boot(&dv);
	ima_entry(&dv, "/var/log/x", "", true);
	model(&dv, -1, -1, NULL, &m); /* its path and (zero) digest allowed */
	s = build(&m, &dv, true, true, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(s, "{\"pcr\":10,\"event\":3,\"reason\":\"/var/log/x: a "
				  "violation entry (never allowed)\"}"));
	free(s);
	model_free(&m);
	device_free(&dv);
}

/* A log that does not give the quoted PCRs: the replay's failure, per PCR. */
static void test_replay_mismatch(void **state)
{
	struct device dv;
	struct op_model m;
	unsigned n;
	char *s;
	(void)state;

	boot(&dv);
	model(&dv, -1, -1, NULL, &m);
	dv.pcrs.value[0][0] ^= 1;
	dv.pcrs.value[3][31] ^= 1;
	s = build(&m, &dv, true, true, &n);
	assert_int_equal(n, 2);
	assert_non_null(strstr(s, "[{\"pcr\":0,\"reason\":\"the firmware log does not replay to "
				  "the quoted PCR 0\"},{\"pcr\":3,"));
	free(s);
	model_free(&m);
	device_free(&dv);
}

/* No prefix gives PCR 10: one failure, not the entries' allowlist results. */
static void test_ima_no_prefix(void **state)
{
	struct device dv;
	struct op_model m;
	unsigned n;
	char *s;
	(void)state;

	boot(&dv);
	model(&dv, -1, 0, NULL, &m);
	dv.pcrs.value[10][5] ^= 0x80;
	s = build(&m, &dv, true, true, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(s, "\"failures\":[{\"pcr\":10,\"reason\":\"no prefix of the IMA log "
				  "replays to the quoted PCR 10\"}]"));
	free(s);
	model_free(&m);
	device_free(&dv);
}

/* The IMA list read after the PCRs has more entries: its prefix counts. */
static void test_ima_grew(void **state)
{
	struct device dv;
	struct summary_pcrs quoted;
	struct op_model m;
	unsigned n;
	char *s;
	(void)state;

	boot(&dv);
	model(&dv, -1, -1, NULL, &m);
	quoted = dv.pcrs;
	ima_entry(&dv, "/usr/bin/later", "measured after the quote", false);
	dv.pcrs = quoted;
	s = build(&m, &dv, true, true, &n);
	assert_int_equal(n, 0);
	free(s);
	model_free(&m);
	device_free(&dv);
}

static void test_reference_and_coverage(void **state)
{
	struct device dv;
	struct op_model m;
	unsigned n;
	char *s;
	(void)state;

	boot(&dv);
	model(&dv, -1, -1, NULL, &m);
	dv.pcrs.value[23][0] = 1;          /* differs from its reference */
	dv.pcrs.mask |= 1u << 16;          /* quoted, checked by nothing */
	dv.pcrs.mask &= ~(1u << 7);        /* in the model, not quoted */
	s = build(&m, &dv, true, true, &n);
	assert_int_equal(n, 3);
	assert_non_null(strstr(s, "{\"pcr\":7,\"reason\":\"PCR 7 is selected by the reference "
				  "values but not quoted\"}"));
	assert_non_null(strstr(s, "{\"pcr\":16,\"reason\":\"PCR 16 has no reference value and no "
				  "log checks it\"}"));
	assert_non_null(strstr(s, "{\"pcr\":23,\"reason\":\"PCR 23 differs from its reference "
				  "value\"}"));
	free(s);
	model_free(&m);
	device_free(&dv);
}

static void test_logs_absent_or_broken(void **state)
{
	struct device dv;
	struct op_model m;
	unsigned n;
	char *s;
	(void)state;

	boot(&dv);
	model(&dv, -1, -1, NULL, &m);
	s = build(&m, &dv, false, false, &n);
	assert_int_equal(n, 2);
	assert_non_null(strstr(s, "[{\"reason\":\"the firmware event log is absent: PCRs 0-7 "
				  "cannot be checked\"},{\"pcr\":10,\"reason\":\"the IMA log is "
				  "absent: PCR 10 cannot be checked\"}]"));
	free(s);
	dv.tcg.n -= 3; /* the last event cut */
	s = build(&m, &dv, true, true, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(s, "[{\"reason\":\"the firmware event log does not parse: "));
	free(s);
	model_free(&m);
	device_free(&dv);
}

/* Failures past SUMMARY_FAILURES_MAX are counted in one last entry. */
static void test_failure_limit(void **state)
{
	struct device dv;
	struct op_model m;
	char name[32], want[64];
	unsigned n;
	char *s;
	(void)state;

	boot(&dv);
	model(&dv, -1, -1, NULL, &m);
	for (unsigned i = 0; i < SUMMARY_FAILURES_MAX + 8; i++) {
		snprintf(name, sizeof(name), "/tmp/x%u", i);
		dv.nima = 0; /* the device's own list: not needed past here */
		ima_entry(&dv, name, name, false);
	}
	s = build(&m, &dv, true, true, &n);
	assert_int_equal(n, SUMMARY_FAILURES_MAX + 8);
	snprintf(want, sizeof(want), "{\"reason\":\"8 more failure(s) not listed\"}]}");
	assert_non_null(strstr(s, want));
	free(s);
	model_free(&m);
	device_free(&dv);
}

static void test_pcrs_from(void **state)
{
	TPML_PCR_SELECTION sel = { .count = 2 };
	TPM2B_DIGEST v[4] = { 0 };
	struct summary_pcrs p;
	(void)state;

	sel.pcrSelections[0] = (TPMS_PCR_SELECTION){ .hash = TPM2_ALG_SHA1, .sizeofSelect = 3,
						      .pcrSelect = { 0x01 } };
	sel.pcrSelections[1] = (TPMS_PCR_SELECTION){ .hash = TPM2_ALG_SHA256, .sizeofSelect = 3,
						      .pcrSelect = { 0x01, 0x04, 0x80 } };
	v[0].size = 20;
	for (int i = 1; i < 4; i++) {
		v[i].size = 32;
		memset(v[i].buffer, i, 32);
	}
	assert_int_equal(summary_pcrs_from(&sel, v, 4, &p), 0);
	assert_int_equal(p.mask, (1u << 0) | (1u << 10) | (1u << 23));
	assert_int_equal(p.value[0][0], 1);
	assert_int_equal(p.value[10][31], 2);
	assert_int_equal(p.value[23][0], 3);
	assert_int_equal(summary_pcrs_from(&sel, v, 3, &p), -EINVAL);
	v[2].size = 20;
	assert_int_equal(summary_pcrs_from(&sel, v, 4, &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass),
		cmocka_unit_test(test_ima_not_allowed),
		cmocka_unit_test(test_fw_not_allowed),
		cmocka_unit_test(test_violation_never_allowed),
		cmocka_unit_test(test_replay_mismatch),
		cmocka_unit_test(test_ima_no_prefix),
		cmocka_unit_test(test_ima_grew),
		cmocka_unit_test(test_reference_and_coverage),
		cmocka_unit_test(test_logs_absent_or_broken),
		cmocka_unit_test(test_failure_limit),
		cmocka_unit_test(test_pcrs_from),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
