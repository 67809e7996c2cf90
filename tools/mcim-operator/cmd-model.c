// SPDX-License-Identifier: LGPL-2.1-or-later
/* `mcim-operator model set|show|list`: device models' reference values (model.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "model.h"
#include "tools/mcim-operator/mcim-operator.h"

/* lib/model.c's names go into the store as they are. */
_Static_assert(MODEL_NAME_MAX <= OP_ID_MAX, "model names must fit the store");

static int print_model(const char *name, int64_t version, int64_t created, void *user)
{
	struct json_object *a = user;

	if (a) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "model", json_object_new_string(name));
		json_object_object_add(j, "version", json_object_new_int64(version));
		json_object_object_add(j, "created", json_object_new_int64(created));
		json_object_array_add(a, j);
	} else {
		printf("%-24s version %" PRId64 "\n", name, version);
	}
	return 0;
}

int cmd_model(struct cli *c, int argc, char **argv)
{
	_cleanup_(store_closep) struct store *s = NULL;
	_cleanup_free_ char *text = NULL;
	struct op_model m;
	char why[512];
	size_t len;
	int r;

	if (argc >= 2 && !strcmp(argv[1], "--help")) {
		printf("Usage: mcim-operator model set FILE.json\n"
		       "       mcim-operator model show NAME [VERSION]\n"
		       "       mcim-operator model list\n"
		       "set adds a version of a model's reference values (docs/operator.md \"Device\n"
		       "models\"); its \"version\" must be above the latest stored.\n");
		return EXIT_OK;
	}
	if (argc == 3 && !strcmp(argv[1], "set")) {
		r = read_file_max(argv[2], MODEL_BODY_MAX, &text, &len);
		if (r < 0)
			return cli_error(EXIT_FAILED, "%s: %s", argv[2],
					 r == -EFBIG ? "larger than the model limit" : strerror(-r));
		if (model_parse(text, len, &m, why, sizeof(why)) < 0)
			return cli_error(EXIT_FAILED, "%s: %s", argv[2], why);
		r = cli_store(c, &s);
		if (r == 0 && store_model_put(s, m.name, m.version, text) < 0)
			r = cli_error(EXIT_FAILED, "model set: %s", store_errmsg(s));
		if (r == 0)
			printf("model %s version %" PRId64 " (%s validation, %d PCRs)\n", m.name,
			       m.version, pva_mode_name(m.mode), __builtin_popcount(m.pcr_mask));
		model_free(&m);
		return r;
	}
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "show")) {
		int64_t version = -1;
		char *end;

		if (argc == 4) {
			version = strtoll(argv[3], &end, 10);
			if (*end || version < 1)
				return cli_error(EXIT_USAGE, "VERSION: a positive number");
		}
		r = cli_store(c, &s);
		if (r)
			return r;
		r = store_model_get(s, argv[2], version, NULL, &text);
		if (r == -ENOENT)
			return cli_error(EXIT_FAILED, "no model %s%s", argv[2],
					 argc == 4 ? " with that version" : "");
		if (r < 0)
			return cli_error(EXIT_FAILED, "model show: %s", store_errmsg(s));
		fputs(text, stdout);
		if (!*text || text[strlen(text) - 1] != '\n')
			putchar('\n');
		return EXIT_OK;
	}
	if (argc == 2 && !strcmp(argv[1], "list")) {
		struct json_object *a = c->json ? json_object_new_array() : NULL;

		r = cli_store(c, &s);
		if (r)
			return r;
		if (store_model_list(s, print_model, a) < 0) {
			json_object_put(a);
			return cli_error(EXIT_FAILED, "model list: %s", store_errmsg(s));
		}
		if (a)
			cli_print_json(a);
		return EXIT_OK;
	}
	return cli_error(EXIT_USAGE, "usage: model set FILE | model show NAME [VERSION] | model list");
}
