// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Routes of the operator's HTTP API (docs/operator-protocol.md): which
 * handler serves which path, the body limit of each, and what every handler
 * shares (JSON answers, rate limits, opening the server's resources).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/mcim-operator/dpf.h"
#include "tools/mcim-operator/evidence.h"
#include "tools/mcim-operator/server.h"

#define SESSION_PREFIX "/v1/validations/"
#define EVIDENCE_SUFFIX "/evidence"

void api_reply(struct http_response *resp, unsigned status, struct json_object *o)
{
	resp->status = status;
	resp->body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

bool api_rate_ok(struct ratelimit *rl, const char *key, time_t now, struct http_response *resp)
{
	unsigned retry = 0;

	if (ratelimit_allow(rl, key, now, &retry))
		return true;
	http_error(resp, 429, "rate_limited", "too many requests; retry in %u s", retry);
	resp->retry_after = retry ? retry : 1;
	return false;
}

/* "/v1/validations/<32 hex>/evidence" -> the session id. */
static bool evidence_path(const char *path, char session[33])
{
	size_t n = strlen(SESSION_PREFIX);

	if (strncmp(path, SESSION_PREFIX, n) || strlen(path) != n + 32 + strlen(EVIDENCE_SUFFIX) ||
	    strcmp(path + n + 32, EVIDENCE_SUFFIX))
		return false;
	memcpy(session, path + n, 32);
	session[32] = 0;
	return strspn(session, "0123456789abcdef") == 32;
}

size_t api_body_limit(const char *method, const char *path, void *user _unused_)
{
	char session[33];

	if (strcmp(method, "POST"))
		return 0;
	return evidence_path(path, session) ? EVIDENCE_BODY_MAX : REQUEST_BODY_MAX;
}

static void status_reply(struct http_response *resp, unsigned status, const char *what)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string(what));
	api_reply(resp, status, o);
}

static void route(struct op_server *s, const struct http_request *req,
		  struct http_response *resp)
{
	bool post = !strcmp(req->method, "POST");
	char session[33];

	/* Health (the process runs) and readiness (it can serve: the
	 * database answers, no stop under way) for load balancers, before
	 * the rate limit: they poll from one address. */
	if (!strcmp(req->path, "/healthz")) {
		status_reply(resp, 200, "ok");
		return;
	}
	if (!strcmp(req->path, "/readyz")) {
		if (atomic_load(&s->draining))
			status_reply(resp, 503, "stopping");
		else if (store_ping(s->store) < 0)
			status_reply(resp, 503, "database unavailable");
		else
			status_reply(resp, 200, "ready");
		return;
	}
	if (!api_rate_ok(s->per_address, req->client, s->now(), resp))
		return;
	if (!strcmp(req->path, "/v1/health")) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "status", json_object_new_string("ok"));
		api_reply(resp, 200, o);
	} else if (!strcmp(req->path, "/v1/register")) {
		if (post)
			api_register(s, req, resp);
		else
			http_error(resp, 405, "method_not_allowed", "use POST");
	} else if (!strcmp(req->path, "/v1/validations")) {
		if (post)
			api_validation_start(s, req, resp);
		else
			http_error(resp, 405, "method_not_allowed", "use POST");
	} else if (!strcmp(req->path, "/v1/dpf/package") || !strcmp(req->path, "/v1/dpf/receipt") ||
		   !strcmp(req->path, "/v1/dpf/tamper") || !strcmp(req->path, "/v1/dpf/released")) {
		if (!post)
			http_error(resp, 405, "method_not_allowed", "use POST");
		else if (req->path[8] == 'p')
			api_dpf_package(s, req, resp);
		else if (!strcmp(req->path + 8, "receipt"))
			api_dpf_receipt(s, req, resp);
		else if (req->path[8] == 'r')
			api_dpf_released(s, req, resp);
		else
			api_dpf_tamper(s, req, resp);
	} else if (evidence_path(req->path, session)) {
		if (post)
			api_validation_evidence(s, session, req, resp);
		else
			http_error(resp, 405, "method_not_allowed", "use POST");
	} else {
		http_error(resp, 404, "not_found", "no such path");
	}
}

void api_route(const struct http_request *req, struct http_response *resp, void *user)
{
	struct op_server *s = user;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	route(s, req, resp);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (s->metrics)
		metrics_request(s->metrics, req->path, resp->status,
				(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

void api_metrics_route(const struct http_request *req, struct http_response *resp, void *user)
{
	struct op_server *s = user;

	if (strcmp(req->path, "/metrics")) {
		http_error(resp, 404, "not_found", "no such path (GET /metrics)");
		return;
	}
	if (strcmp(req->method, "GET")) {
		http_error(resp, 405, "method_not_allowed", "use GET");
		return;
	}
	resp->body = metrics_render(s->metrics, s->store);
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4";
}

static time_t now_real(void)
{
	return time(NULL);
}

int server_open(struct op_server *s, const struct op_config *cfg, char *why, size_t why_size)
{
	char cert[OP_PATH_MAX + 32], key[OP_PATH_MAX + 32];
	int r;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->now = now_real;
	r = store_open_pool(cfg->store_url, cfg->store_pool ? cfg->store_pool : cfg->workers,
			    &s->store, why, why_size);
	if (r == 0)
		r = ekcert_store_load(cfg->manufacturers, &s->trust, why, why_size);
	if (r == 0) {
		snprintf(cert, sizeof(cert), "%s/%s", cfg->pki_dir, PKI_TICKET_CERT);
		snprintf(key, sizeof(key), "%s/%s", cfg->pki_dir, PKI_TICKET_KEY);
		r = pki_signer_load(cert, key, &s->ticket_key, why, why_size);
	}
	if (r == 0)
		r = dpf_keys_load(cfg, &s->dpf, why, why_size);
	if (r == 0)
		r = ratelimit_new(cfg->address_rate, &s->per_address);
	if (r == 0)
		r = ratelimit_new(cfg->device_rate, &s->per_device);
	if (r == 0)
		r = metrics_new(&s->metrics);
	if (r < 0)
		server_close(s);
	return r;
}

void server_close(struct op_server *s)
{
	metrics_free(s->metrics);
	ratelimit_free(s->per_device);
	ratelimit_free(s->per_address);
	pki_signer_free(s->ticket_key);
	dpf_keys_free(s->dpf);
	ekcert_store_free(s->trust);
	store_close(s->store);
	memset(s, 0, sizeof(*s));
}
