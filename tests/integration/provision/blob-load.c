/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blob-load NV_AUTH_HEX PARENT_RECORD_HEX KEY_BLOB_HEX: what someone with a
 * copy of mcimd's store and access to its TPM can do with an operator
 * profile's blobs (docs/change-format.md 7): load the storage parent under
 * the SRK and the key under it with the TRE, on $MCIM_TEST_TCTI.
 * PARENT_RECORD_HEX is the profile blob "parent" ("MCPP" 1 0 0 0 | bound |
 * tre blob, daemon/mcimd/revoke.c), KEY_BLOB_HEX the profile blob "key".
 * Prints "loaded" (exit 0) or "refused: ERRNO: MESSAGE" (exit 1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/tre/tre.h"
#include "hex.h"

static size_t from_hex(const char *s, uint8_t *buf, size_t max)
{
	int n = hex_decode(s, buf, max);

	if (n < 0) {
		fprintf(stderr, "blob-load: not hex: %.20s...\n", s);
		exit(2);
	}
	return (size_t)n;
}

int main(int argc, char **argv)
{
	static uint8_t rec[16 + TRE_BLOB_MAX], key[TRE_BLOB_MAX];
	struct tre_config cfg;
	struct tre_blob pb, kb;
	struct tre_parent *p;
	struct tre_key *k = NULL;
	struct tre *t = NULL;
	uint64_t bound = 0;
	size_t rl, kl;
	int r;

	if (argc != 4 || !getenv("MCIM_TEST_TCTI")) {
		fprintf(stderr, "usage: blob-load NV_AUTH_HEX PARENT_RECORD_HEX KEY_BLOB_HEX "
			"(with MCIM_TEST_TCTI)\n");
		return 2;
	}
	tre_config_init(&cfg);
	cfg.tcti = getenv("MCIM_TEST_TCTI");
	cfg.nv_auth.size = (UINT16)from_hex(argv[1], cfg.nv_auth.buffer, sizeof(cfg.nv_auth.buffer));
	rl = from_hex(argv[2], rec, sizeof(rec));
	kl = from_hex(argv[3], key, sizeof(key));
	if (rl < 16 || memcmp(rec, "MCPP\1\0\0\0", 8)) {
		fprintf(stderr, "blob-load: not a parent record\n");
		return 2;
	}
	for (int i = 8; i < 16; i++)
		bound = bound << 8 | rec[i];
	if (tre_blob_unmarshal(rec + 16, rl - 16, &pb) < 0 || tre_blob_unmarshal(key, kl, &kb) < 0) {
		fprintf(stderr, "blob-load: a blob does not parse\n");
		return 2;
	}
	r = tre_open(&cfg, &t);
	if (r < 0) {
		fprintf(stderr, "blob-load: %s\n", tre_open_error());
		return 2;
	}
	r = tre_parent_add(t, &pb, bound, &p);
	if (r == 0)
		r = tre_key_load(t, &kb, &k);
	if (r == 0)
		printf("loaded\n");
	else
		printf("refused: %s: %s\n", strerrorname_np(-r) ?: "?", tre_errmsg(t));
	tre_key_free(k);
	tre_close(t);
	return r == 0 ? 0 : 1;
}
