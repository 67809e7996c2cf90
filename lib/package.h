/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The MCIM package and the messages around it (docs/package-format.md,
 * version 1): the one codec both sides use.  The operator's DPF builds,
 * signs and answers with it; mcimd parses and verifies with it.
 *
 *   content   package_content_build() / package_content_parse(): the JSON
 *             content (section 2); parsing is strict and refuses secrets in
 *             clear inside the profile.
 *   objects   package_secret_make() (operator: one duplication blob per
 *             secret, lib/tpm2-dup.h), package_objects_check() (device:
 *             every object as the table of section 2 says, before the TPM).
 *   policy    package_policy_ref(), package_policy_sign() (operator),
 *             package_policy_digests() (both).
 *   envelope  package_sign() / package_verify(): CMS SignedData, one
 *             signer with the id-mcim-kp-package extended key usage,
 *             chained to one pinned root (section 1, checks 1-4).
 *   messages  the download request (section 3) and the receipt / tamper
 *             report (section 4).
 *   changes   docs/change-format.md: the consent and the release (CMS like
 *             the package, package_open() / package_token_*()), the switch
 *             members of a version 2 content and of the download request,
 *             the switch results of a receipt and the release report.
 *
 * Pure apart from OpenSSL's random numbers; no TPM, no I/O.  Every function
 * returns 0 or a negative errno; the parsers and verifiers write what is
 * wrong into why:
 *   -EINVAL        malformed input (JSON, a member, a TPM structure)
 *   -EBADMSG       the envelope does not decode, or a signature is wrong
 *   -EKEYREJECTED  no chain from the signer to the root at that time
 *   -EPERM         the signer certificate may not sign packages
 *   -EPROTO        not an MCIM package (content type)
 *   -EMSGSIZE      over a size limit
 *   -ENOMEM, -EIO  allocation / OpenSSL failure
 */
#ifndef MCIM_PACKAGE_H
#define MCIM_PACKAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#define PACKAGE_MAX (256u << 10)         /* DER envelope */
#define PACKAGE_CONTENT_MAX (192u << 10) /* JSON content */
#define PACKAGE_DEPTH 12
#define PACKAGE_PINS_MAX 16
#define PACKAGE_NONCE_LEN 32
#define PACKAGE_CLOCK_SKEW 300           /* seconds `issued` may be ahead */
#define PACKAGE_MESSAGE_MAX (64u << 10)  /* request, receipt, tamper report */
#define PACKAGE_TICKET_MAX 4096
#define PACKAGE_REASON_MAX 256

#define PACKAGE_OID_ARC "2.25.100283043871109241917352944415068407155"
#define PACKAGE_OID_CONTENT PACKAGE_OID_ARC ".1" /* id-mcim-package */
#define PACKAGE_OID_KP PACKAGE_OID_ARC ".2"      /* id-mcim-kp-package */
#define PACKAGE_OID_CONSENT PACKAGE_OID_ARC ".3" /* id-mcim-consent */
#define PACKAGE_OID_RELEASE PACKAGE_OID_ARC ".4" /* id-mcim-release */

#define PACKAGE_TOKEN_MAX (16u << 10)              /* DER consent or release */
#define PACKAGE_TOKEN_LIFETIME_MAX (30 * 86400)    /* expires - issued */
#define PACKAGE_CERT_MAX 4096                      /* the subscriber's certificate */

/* What a CMS envelope carries (its eContentType). */
enum package_type { PACKAGE_TYPE_PACKAGE, PACKAGE_TYPE_CONSENT, PACKAGE_TYPE_RELEASE };

enum package_form { PACKAGE_FORM_AES, PACKAGE_FORM_SEALED };
enum package_class { PACKAGE_CLASS_OPERATIONAL, PACKAGE_CLASS_PROVISIONING };

const char *package_form_name(enum package_form f);
int package_form_from_name(const char *s, enum package_form *ret);
const char *package_class_name(enum package_class c);

/* One TPM2_Import input: the object's public area and its outer-wrapped sensitive area. */
struct package_secret {
	enum package_form form;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE duplicate;
	TPM2B_ENCRYPTED_SECRET seed;
};

struct package_pin {
	uint8_t ref; /* key reference, TS 102 221 9.5.1 (01 = PIN1, 0A = ADM1, ...) */
	struct package_secret s;
};

/* The operator's approval of PolicyPCR for the objects (docs/tre.md 4). */
struct package_policy {
	TPM2B_PUBLIC key;         /* ECC P-256, ECDSA-SHA256 verification key */
	TPM2B_NONCE ref;          /* policyRef, package_policy_ref() */
	uint32_t pcr_mask;        /* sha256 bank, bit n = PCR n */
	TPM2B_DIGEST pcr_digest;  /* SHA-256 of the selected PCR values */
	TPMT_SIGNATURE signature; /* over SHA-256(approved || ref) */
};

struct package_content {
	int version;        /* 1, or 2 with the members below (0 builds 1) */
	char device[65];
	TPM2B_NAME ek_name, srk_name;
	uint8_t nonce[PACKAGE_NONCE_LEN];
	int64_t sequence;   /* >= 1 */
	int64_t issued, expires;
	char iccid[21], imsi[16], sho[65], operator_name[65];
	enum package_class cls;
	char *profile;      /* JSON text of the profile member (malloc'ed) */
	size_t profile_len;
	struct package_policy policy;
	struct package_secret k, opc;
	size_t n_pins;
	struct package_pin pins[PACKAGE_PINS_MAX];
	/* version 2 (docs/change-format.md 3) */
	char subscriber[65];          /* the M2M subscriber's name */
	uint8_t *subscriber_cert;     /* its certificate, DER (malloc'ed) */
	size_t subscriber_cert_len;
	int64_t lock_until;           /* the contract lock's end; 0: none */
	bool replaces;                /* a switch: the members below */
	char replaces_iccid[21];
	uint8_t *consent, *release;   /* DER (malloc'ed); release may be NULL */
	size_t consent_len, release_len;
};

void package_content_free(struct package_content *c);

/* JSON text of c (malloc'ed, NUL-terminated); c->profile must be a JSON object. */
int package_content_build(const struct package_content *c, char **ret, size_t *ret_len);
/* Parses content; refuses any member docs/package-format.md 2 does not list. */
int package_content_parse(const char *json, size_t len, struct package_content *ret, char *why,
			  size_t why_size);

/* ---- updates (docs/change-format.md 6) ---- */

#define PACKAGE_UPDATE_FILES_MAX 16
#define PACKAGE_UPDATE_FILE_MAX 4096
#define PACKAGE_PATH_MAX 8 /* file ids in a path from MF, TS 102 221 8.4.2 */

enum package_update_kind {
	PACKAGE_UPDATE_KEYS,
	PACKAGE_UPDATE_ACTIVATE,
	PACKAGE_UPDATE_FILES,
	PACKAGE_UPDATE_POLICY,
	PACKAGE_UPDATE_LOCK,
	PACKAGE_UPDATE_REVOKE,
};
const char *package_update_kind_name(enum package_update_kind k);

struct package_file {
	uint16_t path[PACKAGE_PATH_MAX]; /* from 3F00 */
	size_t path_len;
	uint8_t *data; /* malloc'ed */
	size_t len;    /* 1..PACKAGE_UPDATE_FILE_MAX */
};

struct package_update {
	char device[65];
	TPM2B_NAME ek_name;
	uint8_t nonce[PACKAGE_NONCE_LEN];
	int64_t sequence, issued, expires;
	char iccid[21];
	enum package_update_kind kind;
	/* keys: the parent the secrets are wrapped to, the profile's new auth
	 * object without secrets (JSON text, malloc'ed), the new approval and
	 * objects, and when they take effect (0: at an activate update) */
	TPM2B_NAME srk_name;
	char *auth;
	size_t auth_len;
	struct package_policy policy; /* keys, policy */
	struct package_secret k, opc;
	int64_t activate_at;
	int64_t activates;            /* activate: the keys update's sequence */
	size_t n_files;               /* files */
	struct package_file files[PACKAGE_UPDATE_FILES_MAX];
	int64_t lock_until;           /* lock */
	char reason[PACKAGE_REASON_MAX + 1]; /* revoke */
};
void package_update_free(struct package_update *u);
int package_update_build(const struct package_update *u, char **ret, size_t *ret_len);
/* Parses an update; refuses any member change-format.md 6 does not list. */
int package_update_parse(const char *json, size_t len, struct package_update *ret, char *why,
			 size_t why_size);
/* The objects of a keys update, as package_objects_check() does for a package. */
int package_update_objects_check(const struct package_update *u, char *why, size_t why_size);
/* What an opened content is: *ret_update true for "mcim-update". */
int package_content_is_update(const char *json, size_t len, bool *ret_update, char *why,
			      size_t why_size);

/* ---- objects ---- */

/*
 * The seed the objects of one package are wrapped with (TPM 2.0 Part 1
 * 23.3.2: the outer wrapper's symmetric and HMAC keys are KDFa(seed, label,
 * the object's name), so objects of different names sharing one seed get
 * keys of their own): one ECDH with the SRK per package instead of one per
 * object.  package_seed_wipe() clears it.
 */
struct package_seed {
	TPMT_PUBLIC srk;
	uint8_t seed[64];
	size_t len;
	TPM2B_ENCRYPTED_SECRET enc;
};
int package_seed_new(const TPMT_PUBLIC *srk, struct package_seed *ret);
void package_seed_wipe(struct package_seed *s);

/*
 * The object of one secret (docs/package-format.md 2's table), wrapped to the
 * seed's SRK: form AES: an AES-128 key that can only encrypt (data = K, 16
 * bytes); form SEALED: a sealed data object (1..128 bytes).  authPolicy =
 * auth_policy, nameAlg SHA-256, empty authValue.  The caller wipes data;
 * nothing else keeps it.
 */
int package_secret_make(enum package_form form, const uint8_t *data, size_t len,
			const TPM2B_DIGEST *auth_policy, const struct package_seed *seed,
			struct package_secret *ret);

/*
 * Every object of c (k, opc, pins) as section 2 says: type and size per form,
 * nameAlg SHA-256, the attributes of the table (exactly), authPolicy =
 * PolicyAuthorize(c->policy.key, c->policy.ref); a duplicate and a seed.
 */
int package_objects_check(const struct package_content *c, char *why, size_t why_size);

/* ---- policy ---- */

/* policyRef = SHA-256("mcim-policy-ref/1" || device id as 32 bytes). */
int package_policy_ref(const char *device_id, TPM2B_NONCE *ret);
/* The TPML_PCR_SELECTION of a sha256-bank mask. */
void package_pcr_selection(uint32_t mask, TPML_PCR_SELECTION *ret);
/*
 * approved = PolicyPCR(pcrs, pcr_digest) from zeros; auth = the objects'
 * authPolicy, PolicyAuthorize(name(key), ref).  Either may be NULL.
 */
int package_policy_digests(const struct package_policy *p, TPM2B_DIGEST *ret_approved,
			   TPM2B_DIGEST *ret_auth);
/*
 * Operator: fills p->key from key (an EC P-256 private key) and p->signature
 * over SHA-256(approved || ref); p->ref, pcr_mask and pcr_digest set before.
 */
int package_policy_sign(struct package_policy *p, EVP_PKEY *key);
/* The signature of p checked in software (the device's TPM checks it again). */
int package_policy_verify(const struct package_policy *p);

/* ---- envelope ---- */

/*
 * CMS SignedData over content (eContentType id-mcim-package, attached),
 * signed by key/cert with SHA-256 and the signed attributes; chain (may be
 * NULL) adds intermediate certificates.  *ret: malloc'ed DER.
 */
int package_sign(const uint8_t *content, size_t len, EVP_PKEY *key, X509 *cert,
		 STACK_OF(X509) *chain, uint8_t **ret, size_t *ret_len);
/*
 * Section 1 checks 1-4: size, DER, exactly one signer, signed attributes,
 * the signature, a chain to root at time now (the system's CAs never
 * consulted), the signer's EKU and key usage, the content type.  *ret:
 * the content (malloc'ed, NUL-terminated); ret_signer (may be NULL) gets a
 * reference to the signer certificate (X509_free).
 */
int package_verify(const uint8_t *der, size_t len, X509 *root, time_t now, uint8_t **ret,
		   size_t *ret_len, X509 **ret_signer, char *why, size_t why_size);

/*
 * The envelope of any type: checks 1-4 of section 1 with the type's content
 * type.  A package or a release must chain to one of roots at now and its
 * signer carry id-mcim-kp-package; a consent is checked with the
 * certificate it carries only (its key is pinned by hash, change-format.md
 * 2).  ret->content is malloc'ed and NUL-terminated; ret->signer a
 * reference; package_opened_free() releases both.
 */
struct package_opened {
	uint8_t *content;
	size_t content_len;
	X509 *signer;
	char signer_key_id[65]; /* SHA-256 of the signer's SubjectPublicKeyInfo, hex */
	char root_id[65];       /* package, release: the chain's root's (the sho_id) */
};
void package_opened_free(struct package_opened *o);
int package_open(enum package_type type, const uint8_t *der, size_t len, STACK_OF(X509) *roots,
		 time_t now, struct package_opened *ret, char *why, size_t why_size);
int package_sign_type(enum package_type type, const uint8_t *content, size_t len, EVP_PKEY *key,
		      X509 *cert, STACK_OF(X509) *chain, uint8_t **ret, size_t *ret_len);
/* SHA-256 of a certificate's public key as DER SubjectPublicKeyInfo, lowercase hex. */
int package_key_id(X509 *cert, char ret[65]);

/* ---- consent and release (docs/change-format.md 2) ---- */

struct package_token {
	enum package_type type; /* PACKAGE_TYPE_CONSENT or _RELEASE */
	char id[33];            /* 32 lowercase hex */
	char device[65];
	char iccid[21];         /* the subscription let go */
	char to_sho[65];        /* the sho_id of the SHO chosen */
	int64_t issued, expires;
};
int package_token_build(const struct package_token *t, char **ret, size_t *ret_len);
int package_token_parse(enum package_type type, const char *json, size_t len,
			struct package_token *ret, char *why, size_t why_size);
/*
 * The checks both sides make (section 2): device, iccid and to_sho as given
 * (a NULL one is not checked), issued at most PACKAGE_CLOCK_SKEW ahead of
 * now, now before expires, a lifetime of at most PACKAGE_TOKEN_LIFETIME_MAX.
 * -EPERM (another device, subscription or SHO) or -ETIME (times), why set.
 */
int package_token_check(const struct package_token *t, const char *device, const char *iccid,
			const char *to_sho, time_t now, char *why, size_t why_size);
/*
 * package_open() and package_token_parse() of one token; ret_key_id (may
 * be NULL) gets the consent's signer key id or the release's root id.
 */
int package_token_open(enum package_type type, const uint8_t *der, size_t len,
		       STACK_OF(X509) *roots, time_t now, struct package_token *ret,
		       char ret_key_id[65], char *why, size_t why_size);

/* ---- messages ---- */

/* Download request, section 3 (and change-format.md 4: the switch member). */
struct package_request {
	char *ticket; /* compact JWS, malloc'ed */
	uint8_t nonce[PACKAGE_NONCE_LEN];
	TPM2B_PUBLIC ak, srk;
	enum package_form key_form;
	bool has_switch;             /* optional member "switch" */
	char switch_iccid[21];       /* the subscription the device lets go */
	uint8_t *consent, *release;  /* DER (malloc'ed); release may be NULL */
	size_t consent_len, release_len;
};
void package_request_free(struct package_request *r);
int package_request_build(const struct package_request *r, char **ret, size_t *ret_len);
int package_request_parse(const char *json, size_t len, struct package_request *ret, char *why,
			  size_t why_size);

/*
 * Receipt and tamper report, section 4, and the release report of
 * change-format.md 4: the inner JSON the AK's quote covers.
 */
enum package_report_kind { PACKAGE_RECEIPT, PACKAGE_TAMPER, PACKAGE_RELEASE_REPORT };
enum package_result {
	PACKAGE_RESULT_INSTALLED, /* receipt */
	PACKAGE_RESULT_SWITCHED,  /* receipt, release report */
	PACKAGE_RESULT_FALLBACK,  /* receipt, release report: with a reason */
	PACKAGE_RESULT_UPDATED,   /* receipt of an update */
	PACKAGE_RESULT_REVOKED,   /* receipt of a revoke update */
};
const char *package_result_name(enum package_result r);
struct package_report {
	enum package_report_kind kind;
	char device[65];
	char iccid[21];        /* receipt, release report */
	int64_t sequence;      /* receipt */
	enum package_result result; /* receipt, release report */
	char reason[PACKAGE_REASON_MAX + 1]; /* tamper; fallback */
	int64_t at;            /* tamper, release report: Unix time */
};
int package_report_build(const struct package_report *r, char **ret, size_t *ret_len);
int package_report_parse(const char *json, size_t len, struct package_report *ret, char *why,
			 size_t why_size);

/*
 * The outer message: {"device", "receipt" | "report", "quote", "signature"}
 * ("report" for a tamper report and a release report).
 */
struct package_attested {
	char device[65];
	uint8_t *body;     /* the report JSON bytes (malloc'ed) */
	size_t body_len;
	uint8_t *quote;    /* marshalled TPMS_ATTEST (malloc'ed) */
	size_t quote_len;
	TPMT_SIGNATURE signature;
};
void package_attested_free(struct package_attested *a);
int package_attested_build(const struct package_attested *a, enum package_report_kind kind,
			   char **ret, size_t *ret_len);
int package_attested_parse(const char *json, size_t len, enum package_report_kind kind,
			   struct package_attested *ret, char *why, size_t why_size);

#endif
