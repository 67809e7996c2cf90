// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * POST /v1/validations and POST /v1/validations/{session}/evidence: the
 * Platform Validation Authority (docs/operator-protocol.md sections 2-5).
 * Parse (evidence.c), decide (pva.c), store what was decided (store.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "hex.h"
#include "json-util.h"
#include "tools/mcim-operator/evidence.h"
#include "tools/mcim-operator/server.h"
#include "tools/mcim-operator/ticket.h"

static struct json_object *b64_json(const uint8_t *p, size_t n)
{
	_cleanup_free_ char *s = b64_encode(p, n);

	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *checks_json(const struct pva_verdict *v, bool failed_only)
{
	struct json_object *a = json_object_new_array();

	for (unsigned i = 0; i < v->n; i++) {
		const struct pva_check *c = &v->checks[i];
		struct json_object *o;

		if (failed_only && c->ok)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "check", json_object_new_string(c->check));
		if (failed_only)
			json_object_object_add(o, "reason", json_object_new_string(c->reason));
		else
			json_object_object_add(o, "result",
					       json_object_new_string(c->ok ? "pass" : "fail"));
		json_object_array_add(a, o);
	}
	return a;
}

/* 403 validation_failed with every failed check. */
static void refuse(struct http_response *resp, const struct pva_verdict *v)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_object();
	char msg[64];

	snprintf(msg, sizeof(msg), "%u check%s failed", v->failed, v->failed == 1 ? "" : "s");
	json_object_object_add(e, "code", json_object_new_string("validation_failed"));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(e, "failures", checks_json(v, true));
	json_object_object_add(o, "error", e);
	json_object_object_add(o, "checks", checks_json(v, false));
	api_reply(resp, 403, o);
}

static void count_refused(struct op_server *s, const struct pva_verdict *v)
{
	for (unsigned i = 0; s->metrics && i < v->n; i++)
		if (!v->checks[i].ok)
			metrics_refused(s->metrics, v->checks[i].check);
}

static void store_failed(struct http_response *resp, int r)
{
	http_error(resp, r == -EBUSY ? 503 : 500, r == -EBUSY ? "unavailable" : "internal",
		   "the store failed");
}

/* The device and its model's current reference values. */
static int device_and_model(struct op_server *s, const char *id, struct op_device *dev,
			    struct op_model *m, int64_t version, struct http_response *resp)
{
	_cleanup_free_ char *body = NULL;
	char why[256];
	int r;

	r = store_device_get(s->store, id, dev);
	if (r == -ENOENT) {
		http_error(resp, 403, "not_registered", "this device is not registered");
		return r;
	}
	if (r == 0)
		r = store_model_get(s->store, dev->model, version, NULL, &body);
	if (r == -ENOENT) {
		http_error(resp, 409, "no_model",
			   "the device model %s has no reference values on this PVA", dev->model);
		return r;
	}
	if (r < 0) {
		store_failed(resp, r);
		return r;
	}
	r = model_parse(body, strlen(body), m, why, sizeof(why));
	if (r < 0)
		http_error(resp, 500, "internal", "the stored model %s does not parse: %s",
			   dev->model, why);
	return r;
}

static int ek_public(const struct op_device *dev, TPMT_PUBLIC *ret)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0;
	int n = hex_decode(dev->ek_public, buf, sizeof(buf));

	memset(ret, 0, sizeof(*ret));
	if (n < 0 || Tss2_MU_TPMT_PUBLIC_Unmarshal(buf, (size_t)n, &off, ret) || off != (size_t)n)
		return -EIO;
	return 0;
}

void api_validation_start(struct op_server *s, const struct http_request *req,
			  struct http_response *resp)
{
	struct pva_start_request in;
	struct pva_challenge ch;
	struct pva_verdict v;
	struct op_device dev;
	struct op_model m = { 0 };
	struct op_session sess = { 0 };
	TPMT_PUBLIC ek;
	uint8_t id[16], ak[sizeof(TPM2B_PUBLIC)];
	size_t ak_len = 0;
	char why[256];
	time_t now = s->now();
	int r;

	r = evidence_parse_start(req->body, req->len, &in, why, sizeof(why));
	if (r < 0) {
		http_error(resp, 400, "bad_request", "%s", why);
		return;
	}
	if (!api_rate_ok(s->per_device, in.device_id, now, resp))
		return;
	if (device_and_model(s, in.device_id, &dev, &m, -1, resp) < 0)
		return;
	r = ek_public(&dev, &ek);
	if (r == 0) {
		r = pva_challenge_make(&ek, &in.ak, &ch, &v);
		if (r == -EPERM) {
			pva_verdict_summary(&v, why, sizeof(why));
			store_audit(s->store, now, dev.id, "validation", "refused", why);
			count_refused(s, &v);
			refuse(resp, &v);
			model_free(&m);
			return;
		}
	}
	if (r == 0 && (RAND_bytes(id, sizeof(id)) != 1 ||
		       Tss2_MU_TPM2B_PUBLIC_Marshal(&in.ak, ak, sizeof(ak), &ak_len)))
		r = -EIO;
	if (r < 0) {
		model_free(&m);
		http_error(resp, 500, "internal", "the challenge could not be made");
		return;
	}
	hex_encode(id, sizeof(id), sess.id);
	snprintf(sess.device_id, sizeof(sess.device_id), "%s", dev.id);
	memcpy(sess.nonce, ch.nonce, sizeof(sess.nonce));
	memcpy(sess.secret, ch.secret, sizeof(sess.secret));
	hex_encode(ak, ak_len, sess.ak_public);
	snprintf(sess.model, sizeof(sess.model), "%s", m.name);
	sess.model_version = m.version;
	snprintf(sess.mode, sizeof(sess.mode), "%s", pva_mode_name(m.mode));
	sess.created = now;
	sess.expires = now + s->cfg->session_ttl;
	r = store_session_create(s->store, &sess);
	OPENSSL_cleanse(sess.secret, sizeof(sess.secret));
	OPENSSL_cleanse(ch.secret, sizeof(ch.secret));
	if (r < 0) {
		model_free(&m);
		store_failed(resp, r);
		return;
	}

	struct json_object *o = json_object_new_object(), *cred = json_object_new_object();
	struct json_object *sel = json_object_new_object(), *pcrs = json_object_new_array();
	struct json_object *sels = json_object_new_array();
	uint8_t blob[sizeof(TPM2B_ID_OBJECT)], secret[sizeof(TPM2B_ENCRYPTED_SECRET)];
	size_t blob_len = 0, secret_len = 0;

	Tss2_MU_TPM2B_ID_OBJECT_Marshal(&ch.credential, blob, sizeof(blob), &blob_len);
	Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&ch.encrypted_secret, secret, sizeof(secret),
					       &secret_len);
	json_object_object_add(cred, "blob", b64_json(blob, blob_len));
	json_object_object_add(cred, "secret", b64_json(secret, secret_len));
	json_object_object_add(cred, "ek", json_object_new_string(dev.ek_type));
	for (unsigned p = 0; p < MODEL_PCRS; p++)
		if (m.pcr_mask & (1u << p))
			json_object_array_add(pcrs, json_object_new_int((int)p));
	json_object_object_add(sel, "bank", json_object_new_string("sha256"));
	json_object_object_add(sel, "pcrs", pcrs);
	json_object_array_add(sels, sel);
	json_object_object_add(o, "session", json_object_new_string(sess.id));
	json_object_object_add(o, "nonce", b64_json(ch.nonce, sizeof(ch.nonce)));
	json_object_object_add(o, "credential", cred);
	json_object_object_add(o, "pcr_selection", sels);
	json_object_object_add(o, "mode", json_object_new_string(sess.mode));
	json_object_object_add(o, "expires", json_object_new_int64(sess.expires));
	model_free(&m);
	api_reply(resp, 201, o);
}

static int issue_ticket(struct op_server *s, const struct op_session *sess,
			const struct pva_verdict *v, time_t now, struct ticket *t, char **ret_token)
{
	enum pva_mode mode;
	int r;

	memset(t, 0, sizeof(*t));
	r = ticket_new_jti(t->jti);
	if (r < 0)
		return r;
	pva_mode_from_name(sess->mode, &mode);
	snprintf(t->sub, sizeof(t->sub), "%s", sess->device_id);
	t->ak_name = v->ak_name;
	t->srk_name = v->srk_name;
	t->pcr_digest = v->pcr_digest;
	t->kpd = v->kpd;
	snprintf(t->model, sizeof(t->model), "%s", sess->model);
	t->policy_version = (uint32_t)sess->model_version;
	t->mode = mode == PVA_MODE_AUTONOMOUS ? TICKET_MODE_AUTONOMOUS
		  : mode == PVA_MODE_SEMI     ? TICKET_MODE_SEMI_AUTONOMOUS
					      : TICKET_MODE_REMOTE;
	t->iat = now;
	t->exp = now + s->cfg->ticket_ttl;
	return ticket_sign(s->ticket_key, t, ret_token);
}

void api_validation_evidence(struct op_server *s, const char *session,
			     const struct http_request *req, struct http_response *resp)
{
	struct pva_evidence ev;
	struct op_session sess;
	struct op_device dev;
	struct op_model m = { 0 };
	struct pva_verdict v;
	struct ticket t;
	TPM2B_PUBLIC ak;
	uint8_t akbuf[sizeof(TPM2B_PUBLIC)];
	_cleanup_free_ char *token = NULL;
	char why[1024];
	time_t now = s->now();
	int n, r;

	r = evidence_parse(req->body, req->len, &ev, why, sizeof(why));
	if (r < 0) {
		http_error(resp, r == -ENOMEM ? 500 : 400, r == -ENOMEM ? "internal" : "bad_request",
			   "%s", why);
		return;
	}
	/* Single use: of two requests for one session, one gets it. */
	r = store_session_consume(s->store, session, &sess);
	if (r == -ENOENT || r == -EALREADY) {
		if (r == -ENOENT)
			http_error(resp, 404, "not_found", "no such validation session");
		else
			http_error(resp, 409, "session_used",
				   "this validation session (and its nonce) was already used");
		pva_evidence_free(&ev);
		return;
	}
	if (r < 0) {
		pva_evidence_free(&ev);
		store_failed(resp, r);
		return;
	}
	if (!api_rate_ok(s->per_device, sess.device_id, now, resp))
		goto out;
	if (now > sess.expires) {
		store_audit(s->store, now, sess.device_id, "validation", "refused", "session expired");
		http_error(resp, 410, "session_expired",
			   "the validation session expired at %" PRId64 "; start a new one",
			   sess.expires);
		goto out;
	}
	if (device_and_model(s, sess.device_id, &dev, &m, sess.model_version, resp) < 0)
		goto out;
	n = hex_decode(sess.ak_public, akbuf, sizeof(akbuf));
	if (n < 0 || tpm2b_public_from_bytes(akbuf, (size_t)n, &ak) < 0) {
		http_error(resp, 500, "internal", "the session's AK does not parse");
		goto out;
	}
	const struct pva_context ctx = {
		.nonce = sess.nonce, .secret = sess.secret, .ak = &ak, .model = &m,
		.mode = m.mode, .clock_known = dev.clock_known, .clock = (uint64_t)dev.clock,
		.reset_count = (uint32_t)dev.reset_count,
		.restart_count = (uint32_t)dev.restart_count,
	};
	r = pva_verify(&ctx, &ev, &v);
	if (r == -EPERM) {
		pva_verdict_summary(&v, why, sizeof(why));
		/* The device's own TPM says its platform is not as it should be: the
		 * tickets of its earlier validations buy no package any more. */
		if (pva_verdict_from_device(&v))
			store_validation_refused(s->store, now, dev.id, why);
		else
			store_audit(s->store, now, dev.id, "validation", "refused", why);
		count_refused(s, &v);
		refuse(resp, &v);
		goto out;
	}
	if (r == 0)
		r = issue_ticket(s, &sess, &v, now, &t, &token);
	if (r == 0) {
		snprintf(why, sizeof(why), "mode %s, model %s v%" PRId64 ", ticket %s", sess.mode,
			 m.name, m.version, t.jti);
		r = store_validation_success(s->store, dev.id, now, v.clock.resetCount,
					     v.clock.restartCount, (int64_t)v.clock.clock, t.jti,
					     t.exp, why);
	}
	if (r == -ESTALE) {
		/* Another instance recorded a later clock of this device
		 * between our read and our write: the clock check fails. */
		if (s->metrics)
			metrics_refused(s->metrics, "clock");
		store_audit(s->store, now, dev.id, "validation", "refused", store_errmsg(s->store));
		http_error(resp, 409, "clock_conflict", "%s", store_errmsg(s->store));
		goto out;
	}
	if (r < 0) {
		store_failed(resp, r);
		goto out;
	}

	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "result", json_object_new_string("valid"));
	json_object_object_add(o, "ticket", json_object_new_string(token));
	json_object_object_add(o, "expires", json_object_new_int64(t.exp));
	json_object_object_add(o, "checks", checks_json(&v, false));
	api_reply(resp, 200, o);
out:
	OPENSSL_cleanse(sess.secret, sizeof(sess.secret));
	model_free(&m);
	pva_evidence_free(&ev);
}
