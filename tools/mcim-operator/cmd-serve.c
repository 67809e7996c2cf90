// SPDX-License-Identifier: LGPL-2.1-or-later
/* `mcim-operator serve`: the HTTPS service until SIGTERM or SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "tools/mcim-operator/mcim-operator.h"
#include "tools/mcim-operator/server.h"

static int write_port(const char *path, uint16_t port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "%u\n", port);
	if (fclose(f) || rename(tmp, path))
		return -errno;
	return 0;
}

int cmd_serve(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *port_file = NULL;
	_cleanup_free_ char *cert = NULL, *key = NULL;
	char path[OP_PATH_MAX + 32], why[512];
	struct op_server s;
	struct http_server *h = NULL;
	sigset_t set;
	size_t len;
	int o, sig, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			port_file = optarg;
			break;
		case 'h':
			printf("Usage: mcim-operator serve [--port-file FILE]\n"
			       "Serves the DRF and the PVA over HTTPS on [server] listen until SIGTERM.\n"
			       "  --port-file FILE  write the port listened on (for listen = ADDR:0)\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_error(EXIT_USAGE, "serve takes no arguments");
	if (server_open(&s, &c->cfg, why, sizeof(why)) < 0)
		return cli_error(EXIT_SETUP, "%s", why);
	snprintf(path, sizeof(path), "%s/server.pem", c->cfg.pki_dir);
	r = read_file_max(path, 64u << 10, &cert, &len);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/server.key", c->cfg.pki_dir);
		r = read_file_max(path, 64u << 10, &key, &len);
	}
	if (r < 0) {
		server_close(&s);
		return cli_error(EXIT_SETUP, "%s: %s", path, strerror(-r));
	}
	/* Block the signals before the worker threads start: they inherit it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	const struct http_config hc = {
		.addr = c->cfg.listen_addr, .port = c->cfg.listen_port,
		.workers = c->cfg.workers, .max_connections = c->cfg.max_connections,
		.max_per_address = c->cfg.max_per_address,
		.cert_pem = cert, .key_pem = key,
		.limit = api_body_limit, .route = api_route, .user = &s,
	};
	r = http_server_start(&hc, &h, why, sizeof(why));
	explicit_bzero(key, len);
	if (r < 0) {
		server_close(&s);
		return cli_error(EXIT_SETUP, "%s", why);
	}
	fprintf(stderr, "mcim-operator: serving on %s port %u (store %s)\n", c->cfg.listen_addr,
		http_server_port(h), c->cfg.store_url);
	if (port_file && (r = write_port(port_file, http_server_port(h))) < 0)
		cli_error(EXIT_FAILED, "%s: %s", port_file, strerror(-r));
	if (r == 0)
		sigwait(&set, &sig);
	http_server_stop(h);
	server_close(&s);
	return r < 0 ? EXIT_FAILED : EXIT_OK;
}
