/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Batch registration (`mcim-operator device import FILE.csv`): the DRF's
 * fleet import.  The CSV (RFC 4180: comma-separated, optional double quotes)
 * starts with a header naming its columns, in any order:
 *   ek_cert     base64 of the EK certificate (DER, or PEM text)   } one of
 *   ek_public   base64 of a marshalled TPM2B_PUBLIC or DER SPKI   } the two
 *   model       device model (reference values: `model set`)      required
 *   subscriber  the M2M subscriber                                required
 *   sho         the chosen home operator (else --sho, else none)  optional
 *   batch       a batch name (else --batch, else the file name)   optional
 * Every row is checked (EK chain against the trusted manufacturers, fields)
 * before anything is written; the batch is one transaction: all or nothing.
 */
#ifndef MCIM_OPERATOR_IMPORT_H
#define MCIM_OPERATOR_IMPORT_H

#include <stdio.h>
#include <time.h>

#include "tools/mcim-operator/ekcert.h"
#include "tools/mcim-operator/store.h"

#define IMPORT_LINE_MAX (64u << 10)
#define IMPORT_ROWS_MAX 10000000u

struct import_opts {
	const char *sho;     /* default SHO, NULL: none */
	const char *batch;   /* default batch name */
	time_t now;
};

/* Returns 0 and *ret_count, or -errno with why naming the line and the problem. */
int import_csv(struct store *s, const struct ekcert_store *trust, FILE *in,
	       const struct import_opts *o, unsigned long *ret_count, char *why, size_t why_size);

#endif
