// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the JSON profile loader (daemon/usim/profile-json.c).
 * An input that loads must also make a working engine: a few fixed APDUs
 * (SELECT MF, STATUS, SELECT the USIM by partial AID, READ BINARY by SFI,
 * READ RECORD by SFI) run over it.  Reproduce with: usimsh FILE </dev/null
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/usim/profile-json.h"

#define RSP_SIZE (USIM_CMD_MAX + 2)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *apdu;
	size_t len;
} apdus[] = {
	{ "\x00\xa4\x00\x0c\x02\x3f\x00", 7 },
	{ "\x80\xf2\x00\x00\x00", 5 },
	{ "\x00\xa4\x04\x04\x07\xa0\x00\x00\x00\x87\x10\x02\x00", 13 },
	{ "\x00\xb0\x87\x00\x00", 5 },
	{ "\x00\xb2\x01\xf4\x00", 5 },
	{ "\x00\xc0\x00\x00\x00", 5 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rsp[RSP_SIZE];
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	struct aka_key key;
	struct usim_engine *e = NULL;
	char why[PROFILE_JSON_WHY_SIZE];

	if (profile_json_load_buf((const char *)data, size, &p, &k, why,
				  sizeof(why)) < 0) {
		/* A rejection always says why. */
		if (!why[0])
			abort();
		return 0;
	}
	/* Any K will do for these commands; the profile's if it has one. */
	if (!k.len || profile_json_key_new(p->aka.algo, &k, &key) < 0) {
		memset(k.k, 0x5a, 16);
		k.len = 16;
		if (profile_json_key_new(AKA_ALGO_MILENAGE, &k, &key) < 0)
			abort();
	}
	if (usim_engine_new(p, &key, &e) == 0) {
		for (size_t i = 0; i < sizeof(apdus) / sizeof(apdus[0]); i++) {
			const struct usim_change *c;
			size_t rsp_len = 0, n = 0;

			if (usim_engine_process(e, (const uint8_t *)apdus[i].apdu,
						apdus[i].len, rsp, sizeof(rsp),
						&rsp_len, &c, &n) < 0 ||
			    rsp_len < 2 || rsp_len > sizeof(rsp))
				abort();
		}
		usim_engine_free(e);
	}
	profile_json_key_free(&key);
	usim_profile_free(p);
	return 0;
}
