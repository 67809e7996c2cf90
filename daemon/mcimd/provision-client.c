// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The device's side of the operator protocol (docs/operator-protocol.md,
 * version 1): registration with the DRF and platform validation by the
 * PVA, as flows of steps driven by the epoll loop (the HTTPS exchanges are
 * http.h's, on libcurl's multi socket API; the TPM steps block on the TPM
 * like every other TRE call).  provision.c is the other way profiles
 * arrive (the local install); this file never touches profiles.
 *
 * Register: the EK certificate from the TPM's NV (RSA 2048 first, else ECC
 * P-256; with neither, the RSA EK's public area) -> POST {drf_url}/v1/register
 * -> the answer kept in the store
 * (device blob "provision.registration", in the answer's own form, read
 * back with the same parser).
 *
 * Validate: the AK (created under the ECC EK at first use, tpm.c) ->
 * POST {pva_url}/v1/validations -> TPM2_ActivateCredential with the EK the
 * credential names (the AK need not be that EK's child: ActivateCredential
 * takes the EK as keyHandle) -> TPM2_Quote over the PVA's pcr_selection
 * with the nonce -> TPM2_Certify of the SRK with the nonce -> the event
 * logs of [provisioning] tcg_log and ima_log (absent files are not sent;
 * none in autonomous mode) -> POST .../evidence -> the ticket and its
 * expiry kept (device blob "provision.ticket") for the download.
 *
 * Semi-autonomous mode (protocol section 4, summary.h): the reference values
 * of [provisioning] reference are read when the PVA asks for the mode; the
 * quote step reads the PCRs, then the logs, builds the summary from them and
 * quotes with qualifyingData = SHA-256(nonce || summary); the logs stay on
 * the device and the summary goes with the evidence.
 *
 * Every failure ends the flow with a kind (docs/control-api.md:
 * "config", "tpm", "store", "unreachable", "tls", "timeout", "bad-answer",
 * "refused", "retry-later"), the step it happened in and
 * the steps done; nothing is stored by a flow that failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <tss2/tss2_mu.h>

#include "fileio.h"
#include "hex.h"
#include "json-util.h"
#include "package.h"
#include "model.h"
#include "tpm2-crypto.h"

#include "daemon/mcimd/http.h"
#include "daemon/mcimd/log.h"
#include "daemon/mcimd/mcimd.h"
#include "daemon/mcimd/operator-json.h"
#include "json-util.h"
#include "daemon/mcimd/summary.h"

/* Request bodies (protocol "Transport"): 64 KiB, 12 MiB for the evidence. */
#define REQUEST_MAX (64u << 10)
#define EVIDENCE_MAX (12u << 20)
/* Semi-autonomous: quotes tried while the PCRs move between read and quote. */
#define SEMI_ATTEMPTS 3

struct mcimd_prov {
	struct mcimd *d;
	enum mcimd_prov_flow flow;
	mcimd_prov_done done;
	void *user;
	struct http_xfer *xfer;
	struct json_object *steps;
	const char *step;         /* under way */
	struct timespec t0;       /* its start */
	bool registered;          /* reg holds the registration */
	struct op_registration reg;
	struct op_session sess;
	bool have_ref;            /* ref: [provisioning] reference (semi-autonomous) */
	struct op_model ref;
	struct json_object *summary; /* the summary sent, for the result */
	struct store_profile_info installed; /* download: the new profile */
	uint8_t parent[16 + TRE_BLOB_MAX]; /* the storage parent certified (revoke.c) */
	size_t parent_len;
	int64_t sequence;
	struct op_switch *sw;     /* a switch's flow: the order (switch.c), or NULL */
	char sw_iccid[STORE_ICCID_MAX + 1];
};

static void step_begin(struct mcimd_prov *p, const char *step)
{
	p->step = step;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
}

_printf_(2, 3) static void step_ok(struct mcimd_prov *p, const char *fmt, ...)
{
	struct json_object *s = json_object_new_object();
	struct timespec t;
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_MONOTONIC, &t);
	json_object_object_add(s, "step", json_object_new_string(p->step));
	json_object_object_add(s, "detail", json_object_new_string(detail));
	json_object_object_add(s, "ms", json_object_new_int64((t.tv_sec - p->t0.tv_sec) * 1000 +
							      (t.tv_nsec - p->t0.tv_nsec) / 1000000));
	json_object_array_add(p->steps, s);
	log_info("provisioning: %s: %s", p->step, detail);
}

static void prov_free(struct mcimd_prov *p)
{
	if (p->d->prov == p) {
		p->d->prov = NULL;
		mcimd_switch_kick(p->d); /* a switch waiting for the client */
	}
	mcimd_release_heap(p->d); /* the evidence (logs) may have been megabytes */
	http_cancel(p->xfer);
	json_object_put(p->steps);
	json_object_put(p->summary);
	free(p->sw);
	if (p->have_ref)
		model_free(&p->ref);
	explicit_bzero(&p->sess, sizeof(p->sess));
	free(p);
}

static void finish(struct mcimd_prov *p, struct json_object *result)
{
	mcimd_prov_done done = p->done;
	void *user = p->user;

	json_object_object_add(result, "steps", json_object_get(p->steps));
	prov_free(p);
	done(user, 0, result, NULL, NULL);
}

/* Ends the flow with an error; extra (taken, may be NULL) joins data. */
_printf_(5, 6) static void fail(struct mcimd_prov *p, int r, const char *kind,
				struct json_object *extra, const char *fmt, ...)
{
	struct json_object *data = extra ? extra : json_object_new_object();
	mcimd_prov_done done = p->done;
	void *user = p->user;
	char why[CONTROL_WHY_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	json_object_object_add(data, "kind", json_object_new_string(kind));
	json_object_object_add(data, "step", json_object_new_string(p->step));
	json_object_object_add(data, "steps", json_object_get(p->steps));
	if (p->summary)
		json_object_object_add(data, "summary", json_object_get(p->summary));
	log_error("provisioning: %s: %s", p->step, why);
	prov_free(p);
	done(user, r, NULL, why, data);
}

/* base URL (no trailing '/') + path */
static int url_join(const char *base, const char *path, const char *arg, char *out,
		    size_t size)
{
	size_t n = strlen(base);
	int w;

	while (n > 0 && base[n - 1] == '/')
		n--;
	w = snprintf(out, size, "%.*s%s%s%s", (int)n, base, path, arg ? arg : "",
		     arg ? "/evidence" : "");
	return w < 0 || (size_t)w >= size ? -ENAMETOOLONG : 0;
}

/* Starts the step's request (at most max bytes); on failure the flow ends (fail). */
static int post_max(struct mcimd_prov *p, const char *url, struct json_object *body, size_t max,
		    size_t answer_max, bool idempotent, http_done_fn fn);

static int post(struct mcimd_prov *p, const char *url, struct json_object *body, size_t max,
		bool idempotent, http_done_fn fn)
{
	return post_max(p, url, body, max, OP_BODY_MAX, idempotent, fn);
}

static int post_max(struct mcimd_prov *p, const char *url, struct json_object *body, size_t max,
		    size_t answer_max, bool idempotent, http_done_fn fn)
{
	const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	struct http_request req = {
		.url = url, .body = text, .len = text ? strlen(text) : 0,
		.ca = p->d->cfg.prov_ca, .timeout_s = (long)p->d->cfg.prov_timeout,
		.retries = p->d->cfg.prov_retries, .idempotent = idempotent,
		.body_max = answer_max,
	};
	char why[256] = "";
	int r = text ? 0 : -ENOMEM;

	if (r == 0 && req.len > max) {
		snprintf(why, sizeof(why), "the request is over %zu bytes", max);
		r = -E2BIG;
	}
	if (r == 0 && !p->d->http)
		r = http_new(p->d->loop, &p->d->http, why, sizeof(why));
	if (r == 0)
		r = http_post(p->d->http, &req, fn, p, &p->xfer);
	if (r < 0)
		fail(p, r, "config", NULL, "request to %s: %s", url, why[0] ? why : strerror(-r));
	return r;
}

/*
 * Ends the flow on an answer that is not the one the step wants (status
 * want): the transport's failure, the operator's error object (protocol
 * "Errors"), or something else.
 */
static void fail_answer(struct mcimd_prov *p, const struct http_response *rsp, long want)
{
	struct json_object *x = json_object_new_object();
	struct op_error e;
	char why[256];

	switch (rsp->fail) {
	case HTTP_OK:
		break;
	case HTTP_UNREACHABLE:
		fail(p, -EHOSTUNREACH, "unreachable", x, "%s (%u attempts)", rsp->why,
		     rsp->attempts);
		return;
	case HTTP_TLS:
		fail(p, -EPROTO, "tls", x, "%s", rsp->why);
		return;
	case HTTP_TIMEOUT:
		fail(p, -ETIMEDOUT, "timeout", x, "%s (%u attempts)", rsp->why, rsp->attempts);
		return;
	case HTTP_TOO_LARGE:
		fail(p, -EBADMSG, "bad-answer", x, "%s", rsp->why);
		return;
	case HTTP_LOCAL:
		fail(p, -EINVAL, "config", x, "%s", rsp->why);
		return;
	case HTTP_IO:
		fail(p, -EIO, "unreachable", x, "%s", rsp->why);
		return;
	}
	json_object_object_add(x, "http_status", json_object_new_int((int)rsp->status));
	if (rsp->status >= 200 && rsp->status < 300) {
		fail(p, -EBADMSG, "bad-answer", x, "the operator answered HTTP %ld, not %ld",
		     rsp->status, want);
		return;
	}
	if (op_parse_error(rsp->body, rsp->len, &e, why, sizeof(why)) < 0) {
		fail(p, -EBADMSG, "bad-answer", x,
		     "the operator answered HTTP %ld without the protocol's error object: %s",
		     rsp->status, why);
		return;
	}
	json_object_object_add(x, "code", json_object_new_string(e.code));
	if (rsp->retry_after >= 0)
		json_object_object_add(x, "retry_after", json_object_new_int64(rsp->retry_after));
	if (e.n_failures_total) {
		struct json_object *f = json_object_new_array();

		for (size_t i = 0; i < e.n_failures; i++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "check", json_object_new_string(e.failures[i].check));
			json_object_object_add(o, "reason", json_object_new_string(e.failures[i].text));
			json_object_array_add(f, o);
		}
		json_object_object_add(x, "failures", f);
	}
	if (rsp->status == 429 || rsp->status == 503) {
		if (rsp->retry_after >= 0)
			fail(p, -EAGAIN, "retry-later", x,
			     "the operator is busy (HTTP %ld %s: %s); retry after %ld s",
			     rsp->status, e.code, e.message, rsp->retry_after);
		else
			fail(p, -EAGAIN, "retry-later", x,
			     "the operator is busy (HTTP %ld %s: %s); retry later", rsp->status,
			     e.code, e.message);
	} else if (!strcmp(e.code, "not_registered")) {
		fail(p, -EPROTO, "refused", x,
		     "the operator does not know this device's EK (HTTP 403 not_registered: %s)",
		     e.message);
	} else if (!strcmp(e.code, "validation_failed")) {
		char list[CONTROL_WHY_SIZE] = "";
		size_t n = 0;

		for (size_t i = 0; i < e.n_failures && n < sizeof(list); i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
					      e.failures[i].check);
		fail(p, -EPROTO, "refused", x, "the PVA refused the platform (%s): failed %s",
		     e.message, e.n_failures ? list : "(no check named)");
	} else {
		fail(p, -EPROTO, "refused", x, "the operator refused (HTTP %ld %s): %s",
		     rsp->status, e.code, e.message);
	}
}

static int public_json(struct json_object *o, const char *key, const TPM2B_PUBLIC *pub);

static struct json_object *b64_json(const uint8_t *b, size_t n)
{
	char *s = b64_encode(b, n);
	struct json_object *o = s ? json_object_new_string(s) : NULL;

	free(s);
	return o;
}

/* ---- registration ---- */

static struct json_object *sho_json(const char *id, const char *name)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "name", json_object_new_string(name));
	return o;
}

static struct json_object *registration_json(const struct op_registration *g)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "device_id", json_object_new_string(g->device_id));
	if (g->model[0])
		json_object_object_add(o, "model", json_object_new_string(g->model));
	if (g->subscriber[0])
		json_object_object_add(o, "subscriber", json_object_new_string(g->subscriber));
	json_object_object_add(o, "sho", sho_json(g->sho_id, g->sho_name));
	json_object_object_add(o, "pva_url", json_object_new_string(g->pva_url));
	json_object_object_add(o, "dpf_url", json_object_new_string(g->dpf_url));
	json_object_object_add(o, "ek", json_object_new_string(op_ek_name(g->ek)));
	return o;
}

/* The switch order as the DRF sent it (op_parse_switch() reads it back). */
static struct json_object *switch_json(const struct op_switch *w)
{
	struct json_object *o = json_object_new_object();
	_cleanup_free_ char *c = b64_encode(w->consent, w->consent_len);
	_cleanup_free_ char *r = w->release_len ? b64_encode(w->release, w->release_len) : NULL;

	json_object_object_add(o, "sho", sho_json(w->sho_id, w->sho_name));
	json_object_object_add(o, "pva", json_object_new_string(w->pva_url));
	json_object_object_add(o, "dpf", json_object_new_string(w->dpf_url));
	json_object_object_add(o, "consent", c ? json_object_new_string(c) : NULL);
	json_object_object_add(o, "release", r ? json_object_new_string(r) : NULL);
	return o;
}

/*
 * A registration answer with "switch" keeps the order (device blob
 * MCIMD_BLOB_SWITCH_ORDER) for the switch (change-format.md 5, a later
 * step); one without it withdraws an earlier order.  -EMSGSIZE: an order
 * over the store's blob size (STORE_BLOB_MAX of JSON) is not kept (nor an
 * earlier one).
 */
static int keep_switch_order(struct mcimd *d, const struct op_registration *g)
{
	_cleanup_json_ struct json_object *o = NULL;
	const char *text = "";
	int r;

	if (g->has_switch) {
		o = switch_json(&g->sw);
		text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	}
	if (!g->has_switch || strlen(text) > STORE_BLOB_MAX) {
		r = store_device_blob_delete(d->store, MCIMD_BLOB_SWITCH_ORDER);
		if (r < 0 && r != -ENOENT)
			return r;
		if (!g->has_switch)
			return 0;
		log_error("the switch order to %s is not kept: %zu bytes of JSON, the store "
			  "keeps at most %u", g->sw.sho_name, strlen(text), STORE_BLOB_MAX);
		return -EMSGSIZE;
	}
	r = store_device_blob_put(d->store, MCIMD_BLOB_SWITCH_ORDER, (const uint8_t *)text,
				  strlen(text));
	if (r < 0)
		return r;
	log_notice("a switch order is pending: to %s (%s), PVA %s, DPF %s, consent %zu bytes, "
		   "%s", g->sw.sho_name, g->sw.sho_id, g->sw.pva_url, g->sw.dpf_url,
		   g->sw.consent_len, g->sw.release_len ? "with a release" : "no release");
	if (store_audit(d->store, "switch-ordered", NULL, g->sw.sho_id) < 0)
		log_warning("audit: %s", store_errmsg(d->store));
	return 0;
}

struct json_object *mcimd_switch_order_json(struct mcimd *d)
{
	_cleanup_free_ uint8_t *b = NULL;
	_cleanup_free_ struct op_switch *w = NULL;
	struct json_object *o;
	size_t len = 0;
	char why[256];

	if (store_device_blob_get(d->store, MCIMD_BLOB_SWITCH_ORDER, &b, &len) < 0)
		return NULL;
	w = malloc(sizeof(*w));
	if (!w)
		return NULL;
	if (op_parse_switch((const char *)b, len, w, why, sizeof(why)) < 0) {
		log_error("the stored switch order is damaged: %s", why);
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "sho", sho_json(w->sho_id, w->sho_name));
	json_object_object_add(o, "pva", json_object_new_string(w->pva_url));
	json_object_object_add(o, "dpf", json_object_new_string(w->dpf_url));
	json_object_object_add(o, "consent_bytes", json_object_new_int64((int64_t)w->consent_len));
	json_object_object_add(o, "release_bytes", json_object_new_int64((int64_t)w->release_len));
	json_object_object_add(o, "state", json_object_new_string("pending"));
	return o;
}

static void start_validate(struct mcimd_prov *p);
static void start_download(struct mcimd_prov *p);
static void start_receipt_step(struct mcimd_prov *p);

static void on_register(void *user, const struct http_response *rsp)
{
	struct mcimd_prov *p = user;
	struct mcimd *d = p->d;
	_cleanup_json_ struct json_object *saved = NULL;
	char why[256];
	const char *text;
	int r;

	p->xfer = NULL;
	if (rsp->fail != HTTP_OK || rsp->status != 200) {
		fail_answer(p, rsp, 200);
		return;
	}
	if (op_parse_registration(rsp->body, rsp->len, &p->reg, why, sizeof(why)) < 0) {
		fail(p, -EBADMSG, "bad-answer", NULL, "the DRF's answer: %s", why);
		return;
	}
	step_ok(p, "device %.16s..., home operator %s (%s), PVA %s", p->reg.device_id,
		p->reg.sho_name, p->reg.sho_id, p->reg.pva_url);
	step_begin(p, "store");
	saved = registration_json(&p->reg);
	text = json_object_to_json_string_ext(saved, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
	if (store_device_blob_put(d->store, MCIMD_BLOB_REGISTRATION, (const uint8_t *)text,
				  strlen(text)) < 0) {
		fail(p, -EIO, "store", NULL, "store: %s", store_errmsg(d->store));
		return;
	}
	if (store_audit(d->store, "registered", NULL, p->reg.device_id) < 0)
		log_warning("audit: %s", store_errmsg(d->store));
	r = keep_switch_order(d, &p->reg);
	if (r < 0 && r != -EMSGSIZE) {
		fail(p, -EIO, "store", NULL, "store: the switch order: %s", store_errmsg(d->store));
		return;
	}
	if (!p->reg.has_switch)
		step_ok(p, "registration kept");
	else
		step_ok(p, "registration kept; a switch order to %s %s", p->reg.sw.sho_name,
			r < 0 ? "is too large to keep (over the store's blob size): not kept"
			      : "is pending");
	p->registered = true;
	if (p->flow == MCIMD_PROV_AUTO || p->flow == MCIMD_PROV_FULL) {
		start_validate(p);
		return;
	}
	finish(p, json_object_get(saved));
}

static void start_register(struct mcimd_prov *p)
{
	struct mcimd *d = p->d;
	_cleanup_json_ struct json_object *body = NULL;
	_cleanup_free_ uint8_t *der = NULL;
	enum tre_ek_type type = TRE_EK_RSA;
	char url[CONFIG_URL_MAX + 32];
	size_t len = 0;
	int r;

	step_begin(p, "ek_certificate");
	/* swtpm_setup and most TPMs certify the RSA EK; ECC-only TPMs exist. */
	r = tre_ek_cert(d->tre, TRE_EK_RSA, &der, &len);
	if (r == -ENOENT) {
		type = TRE_EK_ECC;
		r = tre_ek_cert(d->tre, TRE_EK_ECC, &der, &len);
	}
	body = json_object_new_object();
	if (r == -ENOENT) {
		/* No certificate: the device was imported by its EK public key
		 * (protocol 1, "ek_public"); the RSA EK, the TCG default. */
		TPM2B_PUBLIC ek;

		r = tre_ek_public(d->tre, TRE_EK_RSA, &ek);
		if (r == 0)
			r = public_json(body, "ek_public", &ek);
		if (r < 0) {
			fail(p, r, "tpm", NULL, "no EK certificate (NV 0x%08x, 0x%08x), and the "
			     "RSA EK's public area: %s", TRE_EK_CERT_NV_RSA, TRE_EK_CERT_NV_ECC,
			     tre_errmsg(d->tre));
			return;
		}
		step_ok(p, "no EK certificate in NV: the RSA EK's public area sent");
	} else if (r < 0) {
		fail(p, r, "tpm", NULL, "EK certificate: %s", tre_errmsg(d->tre));
		return;
	} else {
		json_object_object_add(body, "ek_cert", b64_json(der, len));
		step_ok(p, "%s EK certificate, %zu bytes", type == TRE_EK_RSA ? "RSA" : "ECC",
			len);
	}
	step_begin(p, "register");
	if (url_join(d->cfg.drf_url, "/v1/register", NULL, url, sizeof(url)) < 0) {
		fail(p, -ENAMETOOLONG, "config", NULL, "drf_url is too long");
		return;
	}
	post(p, url, body, REQUEST_MAX, true, on_register);
}

/* ---- validation ---- */

static void on_evidence(void *user, const struct http_response *rsp)
{
	struct mcimd_prov *p = user;
	struct mcimd *d = p->d;
	_cleanup_json_ struct json_object *saved = NULL;
	struct json_object *result, *checks;
	_cleanup_free_ struct op_result *res = calloc(1, sizeof(*res));
	char why[256];
	const char *text;

	p->xfer = NULL;
	if (!res) {
		fail(p, -ENOMEM, "config", NULL, "out of memory");
		return;
	}
	if (rsp->fail != HTTP_OK || rsp->status != 200) {
		fail_answer(p, rsp, 200);
		return;
	}
	if (op_parse_result(rsp->body, rsp->len, res, why, sizeof(why)) < 0) {
		fail(p, -EBADMSG, "bad-answer", NULL, "the PVA's answer: %s", why);
		return;
	}
	step_ok(p, "valid: %zu checks passed", res->n_checks);
	step_begin(p, "store");
	saved = json_object_new_object();
	json_object_object_add(saved, "ticket", json_object_new_string(res->ticket));
	json_object_object_add(saved, "expires", json_object_new_int64(res->expires));
	json_object_object_add(saved, "device_id", json_object_new_string(p->reg.device_id));
	json_object_object_add(saved, "dpf_url", json_object_new_string(p->reg.dpf_url));
	json_object_object_add(saved, "mode", json_object_new_string(op_mode_name(p->sess.mode)));
	text = json_object_to_json_string_ext(saved, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
	/* The ticket names the parent certified: both kept at once. */
	if (store_begin(d->store) < 0 ||
	    store_device_blob_put(d->store, MCIMD_BLOB_TICKET, (const uint8_t *)text,
				  strlen(text)) < 0 ||
	    store_device_blob_put(d->store, MCIMD_BLOB_PENDING_PARENT, p->parent,
				  p->parent_len) < 0 ||
	    store_commit(d->store) < 0) {
		fail(p, -EIO, "store", NULL, "store: %s", store_errmsg(d->store));
		if (store_in_transaction(d->store))
			store_rollback(d->store);
		return;
	}
	if (store_audit(d->store, "validated", NULL, op_mode_name(p->sess.mode)) < 0)
		log_warning("audit: %s", store_errmsg(d->store));
	step_ok(p, "ticket kept, expires at %lld", (long long)res->expires);
	result = json_object_new_object();
	json_object_object_add(result, "result", json_object_new_string("valid"));
	json_object_object_add(result, "device_id", json_object_new_string(p->reg.device_id));
	json_object_object_add(result, "mode", json_object_new_string(op_mode_name(p->sess.mode)));
	json_object_object_add(result, "ticket_expires", json_object_new_int64(res->expires));
	checks = json_object_new_array();
	for (size_t i = 0; i < res->n_checks; i++) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "check", json_object_new_string(res->checks[i].check));
		json_object_object_add(c, "result", json_object_new_string(res->checks[i].text));
		json_object_array_add(checks, c);
	}
	json_object_object_add(result, "checks", checks);
	if (p->summary)
		json_object_object_add(result, "summary", json_object_get(p->summary));
	if (p->flow == MCIMD_PROV_FULL || p->flow == MCIMD_PROV_AUTO) {
		if (p->flow == MCIMD_PROV_AUTO)
			log_notice("automatic provisioning: registered and validated");
		json_object_put(result);
		start_download(p);
		return;
	}
	finish(p, result);
}

/* o.key = base64 of the marshalled TPMT_SIGNATURE or TPM2B_PUBLIC. */
static int sig_json(struct json_object *o, const char *key, const TPMT_SIGNATURE *sig)
{
	uint8_t buf[sizeof(*sig)];
	size_t n = 0;

	if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, buf, sizeof(buf), &n))
		return -EIO;
	json_object_object_add(o, key, b64_json(buf, n));
	return 0;
}

static int public_json(struct json_object *o, const char *key, const TPM2B_PUBLIC *pub)
{
	uint8_t buf[sizeof(*pub)];
	size_t n = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &n))
		return -EIO;
	json_object_object_add(o, key, b64_json(buf, n));
	return 0;
}

/* The quoted PCRs' values in selection order (protocol 2.2 pcr_values). */
static struct json_object *pcr_values_json(const struct tre_quote *q)
{
	struct json_object *a = json_object_new_array();
	uint32_t k = 0;

	for (uint32_t b = 0; b < q->sel.count; b++) {
		const TPMS_PCR_SELECTION *s = &q->sel.pcrSelections[b];

		for (unsigned i = 0; i < 8u * s->sizeofSelect; i++) {
			struct json_object *v;
			char hex[2 * sizeof(q->pcrs[0].buffer) + 1];

			if (!(s->pcrSelect[i / 8] & (1u << (i % 8))) || k >= q->npcrs)
				continue;
			hex_encode(q->pcrs[k].buffer, q->pcrs[k].size, hex);
			k++;
			v = json_object_new_object();
			json_object_object_add(v, "bank", json_object_new_string(op_bank_name(s->hash)));
			json_object_object_add(v, "pcr", json_object_new_int((int)i));
			json_object_object_add(v, "digest", json_object_new_string(hex));
			json_object_array_add(a, v);
		}
	}
	return a;
}

static bool same_pcrs(const TPM2B_DIGEST *a, const TPM2B_DIGEST *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (a[i].size != b[i].size || memcmp(a[i].buffer, b[i].buffer, a[i].size))
			return false;
	return true;
}

/*
 * Semi-autonomous (summary.h): the PCRs, then the logs (the IMA list read
 * after the PCRs holds their prefix), the summary of their checks, and the
 * quote with SHA-256(nonce || summary).  The PCRs read after the quote must
 * be those the summary was made from (PCRs only grow: then they are the
 * quoted ones); else again.  On failure the flow has ended (fail).
 */
static int semi_quote(struct mcimd_prov *p, struct tre_quote *q, char **ret_summary,
		      size_t *ret_len, unsigned *ret_failures)
{
	struct mcimd *d = p->d;
	const struct op_session *s = &p->sess;
	TPM2B_DIGEST vals[ARRAY_SIZE(q->pcrs)];
	uint32_t n;
	int r;

	for (unsigned attempt = 0; attempt < SEMI_ATTEMPTS; attempt++) {
		_cleanup_free_ uint8_t *tcg = NULL, *ima = NULL;
		_cleanup_free_ char *sum = NULL;
		size_t tcg_len, ima_len, sum_len;
		struct summary_pcrs pcrs;
		uint8_t qual[TPM2_SHA256_DIGEST_SIZE];

		r = tre_pcr_read(d->tre, &s->sel, vals, ARRAY_SIZE(vals), &n);
		if (r < 0) {
			fail(p, r, "tpm", NULL, "TPM2_PCR_Read: %s", tre_errmsg(d->tre));
			return r;
		}
		if (summary_pcrs_from(&s->sel, vals, n, &pcrs) < 0) {
			fail(p, -EIO, "tpm", NULL, "the PCR values read do not match the selection");
			return -EIO;
		}
		r = tre_event_log_read(d->cfg.tcg_log[0] ? d->cfg.tcg_log : NULL, &tcg, &tcg_len);
		if (r == 0)
			r = tre_event_log_read(d->cfg.ima_log[0] ? d->cfg.ima_log : NULL, &ima,
					       &ima_len);
		if (r < 0) {
			fail(p, r, "config", NULL, "reading the event logs: %s", strerror(-r));
			return r;
		}
		r = summary_build(&p->ref, &pcrs, tcg, tcg_len, ima, ima_len, &sum, &sum_len,
				  ret_failures);
		if (r == 0) {
			const struct tpm2_buf parts[] = { { s->nonce, s->nonce_len }, { sum, sum_len } };

			r = tpm2_hashv(TPM2_ALG_SHA256, parts, ARRAY_SIZE(parts), qual);
		}
		if (r < 0) {
			fail(p, r, "config", NULL, "the summary cannot be made: %s", strerror(-r));
			return r;
		}
		r = tre_quote(d->tre, &s->sel, qual, sizeof(qual), q);
		if (r < 0) {
			fail(p, r, "tpm", NULL, "TPM2_Quote: %s", tre_errmsg(d->tre));
			return r;
		}
		if (q->npcrs == n && same_pcrs(q->pcrs, vals, n)) {
			*ret_summary = TAKE_PTR(sum);
			*ret_len = sum_len;
			return 0;
		}
		tre_quote_clear(q);
	}
	fail(p, -EAGAIN, "tpm", NULL, "the PCRs changed between the summary and the quote, %u times",
	     SEMI_ATTEMPTS);
	return -EAGAIN;
}

/* ActivateCredential, Quote, Certify, the logs: the evidence body. */
static int evidence(struct mcimd_prov *p, struct json_object **ret)
{
	struct mcimd *d = p->d;
	const struct op_session *s = &p->sess;
	_cleanup_json_ struct json_object *o = json_object_new_object();
	struct json_object *quote, *srk, *logs;
	struct tre_quote q;
	_cleanup_free_ char *summary = NULL;
	size_t summary_len = 0;
	unsigned failures = 0;
	TPM2B_DIGEST secret;
	TPM2B_ATTEST attest;
	TPMT_SIGNATURE sig;
	struct tre_parent *parent = NULL;
	uint64_t bound;
	char why[256];
	bool logs_wanted = s->mode == OP_MODE_REMOTE;
	int r;

	step_begin(p, "activate_credential");
	r = tre_activate_credential(d->tre, s->ek == OP_EK_ECC ? TRE_EK_ECC : TRE_EK_RSA, &s->blob,
				    &s->secret, &secret);
	if (r < 0) {
		fail(p, r, "tpm", NULL, "TPM2_ActivateCredential (%s EK): %s", op_ek_name(s->ek),
		     tre_errmsg(d->tre));
		return r;
	}
	json_object_object_add(o, "credential_secret", b64_json(secret.buffer, secret.size));
	explicit_bzero(&secret, sizeof(secret));
	step_ok(p, "credential of the %s EK activated", op_ek_name(s->ek));

	step_begin(p, "quote");
	{
		/* tre_quote() reads the logs at these paths (NULL: none). */
		const char *bios = tre_bios_log_path, *ima = tre_ima_log_path;

		tre_bios_log_path = logs_wanted && d->cfg.tcg_log[0] ? d->cfg.tcg_log : NULL;
		tre_ima_log_path = logs_wanted && d->cfg.ima_log[0] ? d->cfg.ima_log : NULL;
		if (s->mode == OP_MODE_SEMI_AUTONOMOUS)
			r = semi_quote(p, &q, &summary, &summary_len, &failures);
		else
			r = tre_quote(d->tre, &s->sel, s->nonce, s->nonce_len, &q);
		tre_bios_log_path = bios;
		tre_ima_log_path = ima;
	}
	if (r < 0) {
		if (s->mode != OP_MODE_SEMI_AUTONOMOUS) /* semi_quote() ended the flow */
			fail(p, r, "tpm", NULL, "TPM2_Quote: %s", tre_errmsg(d->tre));
		return r;
	}
	quote = json_object_new_object();
	json_object_object_add(quote, "attest", b64_json(q.attest.attestationData, q.attest.size));
	r = sig_json(quote, "signature", &q.signature);
	json_object_object_add(o, "quote", quote);
	json_object_object_add(o, "pcr_values", pcr_values_json(&q));
	logs = json_object_new_object();
	if (q.bios_log)
		json_object_object_add(logs, "tcg", b64_json(q.bios_log, q.bios_log_len));
	if (q.ima_log)
		json_object_object_add(logs, "ima", b64_json(q.ima_log, q.ima_log_len));
	step_ok(p, "%u PCRs quoted with %s", q.npcrs,
		summary ? "SHA-256(nonce || summary)" : "the nonce");
	if (summary) {
		struct json_object *f;

		step_begin(p, "summary");
		json_object_object_add(o, "summary", b64_json((const uint8_t *)summary, summary_len));
		p->summary = json_tokener_parse(summary);
		f = p->summary ? json_object_object_get(p->summary, "failures") : NULL;
		if (!failures)
			step_ok(p, "the logs and PCRs pass %s version %lld", p->ref.name,
				(long long)p->ref.version);
		else
			step_ok(p, "%u failure(s) against %s version %lld, first: %s", failures,
				p->ref.name, (long long)p->ref.version,
				json_object_get_string(json_object_object_get(
					json_object_array_get_idx(f, 0), "reason")) ?: "?");
	}
	step_begin(p, "event_logs");
	if (!logs_wanted)
		step_ok(p, "not sent (%s mode)", op_mode_name(s->mode));
	else
		step_ok(p, "tcg %zu bytes%s, ima %zu bytes%s", q.bios_log_len,
			q.bios_log ? "" : " (absent)", q.ima_log_len, q.ima_log ? "" : " (absent)");
	json_object_object_add(o, "event_logs", logs);
	tre_quote_clear(&q);
	if (r < 0) {
		fail(p, r, "tpm", NULL, "the quote's signature cannot be marshalled");
		return r;
	}

	/* The storage key the package will be wrapped to: a fresh storage
	 * parent of this subscription (docs/change-format.md 7). */
	step_begin(p, "certify_srk");
	r = mcimd_parent_new(d, &parent, p->parent, sizeof(p->parent), &p->parent_len, why,
			     sizeof(why));
	if (r < 0) {
		fail(p, r, "tpm", NULL, "%s", why);
		return r;
	}
	r = tre_certify_parent(parent, s->nonce, s->nonce_len, &attest, &sig);
	if (r < 0) {
		fail(p, r, "tpm", NULL, "TPM2_Certify of the storage parent: %s",
		     tre_errmsg(d->tre));
		tre_parent_remove(parent);
		return r;
	}
	srk = json_object_new_object();
	json_object_object_add(o, "srk", srk);
	r = public_json(srk, "public", tre_parent_public(parent));
	bound = tre_parent_bound(parent);
	/* Known to the TRE again at the install (the pending parent). */
	tre_parent_remove(parent);
	json_object_object_add(srk, "attest", b64_json(attest.attestationData, attest.size));
	if (r == 0)
		r = sig_json(srk, "signature", &sig);
	if (r < 0) {
		fail(p, r, "tpm", NULL, "the SRK certification cannot be marshalled");
		return r;
	}
	step_ok(p, "storage parent (bound %llu) certified by the AK with the nonce",
		(unsigned long long)bound);
	*ret = TAKE_PTR(o);
	return 0;
}

/* The reference values the device checks itself against (semi-autonomous). */
static int load_reference(struct mcimd_prov *p, char *why, size_t why_size)
{
	const char *path = p->d->cfg.reference;
	_cleanup_free_ char *text = NULL;
	char w[256];
	size_t len;
	int r;

	if (!path[0]) {
		snprintf(why, why_size, "[provisioning] reference is not set in %s",
			 p->d->config_path);
		return -EINVAL;
	}
	r = read_file_max(path, MODEL_BODY_MAX, &text, &len);
	if (r < 0) {
		snprintf(why, why_size, "reference %.100s: %.130s", path,
			 r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
		return r;
	}
	r = model_parse(text, len, &p->ref, w, sizeof(w));
	if (r < 0) {
		snprintf(why, why_size, "reference %.100s: %.130s", path, w);
		return r;
	}
	p->have_ref = true;
	return 0;
}

static void on_session(void *user, const struct http_response *rsp)
{
	struct mcimd_prov *p = user;
	_cleanup_json_ struct json_object *body = NULL;
	char why[256], url[CONFIG_URL_MAX + OP_NAME_MAX + 64];

	p->xfer = NULL;
	if (rsp->fail != HTTP_OK || rsp->status != 201) {
		fail_answer(p, rsp, 201);
		return;
	}
	if (op_parse_session(rsp->body, rsp->len, &p->sess, why, sizeof(why)) < 0) {
		fail(p, -EBADMSG, "bad-answer", NULL, "the PVA's answer: %s", why);
		return;
	}
	if (p->sess.mode == OP_MODE_SEMI_AUTONOMOUS && load_reference(p, why, sizeof(why)) < 0) {
		fail(p, -EINVAL, "config", NULL,
		     "the PVA asks for semi-autonomous validation: %s (the session %s expires unused)",
		     why, p->sess.session);
		return;
	}
	step_ok(p, "session %s, %s mode, %u bank(s), expires at %lld", p->sess.session,
		op_mode_name(p->sess.mode), p->sess.sel.count, (long long)p->sess.expires);
	if (evidence(p, &body) < 0)
		return; /* failed, p is gone */
	step_begin(p, "evidence");
	if (url_join(p->reg.pva_url, "/v1/validations/", p->sess.session, url, sizeof(url)) < 0) {
		fail(p, -ENAMETOOLONG, "bad-answer", NULL, "pva_url and session are too long");
		return;
	}
	/* Not idempotent: a second copy would find the session used (409). */
	post(p, url, body, EVIDENCE_MAX, false, on_evidence);
}

int mcimd_registration(struct mcimd *d, struct op_registration *ret, char *why, size_t why_size)
{
	_cleanup_free_ uint8_t *b = NULL;
	size_t len = 0;
	char w[256];
	int r = store_device_blob_get(d->store, MCIMD_BLOB_REGISTRATION, &b, &len);

	if (r == -ENOENT) {
		snprintf(why, why_size, "this device is not registered yet (mcimctl register)");
		return r;
	}
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	if (op_parse_registration((const char *)b, len, ret, w, sizeof(w)) < 0) {
		snprintf(why, why_size, "the stored registration is damaged: %s", w);
		return -EBADMSG;
	}
	return 0;
}

static int load_registration(struct mcimd_prov *p, char *why, size_t why_size)
{
	int r = mcimd_registration(p->d, &p->reg, why, why_size);

	if (r == 0)
		p->registered = true;
	return r;
}

static void start_validate(struct mcimd_prov *p)
{
	struct mcimd *d = p->d;
	_cleanup_json_ struct json_object *body = NULL;
	char url[CONFIG_URL_MAX + 32], name_hex[2 * sizeof(TPMU_NAME) + 1];
	TPM2B_PUBLIC ak;
	TPM2B_NAME name;
	int r;

	step_begin(p, "attestation_key");
	r = mcimd_ak_ready(d);
	if (r == 0)
		r = tre_ak_public(d->tre, &ak, &name);
	if (r < 0) {
		fail(p, r, "tpm", NULL, "attestation key: %s", tre_errmsg(d->tre));
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "device_id", json_object_new_string(p->reg.device_id));
	if (public_json(body, "ak_public", &ak) < 0) {
		fail(p, -EIO, "tpm", NULL, "the AK's public area cannot be marshalled");
		return;
	}
	hex_encode(name.name, name.size, name_hex);
	step_ok(p, "AK name %.20s...", name_hex);
	step_begin(p, "session");
	if (url_join(p->reg.pva_url, "/v1/validations", NULL, url, sizeof(url)) < 0) {
		fail(p, -ENAMETOOLONG, "bad-answer", NULL, "pva_url is too long");
		return;
	}
	post(p, url, body, REQUEST_MAX, true, on_session);
}

/* ---- download, install, receipt, enable (docs/package-format.md 3-4) ---- */

static struct json_object *download_result(const struct mcimd_prov *p);

/*
 * A switch package (docs/change-format.md 3), or a switch's download: the
 * profile stays disabled and the one it replaces as it is.  No receipt
 * "installed" (B's DPF takes only switched or fallback for it): the switch
 * (switch.c, section 5) enables it and sends the receipt.
 */
static void switch_package_left(struct mcimd_prov *p)
{
	struct json_object *result;

	step_begin(p, "enable");
	if (p->installed.replaces[0])
		step_ok(p, "profile %s not enabled: it replaces %s, the switch enables it and "
			"confirms it", p->installed.iccid, p->installed.replaces);
	else
		step_ok(p, "profile %s not enabled", p->installed.iccid);
	if (p->flow != MCIMD_PROV_DOWNLOAD &&
	    store_device_blob_delete(p->d->store, MCIMD_BLOB_RECEIPT_PENDING) < 0)
		log_warning("store: %s", store_errmsg(p->d->store));
	result = download_result(p);
	if (p->installed.replaces[0])
		json_object_object_add(result, "replaces",
				       json_object_new_string(p->installed.replaces));
	finish(p, result);
}

/* The package's answer: {"package", "sequence", "iccid"}, 200. */
static void on_package(void *user, const struct http_response *rsp)
{
	struct mcimd_prov *p = user;
	struct mcimd *d = p->d;
	_cleanup_json_ struct json_object *info = NULL;
	struct op_package a;
	char why[CONTROL_WHY_SIZE];
	int r;

	p->xfer = NULL;
	if (rsp->fail != HTTP_OK || rsp->status != 200) {
		fail_answer(p, rsp, 200);
		return;
	}
	r = op_parse_package(rsp->body, rsp->len, &a, why, sizeof(why));
	if (r < 0) {
		fail(p, r, "bad-answer", NULL, "the DPF's answer: %s", why);
		return;
	}
	step_ok(p, "package of %zu bytes", a.der_len);
	step_begin(p, "install");
	/* A switch's download: its receipt is the switch's (switch.c). */
	r = mcimd_package_install(d, a.der, a.der_len,
				  p->flow == MCIMD_PROV_DOWNLOAD ? 0 : MCIMD_PKG_RECEIPT,
				  &p->installed, &info, why, sizeof(why));
	free(a.der);
	if (r < 0) {
		fail(p, r, !strncmp(why, "package refused", 15) ? "package" : "tpm", NULL, "%s",
		     why);
		return;
	}
	p->sequence = json_object_get_int64(json_object_object_get(info, "sequence"));
	step_ok(p, "profile %s installed (sequence %lld): every check passed",
		p->installed.iccid, (long long)p->sequence);
	if (p->flow == MCIMD_PROV_DOWNLOAD || p->installed.replaces[0]) {
		switch_package_left(p);
		return;
	}
	start_receipt_step(p);
}

/*
 * A flow cut after its install (kill, power cut, a receipt that failed):
 * the profile is there, its receipt not sent (device blob receipt-pending).
 * The flow goes on from the receipt instead of downloading again (a new
 * download of that subscription would be refused: check 9).
 */
static bool resume(struct mcimd_prov *p)
{
	struct mcimd *d = p->d;
	_cleanup_free_ uint8_t *b = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	const char *iccid = NULL;
	char why[CONTROL_WHY_SIZE];
	size_t len = 0;

	if (store_device_blob_get(d->store, MCIMD_BLOB_RECEIPT_PENDING, &b, &len) < 0)
		return false;
	step_begin(p, "install");
	if (ju_parse((const char *)b, len, 2, &o, why, sizeof(why)) < 0 ||
	    ju_string(o, "iccid", false, STORE_ICCID_MAX, &iccid, why, sizeof(why)) < 0 ||
	    ju_int(o, "sequence", false, 1, INT64_MAX, &p->sequence, why, sizeof(why)) < 0 ||
	    store_profile_find_iccid(d->store, iccid, &p->installed) < 0) {
		log_warning("provisioning: a pending receipt that names no profile: dropped");
		store_device_blob_delete(d->store, MCIMD_BLOB_RECEIPT_PENDING);
		return false;
	}
	step_ok(p, "profile %s installed before (sequence %lld), its receipt not sent yet",
		p->installed.iccid, (long long)p->sequence);
	if (p->installed.replaces[0])
		switch_package_left(p);
	else
		start_receipt_step(p);
	return true;
}

static void start_download(struct mcimd_prov *p)
{
	struct mcimd *d = p->d;
	_cleanup_json_ struct json_object *body = NULL;
	char url[CONFIG_URL_MAX + 32], why[CONTROL_WHY_SIZE];
	int r;

	if (p->flow != MCIMD_PROV_DOWNLOAD && resume(p))
		return;
	step_begin(p, "request");
	r = mcimd_package_request(d, false, p->sw ? p->sw_iccid : NULL, p->sw, &body, why,
				  sizeof(why));
	if (r < 0) {
		fail(p, r, "tpm", NULL, "%s", why);
		return;
	}
	step_ok(p, "a fresh nonce, K form %s", json_object_get_string(
			   json_object_object_get(body, "key_form")));
	step_begin(p, "download");
	if (url_join(p->reg.dpf_url, "/v1/dpf/package", NULL, url, sizeof(url)) < 0) {
		fail(p, -ENAMETOOLONG, "bad-answer", NULL, "dpf_url is too long");
		return;
	}
	/* Not idempotent: the ticket buys one package. */
	post_max(p, url, body, REQUEST_MAX, 4 * (PACKAGE_MAX / 3) + 1024, false, on_package);
}

static struct json_object *download_result(const struct mcimd_prov *p)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "iccid", json_object_new_string(p->installed.iccid));
	json_object_object_add(o, "imsi", json_object_new_string(p->installed.imsi));
	json_object_object_add(o, "sequence", json_object_new_int64(p->sequence));
	json_object_object_add(o, "device_id", json_object_new_string(p->reg.device_id));
	return o;
}

/* enable the new profile, then release the provisioning profile(s). */
static void finish_download(struct mcimd_prov *p)
{
	struct mcimd *d = p->d;
	_cleanup_free_ struct store_profile_info *v = NULL;
	char why[CONTROL_WHY_SIZE], released[64] = "none";
	size_t n = 0;
	int r;

	step_begin(p, "enable");
	r = mcimd_profile_lifecycle(d, p->installed.id, MCIMD_ENABLE, why, sizeof(why));
	if (r < 0) {
		fail(p, r, "store", NULL, "enabling %s: %s", p->installed.iccid, why);
		return;
	}
	step_ok(p, "profile %s enabled%s", p->installed.iccid,
		mcimd_card_absent_why(d, p->installed.id) ? " (its card is not served)" : "");
	step_begin(p, "release");
	r = store_profile_list(d->store, &v, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (v[i].cls != STORE_CLASS_PROVISIONING)
			continue;
		r = mcimd_profile_lifecycle(d, v[i].id, MCIMD_DELETE, why, sizeof(why));
		if (r == 0)
			snprintf(released, sizeof(released), "provisioning profile %s deleted",
				 v[i].iccid);
	}
	if (r < 0) {
		fail(p, r, "store", NULL, "deleting the provisioning profile: %s", why);
		return;
	}
	step_ok(p, "%s", released);
	if (store_device_blob_delete(d->store, MCIMD_BLOB_RECEIPT_PENDING) < 0)
		log_warning("store: %s", store_errmsg(d->store));
	finish(p, download_result(p));
}

static void on_receipt(void *user, const struct http_response *rsp)
{
	struct mcimd_prov *p = user;

	p->xfer = NULL;
	if (rsp->fail != HTTP_OK || rsp->status < 200 || rsp->status > 204) {
		fail_answer(p, rsp, 200);
		return;
	}
	step_ok(p, "the DPF confirmed %s", p->installed.iccid);
	finish_download(p);
}

/*
 * The PCRs an attested report quotes (docs/package-format.md 4): a receipt
 * the key PCRs of the installed profile's approved policy, whose digest the
 * DPF compares with the package's; otherwise (a tamper report) the TRE's.
 */
static void report_selection(struct mcimd *d, int64_t profile, TPML_PCR_SELECTION *ret)
{
	struct tre_policy pol;

	if (profile > 0 && mcimd_profile_policy(d, profile, &pol) == 0) {
		*ret = pol.pcrs;
		return;
	}
	tre_pcr_selection(d->tre, ret);
}

/* mcimd.h; profile: the installed profile a receipt is for (0: none). */
int mcimd_report_attested(struct mcimd *d, const struct package_report *rep, int64_t profile,
			  struct json_object **ret, char *why, size_t why_size)
{
	struct package_attested a = { 0 };
	_cleanup_free_ char *body = NULL, *msg = NULL;
	struct tre_quote q = { 0 };
	TPML_PCR_SELECTION sel;
	uint8_t digest[32];
	size_t len = 0, mlen = 0;
	int r;

	r = package_report_build(rep, &body, &len);
	if (r < 0) {
		snprintf(why, why_size, "the report: %s", strerror(-r));
		return r;
	}
	r = tpm2_hash(TPM2_ALG_SHA256, body, len, digest);
	if (r == 0)
		r = mcimd_ak_ready(d);
	report_selection(d, profile, &sel);
	if (r == 0)
		r = tre_quote(d->tre, &sel, digest, sizeof(digest), &q);
	if (r < 0) {
		snprintf(why, why_size, "the quote: %s", tre_errmsg(d->tre));
		return r;
	}
	snprintf(a.device, sizeof(a.device), "%s", rep->device);
	a.body = (uint8_t *)body;
	a.body_len = len;
	a.quote = q.attest.attestationData;
	a.quote_len = q.attest.size;
	a.signature = q.signature;
	r = package_attested_build(&a, rep->kind, &msg, &mlen);
	tre_quote_clear(&q);
	if (r == 0)
		r = ju_parse(msg, mlen, 4, ret, why, why_size);
	else
		snprintf(why, why_size, "the report: %s", strerror(-r));
	return r;
}

static void start_receipt_step(struct mcimd_prov *p)
{
	struct package_report rep = { .kind = PACKAGE_RECEIPT, .sequence = p->sequence };
	_cleanup_json_ struct json_object *body = NULL;
	char url[CONFIG_URL_MAX + 32], why[CONTROL_WHY_SIZE];
	int r;

	step_begin(p, "receipt");
	snprintf(rep.device, sizeof(rep.device), "%s", p->reg.device_id);
	snprintf(rep.iccid, sizeof(rep.iccid), "%s", p->installed.iccid);
	r = mcimd_report_attested(p->d, &rep, p->installed.id, &body, why, sizeof(why));
	if (r < 0) {
		fail(p, r, "tpm", NULL, "%s", why);
		return;
	}
	if (url_join(p->reg.dpf_url, "/v1/dpf/receipt", NULL, url, sizeof(url)) < 0) {
		fail(p, -ENAMETOOLONG, "bad-answer", NULL, "dpf_url is too long");
		return;
	}
	post(p, url, body, REQUEST_MAX, true, on_receipt);
}

/* ---- tamper reports (docs/package-format.md 4) ---- */

#define BLOB_TAMPER_REPORT "tamper-report" /* {"reason", "at"}: not sent yet */

int mcimd_tamper_report_queue(struct mcimd *d, const char *reason)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	const char *text;

	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "at", json_object_new_int64(time(NULL)));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	return store_device_blob_put(d->store, BLOB_TAMPER_REPORT, (const uint8_t *)text,
				     strlen(text));
}

static void on_tamper_sent(void *user, const struct http_response *rsp)
{
	struct mcimd *d = user;

	d->tamper_xfer = NULL;
	if (rsp->fail != HTTP_OK || rsp->status < 200 || rsp->status > 204) {
		log_warning("tamper report not delivered (%s); tried again in a minute",
			    rsp->fail != HTTP_OK ? rsp->why : "the operator did not accept it");
		return;
	}
	if (store_device_blob_delete(d->store, BLOB_TAMPER_REPORT) < 0 ||
	    store_audit(d->store, "tamper-report", NULL, "sent") < 0)
		log_warning("store: %s", store_errmsg(d->store));
	log_notice("tamper report delivered to the operator");
}

void mcimd_tamper_report_send(struct mcimd *d)
{
	_cleanup_free_ uint8_t *b = NULL;
	_cleanup_json_ struct json_object *o = NULL, *body = NULL;
	struct package_report rep = { .kind = PACKAGE_TAMPER };
	struct op_registration reg;
	char why[CONTROL_WHY_SIZE] = "", url[CONFIG_URL_MAX + 32];
	const char *text, *reason = NULL;
	size_t len = 0;
	int64_t at = 0;
	int r;

	if (!d->tre || d->tamper_xfer || !d->cfg.drf_url[0] ||
	    store_device_blob_get(d->store, BLOB_TAMPER_REPORT, &b, &len) < 0)
		return; /* nothing to send, or not now */
	if (mcimd_registration(d, &reg, why, sizeof(why)) < 0)
		return; /* not registered: no operator to tell yet */
	why[0] = '\0';
	r = ju_parse((const char *)b, len, 2, &o, why, sizeof(why));
	if (r == 0)
		r = ju_string(o, "reason", false, PACKAGE_REASON_MAX, &reason, why, sizeof(why));
	if (r == 0)
		r = ju_int(o, "at", false, 0, INT64_MAX, &at, why, sizeof(why));
	if (r < 0) {
		log_error("the queued tamper report is damaged: %s; dropped", why);
		store_device_blob_delete(d->store, BLOB_TAMPER_REPORT);
		return;
	}
	snprintf(rep.device, sizeof(rep.device), "%s", reg.device_id);
	snprintf(rep.reason, sizeof(rep.reason), "%s", reason);
	rep.at = at;
	r = mcimd_report_attested(d, &rep, 0, &body, why, sizeof(why));
	if (r == 0 && url_join(reg.dpf_url, "/v1/dpf/tamper", NULL, url, sizeof(url)) < 0)
		r = -ENAMETOOLONG;
	if (r == 0 && !d->http)
		r = http_new(d->loop, &d->http, why, sizeof(why));
	if (r == 0) {
		struct http_request req = {
			.url = url, .ca = d->cfg.prov_ca, .timeout_s = (long)d->cfg.prov_timeout,
			.retries = d->cfg.prov_retries, .idempotent = true, .body_max = OP_BODY_MAX,
		};

		text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE);
		req.body = text;
		req.len = strlen(text);
		r = http_post(d->http, &req, on_tamper_sent, d, &d->tamper_xfer);
	}
	if (r < 0)
		log_warning("tamper report not sent: %s", why[0] ? why : strerror(-r));
}

/* ---- the flows ---- */

static void first_step(void *data)
{
	struct mcimd_prov *p = data;

	if (p->flow == MCIMD_PROV_DOWNLOAD)
		start_download(p);
	else if (p->registered)
		start_validate(p);
	else
		start_register(p);
}

static int prov_start(struct mcimd *d, enum mcimd_prov_flow flow,
		      const struct mcimd_prov_target *target, mcimd_prov_done done, void *user,
		      char *why, size_t why_size)
{
	struct mcimd_prov *p;
	int r;

	if (d->prov) {
		snprintf(why, why_size, "a registration, validation or download is under way");
		return -EBUSY;
	}
	if (!d->cfg.drf_url[0]) {
		snprintf(why, why_size, "[provisioning] drf_url is not set in %s", d->config_path);
		return -EOPNOTSUPP;
	}
	if (!d->tre) {
		snprintf(why, why_size, "no TPM: %s", d->tre_why);
		return -ENODEV;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = (struct mcimd_prov){ .d = d, .flow = flow, .done = done, .user = user,
				  .steps = json_object_new_array(), .step = "start" };
	if (flow != MCIMD_PROV_REGISTER) {
		r = load_registration(p, why, why_size);
		if (r < 0 && (r != -ENOENT || flow == MCIMD_PROV_VALIDATE ||
			      flow == MCIMD_PROV_DOWNLOAD)) {
			prov_free(p);
			return r;
		}
	}
	if (target) { /* the new SHO's PVA and DPF (a switch, switch.c) */
		snprintf(p->reg.pva_url, sizeof(p->reg.pva_url), "%s", target->pva_url);
		snprintf(p->reg.dpf_url, sizeof(p->reg.dpf_url), "%s", target->dpf_url);
		if (target->sw) {
			p->sw = malloc(sizeof(*p->sw));
			if (!p->sw) {
				prov_free(p);
				return -ENOMEM;
			}
			*p->sw = *target->sw;
			snprintf(p->sw_iccid, sizeof(p->sw_iccid), "%s", target->iccid);
		}
	}
	d->prov = p;
	if (flow == MCIMD_PROV_AUTO) { /* at start: no batch to wait for */
		first_step(p);
		return 0;
	}
	/* The first step runs after this batch: done is never called from here. */
	if (loop_defer(d->loop, first_step, p) < 0) {
		prov_free(p);
		snprintf(why, why_size, "the event loop is full");
		return -EAGAIN;
	}
	return 0;
}

int mcimd_provision_start(struct mcimd *d, enum mcimd_prov_flow flow, mcimd_prov_done done,
			  void *user, char *why, size_t why_size)
{
	return prov_start(d, flow, NULL, done, user, why, why_size);
}

int mcimd_provision_switch(struct mcimd *d, enum mcimd_prov_flow flow,
			   const struct mcimd_prov_target *target, mcimd_prov_done done,
			   void *user, char *why, size_t why_size)
{
	return prov_start(d, flow, target, done, user, why, why_size);
}

struct json_object *mcimd_provision_json(struct mcimd *d)
{
	static const char *const names[] = {
		[MCIMD_PROV_REGISTER] = "register",
		[MCIMD_PROV_VALIDATE] = "validate",
		[MCIMD_PROV_AUTO] = "auto",
		[MCIMD_PROV_FULL] = "provision",
		[MCIMD_PROV_DOWNLOAD] = "download",
	};
	struct json_object *o;

	if (!d->prov)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "flow", json_object_new_string(names[d->prov->flow]));
	json_object_object_add(o, "step", json_object_new_string(d->prov->step));
	json_object_object_add(o, "steps", json_object_get(d->prov->steps));
	return o;
}

static void auto_done(void *user, int r, struct json_object *result, const char *why,
		      struct json_object *data)
{
	(void)user;
	if (r < 0)
		log_error("automatic provisioning failed: %s (mcimctl register / validate "
			  "try again)", why);
	else
		log_notice("automatic provisioning: profile %s installed and enabled",
			   json_object_get_string(json_object_object_get(result, "iccid")));
	json_object_put(result);
	json_object_put(data);
}

void mcimd_provision_auto(struct mcimd *d)
{
	_cleanup_free_ struct store_profile_info *list = NULL;
	char why[CONTROL_WHY_SIZE];
	size_t n = 0;

	if (!d->cfg.prov_auto || !d->tre)
		return;
	if (store_profile_list(d->store, &list, &n) < 0) {
		log_error("automatic provisioning: store: %s", store_errmsg(d->store));
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (list[i].cls == STORE_CLASS_OPERATIONAL)
			return; /* provisioned already */
	log_notice("no operational profile: registering with %s", d->cfg.drf_url);
	if (mcimd_provision_start(d, MCIMD_PROV_AUTO, auto_done, d, why, sizeof(why)) < 0)
		log_error("automatic provisioning: %s", why);
}

void mcimd_provision_close(struct mcimd *d)
{
	struct mcimd_prov *p = d->prov;

	if (p) {
		mcimd_prov_done done = p->done;
		void *user = p->user;

		prov_free(p);
		done(user, -ECANCELED, NULL, "mcimd is stopping", NULL);
	}
	http_cancel(d->tamper_xfer);
	d->tamper_xfer = NULL;
	http_free(d->http);
	d->http = NULL;
}
