// SPDX-License-Identifier: LGPL-2.1-or-later
/* `mcim-operator db migrate`: brings the configured store's schema up to date. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "tools/mcim-operator/mcim-operator.h"

int cmd_db(struct cli *c, int argc, char **argv)
{
	_cleanup_(store_closep) struct store *s = NULL;
	int64_t version = 0;
	int r;

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		printf("Usage: mcim-operator db migrate\n"
		       "Applies the schema migrations the store ([store] url) lacks, each in its\n"
		       "own transaction, under a lock that other instances wait for, and prints\n"
		       "the schema version.  serve does the same at start; run this first to\n"
		       "upgrade a fleet's database before its instances.\n");
		return EXIT_OK;
	}
	if (argc != 2 || strcmp(argv[1], "migrate"))
		return cli_error(EXIT_USAGE, "usage: mcim-operator db migrate");
	r = cli_store(c, &s);
	if (r)
		return r;
	if (store_schema_version(s, &version) < 0)
		return cli_error(EXIT_FAILED, "db: %s", store_errmsg(s));
	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "engine", json_object_new_string(store_engine(s)));
		json_object_object_add(o, "schema_version", json_object_new_int64(version));
		cli_print_json(o);
	} else {
		printf("%s: schema version %" PRId64 "\n", store_engine(s), version);
	}
	return EXIT_OK;
}
