// SPDX-License-Identifier: LGPL-2.1-or-later
/* mcimctl attest NONCE: method "attest" (a TPM quote over NONCE, hex). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "tools/mcimctl/mcimctl.h"

int cmd_attest(const struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "attest NONCE-HEX";
	struct json_object *res = NULL, *params;
	uint8_t nonce[64];
	char norm[129];
	int r = sub_options(argc, argv, usage), n;

	if (r >= 0)
		return r;
	if (operands(argc, argv, 1, 1, usage) < 0)
		return EXIT_USAGE;
	/* TPM2B_DATA qualifyingData: at most the size of a digest (64). */
	n = hex_decode(argv[optind], nonce, sizeof(nonce));
	if (n < 8) {
		fprintf(stderr, "%s: the nonce must be 8..64 bytes of hex\n", c->prog);
		return EXIT_USAGE;
	}
	hex_encode(nonce, (size_t)n, norm);
	params = json_object_new_object();
	json_object_object_add(params, "nonce", json_object_new_string(norm));
	r = ctl_call(c, "attest", params, &res);
	if (r)
		return r;
	print_result(c, res);
	json_object_put(res);
	return EXIT_OK;
}
