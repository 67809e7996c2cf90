// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the TCG crypto-agile event log parser (lib/eventlog-tcg.c),
 * replayed into each bank a log can carry, with a callback that reads every
 * byte it is handed.  Besides ASan/UBSan it checks that a replay either
 * succeeds with PCR values only in the PCRs it touched or fails with a reason.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"

static int touch(const struct evlog_tcg_event *ev, void *user)
{
	unsigned *sum = user;

	for (uint32_t i = 0; i < ev->digest_len; i++)
		*sum += ev->digest[i];
	for (uint32_t i = 0; i < ev->data_len; i++)
		*sum += ev->data[i];
	if (ev->pcr >= EVLOG_PCRS || (ev->index == 0 && ev->digest))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const TPMI_ALG_HASH banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
					       TPM2_ALG_SHA512 };
	TPMI_ALG_HASH have[EVLOG_TCG_MAX_ALGS];
	struct evlog_pcrs p;
	char why[128];
	unsigned sum = 0;
	int n = evlog_tcg_banks(data, size, have, EVLOG_TCG_MAX_ALGS, why, sizeof(why));

	if (n < 0 && why[0] == '\0')
		abort();
	for (size_t i = 0; i < sizeof(banks) / sizeof(banks[0]); i++) {
		int r = evlog_tcg_replay(data, size, banks[i], touch, &sum, &p, why, sizeof(why));

		if (r < 0 && why[0] == '\0')
			abort();
		if (r == 0) {
			for (int k = 0; k < EVLOG_PCRS; k++) {
				static const uint8_t zero[EVLOG_DIGEST_MAX];

				if (!(p.touched & (1u << k)) && memcmp(p.value[k], zero, p.size))
					abort();
			}
		}
	}
	return 0;
}
