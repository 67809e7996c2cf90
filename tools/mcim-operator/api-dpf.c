// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The DPF's HTTP handlers (docs/operator-protocol.md section 6,
 * docs/package-format.md sections 3-4, docs/change-format.md 4): POST
 * /v1/dpf/package, /v1/dpf/receipt, /v1/dpf/tamper and /v1/dpf/released.
 * Every decision is audited.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>

#include "hex.h"
#include "json-util.h"
#include "why.h"
#include "model.h"
#include "tools/mcim-operator/change.h"
#include "tools/mcim-operator/dpf.h"
#include "tools/mcim-operator/server.h"
#include "tpm2-crypto.h"
#include "tpm2-quote.h"

/* Refuses with status/code, audits the refusal under event. */
static void refuse(struct op_server *s, struct http_response *resp, const char *device,
		   const char *event, unsigned status, const char *code, const char *why)
{
	char detail[600];

	snprintf(detail, sizeof(detail), "%s: %s", code, why);
	store_audit(s->store, s->now(), device, event, "refused", detail);
	http_error(resp, status, code, "%s", why);
}

static void store_failed(struct http_response *resp, int r)
{
	http_error(resp, r == -EBUSY ? 503 : 500, r == -EBUSY ? "unavailable" : "internal",
		   "the store failed");
}

static int ek_name(const struct op_device *dev, TPM2B_NAME *ret)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	TPMT_PUBLIC ek = { 0 };
	size_t off = 0;
	int n = hex_decode(dev->ek_public, buf, sizeof(buf));

	if (n < 0 || Tss2_MU_TPMT_PUBLIC_Unmarshal(buf, (size_t)n, &off, &ek) || off != (size_t)n)
		return -EIO;
	return tpm2_public_name(&ek, ret);
}

/* The key PCRs of the model version the ticket names. */
static int key_pcrs(struct store *st, const struct ticket *t, uint32_t *ret, char *why,
		    size_t why_size)
{
	_cleanup_free_ char *body = NULL;
	struct op_model m;
	int r;

	r = store_model_get(st, t->model, t->policy_version, NULL, &body);
	if (r < 0)
		return why_fail(why, why_size, r, "model %s version %" PRIu32 " is not in the store",
				t->model, t->policy_version);
	r = model_parse(body, strlen(body), &m, why, why_size);
	if (r < 0)
		return r;
	*ret = m.key_pcr_mask;
	model_free(&m);
	return 0;
}

/* Sets the outcome of a refusal and audits it. */
static int dpf_refuse(struct store *st, time_t now, const char *device, struct dpf_outcome *out,
		      unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
static int dpf_refuse(struct store *st, time_t now, const char *device, struct dpf_outcome *out,
		      unsigned status, const char *code, const char *fmt, ...)
{
	char detail[sizeof(out->why) + 32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
	out->status = status;
	out->code = code;
	if (status < 500) {
		snprintf(detail, sizeof(detail), "%s: %s", code, out->why);
		store_audit(st, now, device, "package", "refused", detail);
	}
	return -EPERM;
}

int dpf_issue(struct store *st, X509 *ticket_cert, const struct dpf_keys *k, time_t now,
	      const char *body, size_t len, bool (*admit)(void *user, const char *device),
	      void *admit_user, struct dpf_outcome *out)
{
	struct package_request rq = { 0 };
	struct op_subscription sub = { 0 };
	struct op_package pkg = { 0 };
	struct dpf_input in = { 0 };
	struct change_switch sw;
	struct op_subscriber acc;
	struct op_device dev;
	struct op_sho sho;
	struct ticket t;
	const char *code = NULL;
	uint8_t akbuf[sizeof(TPM2B_PUBLIC)];
	size_t aklen = 0;
	char why[sizeof(out->why)];
	int r;

	memset(out, 0, sizeof(*out));
	r = package_request_parse(body, len, &rq, why, sizeof(why));
	if (r < 0) {
		r = r == -ENOMEM ? dpf_refuse(st, now, "", out, 500, "internal", "out of memory")
				 : dpf_refuse(st, now, "", out, 400, "bad_request", "%s", why);
		goto out;
	}
	r = ticket_verify(ticket_cert, rq.ticket, now, &t, why, sizeof(why));
	if (r < 0) {
		r = dpf_refuse(st, now, "", out, 401,
			       r == -TICKET_E_EXPIRED ? "ticket_expired" : "ticket_invalid", "%s", why);
		goto out;
	}
	if (admit && !admit(admit_user, t.sub)) {
		out->status = 429;
		r = -EPERM;
		goto out;
	}
	r = store_device_get(st, t.sub, &dev);
	if (r == -ENOENT) {
		r = dpf_refuse(st, now, t.sub, out, 403, "not_registered",
			       "the ticket's device is not registered");
		goto out;
	}
	if (r < 0) {
		r = dpf_refuse(st, now, t.sub, out, r == -EBUSY ? 503 : 500,
			       r == -EBUSY ? "unavailable" : "internal", "the store failed");
		goto out;
	}
	if (dpf_request_check(&rq, &t, &code, why, sizeof(why)) < 0) {
		r = dpf_refuse(st, now, dev.id, out, 403, code, "%s", why);
		goto out;
	}
	/* docs/change-format.md 4: the switch's consent and release, before the store. */
	if (rq.has_switch) {
		r = change_switch_check(st, &rq, dev.id, dev.subscriber, k->sho_id, now, &sw, &code,
					why, sizeof(why));
		if (r == -EPERM) {
			r = dpf_refuse(st, now, dev.id, out, 403, code, "%s", why);
			goto out;
		}
		if (r < 0) {
			r = dpf_refuse(st, now, dev.id, out, r == -EBUSY ? 503 : 500,
				       r == -EBUSY ? "unavailable" : "internal", "the store failed");
			goto out;
		}
		snprintf(pkg.replaces, sizeof(pkg.replaces), "%s", rq.switch_iccid);
		snprintf(pkg.consent_id, sizeof(pkg.consent_id), "%s", sw.consent.id);
		pkg.consent_expires = sw.consent.expires;
		if (sw.has_release) {
			snprintf(pkg.release_id, sizeof(pkg.release_id), "%s", sw.release.id);
			pkg.release_expires = sw.release.expires;
		}
		in.replaces = &rq;
	}
	in.device_id = dev.id;
	in.srk = &rq.srk;
	in.nonce = rq.nonce;
	in.key_form = rq.key_form;
	in.kpd = t.kpd;
	if (ek_name(&dev, &in.ek_name) < 0) {
		r = dpf_refuse(st, now, dev.id, out, 500, "internal", "the device's EK does not parse");
		goto out;
	}
	if (key_pcrs(st, &t, &in.key_pcr_mask, why, sizeof(why)) < 0) {
		r = dpf_refuse(st, now, dev.id, out, 409, "no_model", "%s", why);
		goto out;
	}
	if (store_sho_get(st, dev.sho, &sho) < 0) {
		r = dpf_refuse(st, now, dev.id, out, 409, "no_subscription",
			       "the device is not assigned to a SHO");
		goto out;
	}
	/* The decision, one transaction: tamper, nonce, subscription, ticket, sequence. */
	snprintf(pkg.device_id, sizeof(pkg.device_id), "%s", dev.id);
	hex_encode(rq.nonce, sizeof(rq.nonce), pkg.nonce);
	snprintf(pkg.jti, sizeof(pkg.jti), "%s", t.jti);
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&rq.ak, akbuf, sizeof(akbuf), &aklen) != TSS2_RC_SUCCESS) {
		r = dpf_refuse(st, now, dev.id, out, 400, "bad_request", "the AK does not marshal");
		goto out;
	}
	hex_encode(akbuf, aklen, pkg.ak_public);
	hex_encode(t.kpd.buffer, t.kpd.size, pkg.kpd);
	pkg.issued = now;
	pkg.expires = now + DPF_PACKAGE_TTL;
	r = store_package_issue(st, dev.sho, dev.subscriber, &pkg, &sub);
	switch (r) {
	case 0:
		break;
	case -EPERM:
		r = dpf_refuse(st, now, dev.id, out, 409, "tamper_reported",
			       "a tamper report of this device is outstanding (mcim-operator device "
			       "clear-tamper)");
		goto out;
	case -EEXIST:
		r = dpf_refuse(st, now, dev.id, out, 409, "nonce_used",
			       "a package was built for this nonce already: ask with a fresh nonce");
		goto out;
	case -ENXIO:
		r = dpf_refuse(st, now, dev.id, out, 409, "no_subscription",
			       "no subscription is assigned to this device");
		goto out;
	case -EALREADY:
		r = dpf_refuse(st, now, dev.id, out, 409, "ticket_used",
			       "this ticket bought a package already: validate again");
		goto out;
	case -ENOENT:
		r = dpf_refuse(st, now, dev.id, out, 401, "ticket_invalid",
			       "the PVA issued no such ticket to this device");
		goto out;
	case -EKEYREVOKED:
		r = dpf_refuse(st, now, dev.id, out, 409, "ticket_revoked",
			       "the platform failed a validation after this ticket was issued: "
			       "validate again");
		goto out;
	case -EADDRINUSE:
		r = dpf_refuse(st, now, dev.id, out, 409, "consent_used",
			       "this consent bought a package already: the subscriber signs a new one");
		goto out;
	case -EADDRNOTAVAIL:
		r = dpf_refuse(st, now, dev.id, out, 409, "release_used",
			       "this release bought a package already: the current operator issues "
			       "a new one");
		goto out;
	default:
		r = dpf_refuse(st, now, dev.id, out, r == -EBUSY ? 503 : 500,
			       r == -EBUSY ? "unavailable" : "internal", "the store failed");
		goto out;
	}
	in.sequence = pkg.sequence;
	in.issued = pkg.issued;
	in.expires = pkg.expires;
	in.sub = &sub;
	in.operator_name = sho.name;
	/* Version 2 when the subscription's subscriber has an account (change-format.md 4). */
	r = store_subscriber_get(st, sub.subscriber, &acc);
	if (r == 0)
		in.subscriber = &acc;
	else if (r != -ENOENT || rq.has_switch) {
		snprintf(why, sizeof(why), "subscriber %s: %s", sub.subscriber,
			 r == -ENOENT ? "no account, so no version 2 package can replace anything"
				      : "the store failed");
		store_audit(st, now, dev.id, "package", "failed", why);
		r = dpf_refuse(st, now, dev.id, out, 500, "internal", "building the package failed");
		goto out;
	}
	r = dpf_build(k, &in, &out->der, &out->der_len, why, sizeof(why));
	if (r < 0) {
		store_audit(st, now, dev.id, "package", "failed", why);
		r = dpf_refuse(st, now, dev.id, out, 500, "internal", "building the package failed");
		goto out;
	}
	snprintf(why, sizeof(why), "sequence %" PRId64 ", iccid %s, ticket %s, version %d%s%s%s%s",
		 pkg.sequence, sub.iccid, t.jti, in.subscriber ? 2 : 1,
		 pkg.replaces[0] ? ", replaces " : "", pkg.replaces,
		 pkg.replaces[0] ? ", consent " : "", pkg.consent_id);
	store_audit(st, now, dev.id, "package", "issued", why);
	out->status = 200;
	out->sequence = pkg.sequence;
	snprintf(out->iccid, sizeof(out->iccid), "%s", sub.iccid);
out:
	op_subscription_clear(&sub);
	package_request_free(&rq);
	return r;
}

struct admit_ctx {
	struct op_server *s;
	struct http_response *resp;
};

static bool admit_http(void *user, const char *device)
{
	struct admit_ctx *a = user;

	return api_rate_ok(a->s->per_device, device, a->s->now(), a->resp);
}

void api_dpf_package(struct op_server *s, const struct http_request *req,
		     struct http_response *resp)
{
	struct admit_ctx a = { s, resp };
	struct dpf_outcome out;
	char *b64;
	int r;

	r = dpf_issue(s->store, s->ticket_key->cert, s->dpf, s->now(), req->body, req->len,
		      admit_http, &a, &out);
	if (r < 0) {
		if (out.status != 429) /* the rate limiter answered */
			http_error(resp, out.status, out.code, "%s", out.why);
		return;
	}
	struct json_object *o = json_object_new_object();

	b64 = b64_encode(out.der, out.der_len);
	json_object_object_add(o, "package", json_object_new_string(b64 ? b64 : ""));
	json_object_object_add(o, "sequence", json_object_new_int64(out.sequence));
	json_object_object_add(o, "iccid", json_object_new_string(out.iccid));
	free(b64);
	free(out.der);
	api_reply(resp, 200, o);
}

/* The AK of a package request, as the store keeps it. */
static int stored_ak(const char *hex, TPM2B_PUBLIC *ret)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t off = 0;
	int n = hex_decode(hex, buf, sizeof(buf));

	memset(ret, 0, sizeof(*ret));
	if (n < 0 || Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, (size_t)n, &off, ret) || off != (size_t)n)
		return -EIO;
	return 0;
}

static const char *report_name(enum package_report_kind k)
{
	return k == PACKAGE_RECEIPT ? "receipt" : k == PACKAGE_TAMPER ? "tamper report"
								       : "release report";
}

/* A release report (docs/change-format.md 4), its quote verified: the subscription's new state. */
static void released(struct op_server *s, struct http_response *resp, const struct package_report *rep,
		     time_t now)
{
	const char *result = package_result_name(rep->result);
	char state[16], why[300];
	int r;

	/* package_report_parse() took switched or fallback only. */
	r = store_release_report(s->store, rep->device, rep->iccid, result, rep->reason, now, state);
	if (r == -ENOENT || r == -EALREADY || r == -EPERM) {
		snprintf(why, sizeof(why), "%s", store_errmsg(s->store));
		refuse(s, resp, rep->device, "released", r == -ENOENT ? 404 : 409,
		       r == -ENOENT ? "no_subscription" : r == -EALREADY ? "report_used" : "not_releasing",
		       why);
		return;
	}
	if (r < 0) {
		store_failed(resp, r);
		return;
	}
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "result", json_object_new_string(state));
	json_object_object_add(o, "iccid", json_object_new_string(rep->iccid));
	api_reply(resp, 200, o);
}

static void attested(struct op_server *s, const struct http_request *req,
		     struct http_response *resp, enum package_report_kind kind)
{
	const char *event = kind == PACKAGE_RECEIPT ? "receipt" :
			    kind == PACKAGE_TAMPER  ? "tamper" : "released";
	struct package_attested a = { 0 };
	struct package_report rep;
	struct op_package pkg;
	TPM2B_PUBLIC ak;
	TPMS_ATTEST att;
	char why[512];
	time_t now = s->now();
	int r;

	r = package_attested_parse(req->body, req->len, kind, &a, why, sizeof(why));
	if (r == 0) {
		r = package_report_parse((const char *)a.body, a.body_len, &rep, why, sizeof(why));
		if (r == 0 && rep.kind != kind) {
			snprintf(why, sizeof(why), "the %s holds a %s", report_name(kind),
				 report_name(rep.kind));
			r = -EINVAL;
		}
		if (r == 0 && strcmp(rep.device, a.device)) {
			snprintf(why, sizeof(why), "the report names another device");
			r = -EINVAL;
		}
	}
	if (r < 0) {
		http_error(resp, r == -ENOMEM ? 500 : 400, r == -ENOMEM ? "internal" : "bad_request",
			   "%s", why);
		goto out;
	}
	if (!api_rate_ok(s->per_device, a.device, now, resp))
		goto out;
	r = kind == PACKAGE_RECEIPT ? store_package_get(s->store, a.device, rep.sequence, &pkg)
				    : store_package_latest(s->store, a.device, &pkg);
	if (r == -ENOENT) {
		refuse(s, resp, a.device, event, 404, "no_package",
		       kind == PACKAGE_RECEIPT ? "no package with this sequence for this device"
					       : "this device never downloaded a package here: no AK to "
						 "check the report with");
		goto out;
	}
	if (r < 0) {
		store_failed(resp, r);
		goto out;
	}
	if (kind == PACKAGE_RECEIPT && strcmp(pkg.iccid, rep.iccid)) {
		refuse(s, resp, a.device, event, 400, "receipt_mismatch",
		       "the receipt's ICCID is not the package's");
		goto out;
	}
	/* docs/change-format.md 4: installed for a package that replaces nothing,
	 * switched or fallback for one that does. */
	if (kind == PACKAGE_RECEIPT &&
	    !pkg.replaces[0] != (rep.result == PACKAGE_RESULT_INSTALLED)) {
		snprintf(why, sizeof(why), "receipt result %s for a package that %s",
			 package_result_name(rep.result),
			 pkg.replaces[0] ? "replaces a subscription (switched or fallback)"
					 : "replaces nothing (installed)");
		refuse(s, resp, a.device, event, 400, "receipt_mismatch", why);
		goto out;
	}
	r = stored_ak(pkg.ak_public, &ak);
	if (r < 0) {
		http_error(resp, 500, "internal", "the stored AK does not parse");
		goto out;
	}
	r = dpf_attested_verify(&a, &ak.publicArea, &att, why, sizeof(why));
	if (r < 0) {
		refuse(s, resp, a.device, event, 403, "quote_invalid", why);
		goto out;
	}
	if (kind == PACKAGE_RELEASE_REPORT) {
		released(s, resp, &rep, now);
		goto out;
	}
	if (kind == PACKAGE_TAMPER) {
		snprintf(why, sizeof(why), "%s (at %" PRId64 ")", rep.reason, rep.at);
		r = store_tamper_add(s->store, a.device, rep.at, now, rep.reason);
		if (r == 0)
			r = store_audit(s->store, now, a.device, event, "recorded", why);
		if (r < 0) {
			store_failed(resp, r);
			goto out;
		}
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "result", json_object_new_string("recorded"));
		api_reply(resp, 200, o);
		goto out;
	}
	/* The receipt: the quote shows the key PCRs the package approved. */
	{
		const TPM2B_DIGEST *d = &att.attested.quote.pcrDigest;
		char got[65] = "";

		if (d->size == 32)
			hex_encode(d->buffer, 32, got);
		if (strcmp(got, pkg.kpd)) {
			refuse(s, resp, a.device, event, 403, "pcr_mismatch",
			       "the quoted PCR digest is not the one the package approved");
			goto out;
		}
	}
	snprintf(why, sizeof(why), "sequence %" PRId64 ", iccid %s%s%s", rep.sequence, rep.iccid,
		 rep.reason[0] ? ", reason: " : "", rep.reason);
	r = store_package_confirm(s->store, a.device, rep.sequence, now,
				  package_result_name(rep.result), rep.reason, why);
	if (r == -EALREADY) {
		refuse(s, resp, a.device, event, 409, "receipt_used",
		       "this package's install was confirmed before");
		goto out;
	}
	if (r < 0) {
		store_failed(resp, r);
		goto out;
	}
	{
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "result", json_object_new_string(
			rep.result == PACKAGE_RESULT_FALLBACK ? "failed" : "active"));
		json_object_object_add(o, "iccid", json_object_new_string(rep.iccid));
		api_reply(resp, 200, o);
	}
out:
	package_attested_free(&a);
}

void api_dpf_receipt(struct op_server *s, const struct http_request *req,
		     struct http_response *resp)
{
	attested(s, req, resp, PACKAGE_RECEIPT);
}

void api_dpf_tamper(struct op_server *s, const struct http_request *req,
		    struct http_response *resp)
{
	attested(s, req, resp, PACKAGE_TAMPER);
}

void api_dpf_released(struct op_server *s, const struct http_request *req,
		      struct http_response *resp)
{
	attested(s, req, resp, PACKAGE_RELEASE_REPORT);
}
