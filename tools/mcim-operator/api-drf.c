// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * POST /v1/register: the Discovery and Registration Function of TR 33.812's
 * TRE-based solution (docs/operator-protocol.md section 1).  The
 * device proves nothing yet (that is the PVA's job): the DRF checks that the
 * EK certificate is a genuine TPM's and tells the device its SHO.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "tools/mcim-operator/evidence.h"
#include "tools/mcim-operator/server.h"

void api_register(struct op_server *s, const struct http_request *req, struct http_response *resp)
{
	static const char *const members[] = { "ek_cert", "ek_public", NULL };
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_free_ uint8_t *cert = NULL, *pub = NULL;
	struct ekcert_info info;
	struct op_device dev;
	struct op_sho sho;
	size_t cert_len = 0, pub_len = 0;
	char why[256];
	time_t now = s->now();
	int r;

	r = ju_parse(req->body, req->len, 4, &o, why, sizeof(why));
	if (r == 0)
		r = ju_only(o, "request", members, why, sizeof(why));
	if (r == 0)
		r = ju_base64(o, "ek_cert", true, EKCERT_MAX_SIZE, &cert, &cert_len, why, sizeof(why));
	if (r == 0)
		r = ju_base64(o, "ek_public", true, 4096, &pub, &pub_len, why, sizeof(why));
	if (r == 0 && !cert == !pub) {
		snprintf(why, sizeof(why), "give exactly one of \"ek_cert\" and \"ek_public\"");
		r = -EINVAL;
	}
	if (r < 0) {
		http_error(resp, r == -ENOMEM ? 500 : 400, r == -ENOMEM ? "internal" : "bad_request",
			   "%s", why);
		return;
	}
	r = cert ? ekcert_verify(s->trust, cert, cert_len, now, &info, why, sizeof(why))
		 : ekcert_from_public(pub, pub_len, &info, why, sizeof(why));
	if (r < 0) {
		store_audit(s->store, now, "", "register", "refused", why);
		if (r == -EKCERT_E_PARSE)
			http_error(resp, 400, "bad_request", "%s", why);
		else
			http_error(resp, 403, "not_registered",
				   "the EK is not accepted: %s", why);
		return;
	}
	if (!api_rate_ok(s->per_device, info.device_id, now, resp))
		return;
	r = store_device_get(s->store, info.device_id, &dev);
	if (r == -ENOENT) {
		/* The same answer for every unknown EK: nothing about others. */
		store_audit(s->store, now, info.device_id, "register", "refused", "not registered");
		http_error(resp, 403, "not_registered", "this EK is not registered");
		return;
	}
	if (r == 0 && !dev.sho[0]) {
		store_audit(s->store, now, dev.id, "register", "refused", "no SHO assigned");
		http_error(resp, 409, "not_assigned",
			   "no home operator is chosen for this device yet; retry later");
		resp->retry_after = 3600;
		return;
	}
	if (r == 0)
		r = store_sho_get(s->store, dev.sho, &sho);
	if (r < 0) {
		http_error(resp, r == -EBUSY ? 503 : 500, r == -EBUSY ? "unavailable" : "internal",
			   "the store failed");
		return;
	}
	store_audit(s->store, now, dev.id, "register", "ok", dev.sho);

	struct json_object *a = json_object_new_object(), *so = json_object_new_object();

	json_object_object_add(so, "id", json_object_new_string(sho.id));
	json_object_object_add(so, "name", json_object_new_string(sho.name));
	json_object_object_add(a, "device_id", json_object_new_string(dev.id));
	json_object_object_add(a, "model", json_object_new_string(dev.model));
	json_object_object_add(a, "subscriber", json_object_new_string(dev.subscriber));
	json_object_object_add(a, "sho", so);
	json_object_object_add(a, "pva_url", json_object_new_string(sho.pva_url));
	json_object_object_add(a, "dpf_url", json_object_new_string(sho.dpf_url));
	json_object_object_add(a, "ek", json_object_new_string(dev.ek_type));
	/* docs/change-format.md 4: only while a switch order exists. */
	{
		struct op_switch_order ord;
		struct op_sho to;

		r = store_switch_order_get(s->store, dev.id, &ord);
		if (r == 0 && store_sho_get(s->store, ord.sho, &to) == 0) {
			struct json_object *w = json_object_new_object();
			struct json_object *wso = json_object_new_object();

			/* the shape of the answer's own "sho" */
			json_object_object_add(wso, "id", json_object_new_string(to.id));
			json_object_object_add(wso, "name", json_object_new_string(to.name));
			json_object_object_add(w, "sho", wso);
			json_object_object_add(w, "pva", json_object_new_string(to.pva_url));
			json_object_object_add(w, "dpf", json_object_new_string(to.dpf_url));
			json_object_object_add(w, "consent", json_object_new_string(ord.consent));
			json_object_object_add(w, "release",
					       ord.release ? json_object_new_string(ord.release) : NULL);
			json_object_object_add(a, "switch", w);
		}
		op_switch_order_clear(&ord);
		if (r < 0 && r != -ENOENT) {
			json_object_put(a);
			http_error(resp, r == -EBUSY ? 503 : 500,
				   r == -EBUSY ? "unavailable" : "internal", "the store failed");
			return;
		}
	}
	api_reply(resp, 200, a);
}
