/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * EK certificates: the DRF's check that a device's TPM is genuine.
 *
 * The trusted TPM manufacturers are a directory of CA certificates (root and
 * intermediate, PEM or DER; see docs/operator.md "Trusted TPM
 * manufacturers").  ekcert_verify() checks an EK certificate against them and
 * against the TCG EK Credential Profile for TPM Family 2.0 (version 2.x,
 * section 3.2), and gives what the PVA needs: the EK's TPMT_PUBLIC rebuilt
 * from the TCG default template (profile Annex B, L-1 RSA 2048 / L-2 ECC NIST
 * P-256) with the certified key filled in, and the device_id
 * (docs/operator-protocol.md "Identities").
 *
 * Pure: no I/O except ekcert_store_load() reading the directory.  Returns 0,
 * a negative errno (-ENOMEM, -EINVAL for bad arguments, file errors) or
 * -EKCERT_E_*: one per reason a certificate is refused; `why` (when not NULL)
 * gets a sentence that names the problem.
 */
#ifndef MCIM_EKCERT_H
#define MCIM_EKCERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <tss2/tss2_tpm2_types.h>

enum {
	EKCERT_E_PARSE = 1100,	/* not one DER or PEM X.509 certificate */
	EKCERT_E_UNTRUSTED,	/* no chain to a trusted CA: unknown issuer, self-signed, bad signature */
	EKCERT_E_EXPIRED,	/* a certificate of the chain is past notAfter */
	EKCERT_E_NOT_YET_VALID,	/* a certificate of the chain is before notBefore */
	EKCERT_E_KEY_USAGE,	/* keyUsage missing or not the EK's (keyEncipherment / keyAgreement) */
	EKCERT_E_CA,		/* basicConstraints says CA: an EK certificate is an end entity */
	EKCERT_E_PROFILE,	/* a field of the TCG EK profile is missing or wrong */
	EKCERT_E_KEY,		/* not an RSA 2048 / ECC NIST P-256 key of a default template */
	EKCERT_E_REJECTED,	/* chain refused for another reason (revoked, CA constraints, ...) */
};

/* Message for -errno or -EKCERT_E_*. */
const char *ekcert_strerror(int err);

enum ekcert_type {
	EKCERT_TYPE_RSA = 1,	/* template L-1, RSA 2048 */
	EKCERT_TYPE_ECC,	/* template L-2, ECC NIST P-256 */
};

/* "rsa" / "ecc" (the protocol's `ek` member), NULL for another value. */
const char *ekcert_type_name(enum ekcert_type type);

#define EKCERT_STR_MAX 128

struct ekcert_info {
	enum ekcert_type type;
	/* the EK as TPM2_CreatePrimary(default template) makes it: MakeCredential goes to it */
	TPMT_PUBLIC ek_public;
	/* lowercase hex SHA-256 of the DER SubjectPublicKeyInfo */
	char device_id[65];
	/* subjectAltName directoryName: tcg-at-tpmManufacturer, -tpmModel,
	 * -tpmVersion (2.23.133.2.1/2/3), as UTF-8; empty for a bare public key */
	char manufacturer[EKCERT_STR_MAX];
	char model[EKCERT_STR_MAX];
	char version[EKCERT_STR_MAX];
	/* the trusted CA that issued the EK certificate (from the directory):
	 * lowercase hex SHA-256 of its DER, and its subject (RFC 2253); empty for
	 * a bare public key */
	char ca_sha256[65];
	char ca_subject[256];
};

struct ekcert_store;

/*
 * Loads every *.pem, *.crt, *.cer and *.der regular file of dir (other names
 * are ignored; a PEM file may hold several certificates).  Each must be a CA
 * certificate.  -ENOENT when there is none, -EINVAL with why naming the file
 * that does not parse or is not a CA; at most 1024 files of 1 MiB each.
 */
int ekcert_store_load(const char *dir, struct ekcert_store **ret, char *why,
		      size_t why_size);
void ekcert_store_free(struct ekcert_store *s);
/* Number of CA certificates loaded. */
size_t ekcert_store_count(const struct ekcert_store *s);

/* Largest EK certificate accepted (they are 1-2 KiB). */
#define EKCERT_MAX_SIZE 16384

/*
 * Verifies an EK certificate (one DER certificate, or one PEM "CERTIFICATE"
 * block) at time now: chain to a CA of s (every certificate within its
 * validity), then the EK profile:
 *   - X.509 version 3 (profile 3.2.1);
 *   - an RSA 2048 (exponent 65537) or ECC NIST P-256 key (templates L-1, L-2);
 *   - keyUsage present with keyEncipherment (RSA) or keyAgreement (ECC), and
 *     neither keyCertSign nor cRLSign (profile 3.2.x Key Usage);
 *   - not a CA (basicConstraints cA FALSE or absent);
 *   - subjectAltName with a directoryName holding the TPM manufacturer, model
 *     and version attributes (2.23.133.2.1, .2, .3), critical when the subject
 *     is empty (RFC 5280 4.2.1.6);
 *   - extendedKeyUsage, when present, includes tcg-kp-EKCertificate
 *     (2.23.133.8.1).  Certificate policies are not required (swtpm's local CA
 *     sets none; see docs/operator.md).
 * ret (may be NULL) is filled only on success.
 */
int ekcert_verify(const struct ekcert_store *s, const uint8_t *cert, size_t len,
		  time_t now, struct ekcert_info *ret, char *why, size_t why_size);
/*
 * The same in an OpenSSL library context of the caller's (NULL: the
 * default).  OpenSSL 3.0 serialises a library context's algorithm lookups,
 * so threads that verify in bulk (the fleet import) each use their own.
 */
struct ossl_lib_ctx_st;
int ekcert_verify_ctx(const struct ekcert_store *s, struct ossl_lib_ctx_st *libctx,
		      const uint8_t *cert, size_t len, time_t now, struct ekcert_info *ret,
		      char *why, size_t why_size);

/*
 * The EK profile checks of ekcert_verify() alone, on a parsed certificate,
 * with no chain (fills all of ret but the CA fields).  For ekcert_verify()
 * and the fuzzer.
 */
struct x509_st;
int ekcert_check_profile(struct x509_st *cert, struct ekcert_info *ret,
			 char *why, size_t why_size);

/*
 * A device imported by its bare EK public key: data is a marshalled
 * TPM2B_PUBLIC (as tpm2_createek -u writes it, and as the protocol's
 * ek_public carries it) or a DER SubjectPublicKeyInfo.  A TPM2B_PUBLIC must be
 * exactly the default template with its key (else -EKCERT_E_KEY).  Fills
 * type, ek_public and device_id; the certificate fields are empty.
 * -EKCERT_E_PARSE when data is neither.
 */
int ekcert_from_public(const uint8_t *data, size_t len, struct ekcert_info *ret,
		       char *why, size_t why_size);

#endif
