/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Platform Validation Authority's decision core (docs/operator-protocol.md
 * sections 2-4): pure functions from evidence to a verdict, no I/O except the
 * CSPRNG for challenges.  The HTTP handlers (api-pva.c) parse requests into
 * these structs, call the core and store what it decided.
 *
 * Every check of untrusted evidence has its own name and reason; a verdict
 * lists every check that ran, passed or failed, so a refusal names all that
 * failed.
 */
#ifndef MCIM_OPERATOR_PVA_H
#define MCIM_OPERATOR_PVA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpm2-quote.h"
#include "model.h"

#define PVA_NONCE_LEN 32
#define PVA_SECRET_LEN 32
#define PVA_LOG_MAX (4u << 20)
#define PVA_SUMMARY_MAX (64u << 10)

/* What step 2.1 gives the device; the secret and nonce stay in the session. */
struct pva_challenge {
	uint8_t nonce[PVA_NONCE_LEN];
	uint8_t secret[PVA_SECRET_LEN];
	TPM2B_ID_OBJECT credential;
	TPM2B_ENCRYPTED_SECRET encrypted_secret;
	TPM2B_NAME ak_name;
};

#define PVA_REASON_MAX 200
#define PVA_CHECKS_MAX 24
struct pva_check {
	const char *check; /* a name of docs/operator-protocol.md section 3 */
	bool ok;
	char reason[PVA_REASON_MAX];
};

struct pva_verdict {
	unsigned n, failed;
	struct pva_check checks[PVA_CHECKS_MAX];
	/* Filled when the quote parsed: */
	bool have_clock;
	TPMS_CLOCK_INFO clock;
	TPM2B_NAME ak_name, srk_name;
	TPM2B_DIGEST pcr_digest;
	TPM2B_DIGEST kpd;	/* SHA-256 of the key PCRs' values (ticket claim kpd) */
};

/*
 * Step 2.1: checks the AK (ak_attributes) and makes the challenge for it
 * and the EK.  Returns 0 with a challenge, -EPERM with the failed checks in
 * *ret_verdict (the AK is refused), or another -errno.
 */
int pva_challenge_make(const TPMT_PUBLIC *ek, const TPM2B_PUBLIC *ak,
		       struct pva_challenge *ret, struct pva_verdict *ret_verdict);

/* The evidence of step 2.2, as parsed from the request (evidence.c). */
struct pva_evidence {
	uint8_t credential_secret[64];
	size_t credential_secret_len;
	uint8_t *quote;            /* marshalled TPMS_ATTEST */
	size_t quote_len;
	TPMT_SIGNATURE quote_sig;
	struct tpm2_pcr_values pcrs;
	TPM2B_PUBLIC srk;
	uint8_t *srk_attest;
	size_t srk_attest_len;
	TPMT_SIGNATURE srk_sig;
	uint8_t *tcg_log, *ima_log, *summary; /* NULL when absent */
	size_t tcg_log_len, ima_log_len, summary_len;
};
void pva_evidence_free(struct pva_evidence *e);

/* What the PVA kept of the session and knows of the device. */
struct pva_context {
	const uint8_t *nonce;      /* PVA_NONCE_LEN */
	const uint8_t *secret;     /* PVA_SECRET_LEN */
	const TPM2B_PUBLIC *ak;
	const struct op_model *model;
	enum pva_mode mode;
	bool clock_known;          /* last clock info accepted for this device */
	uint64_t clock;
	uint32_t reset_count, restart_count;
};

/*
 * Step 2.2: runs every check of section 3 that applies in ctx->mode.
 * Returns 0 when all passed, -EPERM when at least one failed (see *ret),
 * another -errno when the PVA itself failed.
 */
int pva_verify(const struct pva_context *ctx, const struct pva_evidence *ev,
	       struct pva_verdict *ret);

/*
 * Whether the evidence came from the registered device's TPM: the credential
 * (the AK is in the EK's TPM) and the quote's signature and nonce passed.
 * Only such a refusal says something of the device's platform (and revokes
 * its tickets, store_validation_refused); anyone who knows a device id can
 * send evidence that fails the credential check.
 */
bool pva_verdict_from_device(const struct pva_verdict *v);

/* One line listing the failed checks' reasons ("; "-separated), for logs. */
void pva_verdict_summary(const struct pva_verdict *v, char *buf, size_t size);

/* A storage key the DPF may wrap to (the SRK or a storage parent): restricted
 * decrypt ECC P-256, AES-128-CFB, SHA-256, fixedTPM, fixedParent, userWithAuth
 * clear, not a signing key, with a policy. */
int pva_srk_check(const TPM2B_PUBLIC *srk, char *why, size_t why_size);

#endif
