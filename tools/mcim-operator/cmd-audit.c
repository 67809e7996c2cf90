// SPDX-License-Identifier: LGPL-2.1-or-later
/* `mcim-operator audit [DEVICE]`: every decision the DRF and the PVA took. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/mcim-operator/mcim-operator.h"

static int print_audit(int64_t at, const char *device, const char *event, const char *result,
		       const char *detail, void *user)
{
	struct json_object *a = user;

	if (a) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "at", json_object_new_int64(at));
		json_object_object_add(j, "device_id", json_object_new_string(device));
		json_object_object_add(j, "event", json_object_new_string(event));
		json_object_object_add(j, "result", json_object_new_string(result));
		json_object_object_add(j, "detail", json_object_new_string(detail));
		json_object_array_add(a, j);
	} else {
		char when[32];
		time_t t = (time_t)at;
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
		printf("%s %.16s %-10s %-8s %s\n", when, *device ? device : "-", event, result, detail);
	}
	return 0;
}

int cmd_audit(struct cli *c, int argc, char **argv)
{
	_cleanup_(store_closep) struct store *s = NULL;
	struct json_object *a;
	int r;

	if (argc > 2 || (argc == 2 && !strcmp(argv[1], "--help"))) {
		printf("Usage: mcim-operator audit [DEVICE_ID]\n"
		       "Lists registrations and validations, oldest first: time, device, event,\n"
		       "result and the reasons.\n");
		return argc > 2 ? EXIT_USAGE : EXIT_OK;
	}
	r = cli_store(c, &s);
	if (r)
		return r;
	a = c->json ? json_object_new_array() : NULL;
	if (store_audit_list(s, argc == 2 ? argv[1] : NULL, 0, print_audit, a) < 0) {
		json_object_put(a);
		return cli_error(EXIT_FAILED, "audit: %s", store_errmsg(s));
	}
	if (a)
		cli_print_json(a);
	return EXIT_OK;
}
