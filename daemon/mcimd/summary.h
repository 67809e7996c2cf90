/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Semi-autonomous platform validation on the device (TR 33.812 clause 4;
 * docs/operator-protocol.md sections 2.2 and 4): mcimd checks its own event
 * logs and PCR values against the reference values it holds (the device
 * model document of lib/model.h, [provisioning] reference of mcimd.conf(5))
 * and reports the result as the summary the quote is bound to
 * (qualifyingData = SHA-256(nonce || summary bytes)):
 *
 *   {"version": 1, "model": M, "reference_version": N,
 *    "failures": [{"pcr": P, "event": I, "reason": "..."}, ...]}
 *
 * The checks are the PVA's remote-mode ones (protocol section 3), made on the
 * device: the firmware log replays (sha256 bank) to the quoted PCRs 0-7 and
 * every digest it extends into them is in firmware_allow (when the document
 * has one); the shortest IMA log prefix replays to the quoted PCR 10 and every
 * entry of it is in ima_allow (a violation never is); every PCR with a
 * reference value equals it; every quoted PCR is checked by one of these;
 * the reference values select the PCRs the PVA selected.  A failure names
 * its PCR ("pcr") and its event ("event": the TCG event number, 0 being the
 * header, or the IMA entry index from 0) when it has one.
 *
 * summary_build() is pure: no I/O, no TPM.
 */
#ifndef MCIMD_SUMMARY_H
#define MCIMD_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "model.h"

#define SUMMARY_VERSION 1
/* Failures listed one by one; more are counted in one last entry. */
#define SUMMARY_FAILURES_MAX 32

/* The quoted PCRs of the SHA-256 bank. */
struct summary_pcrs {
	uint32_t mask;                  /* bit n: PCR n quoted */
	uint8_t value[MODEL_PCRS][32];
};

/*
 * The SHA-256 PCRs of a quote's selection and its values (in selection
 * order, as TPM2_PCR_Read and the protocol's pcr_values give them).
 * Returns -EINVAL when n does not match the selection.
 */
int summary_pcrs_from(const TPML_PCR_SELECTION *sel, const TPM2B_DIGEST *vals, uint32_t n,
		      struct summary_pcrs *ret);

/*
 * Checks the logs (NULL: absent) and PCRs against m and writes the summary:
 * *ret (malloc'ed, NUL-terminated JSON; *ret_len bytes without the NUL) and
 * *ret_failures (failures found, all of them, listed or not).  Returns 0 or
 * -ENOMEM; what the checks find is in the summary, never an error.
 */
int summary_build(const struct op_model *m, const struct summary_pcrs *pcrs, const uint8_t *tcg,
		  size_t tcg_len, const uint8_t *ima, size_t ima_len, char **ret, size_t *ret_len,
		  unsigned *ret_failures);

#endif
