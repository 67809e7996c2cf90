/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The operator PKI (`mcim-operator pki init`) and the keys that sign with it.
 *
 * pki_init() makes, in one directory, EC NIST P-256 keys and certificates:
 *   root-ca.pem / root-ca.key  the operator root (CA:TRUE, pathlen 0,
 *                              keyCertSign, cRLSign); devices pin it
 *   server.pem  / server.key   TLS server (serverAuth, subjectAltName)
 *   ticket.pem  / ticket.key   the PVA's validation tickets (digitalSignature)
 *   dpf.pem     / dpf.key      the DPF's MCIM packages (digitalSignature,
 *                              extendedKeyUsage id-mcim-kp-package)
 * and two keys without a certificate:
 *   policy.key                 the operator's policy key (P-256): it signs the
 *                              PCR policies PolicyAuthorize accepts
 *                              (docs/package-format.md section 2)
 *   subscriber.kek             32 random bytes, the key that encrypts the
 *                              subscribers' secrets in the store (kek.h); its
 *                              path is opts.kek_path ([sho] kek) when given
 * Every certificate has a random 16-byte serial (126 random bits, positive,
 * of fixed length) and the validity of opts.
 * Private keys are PKCS#8 PEM, mode 0600; every file is written to an O_EXCL
 * temporary and renamed, so a crash leaves the old file or the new one.
 *
 * Extension point: a key in a PKCS#11 token would be a pki_signer whose
 * EVP_PKEY comes from OpenSSL's pkcs11 provider (OSSL_STORE "pkcs11:" URI)
 * instead of a file; nothing else changes.  Not implemented.
 */
#ifndef MCIM_PKI_H
#define MCIM_PKI_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#include "macro.h"

struct pki_init_opts {
	/* validity of every certificate in days; 0: PKI_DEFAULT_DAYS */
	unsigned days;
	/* subject O= of the certificates; NULL: "mcim operator" */
	const char *organization;
	/* the TLS server's subjectAltName; both empty: "localhost" and 127.0.0.1 */
	const char *const *dns_names;
	size_t n_dns_names;
	const char *const *ip_addresses;	/* IPv4 or IPv6 text */
	size_t n_ip_addresses;
	/* where the key-encryption key goes; NULL: dir/PKI_KEK */
	const char *kek_path;
	/* replace an existing PKI in dir (else -EEXIST) */
	bool force;
};

#define PKI_DEFAULT_DAYS 825
#define PKI_MAX_DAYS 36500
#define PKI_MAX_NAMES 32

/* File names in the PKI directory. */
#define PKI_ROOT_CERT "root-ca.pem"
#define PKI_ROOT_KEY "root-ca.key"
#define PKI_SERVER_CERT "server.pem"
#define PKI_SERVER_KEY "server.key"
#define PKI_TICKET_CERT "ticket.pem"
#define PKI_TICKET_KEY "ticket.key"
#define PKI_DPF_CERT "dpf.pem"
#define PKI_DPF_KEY "dpf.key"
#define PKI_POLICY_KEY "policy.key"
#define PKI_KEK "subscriber.kek"

/*
 * The project's OID arc (docs/package-format.md section 1, ITU-T X.667 6.3):
 * the extended key usage of a DPF certificate.
 */
#define PKI_OID_MCIM "2.25.100283043871109241917352944415068407155"
#define PKI_OID_KP_PACKAGE PKI_OID_MCIM ".2"

/*
 * Creates dir (mode 0700) when missing and the PKI in it.  Returns 0,
 * -EEXIST when one of the files exists and !o->force, -EINVAL for a bad
 * option (why names it), or another -errno.
 */
int pki_init(const char *dir, const struct pki_init_opts *o, char *why,
	     size_t why_size);

/* A certificate with its private key, loaded for signing. */
struct pki_signer {
	X509 *cert;
	EVP_PKEY *key;
	char cert_sha256[65];	/* lowercase hex SHA-256 of the DER certificate (the JWS kid) */
};

/*
 * Loads a PEM certificate and its PEM private key.  -EINVAL when either
 * does not parse or the key is not the certificate's, -EPERM when the key
 * file is readable by group or others.
 */
int pki_signer_load(const char *cert_path, const char *key_path,
		    struct pki_signer **ret, char *why, size_t why_size);
void pki_signer_free(struct pki_signer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct pki_signer *, pki_signer_free)

/*
 * Loads the policy key (PKCS#8 PEM, mode 0600, EC NIST P-256) and its public
 * part as the TPM sees it (ret_pub, may be NULL): ECC NIST P-256, ECDSA with
 * SHA-256, sign, nameAlg SHA-256 (the key TPM2_LoadExternal loads on the
 * device and whose name PolicyAuthorize names; userWithAuth, as lib/package
 * makes it).
 */
int pki_policy_key_load(const char *path, EVP_PKEY **ret_key, TPM2B_PUBLIC *ret_pub,
			char *why, size_t why_size);
/* The TPM2B_PUBLIC of a P-256 policy key, as above. */
int pki_policy_public(EVP_PKEY *key, TPM2B_PUBLIC *ret_pub);

#endif
