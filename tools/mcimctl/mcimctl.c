// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mcimctl: global options, then a subcommand from the table below (the
 * wireguard-tools wg.c pattern).  mcimctl(8) documents all of it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mcimd/config.h"
#include "macro.h"
#include "tools/mcimctl/mcimctl.h"

static const struct subcommand subcommands[] = {
	{ "status", cmd_status, "show the daemon's state" },
	{ "slot", cmd_slot, "list the virtual card slots (slot list)" },
	{ "profile", cmd_profile, "list, show, install, enable, disable, delete profiles" },
	{ "factory-install", cmd_factory_install,
	  "install the provisioning profile, time-limited (admin)" },
	{ "tamper", cmd_tamper, "record a tamper event (admin)" },
	{ "attest", cmd_attest, "produce a TPM quote over a nonce" },
	{ "apdu", cmd_apdu, "send a command APDU to the card engine (admin)" },
	{ "trace", cmd_trace, "switch GSMTAP APDU tracing on or off (admin)" },
	{ "log", cmd_log, "set the daemon's log level (admin)" },
	{ "register", cmd_register, "register the device with the operator's DRF (admin)" },
	{ "validate", cmd_validate, "have the operator's PVA validate the platform (admin)" },
	{ "provision", cmd_provision, "register, validate, download and enable a profile; or write a download request (admin)" },
	{ "switch", cmd_switch, "show, start or abort a change of subscription (start, abort: admin)" },
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [OPTIONS] COMMAND [ARGS...]\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH   control socket (default $MCIMD_SOCKET or %s)\n"
		"  -j, --json          print results as JSON\n"
		"  -t, --timeout MS    wait at most MS milliseconds for an answer (default 30000)\n"
		"  -V, --version       print the version\n"
		"  -h, --help          this help; COMMAND --help for a command's\n"
		"\n"
		"Commands:\n",
		prog, MCIMD_CONTROL_PATH);
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\nExit status: 0 ok, 1 request failed, 2 usage, 3 cannot connect,\n"
		   "4 permission denied, 5 not found, 6 no or bad answer,\n"
		   "7 profile enabled but its card not served; register, validate:\n"
		   "8 the operator refused, 9 operator unreachable or no answer in time,\n"
		   "10 TLS failed (not the pinned operator), 11 operator busy, retry later,\n"
		   "12 the operator's answer is malformed; profile install --package, provision:\n"
		   "13 the package was refused (the message names the check).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ctl c = {
		.socket = getenv("MCIMD_SOCKET") ? getenv("MCIMD_SOCKET") : MCIMD_CONTROL_PATH,
		.timeout_ms = 30000,
		.prog = "mcimctl",
	};
	int o;

	while ((o = getopt_long(argc, argv, "+s:jt:Vh", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			c.socket = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > 3600000) {
				fprintf(stderr, "%s: bad --timeout '%s'\n", c.prog, optarg);
				return EXIT_USAGE;
			}
			c.timeout_ms = (int)v;
			c.timeout_set = true;
			break;
		}
		case 'V':
			printf("mcimctl %s\n", MCIM_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout, c.prog);
			return EXIT_OK;
		default:
			usage(stderr, c.prog);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr, c.prog);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		if (!strcmp(argv[optind], subcommands[i].name))
			return subcommands[i].run(&c, argc - optind, argv + optind);
	fprintf(stderr, "%s: unknown command '%s' (see --help)\n", c.prog, argv[optind]);
	return EXIT_USAGE;
}
