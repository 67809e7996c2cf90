// SPDX-License-Identifier: LGPL-2.1-or-later
/* mcimctl apdu [--slot N] HEX: method "apdu" (admin, diagnostics). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "tools/mcimctl/mcimctl.h"

int cmd_apdu(const struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "apdu [--slot N] COMMAND-HEX";
	static const struct option opts[] = {
		{ "slot", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct json_object *res = NULL, *params;
	static uint8_t apdu[65536 + 9];
	static char norm[2 * sizeof(apdu) + 1];
	long slot = 0;
	int o, r, n;

	optind = 0;
	while ((o = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		char *end;

		if (o == 's') {
			slot = strtol(optarg, &end, 10);
			if (*end || slot < 0 || slot > 255) {
				fprintf(stderr, "%s: bad --slot '%s'\n", c->prog, optarg);
				return EXIT_USAGE;
			}
		} else if (o == 'h') {
			printf("Usage: mcimctl %s\n", usage);
			return EXIT_OK;
		} else {
			fprintf(stderr, "Usage: mcimctl %s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (operands(argc, argv, 1, 1, usage) < 0)
		return EXIT_USAGE;
	/* ISO/IEC 7816-4 5.1: at least CLA INS P1 P2. */
	n = hex_decode(argv[optind], apdu, sizeof(apdu));
	if (n < 4) {
		fprintf(stderr, "%s: the command must be at least 4 bytes of hex\n", c->prog);
		return EXIT_USAGE;
	}
	hex_encode(apdu, (size_t)n, norm);
	params = json_object_new_object();
	json_object_object_add(params, "slot", json_object_new_int((int)slot));
	json_object_object_add(params, "command", json_object_new_string(norm));
	r = ctl_call(c, "apdu", params, &res);
	if (r)
		return r;
	if (c->json)
		print_result(c, res);
	else
		printf("%s\n", json_str(res, "response"));
	json_object_put(res);
	return EXIT_OK;
}
