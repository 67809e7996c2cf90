/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A device model's reference values (docs/operator.md "Device models"): what
 * the PVA compares a device's evidence with, and what mcimd checks its own
 * logs against in semi-autonomous validation ([provisioning] reference of
 * mcimd.conf(5)).  A JSON document, versioned:
 *
 *   {"model": "gw-1000", "version": 3, "mode": "remote",
 *    "pcrs": [0, 1, 2, 3, 4, 5, 6, 7, 10, 23],
 *    "key_pcrs": [0, 2, 4, 7, 23],
 *    "reference": {"23": "<sha256 hex>", ...},
 *    "firmware_allow": ["<sha256 hex>", ...],
 *    "ima_allow": [{"path": "/usr/bin/env", "digest": "sha256:<hex>"}, ...]}
 *
 * PCRs are those of the SHA-256 bank (the bank the TRE binds keys to).  Every
 * selected PCR must be covered by something the PVA can check: a reference
 * value, or a log and an allowlist (PCRs 0-7: the firmware log with
 * firmware_allow; PCR 10: the IMA log with ima_allow).  In autonomous mode
 * every selected PCR needs a reference value (the PVA compares the quoted
 * digest with the policy the keys are bound to); in semi-autonomous mode the
 * device checks its PCRs itself and reference values are optional.
 *
 * key_pcrs (optional) are the PCRs the subscription's keys are bound to
 * (PolicyPCR under the operator's PolicyAuthorize, docs/package-format.md
 * section 2): a non-empty subset of pcrs without PCR 10 (IMA's, which grows
 * with every program run); absent, pcrs without 10.
 *
 * model_parse() is the one parser of this format; it is pure.
 */
#ifndef MCIM_MODEL_H
#define MCIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_NAME_MAX 64 /* bytes of a model name (the operator's OP_ID_MAX) */
#define MODEL_PCRS 24
#define MODEL_BODY_MAX (16u << 20)
#define MODEL_FW_MAX 100000u
#define MODEL_IMA_MAX 500000u
#define MODEL_PATH_MAX 4096u

enum pva_mode { PVA_MODE_REMOTE, PVA_MODE_AUTONOMOUS, PVA_MODE_SEMI };
const char *pva_mode_name(enum pva_mode m);
int pva_mode_from_name(const char *s, enum pva_mode *ret);

struct model_ima {
	char *path;
	uint16_t alg;        /* TPM2_ALG_SHA1 / SHA256 / SHA384 / SHA512 */
	uint8_t digest[64];
	uint16_t digest_len;
};

struct op_model {
	char name[MODEL_NAME_MAX + 1];
	int64_t version;
	enum pva_mode mode;
	uint32_t pcr_mask;              /* selected PCRs, sha256 bank */
	uint32_t key_pcr_mask;          /* key_pcrs: a subset of pcr_mask without 10 */
	uint32_t ref_mask;              /* PCRs with a reference value */
	uint8_t ref[MODEL_PCRS][32];
	bool has_fw_allow, has_ima_allow;
	size_t nfw;
	uint8_t (*fw)[32];              /* sorted */
	size_t nima;
	struct model_ima *ima;          /* sorted by path, then digest */
};

int model_parse(const char *json, size_t len, struct op_model *ret, char *why, size_t why_size);
void model_free(struct op_model *m);

/* Whether the allowlists allow an event digest / an IMA file measurement. */
bool model_fw_allowed(const struct op_model *m, const uint8_t digest[32]);
bool model_ima_allowed(const struct op_model *m, const char *path, uint16_t alg,
		       const uint8_t *digest, size_t len);

#endif
