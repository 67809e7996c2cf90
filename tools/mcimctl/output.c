// SPDX-License-Identifier: LGPL-2.1-or-later
/* mcimctl's output: JSON for scripts, "key: value" lines and tables for people. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "tools/mcimctl/mcimctl.h"

const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *x;

	if (!json_object_object_get_ex(o, key, &x) || json_object_is_type(x, json_type_null))
		return "-";
	return json_object_get_string(x);
}

static void print_kv(const char *prefix, struct json_object *o)
{
	json_object_object_foreach(o, key, val) {
		char name[128];

		snprintf(name, sizeof(name), "%s%s", prefix, key);
		if (json_object_is_type(val, json_type_object)) {
			char sub[130];

			snprintf(sub, sizeof(sub), "%s.", name);
			print_kv(sub, val);
		} else if (json_object_is_type(val, json_type_array)) {
			printf("%s:", name);
			for (size_t i = 0; i < json_object_array_length(val); i++) {
				struct json_object *e = json_object_array_get_idx(val, i);

				printf(" %s", json_object_is_type(e, json_type_object)
						      ? json_object_to_json_string_ext(
								e, JSON_C_TO_STRING_PLAIN)
						      : json_object_get_string(e));
			}
			printf("\n");
		} else {
			printf("%s: %s\n", name,
			       json_object_is_type(val, json_type_null) ? "-"
									: json_object_get_string(val));
		}
	}
}

void print_result(const struct ctl *c, struct json_object *result)
{
	if (c->json)
		printf("%s\n", json_object_to_json_string_ext(
				       result, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_kv("", result);
}

void print_table(struct json_object *array, const char *const *columns,
		 const char *const *headers, size_t n)
{
	size_t width[16] = { 0 }, rows = json_object_array_length(array);

	if (n > ARRAY_SIZE(width))
		n = ARRAY_SIZE(width);
	for (size_t k = 0; k < n; k++)
		width[k] = strlen(headers[k]);
	for (size_t i = 0; i < rows; i++)
		for (size_t k = 0; k < n; k++) {
			size_t l = strlen(json_str(json_object_array_get_idx(array, i),
						   columns[k]));

			width[k] = MAX(width[k], l);
		}
	for (size_t k = 0; k < n; k++)
		printf("%-*s%s", (int)width[k], headers[k], k + 1 < n ? "  " : "\n");
	for (size_t i = 0; i < rows; i++)
		for (size_t k = 0; k < n; k++)
			printf("%-*s%s", (int)(k + 1 < n ? width[k] : 0),
			       json_str(json_object_array_get_idx(array, i), columns[k]),
			       k + 1 < n ? "  " : "\n");
}

int sub_options(int argc, char **argv, const char *usage)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int o;

	optind = 0; /* glibc: reinitialise for the subcommand's argv */
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (o == 'h') {
			printf("Usage: mcimctl %s\n", usage);
			return EXIT_OK;
		}
		fprintf(stderr, "Usage: mcimctl %s\n", usage);
		return EXIT_USAGE;
	}
	return -1;
}

int operands(int argc, char **argv, int min, int max, const char *usage)
{
	int n = argc - optind;

	(void)argv;
	if (n < min || n > max) {
		fprintf(stderr, "Usage: mcimctl %s\n", usage);
		return -1;
	}
	return n;
}
