/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The operator's HTTPS server: libmicrohttpd with its GnuTLS backend, a pool
 * of worker threads, whole request bodies collected up to a per-route limit,
 * JSON answers.  What a request means is the router's business (api.c); this
 * file only moves bytes and enforces transport limits.
 */
#ifndef MCIM_OPERATOR_HTTP_H
#define MCIM_OPERATOR_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct http_server;

struct http_request {
	const char *method;   /* "GET", "POST", ... */
	const char *path;     /* without the query string */
	const char *client;   /* numeric source address */
	const char *body;     /* NUL-terminated; len bytes */
	size_t len;
};

struct http_response {
	unsigned status;
	char *body;             /* malloc'ed JSON text, freed by the server */
	unsigned retry_after;   /* seconds; 0: no Retry-After header */
	const char *content_type; /* NULL: application/json */
};

/* The largest body a route accepts; 0 refuses any body. */
typedef size_t (*http_limit_fn)(const char *method, const char *path, void *user);
typedef void (*http_route_fn)(const struct http_request *req, struct http_response *resp,
			      void *user);

struct http_config {
	const char *addr;       /* numeric IPv4/IPv6 */
	uint16_t port;          /* 0: any free port (see http_server_port) */
	unsigned workers;
	unsigned max_connections;
	unsigned max_per_address; /* 0: no limit */
	const char *cert_pem;   /* server certificate chain, PEM text; NULL: plain HTTP */
	const char *key_pem;    /* its private key, PEM text */
	http_limit_fn limit;
	http_route_fn route;
	void *user;
};

int http_server_start(const struct http_config *cfg, struct http_server **ret, char *why,
		      size_t why_size);
uint16_t http_server_port(const struct http_server *s);
/*
 * Stops accepting, finishes the requests in flight (waiting up to
 * HTTP_DRAIN_MS for them; their answers close the connection), frees the
 * server.
 */
#define HTTP_DRAIN_MS 30000
void http_server_stop(struct http_server *s);

/* A JSON error body {"error": {"code": code, "message": message}}. */
void http_error(struct http_response *resp, unsigned status, const char *code, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));

#endif
