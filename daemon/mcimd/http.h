/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * HTTPS requests of the provisioning client, on libcurl's multi socket API
 * inside mcimd's epoll loop (loop.h): curl's sockets and its timer are loop
 * sources, so the card keeps being served while a request is in flight.
 *
 * Every request: POST of a JSON body to an https:// URL; the server must
 * present a certificate chain to the one pinned root (CURLOPT_CAINFO, no
 * CA directory, no system store), TLS 1.2 or later, peer and host
 * verified, no redirects, no other protocol; a proxy only as libcurl takes
 * it from the environment (https_proxy, no_proxy); the response body is
 * limited to body_max bytes.  One attempt lasts at most timeout_s; an
 * attempt that failed in a way a retry can mend (below) is retried up to
 * retries times after a backoff of 1, 2, 4, ... s (at most 30 s) or after
 * the server's Retry-After when it asks for at most HTTP_RETRY_AFTER_MAX s.
 *
 * Retried: the server could not be reached (resolve, connect), 503, 429
 * with an acceptable Retry-After; when the request is idempotent also a
 * timeout, a connection cut during the exchange, 500, 502 and 504.
 */
#ifndef MCIM_MCIMD_HTTP_H
#define MCIM_MCIMD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/mcimd/loop.h"

#define HTTP_RETRY_AFTER_MAX 60 /* s: a longer wait is the caller's to decide */
#define HTTP_BACKOFF_MAX 30     /* s */

struct http;
struct http_xfer;

/* Why an exchange failed; HTTP_OK when an HTTP answer arrived (any status). */
enum http_fail {
	HTTP_OK = 0,
	HTTP_UNREACHABLE, /* resolve, connect, proxy */
	HTTP_TLS,         /* the certificate did not verify, or the handshake failed */
	HTTP_TIMEOUT,
	HTTP_TOO_LARGE,   /* the body was over body_max */
	HTTP_IO,          /* cut during the exchange, or a protocol error */
	HTTP_LOCAL,       /* our side: no memory, a bad CA file, a bad URL */
};
const char *http_fail_name(enum http_fail f);

struct http_request {
	const char *url;   /* https:// */
	const char *body;  /* JSON */
	size_t len;
	const char *ca;    /* the pinned root (PEM file) */
	long timeout_s;    /* one attempt */
	unsigned retries;
	bool idempotent;
	size_t body_max;   /* of the response */
};

struct http_response {
	enum http_fail fail;
	char why[256];      /* with fail: libcurl's words and what it means */
	long status;        /* HTTP status when fail is HTTP_OK */
	char *body;         /* NUL-terminated (owned by http.c: valid during done) */
	size_t len;
	long retry_after;   /* s, from Retry-After; -1 when absent */
	unsigned attempts;
};

typedef void (*http_done_fn)(void *user, const struct http_response *rsp);

/* Loads libcurl at the first call (not linked: http.c); why says what failed. */
int http_new(struct loop *l, struct http **ret, char *why, size_t why_size);
void http_free(struct http *h);

/*
 * Starts req (every string is copied); done runs once from the loop when
 * the last attempt ended (never from inside http_post).  *ret may be NULL.
 */
int http_post(struct http *h, const struct http_request *req, http_done_fn done, void *user,
	      struct http_xfer **ret);
/* Stops x; done is not called. */
void http_cancel(struct http_xfer *x);

#endif
