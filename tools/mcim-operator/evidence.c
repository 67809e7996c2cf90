// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "hex.h"
#include "json-util.h"
#include "tools/mcim-operator/evidence.h"

bool device_id_valid(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

int tpm2b_public_from_bytes(const uint8_t *p, size_t n, TPM2B_PUBLIC *ret)
{
	size_t off = 0;

	memset(ret, 0, sizeof(*ret));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(p, n, &off, ret) || off != n)
		return -EINVAL;
	return 0;
}

int tpmt_signature_from_bytes(const uint8_t *p, size_t n, TPMT_SIGNATURE *ret)
{
	size_t off = 0;

	memset(ret, 0, sizeof(*ret));
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(p, n, &off, ret) || off != n)
		return -EINVAL;
	return 0;
}

/* A base64 member holding one marshalled TPM structure. */
static int tpm_member(struct json_object *o, const char *name, const char *what,
		      int (*conv)(const uint8_t *, size_t, void *), void *out, char *why,
		      size_t why_size)
{
	_cleanup_free_ uint8_t *b = NULL;
	size_t n;
	int r = ju_base64(o, name, false, 4096, &b, &n, why, why_size);

	if (r < 0)
		return r;
	if (conv(b, n, out) < 0) {
		snprintf(why, why_size, "member \"%s\" is not a marshalled %s", name, what);
		return -EINVAL;
	}
	return 0;
}

static int conv_public(const uint8_t *p, size_t n, void *out)
{
	return tpm2b_public_from_bytes(p, n, out);
}

static int conv_sig(const uint8_t *p, size_t n, void *out)
{
	return tpmt_signature_from_bytes(p, n, out);
}

static int object_member(struct json_object *o, const char *name, bool optional,
			 const char *const *members, struct json_object **ret, char *why,
			 size_t why_size)
{
	*ret = NULL;
	if (!json_object_object_get_ex(o, name, ret)) {
		if (optional)
			return 0;
		snprintf(why, why_size, "missing member \"%s\"", name);
		return -EINVAL;
	}
	return ju_only(*ret, name, members, why, why_size);
}

int evidence_parse_start(const char *body, size_t len, struct pva_start_request *ret, char *why,
			 size_t why_size)
{
	static const char *const members[] = { "device_id", "ak_public", NULL };
	_cleanup_json_ struct json_object *o = NULL;
	const char *id;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = ju_parse(body, len, 4, &o, why, why_size);
	if (r == 0)
		r = ju_only(o, "request", members, why, why_size);
	if (r == 0)
		r = ju_string(o, "device_id", false, 64, &id, why, why_size);
	if (r == 0 && !device_id_valid(id)) {
		snprintf(why, why_size, "\"device_id\" must be 64 lowercase hex digits");
		r = -EINVAL;
	}
	if (r == 0) {
		memcpy(ret->device_id, id, 65);
		r = tpm_member(o, "ak_public", "TPM2B_PUBLIC", conv_public, &ret->ak, why, why_size);
	}
	return r;
}

static int parse_pcr_values(struct json_object *o, struct tpm2_pcr_values *pv, char *why,
			    size_t why_size)
{
	static const char *const members[] = { "bank", "pcr", "digest", NULL };
	struct json_object *a;
	uint32_t mask = 0;
	int last = -1, r;
	size_t n;

	if (!json_object_object_get_ex(o, "pcr_values", &a) ||
	    !json_object_is_type(a, json_type_array)) {
		snprintf(why, why_size, "\"pcr_values\" must be an array");
		return -EINVAL;
	}
	n = json_object_array_length(a);
	if (!n || n > 24) {
		snprintf(why, why_size, "\"pcr_values\" must hold 1 to 24 values");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		const char *bank;
		int64_t pcr;
		char w[120];

		r = ju_only(e, "PCR value", members, w, sizeof(w));
		if (r == 0)
			r = ju_string(e, "bank", false, 16, &bank, w, sizeof(w));
		if (r == 0 && strcmp(bank, "sha256")) {
			snprintf(w, sizeof(w), "bank \"%.16s\" is not sha256", bank);
			r = -EINVAL;
		}
		if (r == 0)
			r = ju_int(e, "pcr", false, 0, 23, &pcr, w, sizeof(w));
		if (r == 0 && pcr <= last) {
			snprintf(w, sizeof(w), "PCRs must be in ascending order, each once");
			r = -EINVAL;
		}
		if (r == 0)
			r = ju_hex(e, "digest", pv->digests[i].buffer, 32, true, NULL, w, sizeof(w));
		if (r < 0) {
			snprintf(why, why_size, "\"pcr_values\"[%zu]: %s", i, w);
			return r;
		}
		pv->digests[i].size = 32;
		mask |= 1u << pcr;
		last = (int)pcr;
	}
	pv->count = (uint32_t)n;
	pv->selection.count = 1;
	pv->selection.pcrSelections[0].hash = TPM2_ALG_SHA256;
	pv->selection.pcrSelections[0].sizeofSelect = 3;
	for (unsigned i = 0; i < 3; i++)
		pv->selection.pcrSelections[0].pcrSelect[i] = (uint8_t)(mask >> (8 * i));
	return 0;
}

int evidence_parse(const char *body, size_t len, struct pva_evidence *ret, char *why,
		   size_t why_size)
{
	static const char *const members[] = { "credential_secret", "quote", "pcr_values", "srk",
					       "event_logs", "summary", NULL };
	static const char *const quote_members[] = { "attest", "signature", NULL };
	static const char *const srk_members[] = { "public", "attest", "signature", NULL };
	static const char *const log_members[] = { "tcg", "ima", NULL };
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *q, *srk, *logs;
	_cleanup_free_ uint8_t *secret = NULL;
	struct pva_evidence e = { 0 };
	size_t n;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len > EVIDENCE_BODY_MAX) {
		snprintf(why, why_size, "request larger than %u bytes", EVIDENCE_BODY_MAX);
		return -EINVAL;
	}
	r = ju_parse(body, len, 5, &o, why, why_size);
	if (r == 0)
		r = ju_only(o, "request", members, why, why_size);
	if (r == 0)
		r = ju_base64(o, "credential_secret", false, sizeof(e.credential_secret), &secret,
			      &n, why, why_size);
	if (r == 0) {
		memcpy(e.credential_secret, secret, n);
		e.credential_secret_len = n;
		OPENSSL_cleanse(secret, n);
		r = object_member(o, "quote", false, quote_members, &q, why, why_size);
	}
	if (r == 0)
		r = ju_base64(q, "attest", false, sizeof(TPMS_ATTEST), &e.quote, &e.quote_len, why,
			      why_size);
	if (r == 0)
		r = tpm_member(q, "signature", "TPMT_SIGNATURE", conv_sig, &e.quote_sig, why,
			       why_size);
	if (r == 0)
		r = parse_pcr_values(o, &e.pcrs, why, why_size);
	if (r == 0)
		r = object_member(o, "srk", false, srk_members, &srk, why, why_size);
	if (r == 0)
		r = tpm_member(srk, "public", "TPM2B_PUBLIC", conv_public, &e.srk, why, why_size);
	if (r == 0)
		r = ju_base64(srk, "attest", false, sizeof(TPMS_ATTEST), &e.srk_attest,
			      &e.srk_attest_len, why, why_size);
	if (r == 0)
		r = tpm_member(srk, "signature", "TPMT_SIGNATURE", conv_sig, &e.srk_sig, why,
			       why_size);
	if (r == 0)
		r = object_member(o, "event_logs", true, log_members, &logs, why, why_size);
	if (r == 0 && logs)
		r = ju_base64(logs, "tcg", true, PVA_LOG_MAX, &e.tcg_log, &e.tcg_log_len, why,
			      why_size);
	if (r == 0 && logs)
		r = ju_base64(logs, "ima", true, PVA_LOG_MAX, &e.ima_log, &e.ima_log_len, why,
			      why_size);
	if (r == 0)
		r = ju_base64(o, "summary", true, PVA_SUMMARY_MAX, &e.summary, &e.summary_len, why,
			      why_size);
	if (r < 0) {
		pva_evidence_free(&e);
		return r;
	}
	*ret = e;
	return 0;
}
