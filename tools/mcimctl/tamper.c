// SPDX-License-Identifier: LGPL-2.1-or-later
/* mcimctl tamper [--revoke] [REASON]: method "tamper" (admin). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/mcimctl/mcimctl.h"

int cmd_tamper(const struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "tamper [--revoke] [REASON]";
	static const struct option opts[] = {
		{ "revoke", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct json_object *res = NULL, *params;
	bool revoke = false;
	int o, r;

	optind = 0;
	while ((o = getopt_long(argc, argv, "+rh", opts, NULL)) != -1) {
		if (o == 'r') {
			revoke = true;
		} else if (o == 'h') {
			printf("Usage: mcimctl %s\n", usage);
			return EXIT_OK;
		} else {
			fprintf(stderr, "Usage: mcimctl %s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (operands(argc, argv, 0, 1, usage) < 0)
		return EXIT_USAGE;
	params = json_object_new_object();
	json_object_object_add(params, "reason",
			       json_object_new_string(optind < argc ? argv[optind] : "mcimctl"));
	json_object_object_add(params, "revoke", json_object_new_boolean(revoke));
	r = ctl_call(c, "tamper", params, &res);
	if (r)
		return r;
	if (c->json)
		print_result(c, res);
	else
		printf("tamper event recorded\n");
	json_object_put(res);
	return EXIT_OK;
}
