// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `mcim-operator package build --request FILE --out PKG`: the DPF offline
 * (docs/package-format.md section 5): answers a download request that
 * `mcimctl provision --request` wrote, exactly as POST /v1/dpf/package would
 * (the same checks, the same store transaction, audited).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "package.h"
#include "tools/mcim-operator/dpf.h"
#include "tools/mcim-operator/mcim-operator.h"

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int r = 0;

	if (fd < 0)
		return -errno;
	while (n && r == 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			r = w < 0 ? -errno : -EIO;
		else {
			p += w;
			n -= (size_t)w;
		}
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	return r;
}

int cmd_package(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "request", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(store_closep) struct store *s = NULL;
	_cleanup_(dpf_keys_freep) struct dpf_keys *k = NULL;
	_cleanup_(pki_signer_freep) struct pki_signer *tk = NULL;
	_cleanup_free_ char *body = NULL;
	const char *req = NULL, *outp = NULL;
	char why[512], cert[OP_PATH_MAX + 32], key[OP_PATH_MAX + 32];
	struct dpf_outcome out;
	size_t len;
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'r': req = optarg; break;
		case 'o': outp = optarg; break;
		case 'h':
			printf("Usage: mcim-operator package build --request FILE --out PKG\n"
			       "Answers a download request (mcimctl provision --request) as the DPF\n"
			       "would (docs/package-format.md sections 3 and 5): the ticket, the AK and\n"
			       "SRK, the nonce, tamper reports and the device's subscription are\n"
			       "checked, the ticket is used up, and the signed package is written to PKG\n"
			       "(DER; an existing file is not replaced).\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || strcmp(argv[optind], "build") || !req || !outp)
		return cli_error(EXIT_USAGE, "usage: package build --request FILE --out PKG");
	if (access(outp, F_OK) == 0)
		return cli_error(EXIT_FAILED, "%s exists: not replaced", outp);
	r = read_file_max(req, PACKAGE_MESSAGE_MAX, &body, &len);
	if (r < 0)
		return cli_error(EXIT_FAILED, "%s: %s", req, strerror(-r));
	snprintf(cert, sizeof(cert), "%s/%s", c->cfg.pki_dir, PKI_TICKET_CERT);
	snprintf(key, sizeof(key), "%s/%s", c->cfg.pki_dir, PKI_TICKET_KEY);
	if (pki_signer_load(cert, key, &tk, why, sizeof(why)) < 0 ||
	    dpf_keys_load(&c->cfg, &k, why, sizeof(why)) < 0)
		return cli_error(EXIT_SETUP, "PKI: %s", why);
	r = cli_store(c, &s);
	if (r)
		return r;
	r = dpf_issue(s, tk->cert, k, time(NULL), body, len, NULL, NULL, &out);
	if (r < 0)
		return cli_error(EXIT_FAILED, "refused (%s): %s", out.code, out.why);
	r = write_file(outp, out.der, out.der_len);
	free(out.der);
	if (r < 0)
		return cli_error(EXIT_FAILED, "%s: %s (sequence %" PRId64 " was issued; ask again with a "
					      "new ticket)", outp, strerror(-r), out.sequence);
	printf("package %" PRId64 " for ICCID %s written to %s\n", out.sequence, out.iccid, outp);
	return EXIT_OK;
}
