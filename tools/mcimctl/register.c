// SPDX-License-Identifier: LGPL-2.1-or-later
/* mcimctl register: method "provision.register" (admin): the EK certificate
 * to the operator's DRF, which names the home operator and its PVA/DPF. */
#include "tools/mcimctl/mcimctl.h"

int cmd_register(const struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "register";
	int r = sub_options(argc, argv, usage);

	if (r >= 0)
		return r;
	if (operands(argc, argv, 0, 0, usage) < 0)
		return EXIT_USAGE;
	return run_provision(c, "provision.register", "registering with the operator");
}
