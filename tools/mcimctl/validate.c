// SPDX-License-Identifier: LGPL-2.1-or-later
/* mcimctl validate: method "provision.validate" (admin): platform validation
 * by the operator's PVA (credential, quote, SRK certification, event logs);
 * the PVA's ticket is kept by mcimd for the download. */
#include "tools/mcimctl/mcimctl.h"

int cmd_validate(const struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "validate";
	int r = sub_options(argc, argv, usage);

	if (r >= 0)
		return r;
	if (operands(argc, argv, 0, 0, usage) < 0)
		return EXIT_USAGE;
	return run_provision(c, "provision.validate", "validating the platform with the operator");
}
