// SPDX-License-Identifier: LGPL-2.1-or-later
/* The PVA's validation ticket, JWS ES256; see ticket.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "hex.h"
#include "opcrypto.h"
#include "ticket.h"

/* An ES256 signature: r || s, 32 bytes each (RFC 7518 3.4). */
#define ES256_SIG_SIZE 64
/* Clock skew accepted for iat in the future. */
#define TICKET_SKEW_S 300
/* Latest time accepted: 9999-12-31T23:59:59Z. */
#define TICKET_TIME_MAX 253402300799LL

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ECDSA_SIG *, ECDSA_SIG_free)

static const char *const claim_names[] = {
	"iss", "jti", "sub", "ak_name", "srk_name", "pcr_digest", "kpd",
	"model", "policy_version", "mode", "iat", "exp",
};

const char *ticket_strerror(int err)
{
	switch (-err) {
	case 0:
		return "success";
	case TICKET_E_FORMAT:
		return "malformed ticket";
	case TICKET_E_ALG:
		return "ticket algorithm is not ES256";
	case TICKET_E_SIGNATURE:
		return "ticket signature does not verify";
	case TICKET_E_EXPIRED:
		return "ticket expired";
	case TICKET_E_CLAIMS:
		return "ticket claims are malformed";
	default:
		return strerror(-err);
	}
}

const char *ticket_mode_name(enum ticket_mode mode)
{
	switch (mode) {
	case TICKET_MODE_REMOTE:
		return "remote";
	case TICKET_MODE_AUTONOMOUS:
		return "autonomous";
	case TICKET_MODE_SEMI_AUTONOMOUS:
		return "semi-autonomous";
	}
	return NULL;
}

int ticket_new_jti(char ret[TICKET_JTI_MAX + 1])
{
	uint8_t b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	hex_encode(b, sizeof(b), ret);
	return 0;
}

/* base64url without padding (RFC 7515 2, RFC 4648 5). */
static char *b64url_encode(const void *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	int n;

	if (!out)
		return NULL;
	n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = 0;
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

/*
 * Decodes base64url without padding; only the canonical encoding is taken
 * (the unused low bits of the last character zero), so that every token has
 * exactly one spelling.
 */
static int b64url_decode(const char *s, size_t n, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ char *padded = NULL;
	_cleanup_free_ char *again = NULL;
	_cleanup_free_ uint8_t *out = NULL;
	size_t plen = (n + 3) / 4 * 4, len = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);

	if (n % 4 == 1)
		return -EINVAL;
	padded = malloc(plen + 1);
	out = malloc(plen / 4 * 3 + 1);
	if (!padded || !out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return -EINVAL;
		padded[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	memset(padded + n, '=', plen - n);
	if (plen && EVP_DecodeBlock(out, (unsigned char *)padded, (int)plen) < 0)
		return -EINVAL;
	again = b64url_encode(out, len);
	if (!again)
		return -ENOMEM;
	if (strlen(again) != n || memcmp(again, s, n))
		return -EINVAL;
	*ret_len = len;
	*ret = TAKE_PTR(out);
	return 0;
}

/* One JSON object spanning all of data: no NUL, nothing after it, depth <= 2. */
static json_object *parse_object(const uint8_t *data, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if (!len || memchr(data, 0, len))
		return NULL;
	tok = json_tokener_new_ex(2);
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, (const char *)data, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
		  json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* Every member of o is one of names (n of them), and all are there. */
static bool exact_members(json_object *o, const char *const *names, size_t n)
{
	if ((size_t)json_object_object_length(o) != n)
		return false;
	json_object_object_foreach(o, key, val) {
		size_t i;

		(void)val;
		for (i = 0; i < n && strcmp(key, names[i]); i++)
			;
		if (i == n)
			return false;
	}
	return true;
}

static bool lower_hex(const char *s, size_t min_bytes, size_t max_bytes)
{
	size_t n = strlen(s);

	if (n % 2 || n < 2 * min_bytes || n > 2 * max_bytes)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static bool jti_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > TICKET_JTI_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

static bool model_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > TICKET_MODEL_MAX)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* The claim rules, shared by ticket_sign() and ticket_verify(). */
static int claims_check(const struct ticket *t, char *why, size_t why_size)
{
	const char *bad = NULL;

	if (!jti_ok(t->jti))
		bad = "jti";
	else if (!lower_hex(t->sub, 32, 32))
		bad = "sub";
	else if (!t->ak_name.size || t->ak_name.size > sizeof(t->ak_name.name))
		bad = "ak_name";
	else if (!t->srk_name.size || t->srk_name.size > sizeof(t->srk_name.name))
		bad = "srk_name";
	else if (!t->pcr_digest.size || t->pcr_digest.size > sizeof(t->pcr_digest.buffer))
		bad = "pcr_digest";
	else if (t->kpd.size != 32)
		bad = "kpd";
	else if (!model_ok(t->model))
		bad = "model";
	else if (!ticket_mode_name(t->mode))
		bad = "mode";
	else if (t->iat <= 0 || t->iat > TICKET_TIME_MAX)
		bad = "iat";
	else if (t->exp <= t->iat || t->exp > TICKET_TIME_MAX)
		bad = "exp";
	if (bad)
		return why_fail(why, why_size, -TICKET_E_CLAIMS, "claim \"%s\" is out of range", bad);
	return 0;
}

static int add_hex(json_object *o, const char *key, const uint8_t *b, size_t n)
{
	char hex[2 * sizeof(TPMU_NAME) + 1];

	hex_encode(b, n, hex);
	return json_object_object_add(o, key, json_object_new_string(hex));
}

static json_object *claims_json(const struct ticket *t)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();

	if (!o || json_object_object_add(o, "iss", json_object_new_string(TICKET_ISSUER)) ||
	    json_object_object_add(o, "jti", json_object_new_string(t->jti)) ||
	    json_object_object_add(o, "sub", json_object_new_string(t->sub)) ||
	    add_hex(o, "ak_name", t->ak_name.name, t->ak_name.size) ||
	    add_hex(o, "srk_name", t->srk_name.name, t->srk_name.size) ||
	    add_hex(o, "pcr_digest", t->pcr_digest.buffer, t->pcr_digest.size) ||
	    add_hex(o, "kpd", t->kpd.buffer, t->kpd.size) ||
	    json_object_object_add(o, "model", json_object_new_string(t->model)) ||
	    json_object_object_add(o, "policy_version", json_object_new_int64(t->policy_version)) ||
	    json_object_object_add(o, "mode", json_object_new_string(ticket_mode_name(t->mode))) ||
	    json_object_object_add(o, "iat", json_object_new_int64(t->iat)) ||
	    json_object_object_add(o, "exp", json_object_new_int64(t->exp)))
		return NULL;
	return TAKE_PTR(o);
}

static bool key_is_p256(EVP_PKEY *key)
{
	char group[32];

	return key && EVP_PKEY_is_a(key, "EC") &&
	       EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
					      sizeof(group), NULL) &&
	       !strcmp(group, "prime256v1");
}

static const char *json_text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
}

int ticket_sign(const struct pki_signer *s, const struct ticket *t, char **ret_token)
{
	_cleanup_(json_object_putp) json_object *header = NULL;
	_cleanup_(json_object_putp) json_object *claims = NULL;
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = NULL;
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = NULL;
	_cleanup_free_ char *h64 = NULL, *p64 = NULL, *s64 = NULL, *input = NULL;
	_cleanup_free_ unsigned char *der = NULL;
	uint8_t rs[ES256_SIG_SIZE];
	const unsigned char *p;
	size_t der_len = 0;
	int r;

	if (!s || !t || !ret_token)
		return -EINVAL;
	if (!key_is_p256(s->key))
		return -ENOTSUP;
	r = claims_check(t, NULL, 0);
	if (r < 0)
		return -EINVAL;
	header = json_object_new_object();
	if (!header || json_object_object_add(header, "alg", json_object_new_string("ES256")) ||
	    json_object_object_add(header, "typ", json_object_new_string(TICKET_TYPE)) ||
	    json_object_object_add(header, "kid", json_object_new_string(s->cert_sha256)))
		return -ENOMEM;
	claims = claims_json(t);
	if (!claims)
		return -ENOMEM;
	h64 = b64url_encode(json_text(header), strlen(json_text(header)));
	p64 = b64url_encode(json_text(claims), strlen(json_text(claims)));
	if (!h64 || !p64 || asprintf(&input, "%s.%s", h64, p64) < 0)
		return -ENOMEM;
	/* RFC 7515 5.1: the JWS Signing Input is ASCII(b64(header) || '.' || b64(payload)). */
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, s->key) != 1 ||
	    EVP_DigestSign(md, NULL, &der_len, (const uint8_t *)input, strlen(input)) != 1)
		goto err;
	der = malloc(der_len);
	if (!der || EVP_DigestSign(md, der, &der_len, (const uint8_t *)input, strlen(input)) != 1)
		goto err;
	/* RFC 7518 3.4: the signature is r || s, each 32 bytes big-endian. */
	p = der;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (!sig || BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) != 32)
		goto err;
	s64 = b64url_encode(rs, sizeof(rs));
	if (!s64 || asprintf(ret_token, "%s.%s", input, s64) < 0)
		return -ENOMEM;
	return 0;
err:
	ERR_clear_error();
	return -EIO;
}

/* ES256 over input with cert's key; sig is r || s. */
static int es256_verify(EVP_PKEY *key, const char *input, size_t len, const uint8_t *rs)
{
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = ECDSA_SIG_new();
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
	_cleanup_free_ unsigned char *der = NULL;
	BIGNUM *r, *s;
	int der_len, ok;

	if (!sig || !md)
		return -ENOMEM;
	r = BN_bin2bn(rs, 32, NULL);
	s = BN_bin2bn(rs + 32, 32, NULL);
	if (!r || !s || !ECDSA_SIG_set0(sig, r, s)) {
		BN_free(r);
		BN_free(s);
		return -ENOMEM;
	}
	der_len = i2d_ECDSA_SIG(sig, &der);
	if (der_len <= 0)
		return -ENOMEM;
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestVerify(md, der, (size_t)der_len, (const uint8_t *)input, len) == 1;
	ERR_clear_error();
	return ok ? 0 : -TICKET_E_SIGNATURE;
}

static const char *get_string(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool get_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret)
{
	json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < min || x > max)
		return false;
	*ret = x;
	return true;
}

static bool get_hex(json_object *o, const char *key, uint8_t *out, size_t max, uint16_t *ret_size)
{
	const char *s = get_string(o, key);
	int n;

	if (!s || !lower_hex(s, 1, max))
		return false;
	n = hex_decode(s, out, max);
	if (n <= 0)
		return false;
	*ret_size = (uint16_t)n;
	return true;
}

/* Copies the string member key into out (size bytes with the NUL). */
static bool copy_string(json_object *o, const char *key, char *out, size_t size)
{
	const char *s = get_string(o, key);

	if (!s || strlen(s) >= size)
		return false;
	memcpy(out, s, strlen(s) + 1);
	return true;
}

static int bad_claim(char *why, size_t why_size, const char *name)
{
	return why_fail(why, why_size, -TICKET_E_CLAIMS, "claim \"%s\" is missing or malformed", name);
}

static int parse_claims(const uint8_t *data, size_t len, struct ticket *t, char *why,
			size_t why_size)
{
	_cleanup_(json_object_putp) json_object *o = parse_object(data, len);
	const char *s;
	int64_t v;

	memset(t, 0, sizeof(*t));
	if (!o)
		return why_fail(why, why_size, -TICKET_E_CLAIMS, "payload is not one JSON object");
	if (!exact_members(o, claim_names, ARRAY_SIZE(claim_names)))
		return why_fail(why, why_size, -TICKET_E_CLAIMS,
				    "payload members are not exactly the ticket claims");
	s = get_string(o, "iss");
	if (!s || strcmp(s, TICKET_ISSUER))
		return bad_claim(why, why_size, "iss");
	if (!copy_string(o, "jti", t->jti, sizeof(t->jti)))
		return bad_claim(why, why_size, "jti");
	if (!copy_string(o, "sub", t->sub, sizeof(t->sub)))
		return bad_claim(why, why_size, "sub");
	if (!get_hex(o, "ak_name", t->ak_name.name, sizeof(t->ak_name.name), &t->ak_name.size))
		return bad_claim(why, why_size, "ak_name");
	if (!get_hex(o, "srk_name", t->srk_name.name, sizeof(t->srk_name.name), &t->srk_name.size))
		return bad_claim(why, why_size, "srk_name");
	if (!get_hex(o, "pcr_digest", t->pcr_digest.buffer, sizeof(t->pcr_digest.buffer),
		     &t->pcr_digest.size))
		return bad_claim(why, why_size, "pcr_digest");
	if (!get_hex(o, "kpd", t->kpd.buffer, sizeof(t->kpd.buffer), &t->kpd.size))
		return bad_claim(why, why_size, "kpd");
	if (!copy_string(o, "model", t->model, sizeof(t->model)))
		return bad_claim(why, why_size, "model");
	if (!get_int(o, "policy_version", 0, UINT32_MAX, &v))
		return bad_claim(why, why_size, "policy_version");
	t->policy_version = (uint32_t)v;
	s = get_string(o, "mode");
	for (enum ticket_mode m = TICKET_MODE_REMOTE; s && m <= TICKET_MODE_SEMI_AUTONOMOUS; m++)
		if (!strcmp(s, ticket_mode_name(m)))
			t->mode = m;
	if (!t->mode)
		return bad_claim(why, why_size, "mode");
	if (!get_int(o, "iat", 1, TICKET_TIME_MAX, &t->iat))
		return bad_claim(why, why_size, "iat");
	if (!get_int(o, "exp", 1, TICKET_TIME_MAX, &t->exp))
		return bad_claim(why, why_size, "exp");
	return claims_check(t, why, why_size);
}

int ticket_verify(X509 *signer_cert, const char *token, time_t now,
		  struct ticket *ret, char *why, size_t why_size)
{
	static const char *const header_names[] = { "alg", "typ", "kid" };
	_cleanup_(json_object_putp) json_object *header = NULL;
	_cleanup_free_ uint8_t *hdr = NULL, *payload = NULL, *sig = NULL;
	size_t len, hdr_len = 0, payload_len = 0, sig_len = 0;
	const char *dot1, *dot2, *alg, *s;
	char kid[65];
	struct ticket t;
	int r;

	if (!signer_cert || !token)
		return -EINVAL;
	if (!key_is_p256(X509_get0_pubkey(signer_cert)))
		return why_fail(why, why_size, -ENOTSUP,
				    "the ticket certificate's key is not EC NIST P-256");
	len = strnlen(token, TICKET_MAX_SIZE + 1);
	if (len > TICKET_MAX_SIZE)
		return why_fail(why, why_size, -TICKET_E_FORMAT,
				    "longer than %d bytes", TICKET_MAX_SIZE);
	/* RFC 7515 7.1: header '.' payload '.' signature. */
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
		return why_fail(why, why_size, -TICKET_E_FORMAT,
				    "not three base64url parts separated by '.'");
	if (b64url_decode(token, (size_t)(dot1 - token), &hdr, &hdr_len) < 0 ||
	    b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload, &payload_len) < 0 ||
	    b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig, &sig_len) < 0)
		return why_fail(why, why_size, -TICKET_E_FORMAT,
				    "a part is not canonical base64url without padding");
	header = parse_object(hdr, hdr_len);
	if (!header)
		return why_fail(why, why_size, -TICKET_E_FORMAT, "header is not one JSON object");
	/* RFC 7515 4.1.1 / RFC 7518 3.1: only ES256; "none" and HMAC are refused. */
	alg = get_string(header, "alg");
	if (!alg)
		return why_fail(why, why_size, -TICKET_E_FORMAT, "header has no \"alg\"");
	if (strcmp(alg, "ES256"))
		return why_fail(why, why_size, -TICKET_E_ALG, "alg \"%.16s\" is not ES256", alg);
	if (!exact_members(header, header_names, ARRAY_SIZE(header_names)))
		return why_fail(why, why_size, -TICKET_E_FORMAT,
				    "header members are not exactly alg, typ, kid");
	s = get_string(header, "typ");
	if (!s || strcmp(s, TICKET_TYPE))
		return why_fail(why, why_size, -TICKET_E_FORMAT, "typ is not \"%s\"", TICKET_TYPE);
	r = opcrypto_cert_sha256_hex(signer_cert, kid);
	if (r < 0)
		return r;
	s = get_string(header, "kid");
	if (!s || strcmp(s, kid))
		return why_fail(why, why_size, -TICKET_E_SIGNATURE,
				    "kid does not name the ticket certificate");
	if (sig_len != ES256_SIG_SIZE)
		return why_fail(why, why_size, -TICKET_E_SIGNATURE,
				    "signature of %zu bytes, not %d", sig_len, ES256_SIG_SIZE);
	r = es256_verify(X509_get0_pubkey(signer_cert), token, (size_t)(dot2 - token), sig);
	if (r < 0)
		return why_fail(why, why_size, r, "ES256 signature does not verify");
	r = parse_claims(payload, payload_len, &t, why, why_size);
	if (r < 0)
		return r;
	if ((int64_t)now >= t.exp)
		return why_fail(why, why_size, -TICKET_E_EXPIRED, "expired at %lld (now %lld)",
				    (long long)t.exp, (long long)now);
	if (t.iat > (int64_t)now + TICKET_SKEW_S)
		return why_fail(why, why_size, -TICKET_E_CLAIMS, "issued in the future (iat %lld)",
				    (long long)t.iat);
	if (ret)
		*ret = t;
	return 0;
}
