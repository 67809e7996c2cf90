// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target of the device's parsers of the operator's answers
 * (daemon/mcimd/operator-json.c): the first byte picks the parser
 * (registration with its optional switch order, session, result, error,
 * the DPF's package answer), the
 * rest is the body.  What a
 * parser accepts must hold its invariants (terminated strings of the
 * limits, a PCR selection within the TPM's sizes).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mcimd/operator-json.h"
#include "package.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct op_registration g;
	static struct op_session s;
	static struct op_result r;
	static struct op_error e;
	struct op_package pk;
	const char *body = (const char *)data + 1;
	char why[256];

	if (size < 1)
		return 0;
	size--;
	switch (data[0] % 5) {
	case 0:
		if (op_parse_registration(body, size, &g, why, sizeof(why)) == 0)
			assert(strlen(g.device_id) == 64 && !strncmp(g.pva_url, "https://", 8) &&
			       (!g.has_switch ||
				(g.sw.consent_len >= 1 && g.sw.consent_len <= OP_TOKEN_MAX &&
				 g.sw.release_len <= OP_TOKEN_MAX &&
				 !strncmp(g.sw.dpf_url, "https://", 8))));
		break;
	case 1:
		if (op_parse_session(body, size, &s, why, sizeof(why)) == 0)
			assert(s.sel.count >= 1 && s.sel.count <= TPM2_NUM_PCR_BANKS &&
			       s.nonce_len >= OP_NONCE_MIN && s.nonce_len <= OP_NONCE_MAX &&
			       s.blob.size <= sizeof(s.blob.credential) &&
			       s.secret.size <= sizeof(s.secret.secret));
		break;
	case 2:
		if (op_parse_result(body, size, &r, why, sizeof(why)) == 0)
			assert(r.n_checks <= OP_CHECKS_MAX && strlen(r.ticket) <= OP_TICKET_MAX);
		break;
	case 3:
		if (op_parse_error(body, size, &e, why, sizeof(why)) == 0)
			assert(e.n_failures <= OP_CHECKS_MAX && e.code[0]);
		break;
	default:
		if (op_parse_package(body, size, &pk, why, sizeof(why)) == 0) {
			assert(pk.der && pk.der_len <= PACKAGE_MAX && pk.sequence >= 1 &&
			       strlen(pk.iccid) >= 18);
			free(pk.der);
		}
		break;
	}
	assert(strlen(why) < sizeof(why));
	return 0;
}
