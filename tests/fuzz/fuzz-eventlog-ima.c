// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the IMA measurement list parser (lib/eventlog-ima.c),
 * replayed into the four banks it can compute, with a callback that reads
 * every byte and string it is handed.  Besides ASan/UBSan it checks that a
 * failure has a reason and that the strings are bounded as documented.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"

static int touch(const struct evlog_ima_entry *e, void *user)
{
	unsigned *sum = user;

	for (uint32_t i = 0; i < e->template_digest_len; i++)
		*sum += e->template_digest[i];
	for (uint32_t i = 0; i < e->file_digest_len; i++)
		*sum += e->file_digest[i];
	if (strlen(e->template_name) > EVLOG_IMA_MAX_TEMPLATE_NAME ||
	    strlen(e->path) >= EVLOG_IMA_MAX_PATH || e->pcr >= EVLOG_PCRS ||
	    e->file_digest_len != evlog_hash_size(e->file_alg))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const TPMI_ALG_HASH banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
					       TPM2_ALG_SHA512 };
	struct evlog_pcrs p;
	char why[128];
	unsigned sum = 0;
	int first = 1;

	for (size_t i = 0; i < sizeof(banks) / sizeof(banks[0]); i++) {
		int r = evlog_ima_replay(data, size, banks[i], i == 0 ? touch : NULL, &sum, &p, why,
					 sizeof(why));

		if (r < 0 && why[0] == '\0')
			abort();
		/* the verdict does not depend on the bank */
		if (first != 1 && (r == 0) != (first == 0))
			abort();
		first = r;
	}
	return 0;
}
