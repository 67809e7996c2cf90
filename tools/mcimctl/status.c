// SPDX-License-Identifier: LGPL-2.1-or-later
/* mcimctl status: method "status". */
#include <getopt.h>

#include "tools/mcimctl/mcimctl.h"

int cmd_status(const struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "status";
	struct json_object *res = NULL;
	int r = sub_options(argc, argv, usage);

	if (r >= 0)
		return r;
	if (operands(argc, argv, 0, 0, usage) < 0)
		return EXIT_USAGE;
	r = ctl_call(c, "status", NULL, &res);
	if (r)
		return r;
	print_result(c, res);
	json_object_put(res);
	return EXIT_OK;
}
