// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `mcim-operator serve`: the HTTPS service until SIGTERM or SIGINT, then a
 * graceful stop (readiness goes 503, no new connections, the requests in
 * flight finish, exit 0); the metrics on their own plain-HTTP port.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
		{ "metrics-port-file", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *port_file = NULL, *metrics_port_file = NULL;
	_cleanup_free_ char *cert = NULL, *key = NULL;
	char path[OP_PATH_MAX + 32], why[512];
	struct op_server s;
	struct http_server *h = NULL, *mh = NULL;
	sigset_t set;
	size_t len;
	int o, sig, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			port_file = optarg;
			break;
		case 'm':
			metrics_port_file = optarg;
			break;
		case 'h':
			printf("Usage: mcim-operator serve [--port-file FILE] [--metrics-port-file FILE]\n"
			       "Serves the DRF and the PVA over HTTPS on [server] listen until SIGTERM,\n"
			       "then finishes the requests in flight and exits 0.  Prometheus metrics\n"
			       "on [metrics] listen (plain HTTP, GET /metrics) when set.\n"
			       "  --port-file FILE          write the port listened on (for listen = ADDR:0)\n"
			       "  --metrics-port-file FILE  the same for the metrics port\n");
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
	if (c->cfg.metrics_addr[0]) {
		const struct http_config mc = {
			.addr = c->cfg.metrics_addr, .port = c->cfg.metrics_port, .workers = 1,
			.max_connections = 16, .limit = api_body_limit,
			.route = api_metrics_route, .user = &s,
		};

		r = http_server_start(&mc, &mh, why, sizeof(why));
		if (r < 0) {
			http_server_stop(h);
			server_close(&s);
			return cli_error(EXIT_SETUP, "[metrics] listen: %s", why);
		}
		if (metrics_port_file && (r = write_port(metrics_port_file, http_server_port(mh))) < 0)
			cli_error(EXIT_FAILED, "%s: %s", metrics_port_file, strerror(-r));
	}
	/* The URL may hold a password: name the engine only. */
	fprintf(stderr, "mcim-operator: serving on %s port %u (store: %s)\n", c->cfg.listen_addr,
		http_server_port(h), store_engine(s.store));
	if (r == 0 && port_file && (r = write_port(port_file, http_server_port(h))) < 0)
		cli_error(EXIT_FAILED, "%s: %s", port_file, strerror(-r));
	if (r == 0)
		sigwait(&set, &sig);
	atomic_store(&s.draining, true);
	http_server_stop(h);
	http_server_stop(mh);
	server_close(&s);
	return r < 0 ? EXIT_FAILED : EXIT_OK;
}
