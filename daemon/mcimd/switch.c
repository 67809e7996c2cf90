// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The change of subscription on the device (docs/change-format.md 5): a
 * state machine kept in the store, each state entered in one store
 * transaction with a generation bump (so an older copy of the store is
 * refused by the anchor, and a kill at any point resumes where it was):
 *
 *   ordered    the switch order (the DRF's, device blob "provision.switch")
 *              taken: kept as "switch.order"; A (the subscription the
 *              consent names), A's DPF and the device id recorded
 *   validated  B's PVA validated the platform (the registration's flow
 *              with B's URLs, provision-client.c)
 *   installed  B's package downloaded with the request's member "switch"
 *              and installed, disabled (package.c, checks 9a/9b)
 *   trial      B enabled, A disabled (the card follows: REFRESH or
 *              removal), deadline = now + [switch] proof_timeout
 *   proven     B's USIM accepted an AUTHENTICATE (MAC and SQN verified,
 *              RES returned: mcimd_switch_proof() from the card); the
 *              receipt "switched" to B owed ("switch.receipt")
 *   done       B accepted it; A revoked and deleted (mcimd_profile_revoke);
 *              the release report "switched" to A owed ("switch.report")
 *   fallback   the deadline passed, an abort, or a failure: A enabled, B
 *              deleted, receipt "fallback" to B (when B was installed) and
 *              report "fallback" to A owed, each with the reason
 *
 * The owed messages are AK-attested when the state that owes them is
 * entered (a receipt quotes B's key PCRs while B's policy is there) and
 * kept as device blobs until the operator accepted them (2xx, or 409: it
 * had already); failed sends are tried again at the next tick or start.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "json-util.h"
#include "package.h"

#include "daemon/mcimd/http.h"
#include "daemon/mcimd/log.h"
#include "daemon/mcimd/mcimd.h"
#include "daemon/mcimd/operator-json.h"

#define BLOB_STATE "switch"
#define BLOB_ORDER "switch.order"
#define BLOB_RECEIPT "switch.receipt" /* owed to B: the attested receipt */
#define BLOB_REPORT "switch.report"   /* owed to A: the attested release report */

enum sw_state { SW_NONE, SW_ORDERED, SW_VALIDATED, SW_INSTALLED, SW_TRIAL, SW_PROVEN,
		SW_DONE, SW_FALLBACK };
static const char *const state_names[] = {
	[SW_NONE] = "none", [SW_ORDERED] = "ordered", [SW_VALIDATED] = "validated",
	[SW_INSTALLED] = "installed", [SW_TRIAL] = "trial", [SW_PROVEN] = "proven",
	[SW_DONE] = "done", [SW_FALLBACK] = "fallback",
};

/* The record, device blob "switch". */
struct sw_rec {
	enum sw_state state;
	char from[STORE_ICCID_MAX + 1]; /* A's ICCID */
	char to[STORE_ICCID_MAX + 1];   /* B's, once installed */
	int64_t sequence;               /* B's package */
	char device[65];
	char from_dpf[OP_URL_MAX + 1];  /* A's DPF (the registration's at ordered) */
	char sho[OP_NAME_MAX + 1], sho_name[OP_NAME_MAX + 1];
	char pva[OP_URL_MAX + 1], dpf[OP_URL_MAX + 1];
	int64_t since, deadline;
	char reason[PACKAGE_REASON_MAX + 1]; /* of a fallback */
	char failure[CONTROL_WHY_SIZE];      /* the last one */
};

struct mcimd_switch {
	struct loop_source timer;     /* the trial's deadline */
	struct mcimd *d;
	struct http_xfer *receipt_xfer, *report_xfer;
	bool flow;                    /* a validation or download of it under way */
	bool queued;                  /* advance() deferred */
	int64_t trial_profile;        /* B's id while in trial, else -1 */
};

static void kick(struct mcimd *d);
static int fallback(struct mcimd *d, struct sw_rec *w, const char *reason, char *why,
		    size_t why_size);

/* ---- the record ---- */

static int rec_load(struct mcimd *d, struct sw_rec *w)
{
	_cleanup_free_ uint8_t *b = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	const char *state = NULL, *s;
	char why[256];
	size_t len = 0;
	int r;

	memset(w, 0, sizeof(*w));
	r = store_device_blob_get(d->store, BLOB_STATE, &b, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
#define STR(name, dst)                                                                     \
	(ju_string(o, name, false, sizeof(dst) - 1, &s, why, sizeof(why)) == 0 &&          \
	 snprintf(dst, sizeof(dst), "%s", s) >= 0)
	if (ju_parse((const char *)b, len, 2, &o, why, sizeof(why)) < 0 ||
	    ju_string(o, "state", false, 16, &state, why, sizeof(why)) < 0 ||
	    !STR("from", w->from) || !STR("to", w->to) || !STR("device", w->device) ||
	    !STR("from_dpf", w->from_dpf) || !STR("sho", w->sho) ||
	    !STR("sho_name", w->sho_name) || !STR("pva", w->pva) || !STR("dpf", w->dpf) ||
	    !STR("reason", w->reason) || !STR("failure", w->failure) ||
	    ju_int(o, "sequence", false, 0, INT64_MAX, &w->sequence, why, sizeof(why)) < 0 ||
	    ju_int(o, "since", false, 0, INT64_MAX, &w->since, why, sizeof(why)) < 0 ||
	    ju_int(o, "deadline", false, 0, INT64_MAX, &w->deadline, why, sizeof(why)) < 0) {
		log_error("the stored switch record is damaged: %s", why);
		return -EBADMSG;
	}
#undef STR
	for (size_t i = 1; i < ARRAY_SIZE(state_names); i++)
		if (!strcmp(state, state_names[i]))
			w->state = (enum sw_state)i;
	return w->state == SW_NONE ? -EBADMSG : 0;
}

static int rec_put(struct mcimd *d, const struct sw_rec *w)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	const char *text;

	json_object_object_add(o, "state", json_object_new_string(state_names[w->state]));
	json_object_object_add(o, "from", json_object_new_string(w->from));
	json_object_object_add(o, "to", json_object_new_string(w->to));
	json_object_object_add(o, "sequence", json_object_new_int64(w->sequence));
	json_object_object_add(o, "device", json_object_new_string(w->device));
	json_object_object_add(o, "from_dpf", json_object_new_string(w->from_dpf));
	json_object_object_add(o, "sho", json_object_new_string(w->sho));
	json_object_object_add(o, "sho_name", json_object_new_string(w->sho_name));
	json_object_object_add(o, "pva", json_object_new_string(w->pva));
	json_object_object_add(o, "dpf", json_object_new_string(w->dpf));
	json_object_object_add(o, "since", json_object_new_int64(w->since));
	json_object_object_add(o, "deadline", json_object_new_int64(w->deadline));
	json_object_object_add(o, "reason", json_object_new_string(w->reason));
	json_object_object_add(o, "failure", json_object_new_string(w->failure));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	return store_device_blob_put(d->store, BLOB_STATE, (const uint8_t *)text, strlen(text));
}

static bool owed(struct mcimd *d, const char *kind)
{
	_cleanup_free_ uint8_t *b = NULL;
	size_t len = 0;

	return store_device_blob_get(d->store, kind, &b, &len) == 0;
}

static bool finished(enum sw_state s)
{
	return s == SW_NONE || s == SW_DONE || s == SW_FALLBACK;
}

/* The end of a state transaction: commit (or roll back), the NV counter follows. */
/* (A failure r < 0 of the caller's keeps the caller's why, or says store.) */
static int tx_end(struct mcimd *d, int r, char *why, size_t why_size)
{
	if (r < 0 && !why[0])
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
	if (r == 0)
		r = store_generation_bump(d->store, NULL);
	if (r == 0)
		r = store_commit(d->store);
	if (r < 0) {
		if (!why[0])
			snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		if (store_in_transaction(d->store))
			store_rollback(d->store);
		return r;
	}
	r = mcimd_rollback_sync(d);
	if (r < 0)
		snprintf(why, why_size, "the generation counter: %s", strerror(-r));
	return r;
}

/* w in state s, alone in one transaction. */
static int enter(struct mcimd *d, struct sw_rec *w, enum sw_state s, char *why, size_t why_size)
{
	int r;

	why[0] = '\0';
	r = store_begin(d->store);
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	w->state = s;
	w->failure[0] = '\0';
	r = rec_put(d, w);
	r = tx_end(d, r, why, why_size);
	if (r == 0) {
		log_notice("switch to %s: %s", w->sho_name, state_names[s]);
		if (store_audit(d->store, "switch", w->to[0] ? w->to : w->from, state_names[s]) < 0)
			log_warning("audit: %s", store_errmsg(d->store));
	}
	return r;
}

/* The last failure, kept without a state change (status shows it). */
static void failed(struct mcimd *d, struct sw_rec *w, const char *what)
{
	snprintf(w->failure, sizeof(w->failure), "%s", what);
	log_error("switch to %s (%s): %s", w->sho_name, state_names[w->state], what);
	if (rec_put(d, w) < 0)
		log_warning("store: %s", store_errmsg(d->store));
}

/* ---- the order and its start ---- */

static int order_load(struct mcimd *d, const char *kind, struct op_switch *ret,
		      uint8_t **ret_text, size_t *ret_len, char *why, size_t why_size)
{
	_cleanup_free_ uint8_t *b = NULL;
	size_t len = 0;
	char w[256];
	int r = store_device_blob_get(d->store, kind, &b, &len);

	if (r == -ENOENT) {
		snprintf(why, why_size, "no switch order is pending (the DRF's registration "
			 "answer brings one: mcimctl register)");
		return r;
	}
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	if (op_parse_switch((const char *)b, len, ret, w, sizeof(w)) < 0) {
		snprintf(why, why_size, "the stored switch order is damaged: %s", w);
		return -EBADMSG;
	}
	if (ret_text) {
		*ret_text = TAKE_PTR(b);
		*ret_len = len;
	}
	return 0;
}

int mcimd_switch_start(struct mcimd *d, char *why, size_t why_size)
{
	_cleanup_free_ struct op_switch *o = malloc(sizeof(*o));
	_cleanup_free_ uint8_t *text = NULL;
	struct op_registration reg;
	struct package_token tok;
	struct store_profile_info a;
	struct sw_rec w;
	size_t len = 0;
	int r;

	if (!o)
		return -ENOMEM;
	if (!d->tre || !d->sw) {
		snprintf(why, why_size, "no TPM: %s", d->tre_why);
		return -ENODEV;
	}
	r = rec_load(d, &w);
	if (r < 0) {
		snprintf(why, why_size, "the stored switch record is damaged");
		return r;
	}
	if (!finished(w.state)) {
		snprintf(why, why_size, "a switch to %s is under way (%s)", w.sho_name,
			 state_names[w.state]);
		return -EBUSY;
	}
	if (owed(d, BLOB_RECEIPT) || owed(d, BLOB_REPORT)) {
		snprintf(why, why_size, "the reports of the last switch are not delivered yet");
		return -EBUSY;
	}
	r = order_load(d, MCIMD_BLOB_SWITCH_ORDER, o, &text, &len, why, why_size);
	if (r < 0)
		return r;
	r = mcimd_registration(d, &reg, why, why_size);
	if (r < 0)
		return r;
	/* The subscription the consent lets go (its signature: B's DPF and check 9b). */
	r = package_token_open(PACKAGE_TYPE_CONSENT, o->consent, o->consent_len, NULL,
			       time(NULL), &tok, NULL, why, why_size);
	if (r < 0)
		return r;
	if (store_profile_find_iccid(d->store, tok.iccid, &a) < 0 ||
	    a.cls != STORE_CLASS_OPERATIONAL) {
		snprintf(why, why_size, "the order's consent names %s, which is not an installed "
			 "operational profile: the order is dropped", tok.iccid);
		store_device_blob_delete(d->store, MCIMD_BLOB_SWITCH_ORDER);
		return -ENOENT;
	}
	memset(&w, 0, sizeof(w));
	snprintf(w.from, sizeof(w.from), "%s", a.iccid);
	snprintf(w.device, sizeof(w.device), "%s", reg.device_id);
	snprintf(w.from_dpf, sizeof(w.from_dpf), "%s", reg.dpf_url);
	snprintf(w.sho, sizeof(w.sho), "%s", o->sho_id);
	snprintf(w.sho_name, sizeof(w.sho_name), "%s", o->sho_name);
	snprintf(w.pva, sizeof(w.pva), "%s", o->pva_url);
	snprintf(w.dpf, sizeof(w.dpf), "%s", o->dpf_url);
	w.since = time(NULL);
	w.state = SW_ORDERED;
	why[0] = '\0';
	r = store_begin(d->store);
	if (r == 0)
		r = store_device_blob_put(d->store, BLOB_ORDER, text, len);
	if (r == 0)
		r = store_device_blob_delete(d->store, MCIMD_BLOB_SWITCH_ORDER);
	if (r == 0)
		r = rec_put(d, &w);
	r = tx_end(d, r, why, why_size);
	if (r < 0)
		return r;
	log_notice("switch of %s to %s (%s): ordered", w.from, w.sho_name, w.sho);
	if (store_audit(d->store, "switch", w.from, "ordered") < 0)
		log_warning("audit: %s", store_errmsg(d->store));
	kick(d);
	return 0;
}

/* ---- validation and download at B (provision-client.c's flows) ---- */

static bool refused_kind(struct json_object *data)
{
	const char *k = json_object_get_string(json_object_object_get(data, "kind"));

	return k && (!strcmp(k, "refused") || !strcmp(k, "package") || !strcmp(k, "bad-answer"));
}

static void flow_done(void *user, int r, struct json_object *result, const char *why,
		      struct json_object *data)
{
	struct mcimd *d = user;
	struct sw_rec w;
	char w2[CONTROL_WHY_SIZE], reason[PACKAGE_REASON_MAX + 1];

	if (!d->sw) /* mcimd is stopping */
		goto out;
	d->sw->flow = false;
	if (rec_load(d, &w) < 0 || (w.state != SW_ORDERED && w.state != SW_VALIDATED))
		goto out;
	if (r < 0) {
		if (r == -ECANCELED)
			goto out;
		if (refused_kind(data)) {
			snprintf(reason, sizeof(reason), "%s: %s",
				 w.state == SW_ORDERED ? "validation" : "download", why);
			if (fallback(d, &w, reason, w2, sizeof(w2)) < 0)
				failed(d, &w, w2);
		} else {
			failed(d, &w, why); /* tried again at the next tick */
		}
		goto out;
	}
	if (w.state == SW_ORDERED) {
		if (enter(d, &w, SW_VALIDATED, w2, sizeof(w2)) < 0)
			failed(d, &w, w2);
	} else {
		snprintf(w.to, sizeof(w.to), "%s",
			 json_object_get_string(json_object_object_get(result, "iccid")) ?: "");
		w.sequence = json_object_get_int64(json_object_object_get(result, "sequence"));
		if (enter(d, &w, SW_INSTALLED, w2, sizeof(w2)) < 0)
			failed(d, &w, w2);
	}
	kick(d);
out:
	json_object_put(result);
	json_object_put(data);
}

static void flow_start(struct mcimd *d, struct sw_rec *w, enum mcimd_prov_flow flow)
{
	_cleanup_free_ struct op_switch *o = malloc(sizeof(*o));
	struct mcimd_prov_target t = { .pva_url = w->pva, .dpf_url = w->dpf, .iccid = w->from };
	char why[CONTROL_WHY_SIZE];

	if (!o)
		return;
	if (d->prov)
		return; /* another flow: kicked again when it ends */
	if (flow == MCIMD_PROV_DOWNLOAD) {
		if (order_load(d, BLOB_ORDER, o, NULL, NULL, why, sizeof(why)) < 0) {
			failed(d, w, why);
			return;
		}
		t.sw = o;
	}
	if (mcimd_provision_switch(d, flow, &t, flow_done, d, why, sizeof(why)) < 0) {
		failed(d, w, why);
		return;
	}
	d->sw->flow = true;
}

/* After a kill between B's install and the state installed: B is there. */
static bool b_installed(struct mcimd *d, struct sw_rec *w)
{
	_cleanup_free_ struct store_profile_info *v = NULL;
	uint64_t seq = 0;
	size_t n = 0;

	if (store_profile_list(d->store, &v, &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		/* (The order names B by the DRF's name for it, not by its sho_id.) */
		if (strcmp(v[i].replaces, w->from))
			continue;
		snprintf(w->to, sizeof(w->to), "%s", v[i].iccid);
		/* B's package was the last one the device accepted. */
		if (store_package_seq(d->store, v[i].sho_id, &seq) == 0)
			w->sequence = (int64_t)seq;
		return true;
	}
	return false;
}

/* ---- trial, proof ---- */

static void timer_arm(struct mcimd *d, int64_t deadline)
{
	struct itimerspec its = { 0 };
	time_t now = time(NULL);

	if (deadline)
		its.it_value.tv_sec = deadline > now ? deadline - now : 0;
	if (deadline && its.it_value.tv_sec == 0)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(d->sw->timer.fd, 0, &its, NULL) < 0)
		log_warning("switch timer: %m");
}

static int trial(struct mcimd *d, struct sw_rec *w, char *why, size_t why_size)
{
	struct store_profile_info b;
	int r;

	r = store_profile_find_iccid(d->store, w->to, &b);
	if (r < 0) {
		snprintf(why, why_size, "B's profile %s is not installed", w->to);
		return r;
	}
	why[0] = '\0';
	r = store_begin(d->store);
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	/* B enabled, A disabled (store_profile_enable: one at most). */
	r = store_profile_enable(d->store, b.id);
	w->state = SW_TRIAL;
	w->deadline = time(NULL) + d->cfg.proof_timeout;
	w->failure[0] = '\0';
	if (r == 0)
		r = rec_put(d, w);
	r = tx_end(d, r, why, why_size);
	if (r < 0)
		return r;
	log_notice("switch to %s: trial: profile %s enabled, %s disabled, proof due within %u s",
		   w->sho_name, w->to, w->from, d->cfg.proof_timeout);
	if (store_audit(d->store, "switch", w->to, "trial") < 0)
		log_warning("audit: %s", store_errmsg(d->store));
	d->sw->trial_profile = b.id;
	timer_arm(d, w->deadline);
	/* The modem sees the card change (REFRESH, or removal and insertion). */
	if (mcimd_card_switch(d) < 0)
		log_error("switch: B's card did not start");
	return 0;
}

void mcimd_switch_proof(struct mcimd *d, int64_t profile)
{
	struct sw_rec w;
	char why[CONTROL_WHY_SIZE];

	if (!d->sw || d->sw->trial_profile != profile || profile < 0)
		return;
	if (rec_load(d, &w) < 0 || w.state != SW_TRIAL)
		return;
	d->sw->trial_profile = -1;
	timer_arm(d, 0);
	/* Recorded at once (cheap); the receipt is built after this batch. */
	if (enter(d, &w, SW_PROVEN, why, sizeof(why)) < 0) {
		failed(d, &w, why);
		d->sw->trial_profile = profile;
		return;
	}
	log_notice("switch to %s: profile %s proved itself (an AUTHENTICATE with a valid AUTN)",
		   w.sho_name, w.to);
	kick(d);
}

/* ---- the owed reports ---- */

/* rep attested and kept as blob kind (inside the caller's transaction). */
static int owe(struct mcimd *d, const char *kind, const struct package_report *rep,
	       int64_t profile, char *why, size_t why_size)
{
	_cleanup_json_ struct json_object *body = NULL;
	const char *text;
	int r = mcimd_report_attested(d, rep, profile, &body, why, why_size);

	if (r < 0)
		return r;
	text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
						    JSON_C_TO_STRING_NOSLASHESCAPE);
	r = store_device_blob_put(d->store, kind, (const uint8_t *)text, strlen(text));
	if (r < 0)
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
	return r;
}

static void report_init(struct package_report *rep, enum package_report_kind kind,
			const struct sw_rec *w, const char *iccid, enum package_result result,
			const char *reason)
{
	memset(rep, 0, sizeof(*rep));
	rep->kind = kind;
	rep->result = result;
	rep->sequence = w->sequence;
	rep->at = time(NULL);
	snprintf(rep->device, sizeof(rep->device), "%s", w->device);
	snprintf(rep->iccid, sizeof(rep->iccid), "%s", iccid);
	snprintf(rep->reason, sizeof(rep->reason), "%s", reason ? reason : "");
}

/* B accepted the receipt: done, with the report to A owed and the order
 * cleared, in one transaction. */
static int enter_done(struct mcimd *d, struct sw_rec *w, char *why, size_t why_size)
{
	struct sw_rec next = *w;
	struct package_report rep;
	int r;

	why[0] = '\0';
	r = store_begin(d->store);
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	report_init(&rep, PACKAGE_RELEASE_REPORT, w, w->from, PACKAGE_RESULT_SWITCHED, NULL);
	r = owe(d, BLOB_REPORT, &rep, 0, why, why_size);
	if (r == 0)
		r = store_device_blob_delete(d->store, BLOB_RECEIPT);
	if (r == 0 || r == -ENOENT)
		r = store_device_blob_delete(d->store, BLOB_ORDER);
	next.state = SW_DONE;
	next.failure[0] = '\0';
	if (r == 0 || r == -ENOENT)
		r = rec_put(d, &next);
	r = tx_end(d, r, why, why_size);
	if (r < 0)
		return r;
	*w = next;
	log_notice("switch to %s: done: B confirmed %s", w->sho_name, w->to);
	if (store_audit(d->store, "switch", w->to, "done") < 0)
		log_warning("audit: %s", store_errmsg(d->store));
	kick(d);
	return 0;
}

static void on_sent(struct mcimd *d, const char *kind, const struct http_response *rsp)
{
	struct sw_rec w;
	char why[CONTROL_WHY_SIZE], reason[PACKAGE_REASON_MAX + 1];
	bool to_b = !strcmp(kind, BLOB_RECEIPT);
	bool accepted = rsp->fail == HTTP_OK && ((rsp->status >= 200 && rsp->status < 300) ||
						  rsp->status == 409);
	bool refused = rsp->fail == HTTP_OK && !accepted && rsp->status >= 400 &&
		       rsp->status < 500 && rsp->status != 429;

	if (rec_load(d, &w) < 0)
		return;
	if (!accepted && !refused) {
		snprintf(why, sizeof(why), "the %s to %s not delivered: %.180s; tried again later",
			 to_b ? "receipt" : "release report", to_b ? "B" : "A",
			 rsp->fail != HTTP_OK ? rsp->why : "the operator is busy");
		failed(d, &w, why);
		return;
	}
	if (w.state == SW_PROVEN && to_b) {
		if (accepted) {
			if (enter_done(d, &w, why, sizeof(why)) < 0)
				failed(d, &w, why);
			return;
		}
		snprintf(reason, sizeof(reason), "B refused the receipt switched (HTTP %ld)",
			 rsp->status);
		if (fallback(d, &w, reason, why, sizeof(why)) < 0)
			failed(d, &w, why);
		return;
	}
	if (store_device_blob_delete(d->store, kind) < 0)
		log_warning("store: %s", store_errmsg(d->store));
	if (refused) {
		snprintf(why, sizeof(why), "the %s was refused by %s (HTTP %ld): dropped",
			 to_b ? "receipt" : "release report", to_b ? "B" : "A", rsp->status);
		failed(d, &w, why);
		store_audit(d->store, "switch-report", to_b ? w.to : w.from, why);
	} else {
		log_notice("switch to %s: the %s delivered (HTTP %ld)", w.sho_name,
			   to_b ? "receipt" : "release report", rsp->status);
		store_audit(d->store, "switch-report", to_b ? w.to : w.from, "delivered");
	}
}

static void on_receipt_sent(void *user, const struct http_response *rsp)
{
	struct mcimd *d = user;

	d->sw->receipt_xfer = NULL;
	on_sent(d, BLOB_RECEIPT, rsp);
}

static void on_report_sent(void *user, const struct http_response *rsp)
{
	struct mcimd *d = user;

	d->sw->report_xfer = NULL;
	on_sent(d, BLOB_REPORT, rsp);
}

static void send_owed(struct mcimd *d, struct sw_rec *w, const char *kind)
{
	bool to_b = !strcmp(kind, BLOB_RECEIPT);
	struct http_xfer **x = to_b ? &d->sw->receipt_xfer : &d->sw->report_xfer;
	_cleanup_free_ uint8_t *b = NULL;
	char url[OP_URL_MAX + 32], why[256] = "";
	const char *base = to_b ? w->dpf : w->from_dpf;
	size_t len = 0, n = strlen(base);
	int r;

	if (*x || store_device_blob_get(d->store, kind, &b, &len) < 0)
		return;
	while (n > 0 && base[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s%s", (int)n, base,
		 to_b ? "/v1/dpf/receipt" : "/v1/dpf/released");
	r = d->http ? 0 : http_new(d->loop, &d->http, why, sizeof(why));
	if (r == 0) {
		struct http_request req = {
			.url = url, .body = (const char *)b, .len = len, .ca = d->cfg.prov_ca,
			.timeout_s = (long)d->cfg.prov_timeout, .retries = d->cfg.prov_retries,
			.idempotent = true, .body_max = OP_BODY_MAX,
		};

		r = http_post(d->http, &req, to_b ? on_receipt_sent : on_report_sent, d, x);
	}
	if (r < 0)
		failed(d, w, why[0] ? why : strerror(-r));
}

/* ---- fallback ---- */

static int fallback(struct mcimd *d, struct sw_rec *w, const char *reason, char *why,
		    size_t why_size)
{
	struct store_profile_info a, b;
	struct package_report rep;
	bool have_b = w->to[0] && store_profile_find_iccid(d->store, w->to, &b) == 0;
	bool have_a = store_profile_find_iccid(d->store, w->from, &a) == 0;
	bool card = false;
	int r;

	why[0] = '\0';
	r = store_begin(d->store);
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	/* The receipt quotes B's key PCRs: built while B's policy is there. */
	if (have_b) {
		report_init(&rep, PACKAGE_RECEIPT, w, w->to, PACKAGE_RESULT_FALLBACK, reason);
		r = owe(d, BLOB_RECEIPT, &rep, b.id, why, why_size);
	}
	report_init(&rep, PACKAGE_RELEASE_REPORT, w, w->from, PACKAGE_RESULT_FALLBACK, reason);
	if (r == 0)
		r = owe(d, BLOB_REPORT, &rep, 0, why, why_size);
	if (r == 0 && have_a && a.state != STORE_STATE_ENABLED) {
		r = store_profile_enable(d->store, a.id); /* B disabled with it */
		card = true;
	} else if (r == 0 && have_b && b.state == STORE_STATE_ENABLED) {
		r = store_profile_disable(d->store, b.id);
		card = true;
	}
	if (r == 0)
		r = store_device_blob_delete(d->store, BLOB_ORDER);
	if (r == -ENOENT)
		r = 0;
	w->state = SW_FALLBACK;
	w->deadline = 0;
	w->failure[0] = '\0';
	snprintf(w->reason, sizeof(w->reason), "%s", reason);
	if (r == 0)
		r = rec_put(d, w);
	r = tx_end(d, r, why, why_size);
	if (r < 0) {
		rec_load(d, w);
		return r;
	}
	log_notice("switch to %s: fallback: %s (profile %s enabled again)", w->sho_name, reason,
		   w->from);
	store_audit(d->store, "switch", w->from, reason);
	d->sw->trial_profile = -1;
	timer_arm(d, 0);
	if (card && mcimd_card_switch(d) < 0)
		log_error("switch: A's card did not start");
	kick(d);
	return 0;
}

int mcimd_switch_abort(struct mcimd *d, char *why, size_t why_size)
{
	struct sw_rec w;
	int r;

	if (!d->sw) {
		snprintf(why, why_size, "no TPM: %s", d->tre_why);
		return -ENODEV;
	}
	r = rec_load(d, &w);
	if (r < 0) {
		snprintf(why, why_size, "the stored switch record is damaged");
		return r;
	}
	if (finished(w.state)) {
		snprintf(why, why_size, "no switch is under way");
		return -ENOENT;
	}
	if (w.state == SW_PROVEN) {
		snprintf(why, why_size, "profile %s proved itself already: the switch is "
			 "being confirmed", w.to);
		return -EALREADY;
	}
	if (d->sw->flow) {
		snprintf(why, why_size, "a validation or download at %s is under way: abort "
			 "again when it ended", w.sho_name);
		return -EBUSY;
	}
	return fallback(d, &w, "aborted (mcimctl switch abort)", why, why_size);
}

/* ---- the machine ---- */

static void advance(void *data)
{
	struct mcimd *d = data;
	struct sw_rec w;
	char why[CONTROL_WHY_SIZE], reason[PACKAGE_REASON_MAX + 1];
	const char *how = NULL;
	struct store_profile_info p;

	if (!d->sw)
		return;
	d->sw->queued = false;
	if (rec_load(d, &w) < 0 || w.state == SW_NONE || d->sw->flow)
		return;
	switch (w.state) {
	case SW_ORDERED:
		flow_start(d, &w, MCIMD_PROV_VALIDATE);
		return;
	case SW_VALIDATED:
		if (b_installed(d, &w)) {
			if (enter(d, &w, SW_INSTALLED, why, sizeof(why)) < 0)
				failed(d, &w, why);
			else
				kick(d);
			return;
		}
		flow_start(d, &w, MCIMD_PROV_DOWNLOAD);
		return;
	case SW_INSTALLED:
		if (trial(d, &w, why, sizeof(why)) < 0) {
			snprintf(reason, sizeof(reason), "the trial: %.200s", why);
			if (fallback(d, &w, reason, why, sizeof(why)) < 0)
				failed(d, &w, why);
		}
		return;
	case SW_TRIAL:
		if (w.deadline > time(NULL)) {
			if (store_profile_find_iccid(d->store, w.to, &p) == 0)
				d->sw->trial_profile = p.id;
			timer_arm(d, w.deadline);
			return;
		}
		snprintf(reason, sizeof(reason), "no valid AUTN for profile %s within %u s",
			 w.to, d->cfg.proof_timeout);
		if (fallback(d, &w, reason, why, sizeof(why)) < 0)
			failed(d, &w, why);
		return;
	case SW_PROVEN:
		if (!owed(d, BLOB_RECEIPT)) {
			struct package_report rep;

			report_init(&rep, PACKAGE_RECEIPT, &w, w.to, PACKAGE_RESULT_SWITCHED, NULL);
			if (store_profile_find_iccid(d->store, w.to, &p) < 0 ||
			    owe(d, BLOB_RECEIPT, &rep, p.id, why, sizeof(why)) < 0) {
				failed(d, &w, why);
				return;
			}
		}
		send_owed(d, &w, BLOB_RECEIPT);
		return;
	case SW_DONE:
		/* A revoked in the TPM (it is the oldest) and deleted. */
		if (store_profile_find_iccid(d->store, w.from, &p) == 0) {
			if (mcimd_profile_revoke(d, p.id, &how, why, sizeof(why)) < 0) {
				failed(d, &w, why);
				return;
			}
			log_notice("switch to %s: profile %s deleted (revoked: %s)", w.sho_name,
				   w.from, how ? how : "?");
		}
		send_owed(d, &w, BLOB_REPORT);
		return;
	case SW_FALLBACK:
		if (w.to[0] && store_profile_find_iccid(d->store, w.to, &p) == 0) {
			if (mcimd_profile_revoke(d, p.id, &how, why, sizeof(why)) < 0) {
				failed(d, &w, why);
				return;
			}
			log_notice("switch to %s: profile %s deleted (revoked: %s)", w.sho_name,
				   w.to, how ? how : "?");
		}
		send_owed(d, &w, BLOB_RECEIPT);
		send_owed(d, &w, BLOB_REPORT);
		return;
	case SW_NONE:
		return;
	}
}

void mcimd_switch_kick(struct mcimd *d)
{
	kick(d);
}

static void kick(struct mcimd *d)
{
	if (!d->sw || d->sw->queued)
		return;
	if (loop_defer(d->loop, advance, d) == 0)
		d->sw->queued = true;
}

static void on_timer(struct loop_source *src, uint32_t events)
{
	struct mcimd_switch *s = (struct mcimd_switch *)((char *)src -
							  offsetof(struct mcimd_switch, timer));
	uint64_t n;

	(void)events;
	if (read(src->fd, &n, sizeof(n)) != sizeof(n))
		return;
	kick(s->d);
}

void mcimd_switch_tick(struct mcimd *d)
{
	struct sw_rec w;
	char why[CONTROL_WHY_SIZE];

	if (!d->sw || rec_load(d, &w) < 0)
		return;
	if (finished(w.state) && !owed(d, BLOB_RECEIPT) && !owed(d, BLOB_REPORT)) {
		/* [provisioning] auto: a pending order starts the switch. */
		if (d->cfg.prov_auto && owed(d, MCIMD_BLOB_SWITCH_ORDER) &&
		    mcimd_switch_start(d, why, sizeof(why)) < 0)
			log_error("switch: %s", why);
		return;
	}
	kick(d);
}

int mcimd_switch_open(struct mcimd *d)
{
	struct mcimd_switch *s;
	int r;

	if (!d->tre)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->trial_profile = -1;
	s->d = d;
	s->timer = (struct loop_source){ .dispatch = on_timer };
	s->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->timer.fd < 0) {
		free(s);
		return -errno;
	}
	r = loop_add(d->loop, &s->timer, EPOLLIN);
	if (r < 0) {
		close(s->timer.fd);
		free(s);
		return r;
	}
	d->sw = s;
	mcimd_switch_tick(d); /* resume where a kill left it */
	return 0;
}

void mcimd_switch_close(struct mcimd *d)
{
	struct mcimd_switch *s = d->sw;

	if (!s)
		return;
	d->sw = NULL;
	http_cancel(s->receipt_xfer);
	http_cancel(s->report_xfer);
	loop_del(d->loop, &s->timer);
	close(s->timer.fd);
	free(s);
}

struct json_object *mcimd_switch_json(struct mcimd *d)
{
	struct json_object *o = json_object_new_object(), *owe_o, *sho;
	struct sw_rec w;

	if (!d->sw || rec_load(d, &w) < 0) {
		json_object_object_add(o, "state", json_object_new_string(d->sw ? "damaged"
										     : "none"));
		return o;
	}
	json_object_object_add(o, "state", json_object_new_string(state_names[w.state]));
	if (w.state == SW_NONE)
		return o;
	json_object_object_add(o, "from", json_object_new_string(w.from));
	json_object_object_add(o, "to", w.to[0] ? json_object_new_string(w.to) : NULL);
	sho = json_object_new_object();
	json_object_object_add(sho, "id", json_object_new_string(w.sho));
	json_object_object_add(sho, "name", json_object_new_string(w.sho_name));
	json_object_object_add(o, "sho", sho);
	json_object_object_add(o, "since", json_object_new_int64(w.since));
	json_object_object_add(o, "deadline", w.deadline ? json_object_new_int64(w.deadline)
							  : NULL);
	json_object_object_add(o, "reason", w.reason[0] ? json_object_new_string(w.reason)
							: NULL);
	json_object_object_add(o, "failure", w.failure[0] ? json_object_new_string(w.failure)
							  : NULL);
	owe_o = json_object_new_object();
	json_object_object_add(owe_o, "receipt", json_object_new_boolean(owed(d, BLOB_RECEIPT)));
	json_object_object_add(owe_o, "report", json_object_new_boolean(owed(d, BLOB_REPORT)));
	json_object_object_add(o, "owed", owe_o);
	return o;
}
