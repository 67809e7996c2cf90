// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/package (docs/package-format.md): the content round-trips and its
 * parser refuses what section 2 forbids (secrets in clear, unknown members,
 * a PIN given twice); the objects a DPF makes pass the device's check and
 * any changed attribute or policy fails it; the approved policy's signature
 * verifies and fails on any change; the CMS envelope verifies against the
 * pinned root and is refused on every byte flip, another root, an expired
 * signer, a signer without the package-signing EKU and another content type.
 * docs/change-format.md: a version 2 content (subscriber, lock, replaces)
 * round-trips and version 1 refuses its members; a consent verifies with
 * the certificate it carries and is identified by its key, a release chains
 * to a root and is identified by it; either is refused on every byte flip,
 * as the other type, and by the checks of section 2 (device, subscription,
 * operator, times); the download request's switch member and the switch
 * results of receipts and release reports round-trip.  Updates (section
 * 6): every kind round-trips; the parser refuses another kind's member, a
 * secret in clear in keys.auth, bad file paths, a file twice; the objects
 * of a keys update pass the device's check and a changed one fails it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/x509v3.h>

#include "lib/macro.h"
#include "lib/package.h"
#include "lib/tpm2-crypto.h"

#define NOW ((time_t)1800000000)
#define DAY 86400L
#define DEVICE "3f2a00000000000000000000000000000000000000000000000000000000a001"

static EVP_PKEY *root_key, *dpf_key, *other_key, *policy_key;
static X509 *root, *dpf, *dpf_no_eku, *dpf_expired, *other_root;
static TPMT_PUBLIC srk;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
}

static X509 *cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		  const char *eku, long not_after)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 2);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(x), NOW - 10 * DAY);
	ASN1_TIME_set(X509_getm_notAfter(x), NOW + not_after);
	X509_set_pubkey(x, key);
	/* key identifiers, as operator PKIs have: roots of one name stay apart */
	add_ext(x, x, NID_subject_key_identifier, "hash");
	if (issuer)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	if (!issuer) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		if (eku)
			add_ext(x, issuer, NID_ext_key_usage, eku);
	}
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()));
	return x;
}

static int setup(void **state)
{
	EVP_PKEY *k;

	(void)state;
	root_key = EVP_EC_gen("P-256");
	dpf_key = EVP_EC_gen("P-256");
	other_key = EVP_EC_gen("P-256");
	policy_key = EVP_EC_gen("P-256");
	root = cert(root_key, "root", NULL, NULL, NULL, 3650 * DAY);
	other_root = cert(other_key, "root", NULL, NULL, NULL, 3650 * DAY);
	dpf = cert(dpf_key, "dpf", root, root_key, PACKAGE_OID_KP, 365 * DAY);
	dpf_no_eku = cert(dpf_key, "dpf", root, root_key, "serverAuth", 365 * DAY);
	dpf_expired = cert(dpf_key, "dpf", root, root_key, PACKAGE_OID_KP, -DAY);
	k = EVP_EC_gen("P-256");
	assert_int_equal(tpm2_public_from_evp(k, TPM2_ALG_SHA256,
					      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
						      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT,
					      &srk), 0);
	srk.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	srk.parameters.eccDetail.symmetric.keyBits.aes = 128;
	srk.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	EVP_PKEY_free(k);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	X509_free(root);
	X509_free(other_root);
	X509_free(dpf);
	X509_free(dpf_no_eku);
	X509_free(dpf_expired);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(dpf_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(policy_key);
	return 0;
}

static const char profile[] =
	"{\"name\":\"t\",\"auth\":{\"algorithm\":\"milenage\"},"
	"\"pins\":[{\"ref\":\"PIN1\",\"retries\":3}]}";

/* A complete content as a DPF makes it. */
static void sample(struct package_content *c)
{
	static const uint8_t k[16] = { 1, 2, 3 }, opc[16] = { 4, 5, 6 }, pin[16] = "1234\xff\xff\xff\xff" "12345678";
	struct package_seed seed;
	TPM2B_DIGEST auth;

	memset(c, 0, sizeof(*c));
	strcpy(c->device, DEVICE);
	c->ek_name.size = 34;
	c->ek_name.name[1] = 0x0b;
	c->ek_name.name[2] = 0xee;
	assert_int_equal(tpm2_public_name(&srk, &c->srk_name), 0);
	memset(c->nonce, 0x5a, sizeof(c->nonce));
	c->sequence = 7;
	c->issued = NOW;
	c->expires = NOW + 600;
	strcpy(c->iccid, "8988211000000000017");
	strcpy(c->imsi, "001010000000017");
	strcpy(c->sho, "sho-a");
	strcpy(c->operator_name, "Test \"A\" / \xc3\xa9");
	c->cls = PACKAGE_CLASS_OPERATIONAL;
	c->profile = strdup(profile);
	c->profile_len = strlen(profile);
	assert_int_equal(package_policy_ref(DEVICE, &c->policy.ref), 0);
	c->policy.pcr_mask = (1u << 0) | (1u << 7) | (1u << 23);
	c->policy.pcr_digest.size = 32;
	memset(c->policy.pcr_digest.buffer, 0x11, 32);
	assert_int_equal(package_policy_sign(&c->policy, policy_key), 0);
	assert_int_equal(package_policy_digests(&c->policy, NULL, &auth), 0);
	assert_int_equal(package_seed_new(&srk, &seed), 0);
	assert_int_equal(package_secret_make(PACKAGE_FORM_AES, k, 16, &auth, &seed, &c->k), 0);
	assert_int_equal(package_secret_make(PACKAGE_FORM_SEALED, opc, 16, &auth, &seed, &c->opc), 0);
	c->n_pins = 1;
	c->pins[0].ref = 0x01;
	assert_int_equal(package_secret_make(PACKAGE_FORM_SEALED, pin, 16, &auth, &seed,
					     &c->pins[0].s), 0);
	package_seed_wipe(&seed);
}

static void test_content_round_trip(void **state)
{
	struct package_content c, d;
	char *json, why[256] = "";
	size_t len;

	(void)state;
	sample(&c);
	assert_int_equal(package_content_build(&c, &json, &len), 0);
	assert_int_equal(package_content_parse(json, len, &d, why, sizeof(why)), 0);
	assert_string_equal(d.device, c.device);
	assert_memory_equal(&d.ek_name, &c.ek_name, sizeof(c.ek_name));
	assert_memory_equal(&d.srk_name, &c.srk_name, sizeof(c.srk_name));
	assert_memory_equal(d.nonce, c.nonce, sizeof(c.nonce));
	assert_int_equal(d.sequence, 7);
	assert_int_equal(d.expires, NOW + 600);
	assert_string_equal(d.iccid, c.iccid);
	assert_string_equal(d.imsi, c.imsi);
	assert_string_equal(d.operator_name, c.operator_name);
	assert_int_equal(d.cls, PACKAGE_CLASS_OPERATIONAL);
	assert_string_equal(d.profile, profile);
	assert_int_equal(d.policy.pcr_mask, c.policy.pcr_mask);
	assert_memory_equal(&d.policy.key.publicArea, &c.policy.key.publicArea, sizeof(c.policy.key.publicArea));
	assert_memory_equal(&d.policy.signature, &c.policy.signature, sizeof(c.policy.signature));
	assert_memory_equal(&d.k.pub.publicArea, &c.k.pub.publicArea, sizeof(c.k.pub.publicArea));
	assert_memory_equal(&d.k.duplicate, &c.k.duplicate, sizeof(c.k.duplicate));
	assert_memory_equal(&d.opc.seed, &c.opc.seed, sizeof(c.opc.seed));
	assert_int_equal(d.n_pins, 1);
	assert_int_equal(d.pins[0].ref, 0x01);
	assert_memory_equal(&d.pins[0].s.duplicate, &c.pins[0].s.duplicate, sizeof(c.pins[0].s.duplicate));
	assert_int_equal(package_objects_check(&d, why, sizeof(why)), 0);
	assert_int_equal(package_policy_verify(&d.policy), 0);
	package_content_free(&d);
	package_content_free(&c);
	free(json);
}

/* Replaces the first occurrence of from by to in a built content and parses it. */
static int parse_edited(const char *from, const char *to, char *why, size_t why_size)
{
	struct package_content c, d;
	char *json, *edited, *at;
	size_t len;
	int r;

	sample(&c);
	assert_int_equal(package_content_build(&c, &json, &len), 0);
	at = strstr(json, from);
	assert_non_null(at);
	edited = malloc(len + strlen(to) + 1);
	sprintf(edited, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
	r = package_content_parse(edited, strlen(edited), &d, why, why_size);
	if (r == 0)
		package_content_free(&d);
	package_content_free(&c);
	free(json);
	free(edited);
	return r;
}

static void test_content_refused(void **state)
{
	static const struct {
		const char *from, *to, *why;
	} cases[] = {
		{ "\"algorithm\":\"milenage\"", "\"algorithm\":\"milenage\",\"k\":\"00\"", "profile.auth.k" },
		{ "\"algorithm\":\"milenage\"", "\"algorithm\":\"milenage\",\"opc\":\"00\"", "profile.auth.opc" },
		{ "\"retries\":3", "\"retries\":3,\"value\":\"1234\"", "profile.pins[0].value" },
		{ "\"retries\":3", "\"retries\":3,\"puk\":\"12345678\"", "profile.pins[0].puk" },
		{ "\"format\":\"mcim-package\"", "\"format\":\"mcim-package\",\"x\":1", "unknown member \"x\"" },
		{ "\"version\":1", "\"version\":3", "\"version\" out of range" },
		{ "\"version\":1", "\"version\":2", "member \"subscriber\"" },
		{ "\"sequence\":7", "\"sequence\":0", "\"sequence\" out of range" },
		{ "\"expires\":1800000600", "\"expires\":1800000000", "expires is not after issued" },
		{ "\"class\":\"operational\"", "\"class\":\"test\"", "subscription.class" },
		{ "\"iccid\":\"8988211000000000017\"", "\"iccid\":\"89882110000000000x7\"", "subscription.iccid" },
		{ "\"pcrs\":[0,7,23]", "\"pcrs\":[7,0,23]", "ascending" },
		{ "\"pcrs\":[0,7,23]", "\"pcrs\":[0,7,24]", "policy.pcrs[2]" },
		{ "\"form\":\"aes\"", "\"form\":\"des\"", "secrets.k: form" },
		{ "\"ref\":\"01\"", "\"ref\":\"00\"", "key reference 00" },
		{ "\"nonce\":\"5a5a", "\"nonce\":\"5a", "nonce" },
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = 0;
		assert_int_not_equal(parse_edited(cases[i].from, cases[i].to, why, sizeof(why)), 0);
		if (!strstr(why, cases[i].why))
			fail_msg("case %zu: \"%s\" does not name \"%s\"", i, why, cases[i].why);
	}
}

static void test_pin_twice(void **state)
{
	struct package_content c, d;
	char *json, why[256] = "";
	size_t len;

	(void)state;
	sample(&c);
	c.pins[1] = c.pins[0];
	c.n_pins = 2;
	assert_int_equal(package_content_build(&c, &json, &len), 0);
	assert_int_equal(package_content_parse(json, len, &d, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "given twice"));
	package_content_free(&c);
	free(json);
}

static void test_objects_refused(void **state)
{
	struct package_content c;
	char why[256];

	(void)state;
	sample(&c);
	c.k.pub.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	assert_int_equal(package_objects_check(&c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "secrets.k"));
	package_content_free(&c);

	sample(&c);
	c.k.pub.publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
	assert_int_equal(package_objects_check(&c, why, sizeof(why)), -EINVAL);
	package_content_free(&c);

	sample(&c);
	c.opc.pub.publicArea.authPolicy.buffer[0] ^= 1;
	assert_int_equal(package_objects_check(&c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "secrets.opc: authPolicy"));
	package_content_free(&c);

	sample(&c);
	c.opc = c.k; /* an AES key where a sealed OPc belongs */
	assert_int_equal(package_objects_check(&c, why, sizeof(why)), -EINVAL);
	package_content_free(&c);

	sample(&c);
	c.pins[0].s.pub.publicArea.nameAlg = TPM2_ALG_SHA1;
	assert_int_equal(package_objects_check(&c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "secrets.pins[0]"));
	package_content_free(&c);

	/* A policy for another device: its ref changes every object's authPolicy. */
	sample(&c);
	assert_int_equal(package_policy_ref("3f2a00000000000000000000000000000000000000000000000000000000a002",
					    &c.policy.ref), 0);
	assert_int_equal(package_objects_check(&c, why, sizeof(why)), -EINVAL);
	package_content_free(&c);
}

static void test_policy_signature(void **state)
{
	struct package_content c;

	(void)state;
	sample(&c);
	assert_int_equal(package_policy_verify(&c.policy), 0);
	c.policy.pcr_digest.buffer[31] ^= 1;
	assert_int_equal(package_policy_verify(&c.policy), -EBADMSG);
	c.policy.pcr_digest.buffer[31] ^= 1;
	c.policy.pcr_mask |= 1u << 4;
	assert_int_equal(package_policy_verify(&c.policy), -EBADMSG);
	c.policy.pcr_mask &= ~(1u << 4);
	c.policy.ref.buffer[0] ^= 1;
	assert_int_equal(package_policy_verify(&c.policy), -EBADMSG);
	package_content_free(&c);
}

static void signed_sample(X509 *signer, uint8_t **der, size_t *len, char **json, size_t *jlen)
{
	struct package_content c;

	sample(&c);
	assert_int_equal(package_content_build(&c, json, jlen), 0);
	assert_int_equal(package_sign((uint8_t *)*json, *jlen, dpf_key, signer, NULL, der, len), 0);
	package_content_free(&c);
}

static void test_envelope(void **state)
{
	uint8_t *der, *out;
	char *json, why[256];
	size_t len, jlen, olen;
	X509 *signer = NULL;
	unsigned flips = 0;

	(void)state;
	signed_sample(dpf, &der, &len, &json, &jlen);
	assert_int_equal(package_verify(der, len, root, NOW, &out, &olen, &signer, why, sizeof(why)), 0);
	assert_int_equal(olen, jlen);
	assert_memory_equal(out, json, jlen);
	assert_int_equal(X509_cmp(signer, dpf), 0);
	X509_free(signer);
	free(out);
	/* Every byte flipped: never accepted. */
	for (size_t i = 0; i < len; i++) {
		der[i] ^= 0x01;
		if (package_verify(der, len, root, NOW, &out, &olen, NULL, why, sizeof(why)) == 0) {
			free(out);
			fail_msg("byte %zu flipped: accepted", i);
		}
		der[i] ^= 0x01;
		flips++;
	}
	assert_int_equal(flips, len);
	assert_int_equal(package_verify(der, len, other_root, NOW, &out, &olen, NULL, why,
					sizeof(why)), -EKEYREJECTED);
	assert_int_equal(package_verify(der, len, root, NOW + 400 * DAY, &out, &olen, NULL, why,
					sizeof(why)), -EKEYREJECTED);
	assert_int_equal(package_verify(der, len - 1, root, NOW, &out, &olen, NULL, why,
					sizeof(why)), -EBADMSG);
	free(der);
	free(json);

	signed_sample(dpf_no_eku, &der, &len, &json, &jlen);
	assert_int_equal(package_verify(der, len, root, NOW, &out, &olen, NULL, why, sizeof(why)),
			 -EPERM);
	assert_non_null(strstr(why, "extended key usage"));
	free(der);
	free(json);

	signed_sample(dpf_expired, &der, &len, &json, &jlen);
	assert_int_equal(package_verify(der, len, root, NOW, &out, &olen, NULL, why, sizeof(why)),
			 -EKEYREJECTED);
	free(der);
	free(json);
}

static void test_envelope_content_type(void **state)
{
	BIO *in = BIO_new_mem_buf("{}", 2);
	CMS_ContentInfo *cms = CMS_sign(dpf, dpf_key, NULL, in, CMS_BINARY);
	unsigned char *der = NULL;
	uint8_t *out;
	size_t olen;
	char why[256];
	int n;

	(void)state;
	assert_non_null(cms);
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	assert_int_equal(package_verify(der, (size_t)n, root, NOW, &out, &olen, NULL, why,
					sizeof(why)), -EPROTO);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
}

static void test_request(void **state)
{
	struct package_request r = { .key_form = PACKAGE_FORM_SEALED }, d;
	char *json, why[256];
	size_t len;

	(void)state;
	r.ticket = strdup("eyJhbGciOiJFUzI1NiJ9.e30.c2ln");
	memset(r.nonce, 0xa5, sizeof(r.nonce));
	r.srk.publicArea = srk;
	r.ak.publicArea = srk;
	assert_int_equal(package_request_build(&r, &json, &len), 0);
	assert_int_equal(package_request_parse(json, len, &d, why, sizeof(why)), 0);
	assert_string_equal(d.ticket, r.ticket);
	assert_memory_equal(d.nonce, r.nonce, sizeof(r.nonce));
	assert_memory_equal(&d.srk.publicArea, &r.srk.publicArea, sizeof(r.srk.publicArea));
	assert_int_equal(d.key_form, PACKAGE_FORM_SEALED);
	package_request_free(&d);
	free(json);
	assert_int_equal(package_request_parse("{\"ticket\":\"x\"}", 14, &d, why, sizeof(why)),
			 -EINVAL);
	package_request_free(&r);
}

static void test_reports(void **state)
{
	struct package_report rc = { .kind = PACKAGE_RECEIPT, .device = DEVICE,
				     .iccid = "8988211000000000017", .sequence = 9 };
	struct package_report tp = { .kind = PACKAGE_TAMPER, .device = DEVICE,
				     .reason = "case opened", .at = NOW };
	struct package_report d;
	struct package_attested a = { .device = DEVICE }, b;
	char *json, *outer, why[256];
	size_t len, olen;

	(void)state;
	assert_int_equal(package_report_build(&rc, &json, &len), 0);
	assert_int_equal(package_report_parse(json, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.kind, PACKAGE_RECEIPT);
	assert_string_equal(d.iccid, rc.iccid);
	assert_int_equal(d.sequence, 9);
	a.body = (uint8_t *)json;
	a.body_len = len;
	a.quote = (uint8_t *)"\xff\x54\x43\x47";
	a.quote_len = 4;
	a.signature.sigAlg = TPM2_ALG_ECDSA;
	a.signature.signature.ecdsa.hash = TPM2_ALG_SHA256;
	assert_int_equal(package_attested_build(&a, PACKAGE_RECEIPT, &outer, &olen), 0);
	assert_int_equal(package_attested_parse(outer, olen, PACKAGE_RECEIPT, &b, why, sizeof(why)), 0);
	assert_int_equal(b.body_len, len);
	assert_memory_equal(b.body, json, len);
	assert_int_equal(b.quote_len, 4);
	package_attested_free(&b);
	/* A receipt is not a tamper report. */
	assert_int_equal(package_attested_parse(outer, olen, PACKAGE_TAMPER, &b, why, sizeof(why)),
			 -EINVAL);
	free(outer);
	free(json);

	assert_int_equal(package_report_build(&tp, &json, &len), 0);
	assert_int_equal(package_report_parse(json, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.kind, PACKAGE_TAMPER);
	assert_string_equal(d.reason, "case opened");
	assert_int_equal(d.at, NOW);
	free(json);
	assert_int_equal(package_report_parse("{\"format\":\"mcim-receipt\",\"version\":1}", 37, &d,
					      why, sizeof(why)), -EINVAL);
}

/* ---- docs/change-format.md ---- */

#define SUB_ICCID "8988211000000000025"
#define SHO_B "b0b0000000000000000000000000000000000000000000000000000000000b0b"

static void der_of(X509 *x, uint8_t **ret, size_t *ret_len)
{
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);

	assert_true(n > 0);
	*ret = malloc((size_t)n);
	assert_non_null(*ret);
	memcpy(*ret, d, (size_t)n);
	*ret_len = (size_t)n;
	OPENSSL_free(d);
}

static void token_sample(enum package_type type, struct package_token *t)
{
	memset(t, 0, sizeof(*t));
	t->type = type;
	strcpy(t->id, "00112233445566778899aabbccddeeff");
	strcpy(t->device, DEVICE);
	strcpy(t->iccid, SUB_ICCID);
	strcpy(t->to_sho, SHO_B);
	t->issued = NOW;
	t->expires = NOW + 7 * DAY;
}

static void token_signed(enum package_type type, EVP_PKEY *key, X509 *signer, uint8_t **der,
			 size_t *len)
{
	struct package_token t;
	char *json;
	size_t jlen;

	token_sample(type, &t);
	assert_int_equal(package_token_build(&t, &json, &jlen), 0);
	assert_int_equal(package_sign_type(type, (uint8_t *)json, jlen, key, signer, NULL, der, len),
			 0);
	free(json);
}

static void test_content_v2(void **state)
{
	struct package_content c, d;
	char *json, why[256];
	size_t len;

	(void)state;
	sample(&c);
	c.version = 2;
	strcpy(c.subscriber, "acme");
	der_of(root, &c.subscriber_cert, &c.subscriber_cert_len);
	c.lock_until = NOW + 365 * DAY;
	/* not a switch: replaces is null */
	assert_int_equal(package_content_build(&c, &json, &len), 0);
	assert_non_null(strstr(json, "\"replaces\":null"));
	assert_int_equal(package_content_parse(json, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.version, 2);
	assert_string_equal(d.subscriber, "acme");
	assert_int_equal(d.subscriber_cert_len, c.subscriber_cert_len);
	assert_memory_equal(d.subscriber_cert, c.subscriber_cert, c.subscriber_cert_len);
	assert_int_equal(d.lock_until, NOW + 365 * DAY);
	assert_false(d.replaces);
	package_content_free(&d);
	free(json);
	/* a switch with a consent and a release, then without a release */
	c.replaces = true;
	strcpy(c.replaces_iccid, SUB_ICCID);
	c.consent = (uint8_t *)strdup("consent-der");
	c.consent_len = 11;
	c.release = (uint8_t *)strdup("release-der");
	c.release_len = 11;
	assert_int_equal(package_content_build(&c, &json, &len), 0);
	assert_int_equal(package_content_parse(json, len, &d, why, sizeof(why)), 0);
	assert_true(d.replaces);
	assert_string_equal(d.replaces_iccid, SUB_ICCID);
	assert_int_equal(d.consent_len, 11);
	assert_memory_equal(d.consent, "consent-der", 11);
	assert_int_equal(d.release_len, 11);
	assert_memory_equal(d.release, "release-der", 11);
	package_content_free(&d);
	free(json);
	free(c.release);
	c.release = NULL;
	c.release_len = 0;
	assert_int_equal(package_content_build(&c, &json, &len), 0);
	assert_non_null(strstr(json, "\"release\":null"));
	assert_int_equal(package_content_parse(json, len, &d, why, sizeof(why)), 0);
	assert_true(d.replaces);
	assert_null(d.release);
	package_content_free(&d);
	/* version 1 with a version 2 member; version 2 without one; version 3 */
	{
		char *v1 = strdup(json), *p = strstr(v1, "\"version\":2");

		assert_non_null(p);
		p[10] = '1';
		assert_int_equal(package_content_parse(v1, len, &d, why, sizeof(why)), -EINVAL);
		p[10] = '3';
		assert_int_equal(package_content_parse(v1, len, &d, why, sizeof(why)), -EINVAL);
		free(v1);
	}
	{
		char *v2 = strdup(json), *p = strstr(v2, "\"lock\"");

		assert_non_null(p);
		memcpy(p, "\"lack\"", 6);
		assert_int_equal(package_content_parse(v2, len, &d, why, sizeof(why)), -EINVAL);
		free(v2);
	}
	free(json);
	package_content_free(&c);
}

static void test_tokens(void **state)
{
	EVP_PKEY *sub_key = EVP_EC_gen("P-256");
	X509 *sub_cert = cert(sub_key, "acme", NULL, NULL, NULL, 3650 * DAY);
	STACK_OF(X509) *roots = sk_X509_new_null();
	struct package_token t;
	char key_id[65], want[65], why[256];
	uint8_t *der;
	size_t len;

	(void)state;
	assert_true(sk_X509_push(roots, other_root));
	assert_true(sk_X509_push(roots, root));
	/* consent: the subscriber's self-signed certificate; identified by its key */
	token_signed(PACKAGE_TYPE_CONSENT, sub_key, sub_cert, &der, &len);
	assert_int_equal(package_token_open(PACKAGE_TYPE_CONSENT, der, len, NULL, NOW, &t, key_id,
					    why, sizeof(why)), 0);
	assert_int_equal(package_key_id(sub_cert, want), 0);
	assert_string_equal(key_id, want);
	assert_string_equal(t.iccid, SUB_ICCID);
	assert_int_equal(package_token_check(&t, DEVICE, SUB_ICCID, SHO_B, NOW, why, sizeof(why)), 0);
	/* the checks of section 2 */
	assert_int_equal(package_token_check(&t, SHO_B, SUB_ICCID, SHO_B, NOW, why, sizeof(why)),
			 -EPERM);
	assert_int_equal(package_token_check(&t, DEVICE, "8988211000000000033", SHO_B, NOW, why,
					     sizeof(why)), -EPERM);
	assert_int_equal(package_token_check(&t, DEVICE, SUB_ICCID, DEVICE, NOW, why, sizeof(why)),
			 -EPERM);
	assert_int_equal(package_token_check(&t, DEVICE, SUB_ICCID, SHO_B, NOW + 7 * DAY, why,
					     sizeof(why)), -ETIME);
	assert_int_equal(package_token_check(&t, DEVICE, SUB_ICCID, SHO_B, NOW - 301, why,
					     sizeof(why)), -ETIME);
	t.expires = t.issued + 31 * DAY;
	assert_int_equal(package_token_check(&t, DEVICE, SUB_ICCID, SHO_B, NOW, why, sizeof(why)),
			 -ETIME);
	/*
	 * A consent is not a release (content type), and no byte flip passes
	 * outside the certificate it carries; inside it only the key counts
	 * (pinned by its hash): a flip there passes only with the key intact.
	 */
	assert_int_equal(package_token_open(PACKAGE_TYPE_RELEASE, der, len, roots, NOW, &t, key_id,
					    why, sizeof(why)), -EPROTO);
	{
		uint8_t *cd;
		size_t clen;
		const uint8_t *at;

		der_of(sub_cert, &cd, &clen);
		at = memmem(der, len, cd, clen);
		assert_non_null(at);
		for (size_t i = 0; i < len; i++) {
			bool in_cert = der + i >= at && der + i < at + clen;

			der[i] ^= 0x01;
			/* accepted under the subscriber's key: only a flip in its certificate */
			if (package_token_open(PACKAGE_TYPE_CONSENT, der, len, NULL, NOW, &t, key_id,
					       why, sizeof(why)) == 0 &&
			    !strcmp(key_id, want) && !in_cert)
				fail_msg("consent byte %zu flipped: accepted", i);
			der[i] ^= 0x01;
		}
		free(cd);
	}
	free(der);

	/* release: the DPF's certificate under a trusted root; identified by the root */
	token_signed(PACKAGE_TYPE_RELEASE, dpf_key, dpf, &der, &len);
	assert_int_equal(package_token_open(PACKAGE_TYPE_RELEASE, der, len, roots, NOW, &t, key_id,
					    why, sizeof(why)), 0);
	assert_int_equal(package_key_id(root, want), 0);
	assert_string_equal(key_id, want);
	assert_int_equal(t.type, PACKAGE_TYPE_RELEASE);
	for (size_t i = 0; i < len; i++) {
		der[i] ^= 0x01;
		if (package_token_open(PACKAGE_TYPE_RELEASE, der, len, roots, NOW, &t, key_id, why,
				       sizeof(why)) == 0)
			fail_msg("release byte %zu flipped: accepted", i);
		der[i] ^= 0x01;
	}
	sk_X509_delete_ptr(roots, root);
	assert_int_equal(package_token_open(PACKAGE_TYPE_RELEASE, der, len, roots, NOW, &t, key_id,
					    why, sizeof(why)), -EKEYREJECTED);
	free(der);
	/* a release needs the package-signing EKU; a consent does not chain */
	token_signed(PACKAGE_TYPE_RELEASE, dpf_key, dpf_no_eku, &der, &len);
	assert_true(sk_X509_push(roots, root));
	assert_int_equal(package_token_open(PACKAGE_TYPE_RELEASE, der, len, roots, NOW, &t, key_id,
					    why, sizeof(why)), -EPERM);
	free(der);
	token_signed(PACKAGE_TYPE_RELEASE, sub_key, sub_cert, &der, &len);
	assert_int_equal(package_token_open(PACKAGE_TYPE_RELEASE, der, len, roots, NOW, &t, key_id,
					    why, sizeof(why)), -EKEYREJECTED);
	free(der);
	/* strict content */
	assert_int_equal(package_token_parse(PACKAGE_TYPE_CONSENT,
					     "{\"format\":\"mcim-release\",\"version\":1}", 37, &t,
					     why, sizeof(why)), -EINVAL);
	sk_X509_free(roots);
	X509_free(sub_cert);
	EVP_PKEY_free(sub_key);
}

static void test_request_switch(void **state)
{
	struct package_request r = { .key_form = PACKAGE_FORM_AES }, d;
	char *json, why[256];
	size_t len;

	(void)state;
	r.ticket = strdup("eyJhbGciOiJFUzI1NiJ9.e30.c2ln");
	r.srk.publicArea = srk;
	r.ak.publicArea = srk;
	r.has_switch = true;
	strcpy(r.switch_iccid, SUB_ICCID);
	r.consent = (uint8_t *)strdup("c");
	r.consent_len = 1;
	assert_int_equal(package_request_build(&r, &json, &len), 0);
	assert_int_equal(package_request_parse(json, len, &d, why, sizeof(why)), 0);
	assert_true(d.has_switch);
	assert_string_equal(d.switch_iccid, SUB_ICCID);
	assert_int_equal(d.consent_len, 1);
	assert_null(d.release);
	package_request_free(&d);
	free(json);
	package_request_free(&r);
}

static void test_switch_reports(void **state)
{
	struct package_report rc = { .kind = PACKAGE_RECEIPT, .device = DEVICE, .iccid = SUB_ICCID,
				     .sequence = 3, .result = PACKAGE_RESULT_FALLBACK,
				     .reason = "no network authentication in 600 s" };
	struct package_report rr = { .kind = PACKAGE_RELEASE_REPORT, .device = DEVICE,
				     .iccid = SUB_ICCID, .result = PACKAGE_RESULT_SWITCHED,
				     .reason = "", .at = NOW };
	struct package_report d;
	char *json, why[256];
	size_t len;

	(void)state;
	assert_int_equal(package_report_build(&rc, &json, &len), 0);
	assert_int_equal(package_report_parse(json, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.result, PACKAGE_RESULT_FALLBACK);
	assert_string_equal(d.reason, rc.reason);
	free(json);
	rc.result = PACKAGE_RESULT_SWITCHED;
	assert_int_equal(package_report_build(&rc, &json, &len), 0);
	assert_null(strstr(json, "reason"));
	assert_int_equal(package_report_parse(json, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.result, PACKAGE_RESULT_SWITCHED);
	free(json);
	assert_int_equal(package_report_build(&rr, &json, &len), 0);
	assert_int_equal(package_report_parse(json, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.kind, PACKAGE_RELEASE_REPORT);
	assert_int_equal(d.result, PACKAGE_RESULT_SWITCHED);
	assert_int_equal(d.at, NOW);
	free(json);
	rr.result = PACKAGE_RESULT_INSTALLED;
	assert_int_equal(package_report_build(&rr, &json, &len), -EINVAL);
	/* a fallback receipt without its reason, a switched one with one */
	{
		static const char no_reason[] =
			"{\"format\":\"mcim-receipt\",\"version\":1,\"device\":\"" DEVICE
			"\",\"iccid\":\"" SUB_ICCID "\",\"sequence\":3,\"result\":\"fallback\"}";
		static const char with_reason[] =
			"{\"format\":\"mcim-receipt\",\"version\":1,\"device\":\"" DEVICE
			"\",\"iccid\":\"" SUB_ICCID "\",\"sequence\":3,\"result\":\"switched\","
			"\"reason\":\"x\"}";

		assert_int_equal(package_report_parse(no_reason, sizeof(no_reason) - 1, &d, why,
						      sizeof(why)), -EINVAL);
		assert_int_equal(package_report_parse(with_reason, sizeof(with_reason) - 1, &d, why,
						      sizeof(why)), -EINVAL);
	}
}

static void update_sample(enum package_update_kind kind, struct package_update *u)
{
	memset(u, 0, sizeof(*u));
	strcpy(u->device, DEVICE);
	u->ek_name.size = 34;
	u->ek_name.name[1] = 0x0b;
	memset(u->nonce, 0x6b, sizeof(u->nonce));
	u->sequence = 8;
	u->issued = NOW;
	u->expires = NOW + 600;
	strcpy(u->iccid, SUB_ICCID);
	u->kind = kind;
}

static void test_updates(void **state)
{
	static const char auth[] = "{\"algorithm\":\"tuak\",\"res_len\":8,\"keccak_iterations\":1}";
	static const uint8_t k[32] = { 9 }, topc[32] = { 8 };
	struct package_update u, d;
	struct package_seed seed;
	TPM2B_DIGEST pol;
	char *json, why[256];
	size_t len;
	bool upd;

	(void)state;
	/* keys: MILENAGE to TUAK with a 256-bit K, sealed */
	update_sample(PACKAGE_UPDATE_KEYS, &u);
	assert_int_equal(tpm2_public_name(&srk, &u.srk_name), 0);
	u.auth = strdup(auth);
	u.auth_len = strlen(auth);
	assert_int_equal(package_policy_ref(DEVICE, &u.policy.ref), 0);
	u.policy.pcr_mask = 1u << 23;
	u.policy.pcr_digest.size = 32;
	assert_int_equal(package_policy_sign(&u.policy, policy_key), 0);
	assert_int_equal(package_policy_digests(&u.policy, NULL, &pol), 0);
	assert_int_equal(package_seed_new(&srk, &seed), 0);
	assert_int_equal(package_secret_make(PACKAGE_FORM_SEALED, k, 32, &pol, &seed, &u.k), 0);
	assert_int_equal(package_secret_make(PACKAGE_FORM_SEALED, topc, 32, &pol, &seed, &u.opc), 0);
	package_seed_wipe(&seed);
	u.activate_at = 0;
	assert_int_equal(package_update_build(&u, &json, &len), 0);
	assert_int_equal(package_content_is_update(json, len, &upd, why, sizeof(why)), 0);
	assert_true(upd);
	assert_int_equal(package_update_parse(json, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.kind, PACKAGE_UPDATE_KEYS);
	assert_string_equal(d.auth, auth);
	assert_memory_equal(&d.srk_name, &u.srk_name, sizeof(u.srk_name));
	assert_memory_equal(&d.k.pub.publicArea, &u.k.pub.publicArea, sizeof(u.k.pub.publicArea));
	assert_int_equal(package_update_objects_check(&d, why, sizeof(why)), 0);
	d.opc.pub.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	assert_int_equal(package_update_objects_check(&d, why, sizeof(why)), -EINVAL);
	package_update_free(&d);
	/* a package parser does not take an update, nor an update parser a package */
	{
		struct package_content c;

		assert_int_equal(package_content_parse(json, len, &c, why, sizeof(why)), -EINVAL);
	}
	free(json);
	/* a secret in clear in auth */
	free(u.auth);
	u.auth = strdup("{\"algorithm\":\"milenage\",\"k\":\"00\"}");
	u.auth_len = strlen(u.auth);
	assert_int_equal(package_update_build(&u, &json, &len), 0);
	assert_int_equal(package_update_parse(json, len, &d, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "auth.k"));
	free(json);
	package_update_free(&u);

	/* files */
	update_sample(PACKAGE_UPDATE_FILES, &u);
	u.n_files = 2;
	u.files[0] = (struct package_file){ { 0x3f00, 0x7fff, 0x6f60 }, 3, NULL, 10 };
	u.files[0].data = malloc(10);
	memset(u.files[0].data, 0x42, 10);
	u.files[1] = (struct package_file){ { 0x3f00, 0x7fff, 0x6f7b }, 3, NULL, 12 };
	u.files[1].data = calloc(1, 12);
	assert_int_equal(package_update_build(&u, &json, &len), 0);
	assert_non_null(strstr(json, "\"path\":\"3F007FFF6F60\""));
	assert_int_equal(package_update_parse(json, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.n_files, 2);
	assert_int_equal(d.files[0].path_len, 3);
	assert_int_equal(d.files[0].path[2], 0x6f60);
	assert_int_equal(d.files[1].len, 12);
	assert_memory_equal(d.files[0].data, u.files[0].data, 10);
	package_update_free(&d);
	{
		static const struct { const char *from, *to, *why; } cases[] = {
			{ "3F007FFF6F7B", "3F007FFF6F60", "the same file twice" },
			{ "3F007FFF6F7B", "6F7B", "2 to 8 file ids" },
			{ "3F007FFF6F7B", "2F007FFF6F7B", "does not start at the MF" },
			{ "3F007FFF6F7B", "3f007fff6f7b", "uppercase hex" },
			{ "\"kind\":\"files\"", "\"kind\":\"lock\"", "unknown member \"files\"" },
			{ "\"kind\":\"files\"", "\"kind\":\"wipe\"", "kind \"wipe\"" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			char *e = strdup(json), *p = strstr(e, cases[i].from);
			char *edited;

			assert_non_null(p);
			assert_true(asprintf(&edited, "%.*s%s%s", (int)(p - e), e, cases[i].to,
					     p + strlen(cases[i].from)) > 0);
			why[0] = 0;
			assert_int_equal(package_update_parse(edited, strlen(edited), &d, why,
							      sizeof(why)), -EINVAL);
			if (!strstr(why, cases[i].why))
				fail_msg("files case %zu: \"%s\" does not name \"%s\"", i, why,
					 cases[i].why);
			free(edited);
			free(e);
		}
	}
	free(json);
	package_update_free(&u);

	/* activate, policy, lock, revoke */
	update_sample(PACKAGE_UPDATE_ACTIVATE, &u);
	u.activates = 7;
	assert_int_equal(package_update_build(&u, &json, &len), 0);
	assert_int_equal(package_update_parse(json, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.activates, 7);
	free(json);
	update_sample(PACKAGE_UPDATE_POLICY, &u);
	assert_int_equal(package_policy_ref(DEVICE, &u.policy.ref), 0);
	u.policy.pcr_mask = (1u << 4) | (1u << 23);
	u.policy.pcr_digest.size = 32;
	assert_int_equal(package_policy_sign(&u.policy, policy_key), 0);
	assert_int_equal(package_update_build(&u, &json, &len), 0);
	assert_int_equal(package_update_parse(json, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.policy.pcr_mask, u.policy.pcr_mask);
	assert_int_equal(package_policy_verify(&d.policy), 0);
	assert_int_equal(package_update_objects_check(&d, why, sizeof(why)), -EINVAL);
	free(json);
	update_sample(PACKAGE_UPDATE_LOCK, &u);
	u.lock_until = NOW + DAY;
	assert_int_equal(package_update_build(&u, &json, &len), 0);
	assert_int_equal(package_update_parse(json, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.lock_until, NOW + DAY);
	free(json);
	update_sample(PACKAGE_UPDATE_REVOKE, &u);
	strcpy(u.reason, "contract ended");
	assert_int_equal(package_update_build(&u, &json, &len), 0);
	assert_int_equal(package_update_parse(json, len, &d, why, sizeof(why)), 0);
	assert_string_equal(d.reason, "contract ended");
	assert_int_equal(package_content_is_update(json, len, &upd, why, sizeof(why)), 0);
	assert_true(upd);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_round_trip),
		cmocka_unit_test(test_content_v2),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_request_switch),
		cmocka_unit_test(test_switch_reports),
		cmocka_unit_test(test_updates),
		cmocka_unit_test(test_content_refused),
		cmocka_unit_test(test_pin_twice),
		cmocka_unit_test(test_objects_refused),
		cmocka_unit_test(test_policy_signature),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_envelope_content_type),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_reports),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
