/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers of the TRE integration tests (tests/integration/tre/): TAP output,
 * opening the TRE on the swtpm of tests/lib/with-swtpm ($MCIM_TEST_TCTI),
 * an operator (policy signing key, approved policies) and MCIM objects
 * wrapped to the SRK with lib/tpm2-dup.h, as the operator will do.
 */
#ifndef MCIM_TRE_TEST_H
#define MCIM_TRE_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "daemon/tre/tre.h"

/* TAP: one line per check; tap_end() prints the plan and returns the exit status. */
bool tap_ok(bool cond, const char *fmt, ...) _printf_(2, 3);
void tap_skip(const char *fmt, ...) _printf_(1, 2);
void tap_diag(const char *fmt, ...) _printf_(1, 2);
int tap_end(void);

/* Opens the TRE on $MCIM_TEST_TCTI (exit 77 when unset); cfg may be NULL. */
struct tre *tt_open(struct tre_config *cfg);

struct tt_operator {
	EVP_PKEY *key;          /* P-256 policy signing key */
	TPM2B_PUBLIC pub;       /* its TPM form, for LoadExternal */
	TPM2B_NAME name;
	TPM2B_NONCE ref;        /* policyRef */
	TPM2B_DIGEST auth_policy; /* PolicyAuthorize(name, ref), software */
};
void tt_operator_init(struct tt_operator *op);
void tt_operator_free(struct tt_operator *op);

/* Approves PolicyPCR over the TRE's PCR selection with the current values. */
int tt_approve_now(struct tre *t, const struct tt_operator *op, struct tre_policy *ret);
/* Approves PolicyPCR(sel, pcr_digest) (the operator's reference values). */
int tt_approve(const struct tt_operator *op, const TPML_PCR_SELECTION *sel,
	       const TPM2B_DIGEST *pcr_digest, struct tre_policy *ret);

/* Wraps secret as an MCIM object of kind to the public srk (lib/tpm2-dup.h). */
int tt_wrap(const TPM2B_PUBLIC *srk, const struct tt_operator *op, enum tre_kind kind,
	    const uint8_t *secret, size_t len, TPM2B_PUBLIC *ret_pub, TPM2B_PRIVATE *ret_dup,
	    TPM2B_ENCRYPTED_SECRET *ret_seed);
/* Wraps to t's SRK and imports: the blob the store keeps. */
int tt_import(struct tre *t, const struct tt_operator *op, enum tre_kind kind,
	      const uint8_t *secret, size_t len, struct tre_blob *ret);
/* Imports, loads and sets the policy. */
int tt_key(struct tre *t, const struct tt_operator *op, const struct tre_policy *pol,
	   enum tre_kind kind, const uint8_t *secret, size_t len, struct tre_key **ret);

/* Blob files, for the store-copy and clone tests. */
int tt_blob_save(const char *path, const struct tre_blob *b);
int tt_blob_read(const char *path, struct tre_blob *ret);

void tt_random(uint8_t *p, size_t n);

#endif
