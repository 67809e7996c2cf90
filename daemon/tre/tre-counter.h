/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Further TPM NV counters next to the TRE's epoch (docs/tre.md section 4):
 * mcimd mirrors its store generation in one (docs/store.md "Rollback").
 *
 * The counter is defined on first use like the epoch counter (owner
 * hierarchy, NT_COUNTER, AUTHWRITE | AUTHREAD | NO_DA, authValue the
 * tre_config's nv_auth) and incremented once so that it can be read.  A counter never goes back, and
 * a re-defined one starts at the highest value any counter of the TPM had
 * (TPM 2.0 Part 1, 37.2.3).  Each call looks the index up afresh, so a TPM
 * restart in between costs nothing but that lookup.
 *
 * Errors as tre.h: -EINVAL for the epoch's own index or one outside the
 * owner NV range, -EEXIST when the index holds something else.
 */
#ifndef MCIM_TRE_COUNTER_H
#define MCIM_TRE_COUNTER_H

#include <stdint.h>

#include "tre.h"

int tre_nv_counter_read(struct tre *t, uint32_t index, uint64_t *ret);
/* One TPM2_NV_Increment; *ret_new (may be NULL) gets the new value. */
int tre_nv_counter_increment(struct tre *t, uint32_t index, uint64_t *ret_new);

#endif
