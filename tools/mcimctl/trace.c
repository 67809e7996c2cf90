// SPDX-License-Identifier: LGPL-2.1-or-later
/* mcimctl trace on [ADDRESS[:PORT]] | off: method "trace.set" (admin). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/mcimctl/mcimctl.h"

int cmd_trace(const struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "trace on [ADDRESS[:PORT]] | trace off";
	struct json_object *res = NULL, *params;
	int r = sub_options(argc, argv, usage), n;
	bool on;

	if (r >= 0)
		return r;
	n = operands(argc, argv, 1, 2, usage);
	if (n < 0)
		return EXIT_USAGE;
	on = !strcmp(argv[optind], "on");
	if ((!on && strcmp(argv[optind], "off")) || (!on && n == 2)) {
		fprintf(stderr, "Usage: mcimctl %s\n", usage);
		return EXIT_USAGE;
	}
	params = json_object_new_object();
	json_object_object_add(params, "enabled", json_object_new_boolean(on));
	if (n == 2)
		json_object_object_add(params, "target", json_object_new_string(argv[optind + 1]));
	r = ctl_call(c, "trace.set", params, &res);
	if (r)
		return r;
	if (c->json)
		print_result(c, res);
	else if (on)
		printf("tracing to %s\n", json_str(res, "target"));
	else
		printf("tracing off\n");
	json_object_put(res);
	return EXIT_OK;
}
