// SPDX-License-Identifier: LGPL-2.1-or-later
/* `mcim-operator device import|list|show|assign`: the DRF's registered fleet. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/mcim-operator/evidence.h"
#include "tools/mcim-operator/import.h"
#include "tools/mcim-operator/mcim-operator.h"

static struct json_object *device_json(const struct op_device *d)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "device_id", json_object_new_string(d->id));
	json_object_object_add(j, "ek", json_object_new_string(d->ek_type));
	json_object_object_add(j, "ek_ca", json_object_new_string(d->ek_ca));
	json_object_object_add(j, "model", json_object_new_string(d->model));
	json_object_object_add(j, "subscriber", json_object_new_string(d->subscriber));
	json_object_object_add(j, "sho", json_object_new_string(d->sho));
	json_object_object_add(j, "batch", json_object_new_string(d->batch));
	json_object_object_add(j, "created", json_object_new_int64(d->created));
	json_object_object_add(j, "validated", json_object_new_int64(d->validated));
	if (d->clock_known) {
		json_object_object_add(j, "reset_count", json_object_new_int64(d->reset_count));
		json_object_object_add(j, "restart_count", json_object_new_int64(d->restart_count));
	}
	return j;
}

static int print_device(const struct op_device *d, void *user)
{
	struct json_object *a = user;

	if (a)
		json_object_array_add(a, device_json(d));
	else
		printf("%s %-3s %-16s %-16s %-12s %s\n", d->id, d->ek_type, d->model, d->subscriber,
		       *d->sho ? d->sho : "-", d->validated ? "validated" : "-");
	return 0;
}

static int import(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sho", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },
		{},
	};
	_cleanup_(store_closep) struct store *s = NULL;
	struct ekcert_store *trust = NULL;
	struct import_opts io = { .now = time(NULL) };
	unsigned long count = 0;
	char why[512], name[256];
	struct timespec t0, t1;
	FILE *in;
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 's')
			io.sho = optarg;
		else if (o == 'b')
			io.batch = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind + 1 != argc)
		return cli_error(EXIT_USAGE, "usage: device import FILE.csv [--sho ID] [--batch NAME]");
	if (!io.batch) {
		snprintf(name, sizeof(name), "%s", argv[optind]);
		io.batch = basename(name);
		if (strrchr(io.batch, '.'))
			*strrchr(io.batch, '.') = 0;
	}
	in = !strcmp(argv[optind], "-") ? stdin : fopen(argv[optind], "re");
	if (!in)
		return cli_error(EXIT_FAILED, "%s: %s", argv[optind], strerror(errno));
	r = cli_store(c, &s);
	if (r == 0 && ekcert_store_load(c->cfg.manufacturers, &trust, why, sizeof(why)) < 0)
		r = cli_error(EXIT_SETUP, "trusted manufacturers: %s", why);
	if (r == 0) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (import_csv(s, trust, in, &io, &count, why, sizeof(why)) < 0)
			r = cli_error(EXIT_FAILED, "%s: %s; nothing was imported", argv[optind], why);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	}
	if (in != stdin)
		fclose(in);
	ekcert_store_free(trust);
	if (r)
		return r;
	if (c->json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "imported", json_object_new_int64((int64_t)count));
		json_object_object_add(j, "batch", json_object_new_string(io.batch));
		json_object_object_add(j, "seconds",
				       json_object_new_double((double)(t1.tv_sec - t0.tv_sec) +
							      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9));
		cli_print_json(j);
	} else {
		printf("imported %lu device%s (batch %s) in %.2f s\n", count, count == 1 ? "" : "s",
		       io.batch,
		       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	return EXIT_OK;
}

static int list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "subscriber", required_argument, NULL, 's' },
		{ "sho", required_argument, NULL, 'o' },
		{ "batch", required_argument, NULL, 'b' },
		{ "unassigned", no_argument, NULL, 'u' },
		{ "limit", required_argument, NULL, 'l' },
		{},
	};
	_cleanup_(store_closep) struct store *s = NULL;
	struct store_device_filter f = { 0 };
	struct json_object *a;
	char *end;
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm': f.model = optarg; break;
		case 's': f.subscriber = optarg; break;
		case 'o': f.sho = optarg; break;
		case 'b': f.batch = optarg; break;
		case 'u': f.unassigned = true; break;
		case 'l':
			f.limit = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || !f.limit)
				return cli_error(EXIT_USAGE, "--limit: a positive number");
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_error(EXIT_USAGE, "device list takes only options");
	r = cli_store(c, &s);
	if (r)
		return r;
	a = c->json ? json_object_new_array() : NULL;
	if (store_device_list(s, &f, print_device, a) < 0) {
		json_object_put(a);
		return cli_error(EXIT_FAILED, "device list: %s", store_errmsg(s));
	}
	if (a)
		cli_print_json(a);
	return EXIT_OK;
}

static int show(struct cli *c, const char *id)
{
	_cleanup_(store_closep) struct store *s = NULL;
	struct op_device d;
	struct json_object *j;
	int r;

	if (!device_id_valid(id))
		return cli_error(EXIT_USAGE, "a device id is 64 lowercase hex digits");
	r = cli_store(c, &s);
	if (r)
		return r;
	r = store_device_get(s, id, &d);
	if (r == -ENOENT)
		return cli_error(EXIT_FAILED, "no device %s", id);
	if (r < 0)
		return cli_error(EXIT_FAILED, "device show: %s", store_errmsg(s));
	j = device_json(&d);
	if (c->json) {
		cli_print_json(j);
		return EXIT_OK;
	}
	json_object_object_foreach(j, k, v)
		printf("%-14s %s\n", k, json_object_get_string(v));
	json_object_put(j);
	return EXIT_OK;
}

static int assign(struct cli *c, int argc, char **argv)
{
	_cleanup_(store_closep) struct store *s = NULL;
	const char *id = NULL, *batch = NULL, *sho;
	int64_t n = 0;
	int r;

	if (argc == 3) {
		id = argv[1];
		sho = argv[2];
		if (!device_id_valid(id))
			return cli_error(EXIT_USAGE, "a device id is 64 lowercase hex digits");
	} else if (argc == 4 && !strcmp(argv[1], "--batch")) {
		batch = argv[2];
		sho = argv[3];
	} else {
		return cli_error(EXIT_USAGE, "usage: device assign DEVICE_ID SHO | device assign --batch NAME SHO");
	}
	r = cli_store(c, &s);
	if (r)
		return r;
	if (store_device_assign(s, id, batch, !strcmp(sho, "-") ? "" : sho, &n) < 0)
		return cli_error(EXIT_FAILED, "device assign: %s", store_errmsg(s));
	printf("%" PRId64 " device%s assigned to %s\n", n, n == 1 ? "" : "s", sho);
	return EXIT_OK;
}

/* After a tamper report was investigated: the DPF serves the device again. */
static int clear_tamper(struct cli *c, const char *id)
{
	_cleanup_(store_closep) struct store *s = NULL;
	struct op_device d;
	int64_t n = 0;
	int r;

	if (!device_id_valid(id))
		return cli_error(EXIT_USAGE, "a device id is 64 lowercase hex digits");
	r = cli_store(c, &s);
	if (r)
		return r;
	if (store_device_get(s, id, &d) < 0)
		return cli_error(EXIT_FAILED, "no device %s", id);
	if (store_tamper_clear(s, id, time(NULL), &n) < 0)
		return cli_error(EXIT_FAILED, "device clear-tamper: %s", store_errmsg(s));
	printf("%" PRId64 " tamper report%s cleared\n", n, n == 1 ? "" : "s");
	return EXIT_OK;
}

int cmd_device(struct cli *c, int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "clear-tamper"))
		return clear_tamper(c, argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "import"))
		return import(c, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return list(c, argc - 1, argv + 1);
	if (argc == 3 && !strcmp(argv[1], "show"))
		return show(c, argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "assign"))
		return assign(c, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "switch"))
		return cmd_device_switch(c, argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "--help")) {
		printf("Usage: mcim-operator device import FILE.csv [--sho ID] [--batch NAME]\n"
		       "       mcim-operator device list [--model M] [--subscriber S] [--sho ID]\n"
		       "                                 [--batch NAME] [--unassigned] [--limit N]\n"
		       "       mcim-operator device show DEVICE_ID\n"
		       "       mcim-operator device assign DEVICE_ID SHO | --batch NAME SHO\n"
		       "       mcim-operator device clear-tamper DEVICE_ID\n"
		       "       mcim-operator device switch DEVICE_ID --to SHO --consent FILE\n"
		       "                                   [--release FILE]\n"
		       "import registers a fleet from a CSV with a header naming its columns:\n"
		       "ek_cert or ek_public (base64), model, subscriber, and optionally sho and\n"
		       "batch; every EK certificate must chain to [drf] manufacturers. A bad row\n"
		       "is reported with its line number and nothing of the file is imported.\n"
		       "SHO \"-\" unassigns. clear-tamper marks the device's tamper reports\n"
		       "handled: the DPF builds packages for it again. switch (the DRF): a switch\n"
		       "order, handed to the device in its registration answer (member \"switch\")\n"
		       "until a release report ends it (docs/change-format.md 4).\n");
		return EXIT_OK;
	}
	return cli_error(EXIT_USAGE, "usage: device import|list|show|assign|clear-tamper|switch (see device --help)");
}
