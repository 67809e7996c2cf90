// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pkg-forge: builds an MCIM package (docs/package-format.md) with lib/package
 * as the operator's DPF would, for the tests of mcimd's verifier before the
 * operator's DPF exists, and the broken variants the tests need.
 *
 *   pkg-forge --request REQ.json --profile PROFILE.json --device HEX
 *             --ek-name HEX --key DPF.key --cert DPF.pem --policy-key POL.key
 *             --pcr-values FILE [--pcrs MASK] [--sequence N] [--expires S]
 *             [--issued S] [--class operational|provisioning] [--nonce HEX]
 *             [--srk-public FILE] [--variant NAME] --out PKG.der
 *
 * REQ.json: the device's download request (mcimctl provision --request): its
 * nonce, SRK and K form.  PROFILE.json: a profile description with its
 * secrets (the test profiles): K, OPc and the PIN values become duplication
 * blobs wrapped to the SRK, the rest travels without secrets.  --pcr-values:
 * the selected sha256 PCR values concatenated (tpm2_pcrread -o); their
 * SHA-256 is the approved pcr_digest.  --expires/--issued: seconds from now
 * (may be negative).  --variant: sig (a bit of the signature flipped), content
 * (a bit of the signed content flipped), blob-k, blob-opc, blob-pin (a bit of
 * that duplicate flipped before signing), attrs (K's object with userWithAuth
 * set, before signing), policy-sig (the approval's signature flipped).
 *
 * Content version 2 (docs/change-format.md 3), with any of:
 *             --subscriber NAME --subscriber-cert PEM [--lock S]
 *             [--replaces ICCID --consent DER [--release DER]]
 * --lock: the contract lock's end, seconds from now (0, the default: none).
 *
 * Consents and releases (change-format.md 2), signed by --key/--cert:
 *   pkg-forge --token consent|release --key KEY --cert PEM --device HEX
 *             --iccid ICCID --to-sho-root PEM [--id HEX] [--issued S]
 *             [--expires S] --out FILE.der
 * --to-sho-root: the root certificate whose sho_id the token names; --id:
 * 32 hex digits (random by default); --issued/--expires: seconds from now
 * (defaults 0 and 3600).  Prints the token's id.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <tss2/tss2_mu.h>

#include "daemon/store/store.h"
#include "daemon/usim/profile-json.h"
#include "fileio.h"
#include "hex.h"
#include "macro.h"
#include "package.h"
#include "tpm2-crypto.h"

_printf_(1, 2) __attribute__((noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pkg-forge: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static char *slurp(const char *path, size_t max, size_t *len)
{
	char *buf = NULL;

	if (read_file_max(path, max, &buf, len) < 0)
		die("cannot read %s", path);
	return buf;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	if (!k)
		die("cannot read the key %s", path);
	return k;
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "re");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	if (!x)
		die("cannot read the certificate %s", path);
	return x;
}

static void hex_in(const char *s, uint8_t *out, size_t len, const char *what)
{
	if (strlen(s) != 2 * len || hex_decode(s, out, len) < 0)
		die("bad hex for %s", what);
}

/* The profile without its secrets (docs/package-format.md 2). */
static char *strip(const char *text, size_t len, size_t *ret_len)
{
	static const char *const auth_keys[] = { "k", "op", "opc", "top", "topc" };
	static const char *const pin_keys[] = { "value", "value_hex", "puk" };
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = json_tokener_parse_ex(tok, text, (int)len), *a, *pins;
	char *s;

	json_tokener_free(tok);
	if (!o)
		die("%s", "the profile is not JSON");
	if (json_object_object_get_ex(o, "auth", &a))
		for (size_t i = 0; i < ARRAY_SIZE(auth_keys); i++)
			json_object_object_del(a, auth_keys[i]);
	if (json_object_object_get_ex(o, "pins", &pins))
		for (size_t i = 0; i < json_object_array_length(pins); i++)
			for (size_t j = 0; j < ARRAY_SIZE(pin_keys); j++)
				json_object_object_del(json_object_array_get_idx(pins, i),
						       pin_keys[j]);
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	*ret_len = strlen(s);
	return s;
}

static void flip(uint8_t *p, size_t len)
{
	p[len / 2] ^= 0x10;
}

static void write_out(const char *out, const uint8_t *der, size_t len)
{
	FILE *f = fopen(out, "we");

	if (!f || fwrite(der, 1, len, f) != len || fclose(f))
		die("cannot write %s", out);
}

/* A certificate's DER, malloc'ed. */
static uint8_t *cert_der(const char *path, size_t *ret_len)
{
	X509 *x = read_cert(path);
	uint8_t *der = NULL;
	int n = i2d_X509(x, &der);

	X509_free(x);
	if (n <= 0)
		die("cannot encode %s", path);
	*ret_len = (size_t)n;
	return der;
}

static uint8_t *slurp_der(const char *path, size_t *ret_len)
{
	return (uint8_t *)slurp(path, PACKAGE_TOKEN_MAX, ret_len);
}

/* --token: a consent or a release, signed by key/cert. */
static int forge_token(const char *type, const char *key_path, const char *cert_path,
		       const char *device, const char *iccid, const char *root_path,
		       const char *id, long long issued, long long expires, const char *out)
{
	struct package_token t = { .type = strcmp(type, "release") ? PACKAGE_TYPE_CONSENT
								  : PACKAGE_TYPE_RELEASE };
	uint8_t rnd[16], *der = NULL;
	char *json = NULL;
	size_t jlen = 0, dlen = 0;
	EVP_PKEY *key;
	X509 *cert, *root;

	if (strcmp(type, "release") && strcmp(type, "consent"))
		die("--token %s: consent or release", type);
	if (!key_path || !cert_path || !device || !iccid || !root_path || !out)
		die("%s", "--token needs --key --cert --device --iccid --to-sho-root --out");
	if (id) {
		snprintf(t.id, sizeof(t.id), "%s", id);
	} else {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			die("%s", "no random id");
		hex_encode(rnd, sizeof(rnd), t.id);
	}
	snprintf(t.device, sizeof(t.device), "%s", device);
	snprintf(t.iccid, sizeof(t.iccid), "%s", iccid);
	root = read_cert(root_path);
	if (package_key_id(root, t.to_sho) < 0)
		die("%s", "the root's sho_id");
	X509_free(root);
	t.issued = time(NULL) + issued;
	t.expires = time(NULL) + expires;
	key = read_key(key_path);
	cert = read_cert(cert_path);
	if (package_token_build(&t, &json, &jlen) < 0)
		die("%s", "building the token");
	if (package_sign_type(t.type, (uint8_t *)json, jlen, key, cert, NULL, &der, &dlen) < 0)
		die("%s", "signing the token");
	write_out(out, der, dlen);
	printf("%s\n", t.id);
	free(json);
	free(der);
	EVP_PKEY_free(key);
	X509_free(cert);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "request", required_argument, NULL, 'r' },
		{ "profile", required_argument, NULL, 'p' },
		{ "device", required_argument, NULL, 'd' },
		{ "ek-name", required_argument, NULL, 'e' },
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ "policy-key", required_argument, NULL, 'P' },
		{ "pcr-values", required_argument, NULL, 'V' },
		{ "pcrs", required_argument, NULL, 'm' },
		{ "sequence", required_argument, NULL, 's' },
		{ "expires", required_argument, NULL, 'x' },
		{ "issued", required_argument, NULL, 'i' },
		{ "class", required_argument, NULL, 'C' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "srk-public", required_argument, NULL, 'S' },
		{ "variant", required_argument, NULL, 'v' },
		{ "out", required_argument, NULL, 'o' },
		{ "subscriber", required_argument, NULL, 'u' },
		{ "subscriber-cert", required_argument, NULL, 'U' },
		{ "lock", required_argument, NULL, 'l' },
		{ "replaces", required_argument, NULL, 'R' },
		{ "consent", required_argument, NULL, 'N' },
		{ "release", required_argument, NULL, 'L' },
		{ "token", required_argument, NULL, 't' },
		{ "iccid", required_argument, NULL, 'I' },
		{ "to-sho-root", required_argument, NULL, 'T' },
		{ "id", required_argument, NULL, 'D' },
		{ 0 },
	};
	const char *subscriber = NULL, *sub_cert = NULL, *replaces = NULL, *consent = NULL,
		   *release = NULL, *token = NULL, *tok_iccid = NULL, *to_root = NULL,
		   *tok_id = NULL;
	long long lock = 0;
	bool expires_set = false;
	const char *req_path = NULL, *profile_path = NULL, *device = NULL, *ek = NULL,
		   *key_path = NULL, *cert_path = NULL, *pol_path = NULL, *pcr_path = NULL,
		   *nonce = NULL, *srk_path = NULL, *variant = "", *out = NULL;
	long long sequence = 1, expires = 600, issued = 0;
	uint32_t mask = (1u << 0) | (1u << 2) | (1u << 4) | (1u << 7) | (1u << 23);
	enum package_class cls = PACKAGE_CLASS_OPERATIONAL;
	struct package_request req;
	struct package_content c;
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	TPM2B_DIGEST auth;
	struct package_seed seed;
	TPM2B_PUBLIC srk;
	char why[256] = "", iccid[21], imsi[16], *text, *json = NULL;
	uint8_t *der = NULL;
	size_t len = 0, jlen = 0, dlen = 0;
	EVP_PKEY *dpf_key, *pol_key;
	X509 *cert;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'r': req_path = optarg; break;
		case 'p': profile_path = optarg; break;
		case 'd': device = optarg; break;
		case 'e': ek = optarg; break;
		case 'k': key_path = optarg; break;
		case 'c': cert_path = optarg; break;
		case 'P': pol_path = optarg; break;
		case 'V': pcr_path = optarg; break;
		case 'm': mask = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': sequence = strtoll(optarg, NULL, 10); break;
		case 'x': expires = strtoll(optarg, NULL, 10); expires_set = true; break;
		case 'i': issued = strtoll(optarg, NULL, 10); break;
		case 'C': cls = strcmp(optarg, "provisioning") ? PACKAGE_CLASS_OPERATIONAL
							       : PACKAGE_CLASS_PROVISIONING; break;
		case 'n': nonce = optarg; break;
		case 'S': srk_path = optarg; break;
		case 'v': variant = optarg; break;
		case 'o': out = optarg; break;
		case 'u': subscriber = optarg; break;
		case 'U': sub_cert = optarg; break;
		case 'l': lock = strtoll(optarg, NULL, 10); break;
		case 'R': replaces = optarg; break;
		case 'N': consent = optarg; break;
		case 'L': release = optarg; break;
		case 't': token = optarg; break;
		case 'I': tok_iccid = optarg; break;
		case 'T': to_root = optarg; break;
		case 'D': tok_id = optarg; break;
		default: die("%s", "bad option (see the source's head comment)");
		}
	}
	if (token)
		return forge_token(token, key_path, cert_path, device, tok_iccid, to_root, tok_id,
				   issued, expires_set ? expires : 3600, out);
	if (!req_path || !profile_path || !device || !ek || !key_path || !cert_path ||
	    !pol_path || !pcr_path || !out)
		die("%s", "missing options (see the source's head comment)");

	text = slurp(req_path, PACKAGE_MESSAGE_MAX, &len);
	if (package_request_parse(text, len, &req, why, sizeof(why)) < 0)
		die("the request: %s", why);
	free(text);
	srk = req.srk;
	if (srk_path) {
		size_t off = 0;

		text = slurp(srk_path, sizeof(TPM2B_PUBLIC) + 16, &len);
		memset(&srk, 0, sizeof(srk));
		if (Tss2_MU_TPM2B_PUBLIC_Unmarshal((uint8_t *)text, len, &off, &srk))
			die("bad TPM2B_PUBLIC in %s", srk_path);
		free(text);
	}

	memset(&c, 0, sizeof(c));
	if (strlen(device) != 64)
		die("--device %s is not 64 hex digits", device);
	memcpy(c.device, device, 64);
	c.ek_name.size = (UINT16)(strlen(ek) / 2);
	hex_in(ek, c.ek_name.name, c.ek_name.size, "--ek-name");
	if (tpm2_public_name(&srk.publicArea, &c.srk_name) < 0)
		die("%s", "the SRK's name");
	memcpy(c.nonce, req.nonce, sizeof(c.nonce));
	if (nonce)
		hex_in(nonce, c.nonce, sizeof(c.nonce), "--nonce");
	c.sequence = sequence;
	c.issued = time(NULL) + issued;
	c.expires = time(NULL) + expires;
	c.cls = cls;
	snprintf(c.sho, sizeof(c.sho), "sho-test");
	snprintf(c.operator_name, sizeof(c.operator_name), "Test Operator");
	if (subscriber) {
		if (!sub_cert)
			die("%s", "--subscriber needs --subscriber-cert");
		c.version = 2;
		snprintf(c.subscriber, sizeof(c.subscriber), "%s", subscriber);
		c.subscriber_cert = cert_der(sub_cert, &c.subscriber_cert_len);
		c.lock_until = lock ? time(NULL) + lock : 0;
		if (replaces) {
			if (!consent)
				die("%s", "--replaces needs --consent");
			c.replaces = true;
			snprintf(c.replaces_iccid, sizeof(c.replaces_iccid), "%s", replaces);
			c.consent = slurp_der(consent, &c.consent_len);
			if (release)
				c.release = slurp_der(release, &c.release_len);
		}
	}

	/* The profile: identity, secrets, and its text without them. */
	text = slurp(profile_path, PROFILE_JSON_MAX_TEXT, &len);
	if (profile_json_load_buf(text, len, &p, &k, why, sizeof(why)) < 0)
		die("the profile: %s", why);
	if (store_profile_identity(p, iccid, imsi) < 0)
		die("%s", "the profile has no ICCID/IMSI");
	snprintf(c.iccid, sizeof(c.iccid), "%s", iccid);
	snprintf(c.imsi, sizeof(c.imsi), "%s", imsi);
	c.profile = strip(text, len, &c.profile_len);
	free(text);

	/* The approval: PolicyPCR over the device's PCR values now. */
	pol_key = read_key(pol_path);
	if (package_policy_ref(c.device, &c.policy.ref) < 0)
		die("%s", "policy ref");
	c.policy.pcr_mask = mask;
	text = slurp(pcr_path, 64 * 32, &len);
	c.policy.pcr_digest.size = 32;
	SHA256((uint8_t *)text, len, c.policy.pcr_digest.buffer);
	free(text);
	if (package_policy_sign(&c.policy, pol_key) < 0 ||
	    package_policy_digests(&c.policy, NULL, &auth) < 0)
		die("%s", "signing the policy");
	if (!strcmp(variant, "policy-sig"))
		c.policy.signature.signature.ecdsa.signatureR.buffer[3] ^= 1;

	/* The objects, wrapped to the SRK with one seed (as the DPF does). */
	if (package_seed_new(&srk.publicArea, &seed) < 0)
		die("%s", "the seed");
	if (package_secret_make(req.key_form, k.k, k.len, &auth, &seed, &c.k) < 0)
		die("%s", "K's object");
	if (package_secret_make(PACKAGE_FORM_SEALED,
				p->aka.algo == AKA_ALGO_MILENAGE ? p->aka.milenage.opc
								 : p->aka.tuak.topc,
				p->aka.algo == AKA_ALGO_MILENAGE ? 16 : 32, &auth, &seed,
				&c.opc) < 0)
		die("%s", "OPc's object");
	for (size_t i = 0; i < p->n_pins && i < PACKAGE_PINS_MAX; i++) {
		uint8_t sec[16];

		memcpy(sec, p->pins[i].value, 8);
		memcpy(sec + 8, p->pins[i].puk, 8);
		if (!p->pins[i].has_puk)
			memset(sec + 8, 0xff, 8);
		c.pins[i].ref = p->pins[i].key_ref;
		if (package_secret_make(PACKAGE_FORM_SEALED, sec, 16, &auth, &seed,
					&c.pins[i].s) < 0)
			die("%s", "a PIN's object");
		c.n_pins++;
	}
	if (!strcmp(variant, "blob-k"))
		flip(c.k.duplicate.buffer, c.k.duplicate.size);
	if (!strcmp(variant, "blob-opc"))
		flip(c.opc.duplicate.buffer, c.opc.duplicate.size);
	if (!strcmp(variant, "blob-pin"))
		flip(c.pins[c.n_pins - 1].s.duplicate.buffer, c.pins[c.n_pins - 1].s.duplicate.size);
	if (!strcmp(variant, "attrs"))
		c.k.pub.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;

	dpf_key = read_key(key_path);
	cert = read_cert(cert_path);
	if (package_content_build(&c, &json, &jlen) < 0)
		die("%s", "building the content");
	if (package_sign((uint8_t *)json, jlen, dpf_key, cert, NULL, &der, &dlen) < 0)
		die("%s", "signing");
	if (!strcmp(variant, "sig"))
		der[dlen - 5] ^= 0x01;
	if (!strcmp(variant, "content")) {
		char *at = memmem(der, dlen, "\"sequence\"", 10);

		if (!at)
			die("%s", "no content to flip");
		at[12] ^= 0x01;
	}
	write_out(out, der, dlen);
	printf("%zu\n", dlen);
	wipe(&k, sizeof(k));
	usim_profile_free(p);
	package_content_free(&c);
	package_request_free(&req);
	free(json);
	free(der);
	EVP_PKEY_free(dpf_key);
	EVP_PKEY_free(pol_key);
	X509_free(cert);
	return 0;
}
