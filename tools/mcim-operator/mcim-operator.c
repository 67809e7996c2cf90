// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mcim-operator: the operator side of mcim (TR 33.812 DRF and PVA; DPF and
 * SHO follow).  `mcim-operator serve` runs the HTTPS service; the other
 * commands administer its store and PKI.  docs/man/mcim-operator.8.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "tools/mcim-operator/mcim-operator.h"

static const struct {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *help;
} commands[] = {
	{ "serve", cmd_serve, "run the HTTPS service (DRF, PVA, DPF)" },
	{ "pki", cmd_pki, "pki init: make the operator's CA, TLS and signing keys" },
	{ "device", cmd_device, "device import|list|show|assign: the registered fleet" },
	{ "model", cmd_model, "model set|show|list: device models' reference values" },
	{ "sho", cmd_sho, "sho add|list: the home operators devices can be assigned to" },
	{ "audit", cmd_audit, "audit [DEVICE]: the decisions taken" },
	{ "db", cmd_db, "db migrate: bring the store's schema up to date" },
	{ "subscription", cmd_subscription, "subscription create|list|show: the SHO's subscriptions" },
	{ "package", cmd_package, "package build: answer a download request offline (DPF)" },
	{ "export", cmd_export, "export: subscriptions for the HLR/HSS (CSV, osmo-hlr)" },
	{ "subscriber", cmd_subscriber, "subscriber add|list|show: the M2M subscribers' accounts" },
	{ "consent", cmd_consent, "consent sign|add|list: a subscriber's consent to a change" },
	{ "release", cmd_release, "release issue: let a subscription go to another SHO" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mcim-operator [-c CONFIG] [--json] COMMAND [ARGS...]\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE  configuration (default %s)\n"
		"      --json         machine-readable output\n"
		"  -h, --help         this help; COMMAND --help for a command's\n"
		"  -V, --version      the version\n"
		"\n"
		"Commands:\n",
		OP_CONFIG_PATH);
	for (unsigned i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nExit status: 0 ok, 1 failed or refused, 2 usage, 3 configuration, store or PKI.\n");
}

int cli_error(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("mcim-operator: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int cli_store(struct cli *c, struct store **ret)
{
	char why[512];

	if (store_open(c->cfg.store_url, ret, why, sizeof(why)) < 0)
		return cli_error(EXIT_SETUP, "store: %s", why);
	return 0;
}

void cli_print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, isatty(STDOUT_FILENO) ? JSON_C_TO_STRING_PRETTY
								      : JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	struct cli c = { 0 };
	char why[512];
	int o;

	/* Options before the command only: the command parses the rest. */
	while ((o = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			c.config_path = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("mcim-operator %s\n", MCIM_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i].name))
			continue;
		if (op_config_load(&c.cfg, c.config_path, why, sizeof(why)) < 0)
			return cli_error(EXIT_SETUP, "%s", why);
		argv += optind;
		argc -= optind;
		optind = 0; /* a full restart of getopt: the command's own options, permuted */
		return commands[i].fn(&c, argc, argv);
	}
	cli_error(EXIT_USAGE, "unknown command \"%s\" (see --help)", argv[optind]);
	return EXIT_USAGE;
}
