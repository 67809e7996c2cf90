// SPDX-License-Identifier: LGPL-2.1-or-later
/* mcimctl slot list: method "slot.list". */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "tools/mcimctl/mcimctl.h"

int cmd_slot(const struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "slot list";
	static const char *const cols[] = { "index", "device", "card", "iccid" };
	static const char *const heads[] = { "SLOT", "DEVICE", "CARD", "ICCID" };
	struct json_object *res = NULL, *slots;
	int r = sub_options(argc, argv, usage);

	if (r >= 0)
		return r;
	if (operands(argc, argv, 1, 1, usage) < 0 || strcmp(argv[optind], "list")) {
		if (optind < argc && strcmp(argv[optind], "list"))
			fprintf(stderr, "Usage: mcimctl %s\n", usage);
		return EXIT_USAGE;
	}
	r = ctl_call(c, "slot.list", NULL, &res);
	if (r)
		return r;
	if (c->json || !json_object_object_get_ex(res, "slots", &slots) ||
	    !json_object_is_type(slots, json_type_array))
		print_result(c, res);
	else
		print_table(slots, cols, heads, ARRAY_SIZE(cols));
	json_object_put(res);
	return EXIT_OK;
}
