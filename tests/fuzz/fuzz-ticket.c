// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target of the validation ticket parser
 * (tools/mcim-operator/ticket): the first byte picks what the rest is.
 *   0: a token for ticket_verify() as it comes;
 *   1: a JWS payload (claims JSON) signed here with the ticket key under our
 *      header, so that the claim parser past the signature check is reached;
 *   2: a JWS header signed here with a valid payload.
 * A token that verifies must carry claims within the documented limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "tools/mcim-operator/pki.h"
#include "tools/mcim-operator/ticket.h"

#define NOW 1800000000

static struct pki_signer *signer;
static char dir[] = "/tmp/fuzz-ticket.XXXXXX";
static char header[256];
static const char payload[] =
	"{\"iss\":\"pva\",\"jti\":\"j\",\"sub\":\"3f2a000000000000000000000000000000000000000000000000000000000001\","
	"\"ak_name\":\"000b01\",\"srk_name\":\"000b02\",\"pcr_digest\":\"aa\",\"kpd\":\"c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3\",\"model\":\"m\","
	"\"policy_version\":1,\"mode\":\"remote\",\"iat\":1800000000,\"exp\":1800000600}";

static void cleanup(void)
{
	char cmd[64];

	pki_signer_free(signer);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz-ticket: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pki_init_opts o = { .days = 1 };
	char why[256], cert[64], key[64];

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir) || pki_init(dir, &o, why, sizeof(why)) < 0)
		abort();
	snprintf(cert, sizeof(cert), "%s/%s", dir, PKI_TICKET_CERT);
	snprintf(key, sizeof(key), "%s/%s", dir, PKI_TICKET_KEY);
	if (pki_signer_load(cert, key, &signer, why, sizeof(why)) < 0)
		abort();
	snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"typ\":\"%s\",\"kid\":\"%s\"}",
		 TICKET_TYPE, signer->cert_sha256);
	atexit(cleanup);
	return 0;
}

static char *b64url(const uint8_t *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = 0;
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

/* header.payload signed ES256 with the ticket key. */
static char *sign(const uint8_t *h, size_t hn, const uint8_t *p, size_t pn)
{
	char *h64 = b64url(h, hn), *p64 = b64url(p, pn), *input = NULL, *s64, *token = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[128], rs[64];
	size_t der_len = sizeof(der);
	const unsigned char *q = der;
	ECDSA_SIG *sig;

	if (asprintf(&input, "%s.%s", h64, p64) < 0 ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, signer->key) != 1 ||
	    EVP_DigestSign(md, der, &der_len, (uint8_t *)input, strlen(input)) != 1)
		abort();
	sig = d2i_ECDSA_SIG(NULL, &q, (long)der_len);
	BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32);
	s64 = b64url(rs, 64);
	if (asprintf(&token, "%s.%s", input, s64) < 0)
		abort();
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	free(h64);
	free(p64);
	free(s64);
	free(input);
	return token;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ticket t;
	char why[256], *token;

	if (!size || size > 2 * TICKET_MAX_SIZE)
		return 0;
	switch (data[0]) {
	case 0:
		token = strndup((const char *)data + 1, size - 1);
		break;
	case 1:
		token = sign((const uint8_t *)header, strlen(header), data + 1, size - 1);
		break;
	case 2:
		token = sign(data + 1, size - 1, (const uint8_t *)payload, strlen(payload));
		break;
	default:
		return 0;
	}
	if (!token)
		abort();
	if (ticket_verify(signer->cert, token, NOW, &t, why, sizeof(why)) == 0 &&
	    (t.exp <= t.iat || !t.ak_name.size || !ticket_mode_name(t.mode) ||
	     strlen(t.sub) != 64 || !t.jti[0] || !t.model[0]))
		abort();
	free(token);
	ERR_clear_error();
	return 0;
}
