// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mcimctl provision: the whole provisioning with the operator (method
 * provision.run: register when not registered, validate, download the
 * package, install it, the receipt, enable, release the provisioning
 * profile), steps printed as they pass (provision.c).
 * mcimctl provision --request FILE [--algorithm milenage|tuak]: the
 * download request of docs/package-format.md 3 and 5 (method
 * provision.request): a fresh nonce that mcimd keeps pending, the AK and
 * SRK public areas, the last validation ticket, the K form; written to FILE
 * for `mcim-operator package build --request FILE`.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/mcimctl/mcimctl.h"

static int write_request(const struct ctl *c, const char *path, struct json_object *req)
{
	const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t w;

	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", c->prog, path, strerror(errno));
		return EXIT_FAILED;
	}
	w = write(fd, text, len);
	if (w == (ssize_t)len)
		w = write(fd, "\n", 1) == 1 ? w : -1;
	if (w != (ssize_t)len || fsync(fd) < 0) {
		fprintf(stderr, "%s: %s: %s\n", c->prog, path, strerror(errno));
		close(fd);
		return EXIT_FAILED;
	}
	close(fd);
	return EXIT_OK;
}

int cmd_provision(const struct ctl *c, int argc, char **argv)
{
	static const char usage[] =
		"provision [--request FILE [--algorithm milenage|tuak]]";
	static const struct option opts[] = {
		{ "request", required_argument, NULL, 'r' },
		{ "algorithm", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *file = NULL, *algo = NULL;
	struct json_object *res = NULL, *params;
	int o, r;

	optind = 0;
	while ((o = getopt_long(argc, argv, "+r:a:h", opts, NULL)) != -1) {
		switch (o) {
		case 'r':
			file = optarg;
			break;
		case 'a':
			algo = optarg;
			if (strcmp(algo, "milenage") && strcmp(algo, "tuak")) {
				fprintf(stderr, "%s: --algorithm is milenage or tuak\n", c->prog);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			printf("Usage: mcimctl %s\n", usage);
			return EXIT_OK;
		default:
			fprintf(stderr, "Usage: mcimctl %s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (operands(argc, argv, 0, 0, usage) < 0)
		return EXIT_USAGE;
	if (!file) {
		if (algo) {
			fprintf(stderr, "%s: --algorithm goes with --request\n", c->prog);
			return EXIT_USAGE;
		}
		return run_provision(c, "provision.run", "Provisioning");
	}
	params = json_object_new_object();
	if (algo)
		json_object_object_add(params, "algorithm", json_object_new_string(algo));
	r = ctl_call(c, "provision.request", params, &res);
	if (r)
		return r;
	r = write_request(c, file, res);
	if (r == EXIT_OK) {
		if (c->json)
			print_result(c, res);
		else
			printf("download request written to %s (K form %s); the nonce is pending "
			       "in mcimd\n", file, json_str(res, "key_form"));
	}
	json_object_put(res);
	return r;
}
