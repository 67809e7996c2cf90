// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mcimctl switch status|start|abort: the change of subscription
 * (docs/change-format.md 5), methods switch.status, switch.start and
 * switch.abort (the last two admin).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "tools/mcimctl/mcimctl.h"

static const char usage[] = "switch status|start|abort";

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v = json_object_object_get(o, key);

	return v ? json_object_get_string(v) : NULL;
}

static void print_switch(struct json_object *o)
{
	struct json_object *owe = json_object_object_get(o, "owed");
	struct json_object *sho = json_object_object_get(o, "sho");
	struct json_object *dl = json_object_object_get(o, "deadline");
	const char *s;

	printf("state     %s\n", str(o, "state"));
	if (!strcmp(str(o, "state"), "none"))
		return;
	printf("from      %s\n", str(o, "from"));
	printf("to        %s\n", str(o, "to") ?: "-");
	printf("sho       %s (%s)\n", str(sho, "name") ?: "?", str(sho, "id") ?: "?");
	if (dl) {
		time_t t = (time_t)json_object_get_int64(dl);
		long left = (long)(t - time(NULL));

		printf("deadline  %lld (%ld s left)\n", (long long)t, left > 0 ? left : 0);
	}
	if ((s = str(o, "reason")))
		printf("reason    %s\n", s);
	if ((s = str(o, "failure")))
		printf("failure   %s\n", s);
	printf("owed      receipt to B: %s, release report to A: %s\n",
	       json_object_get_boolean(json_object_object_get(owe, "receipt")) ? "yes" : "no",
	       json_object_get_boolean(json_object_object_get(owe, "report")) ? "yes" : "no");
}

int cmd_switch(const struct ctl *c, int argc, char **argv)
{
	static const char *const verbs[][2] = {
		{ "status", "switch.status" }, { "start", "switch.start" }, { "abort", "switch.abort" },
	};
	struct json_object *res = NULL;
	const char *method = NULL;
	int r;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: mcimctl %s\n", usage);
		return EXIT_OK;
	}
	for (size_t i = 0; argc == 2 && i < ARRAY_SIZE(verbs); i++)
		if (!strcmp(argv[1], verbs[i][0]))
			method = verbs[i][1];
	if (!method) {
		fprintf(stderr, "Usage: mcimctl %s\n", usage);
		return EXIT_USAGE;
	}
	r = ctl_call(c, method, NULL, &res);
	if (r)
		return r;
	if (c->json)
		print_result(c, res);
	else
		print_switch(res);
	json_object_put(res);
	return EXIT_OK;
}
