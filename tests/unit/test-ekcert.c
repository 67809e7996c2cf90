// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tools/mcim-operator/ekcert: EK certificates made here with OpenSSL (a root,
 * an intermediate and EK certificates with one flaw each) are verified or
 * refused with their own reason.  swtpm's real EK certificates:
 * tests/integration/operator/ekcert-swtpm.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include "hex.h"
#include "tools/mcim-operator/ekcert.h"
#include "tools/mcim-operator/opcrypto.h"
#include "tpm2-cred.h"
#include "tpm2-crypto.h"

#define NOW ((time_t)1800000000)
#define DAY 86400L
#define YEAR (365 * DAY)

struct spec {
	int version;		/* 3 unless set */
	long not_before, not_after;	/* relative to NOW; 0/0: -1 day, +10 years */
	const char *ku;		/* keyUsage value; NULL: the EK's; "-": none */
	const char *bc;		/* basicConstraints; NULL: critical,CA:FALSE */
	const char *eku;	/* extendedKeyUsage; NULL: 2.23.133.8.1; "-": none */
	bool no_san, no_model, san_noncritical, empty_subject;
};

static EVP_PKEY *root_key, *inter_key, *other_key, *rsa_ek, *ecc_ek;
static X509 *root, *inter, *other;
static char dir[] = "/tmp/test-ekcert.XXXXXX";
static struct ekcert_store *store;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
}

/* subjectAltName directoryName with the TCG TPM attributes (profile 3.2.x). */
static void add_tpm_san(X509 *x, bool model, bool critical)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *g = GENERAL_NAME_new();
	X509_NAME *n = X509_NAME_new();
	const char *attrs[][2] = {
		{ "2.23.133.2.1", "id:49465800" },
		{ "2.23.133.2.2", "SLB9670" },
		{ "2.23.133.2.3", "id:0007003D" },
	};

	for (size_t i = 0; i < 3; i++) {
		ASN1_OBJECT *o = OBJ_txt2obj(attrs[i][0], 1);

		if (i == 1 && !model) {
			ASN1_OBJECT_free(o);
			continue;
		}
		assert_true(X509_NAME_add_entry_by_OBJ(n, o, MBSTRING_UTF8,
						       (const unsigned char *)attrs[i][1], -1, -1, 0));
		ASN1_OBJECT_free(o);
	}
	g->type = GEN_DIRNAME;
	g->d.directoryName = n;
	sk_GENERAL_NAME_push(gens, g);
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, critical, X509V3_ADD_DEFAULT), 1);
	GENERAL_NAMES_free(gens);
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       const struct spec *s)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	bool ecc = EVP_PKEY_is_a(key, "EC");

	assert_non_null(x);
	assert_true(X509_set_version(x, (s->version ? s->version : 3) - 1));
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	if (!s->empty_subject)
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(x), NOW + (s->not_before ? s->not_before : -DAY));
	ASN1_TIME_set(X509_getm_notAfter(x), NOW + (s->not_after ? s->not_after : 10 * YEAR));
	X509_set_pubkey(x, key);
	if (s->version == 0 || s->version == 3) {
		const char *ku = s->ku ? s->ku : ecc ? "critical,keyAgreement" : "critical,keyEncipherment";

		add_ext(x, issuer ? issuer : x, NID_basic_constraints, s->bc ? s->bc : "critical,CA:FALSE");
		if (strcmp(ku, "-"))
			add_ext(x, issuer ? issuer : x, NID_key_usage, ku);
		if (!s->eku || strcmp(s->eku, "-"))
			add_ext(x, issuer ? issuer : x, NID_ext_key_usage, s->eku ? s->eku : "2.23.133.8.1");
		if (!s->no_san)
			add_tpm_san(x, !s->no_model, !s->san_noncritical);
	}
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()));
	return x;
}

static X509 *make_ca(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, long not_after)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(x), NOW - 10 * DAY);
	ASN1_TIME_set(X509_getm_notAfter(x), NOW + not_after);
	X509_set_pubkey(x, key);
	add_ext(x, issuer ? issuer : x, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(x, issuer ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign");
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()));
	return x;
}

static size_t der_of(X509 *x, uint8_t *out)
{
	unsigned char *p = out;
	int n = i2d_X509(x, &p);

	assert_true(n > 0 && n < 8192);
	return (size_t)n;
}

static void write_file(const char *name, const void *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static int setup(void **state)
{
	uint8_t der[8192];
	char why[256];
	BIO *b;
	char *pem;
	long n;

	(void)state;
	root_key = EVP_EC_gen("P-256");
	inter_key = EVP_EC_gen("P-256");
	other_key = EVP_EC_gen("P-256");
	ecc_ek = EVP_EC_gen("P-256");
	rsa_ek = EVP_RSA_gen(2048);
	root = make_ca(root_key, "Test TPM Root", NULL, NULL, 20 * YEAR);
	inter = make_ca(inter_key, "Test TPM Intermediate", root, root_key, 10 * YEAR);
	other = make_ca(other_key, "Other Root", NULL, NULL, 20 * YEAR);
	if (!mkdtemp(dir))
		return -1;
	/* root as PEM, intermediate as DER, and a file that is not a certificate name */
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, root);
	n = BIO_get_mem_data(b, &pem);
	write_file("root.pem", pem, (size_t)n);
	BIO_free(b);
	write_file("inter.der", der, der_of(inter, der));
	write_file("README", "not a certificate\n", 18);
	return ekcert_store_load(dir, &store, why, sizeof(why));
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	ekcert_store_free(store);
	X509_free(root);
	X509_free(inter);
	X509_free(other);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(inter_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(rsa_ek);
	EVP_PKEY_free(ecc_ek);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Verifies x at when; returns the result and fills info. */
static int verify_at(X509 *x, time_t when, struct ekcert_info *info)
{
	uint8_t der[8192];
	char why[256] = "";
	int r = ekcert_verify(store, der, der_of(x, der), when, info, why, sizeof(why));

	if (r < 0) {
		print_message("# refused: %s: %s\n", ekcert_strerror(r), why);
		assert_true(why[0]);
	}
	return r;
}

static int verify_spec(EVP_PKEY *key, const struct spec *s)
{
	struct ekcert_info info;
	X509 *x = make_cert(key, "ek", inter, inter_key, s);
	int r = verify_at(x, NOW, &info);

	X509_free(x);
	return r;
}

static void test_store_load(void **state)
{
	struct ekcert_store *s = NULL;
	char empty[] = "/tmp/test-ekcert-empty.XXXXXX";
	char why[256];
	uint8_t der[8192];
	X509 *leaf;

	(void)state;
	assert_int_equal(ekcert_store_count(store), 2);
	assert_non_null(mkdtemp(empty));
	assert_int_equal(ekcert_store_load(empty, &s, why, sizeof(why)), -ENOENT);
	assert_int_equal(ekcert_store_load("/nonexistent/dir", &s, why, sizeof(why)), -ENOENT);
	/* a certificate that is not a CA is refused, with the file named */
	leaf = make_cert(rsa_ek, "ek", inter, inter_key, &(struct spec){ 0 });
	snprintf(why, sizeof(why), "%s/leaf.der", empty);
	FILE *f = fopen(why, "w");
	assert_non_null(f);
	fwrite(der, 1, der_of(leaf, der), f);
	fclose(f);
	assert_int_equal(ekcert_store_load(empty, &s, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "leaf.der"));
	assert_null(s);
	/* garbage in a .pem file */
	snprintf(why, sizeof(why), "%s/leaf.der", empty);
	f = fopen(why, "w");
	fputs("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	assert_int_equal(ekcert_store_load(empty, &s, why, sizeof(why)), -EINVAL);
	X509_free(leaf);
	snprintf(why, sizeof(why), "rm -rf %s", empty);
	assert_int_equal(system(why), 0);
}

static void test_rsa_ok(void **state)
{
	struct ekcert_info info;
	X509 *x = make_cert(rsa_ek, "ek", inter, inter_key, &(struct spec){ 0 });
	unsigned char *spki = NULL;
	uint8_t md[32], n[256];
	char hex[65], fp[65];
	BIGNUM *bn = NULL;
	TPMT_PUBLIC tpl;
	int len;

	(void)state;
	assert_int_equal(verify_at(x, NOW, &info), 0);
	assert_int_equal(info.type, EKCERT_TYPE_RSA);
	assert_string_equal(info.manufacturer, "id:49465800");
	assert_string_equal(info.model, "SLB9670");
	assert_string_equal(info.version, "id:0007003D");
	/* device_id: SHA-256 of the DER SubjectPublicKeyInfo */
	len = i2d_PUBKEY(rsa_ek, &spki);
	SHA256(spki, (size_t)len, md);
	OPENSSL_free(spki);
	hex_encode(md, 32, hex);
	assert_string_equal(info.device_id, hex);
	/* the template L-1 with the modulus */
	tpm2_ek_template_rsa2048(&tpl);
	assert_int_equal(info.ek_public.objectAttributes, tpl.objectAttributes);
	assert_memory_equal(info.ek_public.authPolicy.buffer, tpl.authPolicy.buffer, 32);
	assert_int_equal(info.ek_public.unique.rsa.size, 256);
	assert_true(EVP_PKEY_get_bn_param(rsa_ek, "n", &bn));
	BN_bn2binpad(bn, n, 256);
	BN_free(bn);
	assert_memory_equal(info.ek_public.unique.rsa.buffer, n, 256);
	/* the CA that matched: the intermediate */
	assert_int_equal(opcrypto_cert_sha256_hex(inter, fp), 0);
	assert_string_equal(info.ca_sha256, fp);
	assert_string_equal(info.ca_subject, "CN=Test TPM Intermediate");
	X509_free(x);
}

static void test_ecc_ok_and_pem(void **state)
{
	struct ekcert_info info, pub_info;
	X509 *x = make_cert(ecc_ek, "ek", inter, inter_key, &(struct spec){ .eku = "-", .empty_subject = true });
	BIO *b = BIO_new(BIO_s_mem());
	char *pem, why[256];
	long n;

	(void)state;
	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &pem);
	assert_int_equal(ekcert_verify(store, (uint8_t *)pem, (size_t)n, NOW, &info, why, sizeof(why)), 0);
	assert_int_equal(info.type, EKCERT_TYPE_ECC);
	assert_string_equal(ekcert_type_name(info.type), "ecc");
	assert_int_equal(info.ek_public.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
	assert_int_equal(info.ek_public.unique.ecc.x.size, 32);
	/* the same device_id from the bare key */
	unsigned char *spki = NULL;
	int len = i2d_PUBKEY(ecc_ek, &spki);

	assert_int_equal(ekcert_from_public(spki, (size_t)len, &pub_info, why, sizeof(why)), 0);
	assert_string_equal(pub_info.device_id, info.device_id);
	assert_memory_equal(&pub_info.ek_public, &info.ek_public, sizeof(TPMT_PUBLIC));
	assert_string_equal(pub_info.manufacturer, "");
	OPENSSL_free(spki);
	BIO_free(b);
	X509_free(x);
}

static void test_untrusted(void **state)
{
	struct ekcert_info info;
	X509 *self = make_cert(rsa_ek, "ek", NULL, NULL, &(struct spec){ 0 });
	X509 *foreign = make_cert(rsa_ek, "ek", other, other_key, &(struct spec){ 0 });
	/* names the intermediate as issuer but signed by another key */
	X509 *forged = make_cert(rsa_ek, "ek", inter, other_key, &(struct spec){ 0 });

	(void)state;
	assert_int_equal(verify_at(self, NOW, &info), -EKCERT_E_UNTRUSTED);
	assert_int_equal(verify_at(foreign, NOW, &info), -EKCERT_E_UNTRUSTED);
	assert_int_equal(verify_at(forged, NOW, &info), -EKCERT_E_UNTRUSTED);
	X509_free(self);
	X509_free(foreign);
	X509_free(forged);
}

static void test_validity(void **state)
{
	struct ekcert_info info;
	X509 *old = make_cert(rsa_ek, "ek", inter, inter_key,
			      &(struct spec){ .not_before = -3 * YEAR, .not_after = -YEAR });
	X509 *longer = make_cert(rsa_ek, "ek", inter, inter_key, &(struct spec){ .not_after = 30 * YEAR });

	(void)state;
	assert_int_equal(verify_at(old, NOW, &info), -EKCERT_E_EXPIRED);
	/* before the EK certificate's notBefore */
	assert_int_equal(verify_at(longer, NOW - 2 * DAY, &info), -EKCERT_E_NOT_YET_VALID);
	/* the EK certificate is valid but its intermediate has expired */
	assert_int_equal(verify_at(longer, NOW + 11 * YEAR, &info), -EKCERT_E_EXPIRED);
	assert_int_equal(verify_at(longer, NOW + 9 * YEAR, &info), 0);
	X509_free(old);
	X509_free(longer);
}

static void test_key_usage(void **state)
{
	(void)state;
	assert_int_equal(verify_spec(rsa_ek, &(struct spec){ .ku = "-" }), -EKCERT_E_KEY_USAGE);
	assert_int_equal(verify_spec(rsa_ek, &(struct spec){ .ku = "critical,digitalSignature" }),
			 -EKCERT_E_KEY_USAGE);
	assert_int_equal(verify_spec(rsa_ek, &(struct spec){ .ku = "critical,keyEncipherment,keyCertSign" }),
			 -EKCERT_E_KEY_USAGE);
	/* an ECC EK agrees keys, it does not encipher them */
	assert_int_equal(verify_spec(ecc_ek, &(struct spec){ .ku = "critical,keyEncipherment" }),
			 -EKCERT_E_KEY_USAGE);
	assert_int_equal(verify_spec(ecc_ek, &(struct spec){ 0 }), 0);
}

static void test_ca(void **state)
{
	(void)state;
	assert_int_equal(verify_spec(rsa_ek, &(struct spec){ .bc = "critical,CA:TRUE" }), -EKCERT_E_CA);
	/* absent basicConstraints: an end entity */
	assert_int_equal(verify_spec(rsa_ek, &(struct spec){ .bc = "CA:FALSE" }), 0);
}

static void test_profile(void **state)
{
	(void)state;
	assert_int_equal(verify_spec(rsa_ek, &(struct spec){ .no_san = true }), -EKCERT_E_PROFILE);
	assert_int_equal(verify_spec(rsa_ek, &(struct spec){ .no_model = true }), -EKCERT_E_PROFILE);
	assert_int_equal(verify_spec(rsa_ek, &(struct spec){ .empty_subject = true, .san_noncritical = true }),
			 -EKCERT_E_PROFILE);
	assert_int_equal(verify_spec(rsa_ek, &(struct spec){ .san_noncritical = true }), 0);
	assert_int_equal(verify_spec(rsa_ek, &(struct spec){ .eku = "serverAuth" }), -EKCERT_E_PROFILE);
	assert_int_equal(verify_spec(rsa_ek, &(struct spec){ .eku = "-" }), 0);
	assert_int_equal(verify_spec(rsa_ek, &(struct spec){ .version = 1 }), -EKCERT_E_PROFILE);
}

static void test_unsupported_key(void **state)
{
	EVP_PKEY *p384 = EVP_EC_gen("P-384");
	EVP_PKEY *rsa1024 = EVP_RSA_gen(1024);

	(void)state;
	assert_int_equal(verify_spec(p384, &(struct spec){ 0 }), -EKCERT_E_KEY);
	assert_int_equal(verify_spec(rsa1024, &(struct spec){ 0 }), -EKCERT_E_KEY);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa1024);
}

static void test_garbage(void **state)
{
	uint8_t buf[EKCERT_MAX_SIZE + 1];
	struct ekcert_info info;
	char why[256];
	X509 *x = make_cert(rsa_ek, "ek", inter, inter_key, &(struct spec){ 0 });
	size_t n;

	(void)state;
	memset(buf, 0x30, sizeof(buf));
	assert_int_equal(ekcert_verify(store, buf, 100, NOW, &info, why, sizeof(why)), -EKCERT_E_PARSE);
	assert_int_equal(ekcert_verify(store, buf, 0, NOW, &info, why, sizeof(why)), -EKCERT_E_PARSE);
	assert_int_equal(ekcert_verify(store, buf, sizeof(buf), NOW, &info, why, sizeof(why)),
			 -EKCERT_E_PARSE);
	assert_int_equal(ekcert_verify(store, (const uint8_t *)"-----BEGIN CERTIFICATE-----\n", 28, NOW,
				       &info, why, sizeof(why)), -EKCERT_E_PARSE);
	/* a good certificate with a trailing byte, and truncated */
	n = der_of(x, buf);
	buf[n] = 0;
	assert_int_equal(ekcert_verify(store, buf, n + 1, NOW, &info, why, sizeof(why)), -EKCERT_E_PARSE);
	assert_int_equal(ekcert_verify(store, buf, n - 1, NOW, &info, why, sizeof(why)), -EKCERT_E_PARSE);
	assert_int_equal(ekcert_verify(store, buf, n, NOW, &info, why, sizeof(why)), 0);
	X509_free(x);
}

static void test_from_public(void **state)
{
	struct ekcert_info cert_info, info;
	X509 *x = make_cert(rsa_ek, "ek", inter, inter_key, &(struct spec){ 0 });
	TPM2B_PUBLIC pub = { 0 };
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t off = 0;
	char why[256];

	(void)state;
	assert_int_equal(verify_at(x, NOW, &cert_info), 0);
	/* the TPM2B_PUBLIC a TPM gives for the default template */
	pub.publicArea = cert_info.ek_public;
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, sizeof(buf), &off), 0);
	assert_int_equal(ekcert_from_public(buf, off, &info, why, sizeof(why)), 0);
	assert_string_equal(info.device_id, cert_info.device_id);
	assert_int_equal(info.type, EKCERT_TYPE_RSA);
	assert_memory_equal(&info.ek_public, &cert_info.ek_public, sizeof(TPMT_PUBLIC));
	/* another template (userWithAuth set): another name, refused */
	pub.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	off = 0;
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, sizeof(buf), &off), 0);
	assert_int_equal(ekcert_from_public(buf, off, &info, why, sizeof(why)), -EKCERT_E_KEY);
	/* neither format; a trailing byte */
	assert_int_equal(ekcert_from_public((const uint8_t *)"garbage", 7, &info, why, sizeof(why)),
			 -EKCERT_E_PARSE);
	pub.publicArea.objectAttributes &= ~TPMA_OBJECT_USERWITHAUTH;
	off = 0;
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, sizeof(buf) - 1, &off), 0);
	buf[off] = 0;
	assert_int_equal(ekcert_from_public(buf, off + 1, &info, why, sizeof(why)), -EKCERT_E_PARSE);
	X509_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_load),
		cmocka_unit_test(test_rsa_ok),
		cmocka_unit_test(test_ecc_ok_and_pem),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_key_usage),
		cmocka_unit_test(test_ca),
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_unsupported_key),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_from_public),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
