/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one parser of the PVA's request bodies (docs/operator-protocol.md 2.1
 * and 2.2): JSON text -> the structs of pva.h.  Pure; fuzzed by
 * tests/fuzz/fuzz-operator-requests.c.  Errors: -EINVAL with why, -ENOMEM.
 */
#ifndef MCIM_OPERATOR_EVIDENCE_H
#define MCIM_OPERATOR_EVIDENCE_H

#include "tools/mcim-operator/pva.h"

#define EVIDENCE_BODY_MAX (12u << 20)
#define REQUEST_BODY_MAX (64u << 10)

struct pva_start_request {
	char device_id[65];
	TPM2B_PUBLIC ak;
};

int evidence_parse_start(const char *body, size_t len, struct pva_start_request *ret, char *why,
			 size_t why_size);
int evidence_parse(const char *body, size_t len, struct pva_evidence *ret, char *why,
		   size_t why_size);

/* TPM structures from bytes: the whole buffer must be exactly one. */
int tpm2b_public_from_bytes(const uint8_t *p, size_t n, TPM2B_PUBLIC *ret);
int tpmt_signature_from_bytes(const uint8_t *p, size_t n, TPMT_SIGNATURE *ret);

/* A device id: 64 lowercase hex digits. */
bool device_id_valid(const char *s);

#endif
