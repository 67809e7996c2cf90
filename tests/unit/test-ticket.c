// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tools/mcim-operator/ticket: ES256 JWS tickets signed with a key of `pki
 * init` round-trip; every bit flip of a token, alg "none" and "HS256", a
 * foreign key, an expired ticket, unknown members and oversized tokens are
 * refused, each with its reason.  python3-cryptography checks a ticket
 * independently: tests/integration/operator/ticket-python.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tools/mcim-operator/pki.h"
#include "tools/mcim-operator/ticket.h"

#define NOW ((time_t)1800000000)

static char dir[] = "/tmp/test-ticket.XXXXXX";
static struct pki_signer *signer, *dpf;

static struct ticket sample(void)
{
	struct ticket t = {
		.jti = "0123456789abcdef0123456789abcdef",
		.sub = "3f2a000000000000000000000000000000000000000000000000000000000001",
		.model = "gw-1000 \"rev\\2\"",
		.policy_version = 3,
		.mode = TICKET_MODE_SEMI_AUTONOMOUS,
		.iat = NOW - 10,
		.exp = NOW + 600,
	};

	t.ak_name.size = 34;
	t.srk_name.size = 34;
	t.pcr_digest.size = 32;
	for (int i = 0; i < 34; i++) {
		t.ak_name.name[i] = (uint8_t)(i * 7);
		t.srk_name.name[i] = (uint8_t)(255 - i);
	}
	memset(t.pcr_digest.buffer, 0x5a, 32);
	t.kpd.size = 32;
	memset(t.kpd.buffer, 0xc3, 32);
	return t;
}

static int setup(void **state)
{
	struct pki_init_opts o = { .days = 1 };
	char cert[300], key[300], why[256];

	(void)state;
	if (!mkdtemp(dir) || pki_init(dir, &o, why, sizeof(why)) < 0)
		return -1;
	snprintf(cert, sizeof(cert), "%s/%s", dir, PKI_TICKET_CERT);
	snprintf(key, sizeof(key), "%s/%s", dir, PKI_TICKET_KEY);
	if (pki_signer_load(cert, key, &signer, why, sizeof(why)) < 0)
		return -1;
	snprintf(cert, sizeof(cert), "%s/%s", dir, PKI_DPF_CERT);
	snprintf(key, sizeof(key), "%s/%s", dir, PKI_DPF_KEY);
	return pki_signer_load(cert, key, &dpf, why, sizeof(why));
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	pki_signer_free(signer);
	pki_signer_free(dpf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int verify(const char *token, time_t now, struct ticket *t)
{
	char why[256] = "";
	int r = ticket_verify(signer->cert, token, now, t, why, sizeof(why));

	if (r < 0)
		assert_true(why[0]);
	return r;
}

static char *b64url(const void *in, size_t len)
{
	char *out = calloc(1, 4 * ((len + 2) / 3) + 1);
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	while (n > 0 && out[n - 1] == '=')
		out[--n] = 0;
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

/* A token over any header and payload, signed ES256 by key (independent of ticket.c). */
static char *sign_raw(EVP_PKEY *key, const char *header, const char *payload)
{
	char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
	char *input = NULL, *token = NULL, *s;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[128], rs[64];
	const unsigned char *q = der;
	size_t der_len = sizeof(der);
	ECDSA_SIG *sig;

	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, der, &der_len, (uint8_t *)input, strlen(input)), 1);
	sig = d2i_ECDSA_SIG(NULL, &q, (long)der_len);
	BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32);
	s = b64url(rs, 64);
	assert_true(asprintf(&token, "%s.%s", input, s) > 0);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	free(h);
	free(p);
	free(s);
	free(input);
	return token;
}

static char header_json[256];
static const char claims_json[] =
	"{\"iss\":\"pva\",\"jti\":\"j1\",\"sub\":\"3f2a000000000000000000000000000000000000000000000000000000000001\","
	"\"ak_name\":\"000b01\",\"srk_name\":\"000b02\",\"pcr_digest\":\"aa\",\"kpd\":\"c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3\",\"model\":\"m\","
	"\"policy_version\":1,\"mode\":\"remote\",\"iat\":1800000000,\"exp\":1800000600%s}";

static const char *header(const char *alg, const char *extra)
{
	snprintf(header_json, sizeof(header_json), "{\"alg\":\"%s\",\"typ\":\"mcim-ticket+jwt\",\"kid\":\"%s\"%s}",
		 alg, signer->cert_sha256, extra);
	return header_json;
}

static int verify_raw(const char *h, const char *extra_claim)
{
	char payload[1024];
	char *token;
	int r;

	snprintf(payload, sizeof(payload), claims_json, extra_claim);
	token = sign_raw(signer->key, h, payload);
	r = verify(token, NOW, NULL);
	free(token);
	return r;
}

static void test_round_trip(void **state)
{
	struct ticket t = sample(), got;
	char *token = NULL, *dot;

	(void)state;
	assert_int_equal(ticket_sign(signer, &t, &token), 0);
	assert_true(strlen(token) < TICKET_MAX_SIZE);
	assert_int_equal(verify(token, NOW, &got), 0);
	assert_string_equal(got.jti, t.jti);
	assert_string_equal(got.sub, t.sub);
	assert_string_equal(got.model, t.model);
	assert_memory_equal(&got.ak_name, &t.ak_name, sizeof(t.ak_name));
	assert_memory_equal(&got.srk_name, &t.srk_name, sizeof(t.srk_name));
	assert_memory_equal(&got.pcr_digest, &t.pcr_digest, sizeof(t.pcr_digest));
	assert_memory_equal(&got.kpd, &t.kpd, sizeof(t.kpd));
	assert_int_equal(got.policy_version, 3);
	assert_int_equal(got.mode, TICKET_MODE_SEMI_AUTONOMOUS);
	assert_int_equal(got.iat, t.iat);
	assert_int_equal(got.exp, t.exp);
	/* RFC 7518 3.4: 64-byte signature = 86 base64url characters, no padding */
	dot = strrchr(token, '.');
	assert_int_equal(strlen(dot + 1), 86);
	assert_null(strchr(token, '='));
	/* the header is exactly ours */
	{
		char *h = b64url(header("ES256", ""), strlen(header("ES256", "")));

		assert_int_equal(strchr(token, '.') - token, strlen(h));
		assert_memory_equal(token, h, strlen(h));
		free(h);
	}
	free(token);
}

static void test_bit_flips(void **state)
{
	struct ticket t = sample();
	char *token = NULL;
	size_t n, refused = 0;

	(void)state;
	assert_int_equal(ticket_sign(signer, &t, &token), 0);
	n = strlen(token);
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++) {
			token[i] ^= (char)(1 << b);
			refused += verify(token, NOW, NULL) < 0;
			token[i] ^= (char)(1 << b);
		}
	assert_int_equal(refused, 8 * n);
	assert_int_equal(verify(token, NOW, NULL), 0);
	free(token);
}

static void test_alg(void **state)
{
	char payload[1024], *h, *p, *token = NULL;
	uint8_t mac[32];
	unsigned int mac_len = 0;

	(void)state;
	snprintf(payload, sizeof(payload), claims_json, "");
	assert_int_equal(verify_raw(header("ES256", ""), ""), 0);
	/* alg "none" with an empty signature (RFC 7518 3.6) */
	h = b64url(header("none", ""), strlen(header("none", "")));
	p = b64url(payload, strlen(payload));
	assert_true(asprintf(&token, "%s.%s.", h, p) > 0);
	assert_int_equal(verify(token, NOW, NULL), -TICKET_E_ALG);
	free(token);
	free(h);
	/* HS256 keyed with the public certificate's fingerprint (the classic confusion) */
	h = b64url(header("HS256", ""), strlen(header("HS256", "")));
	assert_true(asprintf(&token, "%s.%s", h, p) > 0);
	HMAC(EVP_sha256(), signer->cert_sha256, 64, (uint8_t *)token, strlen(token), mac, &mac_len);
	free(token);
	token = NULL;
	{
		char *m = b64url(mac, mac_len);

		assert_true(asprintf(&token, "%s.%s.%s", h, p, m) > 0);
		free(m);
	}
	assert_int_equal(verify(token, NOW, NULL), -TICKET_E_ALG);
	assert_int_equal(verify_raw(header("ES384", ""), ""), -TICKET_E_ALG);
	free(token);
	free(h);
	free(p);
}

static void test_foreign_key(void **state)
{
	struct ticket t = sample();
	struct pki_signer forged = *dpf;
	char *token = NULL;
	char why[256];

	(void)state;
	/* signed by the DPF's key: its kid names the DPF certificate */
	assert_int_equal(ticket_sign(dpf, &t, &token), 0);
	assert_int_equal(verify(token, NOW, NULL), -TICKET_E_SIGNATURE);
	assert_int_equal(ticket_verify(dpf->cert, token, NOW, NULL, why, sizeof(why)), 0);
	free(token);
	/* the DPF's key under the ticket certificate's kid */
	memcpy(forged.cert_sha256, signer->cert_sha256, sizeof(forged.cert_sha256));
	assert_int_equal(ticket_sign(&forged, &t, &token), 0);
	assert_int_equal(verify(token, NOW, NULL), -TICKET_E_SIGNATURE);
	free(token);
}

static void test_expiry(void **state)
{
	struct ticket t = sample();
	char *token = NULL;

	(void)state;
	assert_int_equal(ticket_sign(signer, &t, &token), 0);
	assert_int_equal(verify(token, (time_t)t.exp - 1, NULL), 0);
	assert_int_equal(verify(token, (time_t)t.exp, NULL), -TICKET_E_EXPIRED);
	assert_int_equal(verify(token, (time_t)t.exp + 86400, NULL), -TICKET_E_EXPIRED);
	/* issued more than the allowed skew in the future */
	assert_int_equal(verify(token, (time_t)t.iat - 301, NULL), -TICKET_E_CLAIMS);
	free(token);
}

static void test_strict(void **state)
{
	char big[TICKET_MAX_SIZE + 2];
	struct ticket t = sample();
	char *token = NULL, *padded = NULL;

	(void)state;
	/* unknown header member, missing typ */
	assert_int_equal(verify_raw(header("ES256", ",\"x5u\":\"http://127.0.0.1/\""), ""), -TICKET_E_FORMAT);
	assert_int_equal(verify_raw("{\"alg\":\"ES256\"}", ""), -TICKET_E_FORMAT);
	/* extra claim, wrong type, uppercase hex */
	assert_int_equal(verify_raw(header("ES256", ""), ",\"admin\":true"), -TICKET_E_CLAIMS);
	assert_int_equal(verify_raw(header("ES256", ""), ""), 0);
	{
		char payload[1024], *tok;

		snprintf(payload, sizeof(payload), claims_json, "");
		*strstr(payload, "000b01") = 'A';
		tok = sign_raw(signer->key, header("ES256", ""), payload);
		assert_int_equal(verify(tok, NOW, NULL), -TICKET_E_CLAIMS);
		free(tok);
		snprintf(payload, sizeof(payload), claims_json, "");
		memcpy(strstr(payload, "1,\"mode"), "\"1\",\"mode", 9);
		tok = sign_raw(signer->key, header("ES256", ""), payload);
		assert_int_equal(verify(tok, NOW, NULL), -TICKET_E_CLAIMS);
		free(tok);
	}
	/* too long; padding; four parts; empty */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(verify(big, NOW, NULL), -TICKET_E_FORMAT);
	assert_int_equal(ticket_sign(signer, &t, &token), 0);
	assert_true(asprintf(&padded, "%s==", token) > 0);
	assert_int_equal(verify(padded, NOW, NULL), -TICKET_E_FORMAT);
	free(padded);
	assert_true(asprintf(&padded, "%s.", token) > 0);
	assert_int_equal(verify(padded, NOW, NULL), -TICKET_E_FORMAT);
	free(padded);
	assert_int_equal(verify("", NOW, NULL), -TICKET_E_FORMAT);
	assert_int_equal(verify("..", NOW, NULL), -TICKET_E_FORMAT);
	free(token);
}

static void test_sign_refuses_bad_claims(void **state)
{
	struct ticket t;
	char *token = NULL;

	(void)state;
	t = sample();
	t.exp = t.iat;
	assert_int_equal(ticket_sign(signer, &t, &token), -EINVAL);
	t = sample();
	t.sub[0] = 'G';
	assert_int_equal(ticket_sign(signer, &t, &token), -EINVAL);
	t = sample();
	t.mode = 0;
	assert_int_equal(ticket_sign(signer, &t, &token), -EINVAL);
	t = sample();
	t.jti[0] = '.';
	assert_int_equal(ticket_sign(signer, &t, &token), -EINVAL);
	t = sample();
	t.model[0] = '\n';
	assert_int_equal(ticket_sign(signer, &t, &token), -EINVAL);
	t = sample();
	t.pcr_digest.size = 0;
	assert_int_equal(ticket_sign(signer, &t, &token), -EINVAL);
	/* kpd is a SHA-256 digest: 32 bytes exactly */
	t = sample();
	t.kpd.size = 20;
	assert_int_equal(ticket_sign(signer, &t, &token), -EINVAL);
	t.kpd.size = 0;
	assert_int_equal(ticket_sign(signer, &t, &token), -EINVAL);
	assert_null(token);
	assert_int_equal(ticket_new_jti(t.jti), 0);
	assert_int_equal(strlen(t.jti), 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_alg),
		cmocka_unit_test(test_foreign_key),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_sign_refuses_bad_claims),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
