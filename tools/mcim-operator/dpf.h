/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Download and Provisioning Function's core (docs/package-format.md,
 * docs/operator-protocol.md section 6): from a verified ticket, a download
 * request and the subscription the store assigned, the signed MCIM package.
 * No I/O; the HTTP handlers (api-dpf.c), `package build` (cmd-package.c)
 * and the benchmark call it.
 */
#ifndef MCIM_OPERATOR_DPF_H
#define MCIM_OPERATOR_DPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "package.h"
#include "tools/mcim-operator/config.h"
#include "tools/mcim-operator/kek.h"
#include "tools/mcim-operator/pki.h"
#include "tools/mcim-operator/store.h"
#include "tools/mcim-operator/ticket.h"

/* Seconds a package is valid after it was built (its `expires`). */
#define DPF_PACKAGE_TTL 600

/* The DPF's keys: its signing certificate, the policy key, the KEK. */
struct dpf_keys {
	struct pki_signer *signer;
	EVP_PKEY *policy_key;
	TPM2B_PUBLIC policy_public;
	uint8_t kek[KEK_SIZE];
	char sho_id[65]; /* this operator's: SHA-256 of its root's SubjectPublicKeyInfo */
};
/* From [pki] dir (dpf.pem, dpf.key, policy.key, root-ca.pem) and [sho] kek. */
int dpf_keys_load(const struct op_config *cfg, struct dpf_keys **ret, char *why, size_t why_size);
void dpf_keys_free(struct dpf_keys *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct dpf_keys *, dpf_keys_free)

/*
 * The request against its (verified) ticket: the SHA-256 names of the AK
 * and SRK must be the ticket's.  Returns 0, or -EPERM with *ret_code
 * "ak_mismatch" / "srk_mismatch" and why.
 */
int dpf_request_check(const struct package_request *req, const struct ticket *t,
		      const char **ret_code, char *why, size_t why_size);

/*
 * A receipt or tamper report (docs/package-format.md 4): the quote verifies
 * with ak (the package request's) and its qualifyingData is SHA-256 of the
 * report's bytes.  0 with *ret the attestation, or -EPERM with why.
 */
int dpf_attested_verify(const struct package_attested *a, const TPMT_PUBLIC *ak,
			TPMS_ATTEST *ret, char *why, size_t why_size);

/* The K form the package carries: AES only for a 16-byte MILENAGE K asked as AES. */
enum package_form dpf_key_form(enum package_form asked, const char *algorithm);

struct dpf_input {
	const char *device_id;
	TPM2B_NAME ek_name;
	const TPM2B_PUBLIC *srk;
	const uint8_t *nonce;             /* PACKAGE_NONCE_LEN */
	int64_t sequence, issued, expires;
	const struct op_subscription *sub;
	const char *operator_name;        /* the SHO's name */
	uint32_t key_pcr_mask;            /* the model's key_pcrs */
	TPM2B_DIGEST kpd;                 /* the ticket's kpd */
	enum package_form key_form;       /* asked by the device */
	/* docs/change-format.md 3: version 2 when the subscriber has an account */
	const struct op_subscriber *subscriber; /* NULL: version 1 */
	const struct package_request *replaces; /* its switch member; NULL: none */
};

/*
 * Builds and signs the package: decrypts the subscription's secrets with
 * the KEK (in locked memory, wiped), signs PolicyPCR(key PCRs, kpd) with the
 * policy key, wraps K, OPc/TOPc and every PIN of the profile to the SRK under
 * PolicyAuthorize(policy key, policyRef(device)), and signs the content (CMS)
 * with the DPF key.  Version 2 (subscriber, lock, replaces) when
 * in->subscriber is set.  *ret_der is malloc'ed.
 */
int dpf_build(const struct dpf_keys *k, const struct dpf_input *in, uint8_t **ret_der,
	      size_t *ret_len, char *why, size_t why_size);

/* ---- with the store: the download decision (api-dpf.c) ---- */

struct dpf_outcome {
	unsigned status;          /* HTTP status: 200, or the refusal's */
	const char *code;         /* the refusal's error code (docs/operator-protocol.md 6) */
	char why[512];
	uint8_t *der;             /* the package (malloc'ed) on success */
	size_t der_len;
	int64_t sequence;
	char iccid[OP_ICCID_MAX + 1];
};

/*
 * Answers one download request (docs/package-format.md 3): parses it,
 * verifies the ticket with ticket_cert at now, asks admit (may be NULL: the
 * rate limit; a refusal is status 429), checks the AK and SRK against the
 * ticket, checks a `switch` member (change.h), takes the decision in the
 * store (store_package_issue, which consumes the consent and release ids)
 * and builds the package.  Every refusal and the success are audited; a refusal changes
 * nothing else.  0 with out->der, or -EPERM with out->status, code, why.
 */
int dpf_issue(struct store *st, X509 *ticket_cert, const struct dpf_keys *k, time_t now,
	      const char *body, size_t len, bool (*admit)(void *user, const char *device),
	      void *admit_user, struct dpf_outcome *out);

#endif
