// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target of mcim-operator's request and model parsers and of the
 * PVA core behind them: the first byte picks what the rest is.
 *   0: a validation start body (evidence_parse_start);
 *   1: an evidence body (evidence_parse), then, when it parses, pva_verify()
 *      in each mode against a fixed model, nonce and AK, so that the quote,
 *      certification, event log and summary checks run on fuzzed bytes;
 *   2: a model document (model_parse);
 *   3: a DPF download request (package_request_parse), then its AK and SRK
 *      against a ticket's names (dpf_request_check);
 *   4: a receipt or 5: a tamper report (package_attested_parse, the report
 *      inside, then dpf_attested_verify with a fixed AK);
 *   6: a subscription's profile template (sub_template_fill).
 * A verdict or a quote must never pass (the fuzzer cannot sign with the AK),
 * and every failed check must carry a reason.
 */
#include <errno.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpm2-crypto.h"
#include "model.h"
#include "package.h"
#include "tools/mcim-operator/dpf.h"
#include "tools/mcim-operator/evidence.h"
#include "tools/mcim-operator/subscription.h"
#include "tools/mcim-operator/pva.h"

static TPM2B_PUBLIC ak;
static struct op_model model;
static const uint8_t nonce[32] = { 1 }, secret[32] = { 2 };

static void setup(void)
{
	static const char m[] =
		"{\"model\":\"gw\",\"version\":1,\"pcrs\":[0,1,10,23],"
		"\"reference\":{\"23\":\"0000000000000000000000000000000000000000000000000000000000000000\"},"
		"\"firmware_allow\":[],\"ima_allow\":[]}";
	EVP_PKEY *k = EVP_EC_gen("P-256");
	char why[256];

	if (!k || tpm2_public_from_evp(k, TPM2_ALG_SHA256,
				       TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					       TPMA_OBJECT_SENSITIVEDATAORIGIN |
					       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT,
				       &ak.publicArea) < 0 ||
	    model_parse(m, sizeof(m) - 1, &model, why, sizeof(why)) < 0)
		abort();
	EVP_PKEY_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct pva_start_request st;
	struct pva_evidence ev;
	struct op_model m;
	char why[256], *text;

	if (!ready++)
		setup();
	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 7) {
	case 0:
		evidence_parse_start(text, size - 1, &st, why, sizeof(why));
		break;
	case 1:
		if (evidence_parse(text, size - 1, &ev, why, sizeof(why)) == 0) {
			for (int mode = PVA_MODE_REMOTE; mode <= PVA_MODE_SEMI; mode++) {
				const struct pva_context ctx = {
					.nonce = nonce, .secret = secret, .ak = &ak, .model = &model,
					.mode = (enum pva_mode)mode,
				};
				struct pva_verdict v;

				if (pva_verify(&ctx, &ev, &v) != -EPERM)
					abort(); /* passed without the AK's signature */
				for (unsigned i = 0; i < v.n; i++)
					if (!v.checks[i].ok && !v.checks[i].reason[0])
						abort();
			}
			pva_evidence_free(&ev);
		}
		break;
	case 2:
		if (model_parse(text, size - 1, &m, why, sizeof(why)) == 0)
			model_free(&m);
		break;
	case 3: {
		struct package_request rq;
		struct ticket t = { 0 };
		const char *code = NULL;

		if (package_request_parse(text, size - 1, &rq, why, sizeof(why)) == 0) {
			/* a ticket naming the fixed AK: another AK or SRK is refused with a code */
			tpm2_public_name(&ak.publicArea, &t.ak_name);
			t.srk_name = t.ak_name;
			if (dpf_request_check(&rq, &t, &code, why, sizeof(why)) < 0 && !code)
				abort();
			package_request_free(&rq);
		}
		break;
	}
	case 4:
	case 5: {
		enum package_report_kind kind = data[0] % 7 == 4 ? PACKAGE_RECEIPT : PACKAGE_TAMPER;
		struct package_attested a;
		struct package_report rep;
		TPMS_ATTEST att;

		if (package_attested_parse(text, size - 1, kind, &a, why, sizeof(why)) == 0) {
			package_report_parse((const char *)a.body, a.body_len, &rep, why, sizeof(why));
			if (dpf_attested_verify(&a, &ak.publicArea, &att, why, sizeof(why)) == 0)
				abort(); /* verified without the AK's signature */
			package_attested_free(&a);
		}
		break;
	}
	case 6: {
		enum sub_algorithm alg = SUB_MILENAGE;
		char *out = NULL;

		if (sub_template_fill(text, size - 1, &alg, false, "8988211000000000178",
				      "001010123456789", &out, NULL, why, sizeof(why)) == 0)
			free(out);
		break;
	}
	}
	free(text);
	return 0;
}
