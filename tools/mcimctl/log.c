// SPDX-License-Identifier: LGPL-2.1-or-later
/* mcimctl log LEVEL: method "log.set" (admin). */
#include <getopt.h>
#include <stdio.h>

#include "daemon/mcimd/config.h"
#include "tools/mcimctl/mcimctl.h"

int cmd_log(const struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "log error|warning|notice|info|debug";
	struct json_object *res = NULL, *params;
	enum log_level l;
	int r = sub_options(argc, argv, usage);

	if (r >= 0)
		return r;
	if (operands(argc, argv, 1, 1, usage) < 0)
		return EXIT_USAGE;
	if (config_log_level_from_name(argv[optind], &l) < 0) {
		fprintf(stderr, "Usage: mcimctl %s\n", usage);
		return EXIT_USAGE;
	}
	params = json_object_new_object();
	json_object_object_add(params, "level", json_object_new_string(argv[optind]));
	r = ctl_call(c, "log.set", params, &res);
	if (r)
		return r;
	if (c->json)
		print_result(c, res);
	else
		printf("log level %s\n", config_log_level_name(l));
	json_object_put(res);
	return EXIT_OK;
}
