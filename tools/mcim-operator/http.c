// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * http.h over libmicrohttpd (0.9.7x): MHD_USE_TLS with the certificate and
 * key in memory, an internal thread pool, the access handler called once per
 * request with the headers and then once per chunk of the body.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <time.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "tools/mcim-operator/http.h"

struct http_server {
	struct MHD_Daemon *mhd;
	struct http_config cfg;
	char *cert, *key;
	_Atomic unsigned inflight; /* requests begun and not completed */
	_Atomic bool closing;      /* stopping: answers close their connection */
};

/* One request in progress: its body so far. */
struct request_ctx {
	char *body;
	size_t len, max;
	bool refused; /* the answer is decided (too large, bad type) */
	unsigned status;
	const char *code, *message;
};

void http_error(struct http_response *resp, unsigned status, const char *code, const char *fmt,
		...)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(o, "error", e);
	free(resp->body);
	resp->status = status;
	resp->body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static enum MHD_Result answer(struct http_server *s, struct MHD_Connection *conn,
			      struct http_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char retry[16];

	if (!resp->body) /* out of memory while answering */
		resp->body = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}"),
		resp->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	if (!resp->body)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(resp->body), resp->body,
					    MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(resp->body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				resp->content_type ? resp->content_type : "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (atomic_load(&s->closing))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	if (resp->retry_after) {
		snprintf(retry, sizeof(retry), "%u", resp->retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	ret = MHD_queue_response(conn, resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static void client_addr(struct MHD_Connection *conn, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(buf, size, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)size);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
			  (socklen_t)size);
}

static bool is_json(const char *type)
{
	size_t n = strlen("application/json");

	return type && !strncasecmp(type, "application/json", n) &&
	       (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

static void refuse(struct request_ctx *c, unsigned status, const char *code, const char *message)
{
	c->refused = true;
	c->status = status;
	c->code = code;
	c->message = message;
	free(c->body);
	c->body = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version _unused_,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct request_ctx *c = *con_cls;
	struct http_response resp = { 0 };
	char client[INET6_ADDRSTRLEN + 1];

	if (!c) {
		const char *cl, *type;

		c = calloc(1, sizeof(*c));
		if (!c)
			return MHD_NO;
		*con_cls = c;
		atomic_fetch_add(&s->inflight, 1);
		c->max = s->cfg.limit(method, url, s->cfg.user);
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						   MHD_HTTP_HEADER_CONTENT_TYPE);
		if (cl && strtoull(cl, NULL, 10) > c->max)
			refuse(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "the request body is too large");
		else if (!strcmp(method, "POST") && !is_json(type))
			refuse(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
			       "the request body must be application/json");
		return MHD_YES;
	}
	if (*upload_size) {
		if (!c->refused) {
			if (c->len + *upload_size > c->max) {
				refuse(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
				       "the request body is too large");
			} else {
				char *p = realloc(c->body, c->len + *upload_size + 1);

				if (!p)
					return MHD_NO;
				memcpy(p + c->len, upload, *upload_size);
				c->body = p;
				c->len += *upload_size;
				c->body[c->len] = '\0';
			}
		}
		*upload_size = 0; /* consumed (or dropped, once refused) */
		return MHD_YES;
	}
	if (c->refused) {
		http_error(&resp, c->status, c->code, "%s", c->message);
		return answer(s, conn, &resp);
	}
	client_addr(conn, client, sizeof(client));
	const struct http_request req = {
		.method = method, .path = url, .client = client,
		.body = c->body ? c->body : "", .len = c->len,
	};
	s->cfg.route(&req, &resp, s->cfg.user);
	return answer(s, conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn _unused_, void **con_cls,
			 enum MHD_RequestTerminationCode toe _unused_)
{
	struct http_server *s = cls;
	struct request_ctx *c = *con_cls;

	if (c) {
		free(c->body);
		atomic_fetch_sub(&s->inflight, 1);
	}
	free(c);
	*con_cls = NULL;
}

int http_server_start(const struct http_config *cfg, struct http_server **ret, char *why,
		      size_t why_size)
{
	struct sockaddr_storage ss = { 0 };
	struct http_server *s;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	bool tls = cfg->cert_pem != NULL;

	if (tls)
		flags |= MHD_USE_TLS;
	if (tls && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		snprintf(why, why_size, "this libmicrohttpd has no TLS support");
		return -ENOTSUP;
	}
	if (inet_pton(AF_INET, cfg->addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(cfg->port);
	} else if (inet_pton(AF_INET6, cfg->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(why, why_size, "%s: not a numeric address", cfg->addr);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->cert = tls ? strdup(cfg->cert_pem) : NULL;
	s->key = tls ? strdup(cfg->key_pem) : NULL;
	if (tls && (!s->cert || !s->key)) {
		http_server_stop(s);
		return -ENOMEM;
	}
	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, s->key },
		/* TLS 1.2 and 1.3 only. */
		{ MHD_OPTION_HTTPS_PRIORITIES, 0,
		  (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" },
		{ MHD_OPTION_END, 0, NULL },
	};
	s->mhd = MHD_start_daemon(
		flags, cfg->port, NULL, NULL, on_request, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_ARRAY, tls ? tls_opts : tls_opts + 3,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->workers,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_per_address,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64u << 10),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(why, why_size, "cannot serve HTTP%s on %s port %u (address in use%s?)",
			 tls ? "S" : "", cfg->addr, cfg->port, tls ? ", bad certificate or key" : "");
		http_server_stop(s);
		return -EADDRNOTAVAIL;
	}
	*ret = s;
	return 0;
}

uint16_t http_server_port(const struct http_server *s)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);

	return di ? di->port : 0;
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	if (s->mhd) {
		/* Graceful: no new connections, answers close theirs, and the
		 * requests in flight finish (up to a bound) before the stop. */
		const struct timespec tick = { 0, 10 * 1000 * 1000 };
		MHD_socket fd;

		atomic_store(&s->closing, true);
		fd = MHD_quiesce_daemon(s->mhd);
		/* The socket stays open until MHD's threads are gone, but
		 * listens no more: a new connection is refused at once (a load
		 * balancer goes elsewhere) instead of waiting in the backlog. */
		if (fd != MHD_INVALID_SOCKET)
			shutdown(fd, SHUT_RDWR);
		for (unsigned i = 0; i < HTTP_DRAIN_MS / 10 && atomic_load(&s->inflight); i++)
			nanosleep(&tick, NULL);
		MHD_stop_daemon(s->mhd);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	if (s->key)
		explicit_bzero(s->key, strlen(s->key));
	free(s->key);
	free(s->cert);
	free(s);
}
