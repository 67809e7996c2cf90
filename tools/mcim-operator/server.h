/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `mcim-operator serve`: what the HTTP handlers share (configuration, store,
 * trusted manufacturers, the ticket key, rate limits) and the routes.
 */
#ifndef MCIM_OPERATOR_SERVER_H
#define MCIM_OPERATOR_SERVER_H

#include "tools/mcim-operator/config.h"
#include "tools/mcim-operator/ekcert.h"
#include "tools/mcim-operator/http.h"
#include "tools/mcim-operator/metrics.h"
#include "tools/mcim-operator/pki.h"
#include "tools/mcim-operator/ratelimit.h"
#include "tools/mcim-operator/store.h"

struct dpf_keys;

struct op_server {
	const struct op_config *cfg;
	struct store *store;
	struct ekcert_store *trust;
	struct pki_signer *ticket_key;
	struct dpf_keys *dpf;
	struct ratelimit *per_address, *per_device;
	struct metrics *metrics;
	_Atomic bool draining; /* SIGTERM received: /readyz says 503 */
	time_t (*now)(void); /* tests may move time */
};

/* http.h callbacks; user is the struct op_server. */
size_t api_body_limit(const char *method, const char *path, void *user);
void api_route(const struct http_request *req, struct http_response *resp, void *user);

/* The handlers, one file per function (api-drf.c, api-pva.c). */
void api_register(struct op_server *s, const struct http_request *req,
		  struct http_response *resp);
void api_validation_start(struct op_server *s, const struct http_request *req,
			  struct http_response *resp);
void api_validation_evidence(struct op_server *s, const char *session,
			     const struct http_request *req, struct http_response *resp);

void api_dpf_package(struct op_server *s, const struct http_request *req,
		     struct http_response *resp);
void api_dpf_receipt(struct op_server *s, const struct http_request *req,
		     struct http_response *resp);
void api_dpf_tamper(struct op_server *s, const struct http_request *req,
		    struct http_response *resp);
void api_dpf_released(struct op_server *s, const struct http_request *req,
		      struct http_response *resp);

/* A 200/201 answer with the JSON object o (consumed). */
void api_reply(struct http_response *resp, unsigned status, struct json_object *o);
/* Counts the request against key's limit; false (and a 429 answer) when over. */
bool api_rate_ok(struct ratelimit *rl, const char *key, time_t now,
		 struct http_response *resp);

/* The metrics port's router: GET /metrics. */
void api_metrics_route(const struct http_request *req, struct http_response *resp, void *user);

/* Opens everything serve needs (store, PKI, manufacturers, limits). */
int server_open(struct op_server *s, const struct op_config *cfg, char *why, size_t why_size);
void server_close(struct op_server *s);

#endif
