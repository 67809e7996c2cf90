// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * EK certificate verification against the trusted TPM manufacturers; see
 * ekcert.h.  Profile clauses cited are of the TCG EK Credential Profile for
 * TPM Family 2.0 (version 2.x); templates of its Annex B.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include "ekcert.h"
#include "fileio.h"
#include "hex.h"
#include "opcrypto.h"
#include "tpm2-cred.h"
#include "tpm2-crypto.h"

#define STORE_MAX_FILES 1024
#define STORE_MAX_FILE_SIZE (1024 * 1024)

/* TCG OIDs (TCG EK Credential Profile 2.x, section 4 / Annex A). */
#define OID_TPM_MANUFACTURER "2.23.133.2.1"
#define OID_TPM_MODEL "2.23.133.2.2"
#define OID_TPM_VERSION "2.23.133.2.3"
#define OID_KP_EK_CERTIFICATE "2.23.133.8.1"

/* What a device's registration records of the CA that issued its EK
 * certificate, computed once per trusted certificate at load. */
struct ca_id {
	const X509 *x;
	char sha256[65];
	char subject[256];
};

struct ekcert_store {
	X509_STORE *store;
	size_t count;
	struct ca_id *ids;
	size_t nids;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAMES *, GENERAL_NAMES_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EXTENDED_KEY_USAGE *, EXTENDED_KEY_USAGE_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ekcert_store *, ekcert_store_free)

const char *ekcert_strerror(int err)
{
	switch (-err) {
	case 0:
		return "success";
	case EKCERT_E_PARSE:
		return "not an X.509 certificate";
	case EKCERT_E_UNTRUSTED:
		return "not issued by a trusted TPM manufacturer";
	case EKCERT_E_EXPIRED:
		return "certificate expired";
	case EKCERT_E_NOT_YET_VALID:
		return "certificate not yet valid";
	case EKCERT_E_KEY_USAGE:
		return "key usage is not an EK's";
	case EKCERT_E_CA:
		return "EK certificate is a CA certificate";
	case EKCERT_E_PROFILE:
		return "not a TCG EK certificate";
	case EKCERT_E_KEY:
		return "unsupported EK key";
	case EKCERT_E_REJECTED:
		return "certificate chain refused";
	default:
		return strerror(-err);
	}
}

const char *ekcert_type_name(enum ekcert_type type)
{
	switch (type) {
	case EKCERT_TYPE_RSA:
		return "rsa";
	case EKCERT_TYPE_ECC:
		return "ecc";
	}
	return NULL;
}

void ekcert_store_free(struct ekcert_store *s)
{
	if (!s)
		return;
	X509_STORE_free(s->store);
	free(s->ids);
	free(s);
}

size_t ekcert_store_count(const struct ekcert_store *s)
{
	return s ? s->count : 0;
}

static bool cert_file_name(const char *name)
{
	static const char *const suffixes[] = { ".pem", ".crt", ".cer", ".der" };
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t k = strlen(suffixes[i]);

		if (n > k && !strcasecmp(name + n - k, suffixes[i]))
			return true;
	}
	return false;
}

static int store_add(struct ekcert_store *s, X509 *x, const char *path,
		     char *why, size_t why_size)
{
	if (X509_check_ca(x) <= 0)
		return why_fail(why, why_size, -EINVAL,
				    "%s: not a CA certificate (basicConstraints cA is not TRUE)", path);
	if (!X509_STORE_add_cert(s->store, x))
		return why_fail(why, why_size, -ENOMEM, "%s: cannot add to the store", path);
	s->count++;
	return 0;
}

/* One file: DER (one certificate) or PEM (one or more CERTIFICATE blocks). */
static int store_load_file(struct ekcert_store *s, const char *path, char *why,
			   size_t why_size)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_file_max(path, STORE_MAX_FILE_SIZE, &buf, &len);
	if (r < 0)
		return why_fail(why, why_size, r, "%s: %s", path,
				    r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
	if (memmem(buf, len, "-----BEGIN", 10)) {
		_cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(buf, (int)len);
		size_t n = 0;

		if (!bio)
			return -ENOMEM;
		for (;;) {
			_cleanup_(X509_freep) X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
			unsigned long e;

			if (!x) {
				e = ERR_peek_last_error();
				ERR_clear_error();
				if (n && ERR_GET_LIB(e) == ERR_LIB_PEM &&
				    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
					return 0;
				return why_fail(why, why_size, -EINVAL,
						    "%s: certificate %zu does not parse", path, n + 1);
			}
			r = store_add(s, x, path, why, why_size);
			if (r < 0)
				return r;
			n++;
		}
	}
	const unsigned char *p = (const unsigned char *)buf;
	_cleanup_(X509_freep) X509 *x = d2i_X509(NULL, &p, (long)len);

	ERR_clear_error();
	if (!x || p != (const unsigned char *)buf + len)
		return why_fail(why, why_size, -EINVAL,
				    "%s: not a DER or PEM certificate", path);
	return store_add(s, x, path, why, why_size);
}

static int ca_subject(X509 *x, char *out, size_t size)
{
	_cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
	int n;

	if (!bio || X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) < 0)
		return -ENOMEM;
	n = BIO_read(bio, out, (int)size - 1);
	out[MAX(n, 0)] = 0;
	return 0;
}

static int store_ids(struct ekcert_store *s)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(s->store);
	int n = objs ? sk_X509_OBJECT_num(objs) : 0;

	s->ids = calloc((size_t)(n ? n : 1), sizeof(*s->ids));
	if (!s->ids)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
		struct ca_id *id = &s->ids[s->nids];

		if (!x)
			continue;
		id->x = x;
		if (opcrypto_cert_sha256_hex(x, id->sha256) < 0 ||
		    ca_subject(x, id->subject, sizeof(id->subject)) < 0)
			return -ENOMEM;
		s->nids++;
	}
	return 0;
}

int ekcert_store_load(const char *dir, struct ekcert_store **ret, char *why,
		      size_t why_size)
{
	_cleanup_(ekcert_store_freep) struct ekcert_store *s = NULL;
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	size_t files = 0;
	int r;

	if (!dir || !ret)
		return -EINVAL;
	d = opendir(dir);
	if (!d)
		return why_fail(why, why_size, -errno, "%s: %s", dir, strerror(errno));
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->store = X509_STORE_new();
	if (!s->store)
		return -ENOMEM;
	while ((errno = 0, de = readdir(d))) {
		_cleanup_free_ char *path = NULL;

		if (!cert_file_name(de->d_name))
			continue;
		if (++files > STORE_MAX_FILES)
			return why_fail(why, why_size, -E2BIG,
					    "%s: more than %d certificate files", dir, STORE_MAX_FILES);
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			return -ENOMEM;
		r = store_load_file(s, path, why, why_size);
		if (r < 0)
			return r;
	}
	if (errno)
		return why_fail(why, why_size, -errno, "%s: %s", dir, strerror(errno));
	if (!s->count)
		return why_fail(why, why_size, -ENOENT,
				    "%s: no CA certificates (*.pem, *.crt, *.cer, *.der)", dir);
	r = store_ids(s);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

/* The certified key as the default template's EK; device_id of its SPKI. */
static int key_to_info(EVP_PKEY *pkey, X509 *x, struct ekcert_info *info, char *why,
		       size_t why_size)
{
	_cleanup_free_ unsigned char *der = NULL;
	uint8_t md[32];
	TPMT_PUBLIC k;
	int len, r;

	r = tpm2_public_from_evp(pkey, TPM2_ALG_SHA256, 0, &k);
	if (r < 0)
		return why_fail(why, why_size, -EKCERT_E_KEY,
				    "key type %s is not RSA or ECC NIST P-256/P-384",
				    EVP_PKEY_get0_type_name(pkey) ?: "unknown");
	if (k.type == TPM2_ALG_RSA) {
		/* Template L-1: RSA 2048, exponent 0 (= 65537). */
		if (k.parameters.rsaDetail.keyBits != 2048 || k.parameters.rsaDetail.exponent ||
		    k.unique.rsa.size != 256)
			return why_fail(why, why_size, -EKCERT_E_KEY,
					    "RSA key of %u bits, exponent %u: the default EK template is RSA 2048, exponent 65537",
					    k.parameters.rsaDetail.keyBits,
					    k.parameters.rsaDetail.exponent ?: 65537);
		tpm2_ek_template_rsa2048(&info->ek_public);
		info->ek_public.unique.rsa = k.unique.rsa;
		info->type = EKCERT_TYPE_RSA;
	} else {
		/* Template L-2: ECC NIST P-256. */
		if (k.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256)
			return why_fail(why, why_size, -EKCERT_E_KEY,
					    "ECC curve 0x%04x: the default EK templates are RSA 2048 (L-1) and NIST P-256 (L-2)",
					    k.parameters.eccDetail.curveID);
		tpm2_ek_template_ecc_p256(&info->ek_public);
		info->ek_public.unique.ecc = k.unique.ecc;
		info->type = EKCERT_TYPE_ECC;
	}
	/* docs/operator-protocol.md "Identities": SHA-256 of the DER SPKI; from a
	 * certificate, its SubjectPublicKeyInfo as it is (no re-encoding of the
	 * key through OpenSSL's encoders, a third of the import's cost). */
	len = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der) : i2d_PUBKEY(pkey, &der);
	if (len <= 0 || !EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL))
		return -EIO;
	hex_encode(md, sizeof(md), info->device_id);
	return 0;
}

/* A TPM attribute value: UTF-8, 1..EKCERT_STR_MAX-1 bytes, no control characters. */
static int tpm_attr(const X509_NAME_ENTRY *e, const char *oid, char *out,
		    char *why, size_t why_size)
{
	unsigned char *utf8 = NULL;
	int n;

	if (out[0])
		return why_fail(why, why_size, -EKCERT_E_PROFILE,
				    "subjectAltName holds %s twice", oid);
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	if (n <= 0 || n >= EKCERT_STR_MAX) {
		OPENSSL_free(utf8);
		return why_fail(why, why_size, -EKCERT_E_PROFILE,
				    "subjectAltName %s: empty, too long or not a string", oid);
	}
	for (int i = 0; i < n; i++)
		if (utf8[i] < 0x20 || utf8[i] == 0x7f) {
			OPENSSL_free(utf8);
			return why_fail(why, why_size, -EKCERT_E_PROFILE,
					    "subjectAltName %s holds a control character", oid);
		}
	memcpy(out, utf8, (size_t)n);
	out[n] = 0;
	OPENSSL_free(utf8);
	return 0;
}

/*
 * Profile 3.2.x Subject Alternative Name: a directoryName with the TPM
 * manufacturer, model and version attributes; critical when the subject is
 * empty (RFC 5280 4.2.1.6).
 */
static int check_san(X509 *x, struct ekcert_info *info, char *why, size_t why_size)
{
	_cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *gens = NULL;
	int crit = -1, r;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (!gens) {
		ERR_clear_error();
		if (crit == -1)
			return why_fail(why, why_size, -EKCERT_E_PROFILE,
					    "no subjectAltName (TPM manufacturer, model, version)");
		return why_fail(why, why_size, -EKCERT_E_PROFILE,
				    crit == -2 ? "more than one subjectAltName" :
						 "subjectAltName does not parse");
	}
	if (!crit && X509_NAME_entry_count(X509_get_subject_name(x)) == 0)
		return why_fail(why, why_size, -EKCERT_E_PROFILE,
				    "empty subject and a non-critical subjectAltName");
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DIRNAME)
			continue;
		for (int j = 0; j < X509_NAME_entry_count(g->d.directoryName); j++) {
			const X509_NAME_ENTRY *e = X509_NAME_get_entry(g->d.directoryName, j);
			char oid[64];
			char *out = NULL;

			if (OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(e), 1) <= 0)
				continue;
			if (!strcmp(oid, OID_TPM_MANUFACTURER))
				out = info->manufacturer;
			else if (!strcmp(oid, OID_TPM_MODEL))
				out = info->model;
			else if (!strcmp(oid, OID_TPM_VERSION))
				out = info->version;
			else
				continue;
			r = tpm_attr(e, oid, out, why, why_size);
			if (r < 0)
				return r;
		}
	}
	if (!info->manufacturer[0] || !info->model[0] || !info->version[0])
		return why_fail(why, why_size, -EKCERT_E_PROFILE,
				    "subjectAltName lacks the TPM %s attribute",
				    !info->manufacturer[0] ? "manufacturer (2.23.133.2.1)" :
				    !info->model[0] ? "model (2.23.133.2.2)" :
						      "version (2.23.133.2.3)");
	return 0;
}

/* Profile 3.2.x Extended Key Usage: when present, tcg-kp-EKCertificate. */
static int check_eku(X509 *x, char *why, size_t why_size)
{
	_cleanup_(EXTENDED_KEY_USAGE_freep) EXTENDED_KEY_USAGE *eku = NULL;

	if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE))
		return 0;
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	if (!eku) {
		ERR_clear_error();
		return why_fail(why, why_size, -EKCERT_E_PROFILE, "extendedKeyUsage does not parse");
	}
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		char oid[64];

		if (OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, i), 1) > 0 &&
		    !strcmp(oid, OID_KP_EK_CERTIFICATE))
			return 0;
	}
	return why_fail(why, why_size, -EKCERT_E_PROFILE,
			    "extendedKeyUsage lacks tcg-kp-EKCertificate (2.23.133.8.1)");
}

int ekcert_check_profile(X509 *x, struct ekcert_info *ret, char *why, size_t why_size)
{
	struct ekcert_info info = { 0 };
	EVP_PKEY *pkey;
	uint32_t flags, ku, need;
	int r;

	if (!x || !ret)
		return -EINVAL;
	flags = X509_get_extension_flags(x);
	if (flags & EXFLAG_INVALID)
		return why_fail(why, why_size, -EKCERT_E_PARSE,
				    "an extension does not parse or is repeated");
	/* Profile 3.2.1: X.509 version 3. */
	if (X509_get_version(x) != X509_VERSION_3)
		return why_fail(why, why_size, -EKCERT_E_PROFILE,
				    "X.509 version %ld, not 3", X509_get_version(x) + 1);
	pkey = X509_get0_pubkey(x);
	if (!pkey) {
		ERR_clear_error();
		return why_fail(why, why_size, -EKCERT_E_KEY, "public key does not parse");
	}
	r = key_to_info(pkey, x, &info, why, why_size);
	if (r < 0)
		return r;
	/* Key Usage: the EK decrypts (RSA) or agrees keys (ECC); it never signs certificates. */
	if (!(flags & EXFLAG_KUSAGE))
		return why_fail(why, why_size, -EKCERT_E_KEY_USAGE, "no keyUsage extension");
	ku = X509_get_key_usage(x);
	need = info.type == EKCERT_TYPE_RSA ? KU_KEY_ENCIPHERMENT : KU_KEY_AGREEMENT;
	if (!(ku & need))
		return why_fail(why, why_size, -EKCERT_E_KEY_USAGE,
				    "keyUsage lacks %s (%s EK)",
				    need == KU_KEY_ENCIPHERMENT ? "keyEncipherment" : "keyAgreement",
				    ekcert_type_name(info.type));
	if (ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN))
		return why_fail(why, why_size, -EKCERT_E_KEY_USAGE,
				    "keyUsage allows signing certificates or CRLs");
	/* Basic Constraints: cA FALSE. */
	if ((flags & EXFLAG_BCONS) && (flags & EXFLAG_CA))
		return why_fail(why, why_size, -EKCERT_E_CA, "basicConstraints cA is TRUE");
	r = check_san(x, &info, why, why_size);
	if (r < 0)
		return r;
	r = check_eku(x, why, why_size);
	if (r < 0)
		return r;
	*ret = info;
	return 0;
}

/* One DER certificate with no trailing bytes, or one PEM CERTIFICATE block. */
static int parse_cert(OSSL_LIB_CTX *libctx, const uint8_t *data, size_t len, X509 **ret,
		      char *why, size_t why_size)
{
	X509 *x;

	if (!len || len > EKCERT_MAX_SIZE)
		return why_fail(why, why_size, -EKCERT_E_PARSE,
				    "certificate of %zu bytes (1..%d allowed)", len, EKCERT_MAX_SIZE);
	if (len > 10 && !memcmp(data, "-----BEGIN", 10)) {
		_cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(data, (int)len);

		if (!bio)
			return -ENOMEM;
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	} else {
		const unsigned char *p = data;

		x = libctx ? X509_new_ex(libctx, NULL) : NULL;
		if (libctx && !x)
			return -ENOMEM;
		if (!d2i_X509(&x, &p, (long)len)) {
			X509_free(x);
			x = NULL;
		}
		if (x && p != data + len) {
			X509_free(x);
			ERR_clear_error();
			return why_fail(why, why_size, -EKCERT_E_PARSE,
					    "%zu bytes after the certificate", (size_t)(data + len - p));
		}
	}
	ERR_clear_error();
	if (!x)
		return why_fail(why, why_size, -EKCERT_E_PARSE,
				    "not a DER or PEM X.509 certificate");
	*ret = x;
	return 0;
}

static int chain_error(int err, int depth, char *why, size_t why_size)
{
	const char *what = X509_verify_cert_error_string(err);
	int code;

	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		code = EKCERT_E_EXPIRED;
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		code = EKCERT_E_NOT_YET_VALID;
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
	case X509_V_ERR_CERT_UNTRUSTED:
		code = EKCERT_E_UNTRUSTED;
		break;
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
		code = EKCERT_E_PARSE;
		break;
	default:
		code = EKCERT_E_REJECTED;
		break;
	}
	return why_fail(why, why_size, -code, "%s (%s)", what,
			    depth == 0 ? "the EK certificate" : "a CA certificate of its chain");
}

int ekcert_verify(const struct ekcert_store *s, const uint8_t *cert, size_t len,
		  time_t now, struct ekcert_info *ret, char *why, size_t why_size)
{
	return ekcert_verify_ctx(s, NULL, cert, len, now, ret, why, why_size);
}

int ekcert_verify_ctx(const struct ekcert_store *s, OSSL_LIB_CTX *libctx, const uint8_t *cert,
		      size_t len, time_t now, struct ekcert_info *ret, char *why, size_t why_size)
{
	_cleanup_(X509_freep) X509 *x = NULL;
	_cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = NULL;
	struct ekcert_info info;
	STACK_OF(X509) *chain;
	X509 *issuer;
	int r, n;

	if (!s || !cert)
		return -EINVAL;
	r = parse_cert(libctx, cert, len, &x, why, why_size);
	if (r < 0)
		return r;
	ctx = X509_STORE_CTX_new_ex(libctx, NULL);
	if (!ctx || !X509_STORE_CTX_init(ctx, s->store, x, NULL))
		return -ENOMEM;
	X509_STORE_CTX_set_time(ctx, 0, now);
	if (X509_verify_cert(ctx) != 1) {
		r = chain_error(X509_STORE_CTX_get_error(ctx),
				X509_STORE_CTX_get_error_depth(ctx), why, why_size);
		ERR_clear_error();
		return r;
	}
	chain = X509_STORE_CTX_get0_chain(ctx);
	n = chain ? sk_X509_num(chain) : 0;
	if (n < 2)
		return why_fail(why, why_size, -EKCERT_E_UNTRUSTED,
				    "the EK certificate is its own trust anchor");
	r = ekcert_check_profile(x, &info, why, why_size);
	if (r < 0)
		return r;
	issuer = sk_X509_value(chain, 1);
	for (size_t i = 0; i < s->nids; i++)
		if (s->ids[i].x == issuer) {
			memcpy(info.ca_sha256, s->ids[i].sha256, sizeof(info.ca_sha256));
			memcpy(info.ca_subject, s->ids[i].subject, sizeof(info.ca_subject));
			issuer = NULL;
			break;
		}
	if (issuer) { /* not one of the store's objects: compute it */
		r = opcrypto_cert_sha256_hex(issuer, info.ca_sha256);
		if (r == 0)
			r = ca_subject(issuer, info.ca_subject, sizeof(info.ca_subject));
		if (r < 0)
			return r;
	}
	if (ret)
		*ret = info;
	return 0;
}

int ekcert_from_public(const uint8_t *data, size_t len, struct ekcert_info *ret,
		       char *why, size_t why_size)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	struct ekcert_info info = { 0 };
	TPM2B_PUBLIC pub = { 0 };
	TPM2B_NAME given, rebuilt;
	size_t off = 0;
	int r;

	if (!data || !ret)
		return -EINVAL;
	if (len <= sizeof(TPM2B_PUBLIC) &&
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(data, len, &off, &pub) == TSS2_RC_SUCCESS &&
	    off == len) {
		r = tpm2_public_to_evp(&pub.publicArea, &pkey);
		if (r < 0)
			return why_fail(why, why_size, -EKCERT_E_KEY,
					    "TPM2B_PUBLIC is not an RSA or ECC key OpenSSL takes");
		r = key_to_info(pkey, NULL, &info, why, why_size);
		if (r < 0)
			return r;
		/* The name is what MakeCredential binds: it must be the default template's. */
		if (tpm2_public_name(&pub.publicArea, &given) < 0 ||
		    tpm2_public_name(&info.ek_public, &rebuilt) < 0 || given.size != rebuilt.size ||
		    memcmp(given.name, rebuilt.name, given.size))
			return why_fail(why, why_size, -EKCERT_E_KEY,
					    "EK public area is not the TCG default %s template",
					    ekcert_type_name(info.type));
	} else {
		const unsigned char *p = data;

		pkey = len <= EKCERT_MAX_SIZE ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
		ERR_clear_error();
		if (!pkey || p != data + len)
			return why_fail(why, why_size, -EKCERT_E_PARSE,
					    "neither a marshalled TPM2B_PUBLIC nor a DER SubjectPublicKeyInfo");
		r = key_to_info(pkey, NULL, &info, why, why_size);
		if (r < 0)
			return r;
	}
	*ret = info;
	return 0;
}
