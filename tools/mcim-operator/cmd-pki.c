// SPDX-License-Identifier: LGPL-2.1-or-later
/* `mcim-operator pki init`: the operator's root CA and keys (pki.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/mcim-operator/change.h"
#include "tools/mcim-operator/mcim-operator.h"
#include "tools/mcim-operator/pki.h"

int cmd_pki(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dns", required_argument, NULL, 'd' },
		{ "ip", required_argument, NULL, 'i' },
		{ "days", required_argument, NULL, 'D' },
		{ "organization", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *dns[PKI_MAX_NAMES], *ips[PKI_MAX_NAMES];
	struct pki_init_opts po = { .dns_names = dns, .ip_addresses = ips };
	char why[512], kek[OP_PATH_MAX + 32], root[OP_PATH_MAX + 32], sho_id[65], *end;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
		case 'i':
			if (po.n_dns_names + po.n_ip_addresses >= PKI_MAX_NAMES)
				return cli_error(EXIT_USAGE, "at most %d names", PKI_MAX_NAMES);
			if (o == 'd')
				dns[po.n_dns_names++] = optarg;
			else
				ips[po.n_ip_addresses++] = optarg;
			break;
		case 'D':
			po.days = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || po.days < 1 || po.days > PKI_MAX_DAYS)
				return cli_error(EXIT_USAGE, "--days: 1 to %d", PKI_MAX_DAYS);
			break;
		case 'o':
			po.organization = optarg;
			break;
		case 'f':
			po.force = true;
			break;
		case 'h':
			printf("Usage: mcim-operator pki init [--dns NAME]... [--ip ADDRESS]... "
			       "[--days N] [--organization O] [--force]\n"
			       "       mcim-operator pki show\n"
			       "Makes in [pki] dir (%s): the root CA devices pin (%s), the TLS server\n"
			       "certificate (%s, subjectAltName from --dns/--ip, default localhost and\n"
			       "127.0.0.1), the PVA's ticket key (%s), the DPF's signing key (%s,\n"
			       "extendedKeyUsage id-mcim-kp-package), the policy key (%s), and the\n"
			       "subscribers' key-encryption key ([sho] kek, default %s/%s).\n"
			       "Private keys are mode 0600. An existing PKI is kept unless --force.\n"
			       "pki show: this operator's sho_id, the SHA-256 of its root's\n"
			       "SubjectPublicKeyInfo (docs/change-format.md 1), which consents and\n"
			       "releases name.\n",
			       c->cfg.pki_dir, PKI_ROOT_CERT, PKI_SERVER_CERT, PKI_TICKET_CERT,
			       PKI_DPF_CERT, PKI_POLICY_KEY, c->cfg.pki_dir, PKI_KEK);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	snprintf(root, sizeof(root), "%s/%s", c->cfg.pki_dir, PKI_ROOT_CERT);
	if (optind + 1 == argc && !strcmp(argv[optind], "show")) {
		if (change_cert_load(root, false, NULL, sho_id, why, sizeof(why)) < 0)
			return cli_error(EXIT_SETUP, "%s", why);
		printf("sho_id %s\nroot %s\n", sho_id, root);
		return EXIT_OK;
	}
	if (optind + 1 != argc || strcmp(argv[optind], "init"))
		return cli_error(EXIT_USAGE, "usage: pki init [OPTIONS] | pki show (see pki --help)");
	op_config_kek_path(&c->cfg, kek, sizeof(kek));
	po.kek_path = kek;
	if (pki_init(c->cfg.pki_dir, &po, why, sizeof(why)) < 0)
		return cli_error(EXIT_FAILED, "pki init: %s", why);
	printf("operator PKI made in %s; devices pin %s/%s\n", c->cfg.pki_dir, c->cfg.pki_dir,
	       PKI_ROOT_CERT);
	if (change_cert_load(root, false, NULL, sho_id, why, sizeof(why)) == 0)
		printf("sho_id %s\n", sho_id);
	return EXIT_OK;
}
