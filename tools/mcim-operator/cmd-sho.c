// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `mcim-operator sho add|list`: the home operators (SHOs) devices are
 * assigned to, and the roots of the peer operators (docs/change-format.md 4).
 */
#include <json-c/json.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "tools/mcim-operator/change.h"
#include "tools/mcim-operator/mcim-operator.h"

static int print_sho(const struct op_sho *o, void *user)
{
	struct json_object *a = user;

	if (a) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "id", json_object_new_string(o->id));
		json_object_object_add(j, "name", json_object_new_string(o->name));
		json_object_object_add(j, "pva_url", json_object_new_string(o->pva_url));
		json_object_object_add(j, "dpf_url", json_object_new_string(o->dpf_url));
		json_object_object_add(j, "sho_id", json_object_new_string(o->root_id));
		json_object_array_add(a, j);
	} else {
		printf("%-16s %-24s pva %s  dpf %s%s%s\n", o->id, o->name, o->pva_url, o->dpf_url,
		       o->root_id[0] ? "  root " : "", o->root_id);
	}
	return 0;
}

static bool url_ok(const char *u)
{
	return !strncmp(u, "https://", 8) && strlen(u) > 8 && strlen(u) <= OP_URL_MAX &&
	       !strpbrk(u, " \t\r\n\"");
}

int cmd_sho(struct cli *c, int argc, char **argv)
{
	_cleanup_(store_closep) struct store *s = NULL;
	struct op_sho o = { 0 };
	int r;

	if (argc >= 2 && !strcmp(argv[1], "--help")) {
		printf("Usage: mcim-operator sho add ID NAME PVA_URL DPF_URL [--root PEM]\n"
		       "       mcim-operator sho list\n"
		       "ID: 1-%d characters of [A-Za-z0-9._-]; URLs: https://...\n"
		       "--root: the operator's root certificate (its `pki init` root-ca.pem): this\n"
		       "operator accepts releases signed under it and consents naming its sho_id\n"
		       "(SHA-256 of its SubjectPublicKeyInfo, printed) (docs/change-format.md 4).\n"
		       "Without --root an existing SHO keeps its root.\n", OP_ID_MAX);
		return EXIT_OK;
	}
	if ((argc == 6 || (argc == 8 && !strcmp(argv[6], "--root"))) && !strcmp(argv[1], "add")) {
		if (!*argv[2] || strlen(argv[2]) > OP_ID_MAX ||
		    strspn(argv[2], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
			    strlen(argv[2]))
			return cli_error(EXIT_USAGE, "SHO id \"%s\": 1-%d characters of [A-Za-z0-9._-]",
					 argv[2], OP_ID_MAX);
		if (strlen(argv[3]) >= sizeof(o.name) || !*argv[3])
			return cli_error(EXIT_USAGE, "name: 1-%zu characters", sizeof(o.name) - 1);
		if (!url_ok(argv[4]) || !url_ok(argv[5]))
			return cli_error(EXIT_USAGE, "PVA_URL and DPF_URL must be https:// URLs");
		snprintf(o.id, sizeof(o.id), "%s", argv[2]);
		snprintf(o.name, sizeof(o.name), "%s", argv[3]);
		snprintf(o.pva_url, sizeof(o.pva_url), "%s", argv[4]);
		snprintf(o.dpf_url, sizeof(o.dpf_url), "%s", argv[5]);
		if (argc == 8) {
			_cleanup_free_ char *pem = NULL;
			char why[512];
			size_t len;
			X509 *x = NULL;

			r = read_file_max(argv[7], OP_ROOT_PEM_MAX, &pem, &len);
			if (r < 0)
				return cli_error(EXIT_FAILED, "--root %s: %s", argv[7],
						 r == -EFBIG ? "too long" : strerror(-r));
			r = change_cert_load(pem, true, &x, o.root_id, why, sizeof(why));
			if (r == 0 && X509_check_ca(x) != 1)
				r = -EINVAL;
			X509_free(x);
			if (r < 0)
				return cli_error(EXIT_FAILED, "--root %s: not a PEM CA certificate",
						 argv[7]);
			snprintf(o.root, sizeof(o.root), "%s", pem);
		}
		r = cli_store(c, &s);
		if (r)
			return r;
		if (store_sho_put(s, &o) < 0)
			return cli_error(EXIT_FAILED, "sho add: %s", store_errmsg(s));
		if (o.root_id[0])
			printf("sho %s: root sho_id %s\n", o.id, o.root_id);
		return EXIT_OK;
	}
	if (argc == 2 && !strcmp(argv[1], "list")) {
		struct json_object *a = c->json ? json_object_new_array() : NULL;

		r = cli_store(c, &s);
		if (r)
			return r;
		if (store_sho_list(s, print_sho, a) < 0) {
			json_object_put(a);
			return cli_error(EXIT_FAILED, "sho list: %s", store_errmsg(s));
		}
		if (a)
			cli_print_json(a);
		return EXIT_OK;
	}
	return cli_error(EXIT_USAGE, "usage: sho add ID NAME PVA_URL DPF_URL [--root PEM] | sho list");
}
