// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What `mcimctl register`, `mcimctl validate` and `mcimctl provision` share: the method call
 * (answered by mcimd when the flow with the operator ended), the steps
 * printed one per line as they pass (on a terminal, from `status` polled
 * while waiting; else at the end), the PVA's checks, and the exit code of
 * the failure's kind (error.data.kind, docs/control-api.md).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/mcimctl/mcimctl.h"

#define WAIT_MS (10 * 60 * 1000) /* mcimd bounds every step itself */

static const struct {
	const char *kind;
	int code;
} kinds[] = {
	{ "refused", EXIT_REFUSED },     { "unreachable", EXIT_UNREACHABLE },
	{ "timeout", EXIT_UNREACHABLE }, { "tls", EXIT_TLS },
	{ "retry-later", EXIT_RETRY },   { "bad-answer", EXIT_BADANSWER },
	{ "package", EXIT_PKG_REFUSED },
};

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *x = NULL;

	return o && json_object_object_get_ex(o, key, &x) ? x : NULL;
}

static void print_checks(const char *title, struct json_object *a, const char *key)
{
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);

		printf("       %s %-20s %s\n", title, json_str(e, "check"), json_str(e, key));
	}
}

struct progress {
	const struct ctl *c;
	size_t printed; /* steps printed already */
	bool live;      /* poll mcimd's status for the steps as they pass */
};

static void print_step(struct json_object *s)
{
	printf("  [ok] %-20s %s (%s ms)\n", json_str(s, "step"), json_str(s, "detail"),
	       json_str(s, "ms"));
}

/* The steps not printed yet; the PVA's checks after the evidence step. */
static void print_steps(struct progress *g, struct json_object *steps, struct json_object *checks)
{
	for (; steps && g->printed < json_object_array_length(steps); g->printed++) {
		struct json_object *s = json_object_array_get_idx(steps, g->printed);

		print_step(s);
		if (!strcmp(json_str(s, "step"), "evidence"))
			print_checks("passed", checks, "result");
	}
	fflush(stdout);
}

/* While waiting (on a terminal): the steps passed so far, from `status`. */
static void tick(void *arg)
{
	struct progress *g = arg;
	struct ctl quick = *g->c;
	struct json_object *st = NULL, *err = NULL;

	if (!g->live)
		return;
	quick.timeout_ms = 2000;
	if (ctl_call_err(&quick, "status", NULL, &st, &err, NULL, NULL) != EXIT_OK) {
		g->live = false; /* the final answer will say what happened */
		json_object_put(err);
		return;
	}
	print_steps(g, member(member(st, "provisioning"), "steps"), NULL);
	json_object_put(st);
}

int run_provision(const struct ctl *c, const char *method, const char *doing)
{
	struct ctl wait = *c;
	struct progress g = { .c = c, .live = !c->json && isatty(STDOUT_FILENO) };
	struct json_object *res = NULL, *err = NULL, *data, *kind;
	int r;

	if (!wait.timeout_set)
		wait.timeout_ms = WAIT_MS;
	if (g.live) {
		printf("%s...\n", doing);
		fflush(stdout);
	}
	r = ctl_call_err(&wait, method, NULL, &res, &err, tick, &g);
	if (r == EXIT_OK) {
		if (c->json) {
			print_result(c, res);
		} else {
			struct json_object *steps = member(res, "steps");
			bool checks_shown = false;

			for (size_t i = 0; steps && i < g.printed; i++)
				if (!strcmp(json_str(json_object_array_get_idx(steps, i), "step"),
					    "evidence"))
					checks_shown = true; /* passed before its checks came */
			print_steps(&g, steps, member(res, "checks"));
			if (checks_shown)
				print_checks("passed", member(res, "checks"), "result");
			if (member(res, "replaces"))
				printf("provisioned: profile %s (IMSI %s, sequence %s) installed, not "
				       "enabled: it replaces %s\n", json_str(res, "iccid"),
				       json_str(res, "imsi"), json_str(res, "sequence"),
				       json_str(res, "replaces"));
			else if (member(res, "sequence"))
				printf("provisioned: profile %s (IMSI %s, sequence %s) enabled\n",
				       json_str(res, "iccid"), json_str(res, "imsi"),
				       json_str(res, "sequence"));
			else if (member(res, "ticket_expires"))
				printf("valid: device %s, %s mode, ticket until %s\n",
				       json_str(res, "device_id"), json_str(res, "mode"),
				       json_str(res, "ticket_expires"));
			else
				printf("registered: device %s, home operator %s (%s)\n"
				       "  PVA %s\n  DPF %s\n",
				       json_str(res, "device_id"), json_str(member(res, "sho"), "name"),
				       json_str(member(res, "sho"), "id"), json_str(res, "pva_url"),
				       json_str(res, "dpf_url"));
		}
		json_object_put(res);
		return EXIT_OK;
	}
	if (!err)
		return r; /* no answer: ipc.c said why */
	data = member(err, "data");
	kind = member(data, "kind");
	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(json_object_get_string(kind), kinds[i].kind))
			r = kinds[i].code;
	if (c->json) {
		printf("%s\n", json_object_to_json_string_ext(err, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (data) {
		print_steps(&g, member(data, "steps"), NULL);
		printf("  [FAILED] %-16s %s\n", json_str(data, "step"), json_str(err, "message"));
		print_checks("failed", member(data, "failures"), "reason");
	}
	fprintf(stderr, "%s: %s: %s\n", c->prog, method, json_str(err, "message"));
	json_object_put(err);
	return r;
}
