// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mcimd's control method handlers (docs/control-api.md gives the params
 * and results).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "json-util.h"
#include "package.h"

#include "daemon/mcimd/log.h"
#include "daemon/mcimd/mcimd.h"

static struct json_object *profile_json(const struct store_profile_info *i)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "iccid", json_object_new_string(i->iccid));
	json_object_object_add(o, "imsi", json_object_new_string(i->imsi));
	json_object_object_add(o, "class", json_object_new_string(store_class_name(i->cls)));
	json_object_object_add(o, "state", json_object_new_string(store_state_name(i->state)));
	json_object_object_add(o, "nickname", json_object_new_string(i->nickname));
	json_object_object_add(o, "operator", json_object_new_string(i->operator_name));
	if (i->expires)
		json_object_object_add(o, "expires", json_object_new_int64(i->expires));
	/* What an operator package recorded (docs/change-format.md 1). */
	if (i->sho_id[0])
		json_object_object_add(o, "sho", json_object_new_string(i->sho_id));
	if (i->subscriber[0])
		json_object_object_add(o, "subscriber", json_object_new_string(i->subscriber));
	if (i->subscriber_key[0])
		json_object_object_add(o, "subscriber_key",
				       json_object_new_string(i->subscriber_key));
	if (i->lock_until)
		json_object_object_add(o, "lock_until", json_object_new_int64(i->lock_until));
	if (i->replaces[0])
		json_object_object_add(o, "replaces", json_object_new_string(i->replaces));
	return o;
}

/* The profile named by params.iccid. */
static int find_profile(struct mcimd *d, const struct control_call *call,
			struct store_profile_info *ret, char *why, size_t why_size)
{
	struct json_object *x;
	int r;

	if (!json_object_object_get_ex(call->params, "iccid", &x) ||
	    !json_object_is_type(x, json_type_string)) {
		snprintf(why, why_size, "params.iccid (a string) is required");
		return -EINVAL;
	}
	r = store_profile_find_iccid(d->store, json_object_get_string(x), ret);
	if (r == -ENOENT)
		snprintf(why, why_size, "no profile %.32s", json_object_get_string(x));
	else if (r < 0)
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
	return r;
}

static int h_status(void *user, const struct control_call *call,
		    struct json_object **ret, char *why, size_t why_size)
{
	struct mcimd *d = user;
	struct store_profile_info en;
	struct json_object *o, *tr, *tpm;
	uint64_t gen = 0;
	int r;

	(void)call;
	r = store_generation(d->store, &gen);
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_string(MCIM_VERSION));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "uptime_s",
			       json_object_new_int64((int64_t)(time(NULL) - d->started)));
	json_object_object_add(o, "slots", json_object_new_int((int)d->cfg.slot_count));
	r = store_profile_enabled(d->store, &en);
	json_object_object_add(o, "enabled_profile",
			       r >= 0 ? json_object_new_string(en.iccid) : NULL);
	json_object_object_add(o, "store_generation", json_object_new_int64((int64_t)gen));
	tpm = json_object_new_object();
	json_object_object_add(tpm, "tcti", json_object_new_string(d->cfg.tcti));
	json_object_object_add(tpm, "connected", json_object_new_boolean(d->tre != NULL));
	if (d->tre) {
		json_object_object_add(tpm, "mode",
				       json_object_new_string(tre_mode_name(tre_mode(d->tre))));
		const struct tre_stats *ts = tre_stats(d->tre);
		struct json_object *by;
		uint64_t ns = 0;

		json_object_object_add(tpm, "platform_ok", json_object_new_boolean(d->platform_ok));
		/* Counted by the TRE's TCTI since start: commands and time in the TPM. */
		for (size_t k = 0; k < ARRAY_SIZE(ts->ns_by_cc); k++)
			ns += ts->ns_by_cc[k];
		json_object_object_add(tpm, "commands", json_object_new_int64((int64_t)ts->commands));
		by = json_object_new_object();
		for (size_t k = 0; k < ARRAY_SIZE(ts->by_cc); k++) {
			const char *name = tre_cc_name((TPM2_CC)(TPM2_CC_FIRST + k));
			char hex[16];

			if (!ts->by_cc[k])
				continue;
			if (!name) {
				snprintf(hex, sizeof(hex), "0x%03zx", TPM2_CC_FIRST + k);
				name = hex;
			}
			json_object_object_add(by, name, json_object_new_int64((int64_t)ts->by_cc[k]));
		}
		json_object_object_add(tpm, "by_command", by);
		json_object_object_add(tpm, "time_us", json_object_new_int64((int64_t)(ns / 1000)));
	}
	json_object_object_add(o, "card", mcimd_card_iccid(d) ? json_object_new_string(
							mcimd_card_iccid(d)) : NULL);
	json_object_object_add(o, "tpm", tpm);
	tr = json_object_new_object();
	json_object_object_add(tr, "enabled", json_object_new_boolean(d->trace != NULL));
	json_object_object_add(tr, "target",
			       d->trace ? json_object_new_string(d->trace_target) : NULL);
	json_object_object_add(o, "trace", tr);
	json_object_object_add(o, "log_level",
			       json_object_new_string(config_log_level_name(log_get_level())));
	json_object_object_add(o, "provisioning", mcimd_provision_json(d));
	json_object_object_add(o, "switch_order", mcimd_switch_order_json(d));
	*ret = o;
	return 0;
}

static int h_profile_list(void *user, const struct control_call *call,
			  struct json_object **ret, char *why, size_t why_size)
{
	struct mcimd *d = user;
	struct store_profile_info *list = NULL;
	struct json_object *o, *a;
	size_t n = 0;
	int r;

	(void)call;
	r = store_profile_list(d->store, &list, &n);
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, profile_json(&list[i]));
	free(list);
	o = json_object_new_object();
	json_object_object_add(o, "profiles", a);
	*ret = o;
	return 0;
}

static int h_profile_show(void *user, const struct control_call *call,
			  struct json_object **ret, char *why, size_t why_size)
{
	struct mcimd *d = user;
	struct store_profile_info i;
	struct json_object *o;
	int r = find_profile(d, call, &i, why, why_size);

	if (r < 0)
		return r;
	o = profile_json(&i);
	json_object_object_add(o, "algorithm", json_object_new_string(
					 i.algo == AKA_ALGO_TUAK ? "tuak" : "milenage"));
	json_object_object_add(o, "files", json_object_new_int((int)i.n_files));
	json_object_object_add(o, "pins", json_object_new_int((int)i.n_pins));
	json_object_object_add(o, "installed_at", json_object_new_int64(i.installed_at));
	json_object_object_add(o, "changed_at", json_object_new_int64(i.changed_at));
	*ret = o;
	return 0;
}

/* An enabled profile's card: "card" true when it is served (or a switch
 * brings it), else false with "card_error" saying why not. */
static void add_card_state(struct mcimd *d, int64_t id, struct json_object *o)
{
	const char *absent = mcimd_card_absent_why(d, id);

	json_object_object_add(o, "card", json_object_new_boolean(!absent));
	if (absent)
		json_object_object_add(o, "card_error", json_object_new_string(absent));
}

/* enable / disable / delete: the store change, then the card follows
 * (provision.c). */
static int lifecycle(void *user, const struct control_call *call, struct json_object **ret,
		     char *why, size_t why_size, enum mcimd_lifecycle op, const char *what)
{
	struct mcimd *d = user;
	struct store_profile_info i;
	const char *how = NULL;
	int r = find_profile(d, call, &i, why, why_size);

	if (r < 0)
		return r;
	if (op == MCIMD_DELETE)
		r = mcimd_profile_revoke(d, i.id, &how, why, why_size);
	else
		r = mcimd_profile_lifecycle(d, i.id, op, why, why_size);
	mcimd_release_heap(d);
	if (r < 0)
		return r;
	if (op != MCIMD_ENABLE)
		mcimd_bootstrap(d); /* none left: the provisioning profile */
	log_notice("profile %s %s (uid %u)", i.iccid, what, (unsigned)call->peer->uid);
	if (op == MCIMD_ENABLE) {
		*ret = json_object_new_object();
		add_card_state(d, i.id, *ret);
	}
	if (how) { /* delete: where it was revoked, "tpm" or "store only" */
		*ret = json_object_new_object();
		json_object_object_add(*ret, "revoked", json_object_new_string(how));
	}
	return 0;
}

static int h_profile_enable(void *user, const struct control_call *call,
			    struct json_object **ret, char *why, size_t why_size)
{
	return lifecycle(user, call, ret, why, why_size, MCIMD_ENABLE, "enabled");
}

static int h_profile_disable(void *user, const struct control_call *call,
			     struct json_object **ret, char *why, size_t why_size)
{
	return lifecycle(user, call, ret, why, why_size, MCIMD_DISABLE, "disabled");
}

static int h_profile_delete(void *user, const struct control_call *call,
			    struct json_object **ret, char *why, size_t why_size)
{
	return lifecycle(user, call, ret, why, why_size, MCIMD_DELETE, "deleted");
}

/* params.NAME as a string, or NULL when absent; -EINVAL for another type. */
static int opt_string(const struct control_call *call, const char *name, const char **ret,
		      char *why, size_t why_size)
{
	struct json_object *x;

	*ret = NULL;
	if (!json_object_object_get_ex(call->params, name, &x) || json_object_is_type(x, json_type_null))
		return 0;
	if (!json_object_is_type(x, json_type_string)) {
		snprintf(why, why_size, "params.%s must be a string", name);
		return -EINVAL;
	}
	*ret = json_object_get_string(x);
	return 0;
}

static int opt_bool(const struct control_call *call, const char *name, bool *ret, char *why,
		    size_t why_size)
{
	struct json_object *x;

	*ret = false;
	if (!json_object_object_get_ex(call->params, name, &x))
		return 0;
	if (!json_object_is_type(x, json_type_boolean)) {
		snprintf(why, why_size, "params.%s must be a boolean", name);
		return -EINVAL;
	}
	*ret = json_object_get_boolean(x);
	return 0;
}

static int h_slot_list(void *user, const struct control_call *call,
		       struct json_object **ret, char *why, size_t why_size)
{
	struct mcimd *d = user;
	struct json_object *o = json_object_new_object();

	(void)call;
	(void)why;
	(void)why_size;
	json_object_object_add(o, "slots", mcimd_slots_json(d));
	*ret = o;
	return 0;
}

static int h_profile_install(void *user, const struct control_call *call,
			     struct json_object **ret, char *why, size_t why_size)
{
	struct mcimd *d = user;
	struct mcimd_install in = { .cls = STORE_CLASS_OPERATIONAL };
	struct store_profile_info i;
	struct json_object *x, *o;
	const char *cls;
	int r;

	if (!json_object_object_get_ex(call->params, "profile", &x) ||
	    !json_object_is_type(x, json_type_string)) {
		snprintf(why, why_size, "params.profile (the profile description text) is required");
		return -EINVAL;
	}
	in.text = json_object_get_string(x);
	in.len = (size_t)json_object_get_string_len(x);
	r = opt_string(call, "class", &cls, why, why_size);
	if (r == 0 && cls && store_class_from_name(cls, &in.cls) < 0) {
		snprintf(why, why_size, "params.class must be operational or provisioning");
		r = -EINVAL;
	}
	if (r == 0)
		r = opt_string(call, "nickname", &in.nickname, why, why_size);
	if (r == 0)
		r = opt_string(call, "operator", &in.operator_name, why, why_size);
	if (r == 0)
		r = opt_bool(call, "enable", &in.enable, why, why_size);
	if (r == 0 && json_object_object_get_ex(call->params, "expires", &x)) {
		if (!json_object_is_type(x, json_type_int) || json_object_get_int64(x) <= 0) {
			snprintf(why, why_size, "params.expires must be a Unix time");
			r = -EINVAL;
		} else {
			in.expires = json_object_get_int64(x);
		}
	}
	if (r == 0 && in.cls == STORE_CLASS_PROVISIONING && in.expires <= time(NULL)) {
		snprintf(why, why_size, "a provisioning profile needs params.expires, a Unix "
			 "time in the future");
		r = -EINVAL;
	}
	if (r == 0 && in.cls != STORE_CLASS_PROVISIONING && in.expires) {
		snprintf(why, why_size, "params.expires is for provisioning profiles only");
		r = -EINVAL;
	}
	if (r == 0 && ((in.nickname && strlen(in.nickname) > STORE_NAME_MAX) ||
		       (in.operator_name && strlen(in.operator_name) > STORE_NAME_MAX))) {
		snprintf(why, why_size, "nickname and operator: at most %d bytes", STORE_NAME_MAX);
		r = -EINVAL;
	}
	if (r < 0)
		return r;
	r = mcimd_profile_install(d, &in, &i, why, why_size);
	/* The description holds K in clear: wipe the parsed copy. */
	explicit_bzero((char *)in.text, in.len);
	mcimd_release_heap(d);
	if (r < 0)
		return r;
	log_notice("profile %s installed (uid %u)", i.iccid, (unsigned)call->peer->uid);
	if (!in.enable) {
		mcimd_bootstrap(d); /* a first provisioning profile is enabled */
		store_profile_get(d->store, i.id, &i);
	}
	o = json_object_new_object();
	json_object_object_add(o, "iccid", json_object_new_string(i.iccid));
	json_object_object_add(o, "imsi", json_object_new_string(i.imsi));
	json_object_object_add(o, "state", json_object_new_string(store_state_name(i.state)));
	if (i.state == STORE_STATE_ENABLED)
		add_card_state(d, i.id, o);
	*ret = o;
	return 0;
}

static int h_profile_install_package(void *user, const struct control_call *call,
				     struct json_object **ret, char *why, size_t why_size)
{
	struct mcimd *d = user;
	_cleanup_free_ uint8_t *der = NULL;
	struct store_profile_info i;
	struct json_object *x, *o = NULL;
	size_t len = 0;
	bool enable = false;
	int r;

	if (!json_object_object_get_ex(call->params, "package", &x) ||
	    !json_object_is_type(x, json_type_string)) {
		snprintf(why, why_size, "params.package (the package, base64 DER) is required");
		return -EINVAL;
	}
	r = b64_decode(json_object_get_string(x), (size_t)json_object_get_string_len(x),
		       PACKAGE_MAX, &der, &len);
	if (r < 0) {
		snprintf(why, why_size, "params.package is not base64 of at most %u bytes",
			 PACKAGE_MAX);
		return r == -EMSGSIZE ? r : -EINVAL;
	}
	r = opt_bool(call, "enable", &enable, why, why_size);
	if (r < 0)
		return r;
	r = mcimd_package_install(d, der, len, enable ? MCIMD_PKG_ENABLE : 0, &i, &o, why,
				  why_size);
	mcimd_release_heap(d);
	if (r < 0)
		return r;
	log_notice("package of profile %s installed (uid %u)", i.iccid,
		   (unsigned)call->peer->uid);
	if (!enable) {
		mcimd_bootstrap(d);
		store_profile_get(d->store, i.id, &i);
	}
	json_object_object_add(o, "iccid", json_object_new_string(i.iccid));
	json_object_object_add(o, "imsi", json_object_new_string(i.imsi));
	json_object_object_add(o, "class", json_object_new_string(store_class_name(i.cls)));
	json_object_object_add(o, "state", json_object_new_string(store_state_name(i.state)));
	if (i.state == STORE_STATE_ENABLED)
		add_card_state(d, i.id, o);
	*ret = o;
	return 0;
}

/* profile.update_files {iccid, files: [{path, data}], mode}: files.c. */
static int h_profile_update_files(void *user, const struct control_call *call,
				  struct json_object **ret, char *why, size_t why_size)
{
	struct mcimd *d = user;
	struct mcimd_file_update u[MCIMD_UPDATE_FILES_MAX];
	_cleanup_free_ uint8_t *buf = malloc(MCIMD_UPDATE_BYTES_MAX);
	enum usim_refresh_mode mode = USIM_REFRESH_FCN;
	enum mcimd_card_news news = MCIMD_CARD_NONE;
	struct store_profile_info i;
	struct json_object *files, *o, *paths;
	const char *m = NULL;
	size_t n, used = 0;
	int r;

	if (!buf)
		return -ENOMEM;
	r = find_profile(d, call, &i, why, why_size);
	if (r < 0)
		return r;
	r = opt_string(call, "mode", &m, why, why_size);
	if (r < 0)
		return r;
	if (m && strcmp(m, "fcn") && strcmp(m, "init-fcn")) {
		snprintf(why, why_size, "params.mode must be fcn or init-fcn");
		return -EINVAL;
	}
	if (m && !strcmp(m, "init-fcn"))
		mode = USIM_REFRESH_INIT_FCN;
	if (!json_object_object_get_ex(call->params, "files", &files) ||
	    !json_object_is_type(files, json_type_array) ||
	    (n = json_object_array_length(files)) == 0 || n > MCIMD_UPDATE_FILES_MAX) {
		snprintf(why, why_size, "params.files must be an array of 1 to %u {path, data}",
			 MCIMD_UPDATE_FILES_MAX);
		return -EINVAL;
	}
	for (size_t k = 0; k < n; k++) {
		struct json_object *f = json_object_array_get_idx(files, k), *p, *h;
		int len;

		if (!json_object_is_type(f, json_type_object) ||
		    json_object_object_length(f) != 2 ||
		    !json_object_object_get_ex(f, "path", &p) ||
		    !json_object_is_type(p, json_type_string) ||
		    !json_object_object_get_ex(f, "data", &h) ||
		    !json_object_is_type(h, json_type_string)) {
			snprintf(why, why_size, "files[%zu] must be {\"path\": HEX, \"data\": HEX} "
				 "and nothing else", k);
			return -EINVAL;
		}
		len = hex_decode(json_object_get_string(h), buf + used,
				 MCIMD_UPDATE_BYTES_MAX - used);
		if (len == -EMSGSIZE) {
			snprintf(why, why_size, "files[%zu] (%.32s): the files hold more than %u "
				 "bytes in all", k, json_object_get_string(p), MCIMD_UPDATE_BYTES_MAX);
			return -E2BIG;
		}
		if (len < 0) {
			snprintf(why, why_size, "files[%zu] (%.32s).data: not hex", k,
				 json_object_get_string(p));
			return -EINVAL;
		}
		u[k] = (struct mcimd_file_update){ .path = json_object_get_string(p),
						   .data = buf + used, .len = (size_t)len };
		used += (size_t)len;
	}
	r = mcimd_profile_update_files(d, i.id, u, n, mode, NULL, NULL, &news, why, why_size);
	if (r < 0)
		return r;
	log_notice("profile %s: files updated (uid %u)", i.iccid, (unsigned)call->peer->uid);
	o = json_object_new_object();
	paths = json_object_new_array();
	for (size_t k = 0; k < n; k++)
		json_object_array_add(paths, json_object_new_string(u[k].path));
	json_object_object_add(o, "iccid", json_object_new_string(i.iccid));
	json_object_object_add(o, "files", paths);
	json_object_object_add(o, "card", json_object_new_string(mcimd_card_news_name(news)));
	*ret = o;
	return 0;
}

static int h_provision_request(void *user, const struct control_call *call,
			       struct json_object **ret, char *why, size_t why_size)
{
	struct mcimd *d = user;
	const char *algo = NULL;
	int r = opt_string(call, "algorithm", &algo, why, why_size);

	if (r == 0 && algo && strcmp(algo, "milenage") && strcmp(algo, "tuak")) {
		snprintf(why, why_size, "params.algorithm must be milenage or tuak");
		r = -EINVAL;
	}
	if (r < 0)
		return r;
	return mcimd_package_request(d, algo && !strcmp(algo, "tuak"), NULL, NULL, ret, why,
				     why_size);
}

static int h_tamper(void *user, const struct control_call *call,
		    struct json_object **ret, char *why, size_t why_size)
{
	struct mcimd *d = user;
	const char *reason = NULL;
	bool revoke = false;
	struct json_object *o;
	char text[STORE_DETAIL_MAX - 32];
	int r;

	r = opt_string(call, "reason", &reason, why, why_size);
	if (r == 0)
		r = opt_bool(call, "revoke", &revoke, why, why_size);
	if (r < 0)
		return r;
	snprintf(text, sizeof(text), "control (uid %u): %s", (unsigned)call->peer->uid,
		 reason && *reason ? reason : "no reason given");
	r = mcimd_tamper_event(d, text, revoke);
	if (r < 0) {
		snprintf(why, why_size, "card removed, but the TPM: %s",
			 d->tre ? tre_errmsg(d->tre) : d->tre_why);
		return r;
	}
	o = json_object_new_object();
	json_object_object_add(o, "pcr", json_object_new_int((int)d->cfg.tamper_pcr));
	json_object_object_add(o, "revoked", json_object_new_boolean(revoke));
	*ret = o;
	return 0;
}

static int h_attest(void *user, const struct control_call *call,
		    struct json_object **ret, char *why, size_t why_size)
{
	struct mcimd *d = user;
	const char *hex = NULL;
	uint8_t nonce[64];
	int n, r;

	r = opt_string(call, "nonce", &hex, why, why_size);
	if (r < 0)
		return r;
	/* TPM2B_DATA qualifyingData: at most a digest (Part 3 18.4). */
	n = hex ? (strlen(hex) <= 2 * sizeof(nonce) ? hex_decode(hex, nonce, sizeof(nonce)) : -1)
		: -1;
	if (n < 8) {
		snprintf(why, why_size, "params.nonce must be 8..64 bytes of hex");
		return -EINVAL;
	}
	return mcimd_attest(d, nonce, (size_t)n, ret, why, why_size);
}

static int h_apdu(void *user, const struct control_call *call,
		  struct json_object **ret, char *why, size_t why_size)
{
	struct mcimd *d = user;
	static uint8_t cmd[USIM_CMD_MAX], rsp[65538];
	static char text[2 * sizeof(rsp) + 1];
	struct json_object *x, *o;
	const char *hex = NULL;
	size_t rsp_len = 0;
	int64_t slot = 0;
	int n, r;

	if (json_object_object_get_ex(call->params, "slot", &x)) {
		if (!json_object_is_type(x, json_type_int)) {
			snprintf(why, why_size, "params.slot must be an integer");
			return -EINVAL;
		}
		slot = json_object_get_int64(x);
	}
	r = opt_string(call, "command", &hex, why, why_size);
	if (r < 0)
		return r;
	n = hex && strlen(hex) <= 2 * sizeof(cmd) ? hex_decode(hex, cmd, sizeof(cmd)) : -1;
	if (n < 4) {
		snprintf(why, why_size, "params.command must be a command APDU in hex (4.. bytes)");
		return -EINVAL;
	}
	if (slot != 0 || !mcimd_card_iccid(d)) {
		snprintf(why, why_size, "slot %lld has no card", (long long)slot);
		return -ENODEV;
	}
	r = mcimd_card_process(d, cmd, (size_t)n, rsp, sizeof(rsp), &rsp_len);
	explicit_bzero(cmd, (size_t)n);
	if (r < 0) {
		snprintf(why, why_size, "the card failed: %s", strerror(-r));
		return r;
	}
	hex_encode(rsp, rsp_len, text);
	explicit_bzero(rsp, rsp_len);
	o = json_object_new_object();
	json_object_object_add(o, "response", json_object_new_string(text));
	explicit_bzero(text, 2 * rsp_len);
	*ret = o;
	return 0;
}

int mcimd_trace_set(struct mcimd *d, bool on, const char *host, uint16_t port,
		    char *why, size_t why_size)
{
	struct gsmtap *g = NULL;
	int r;

	if (!on) {
		if (d->trace)
			log_notice("APDU tracing off");
		gsmtap_close(d->trace);
		d->trace = NULL;
		return 0;
	}
	r = gsmtap_open(host, port, d->cfg.trace_allow_remote, GSMTAP_MASK_KEYS, &g);
	if (r < 0) {
		snprintf(why, why_size, r == -EPERM ? "%s is not a loopback address"
						    : "cannot trace to %s: %s",
			 host, strerror(-r));
		return r;
	}
	gsmtap_close(d->trace);
	d->trace = g;
	snprintf(d->trace_target, sizeof(d->trace_target), strchr(host, ':') ? "[%s]:%u"
									    : "%s:%u",
		 host, port);
	log_notice("APDU tracing to %s", d->trace_target);
	return 0;
}

static int h_trace_set(void *user, const struct control_call *call,
		       struct json_object **ret, char *why, size_t why_size)
{
	struct mcimd *d = user;
	struct json_object *x, *o;
	char host[64];
	uint16_t port = d->cfg.trace_port;
	int r;

	if (!json_object_object_get_ex(call->params, "enabled", &x) ||
	    !json_object_is_type(x, json_type_boolean)) {
		snprintf(why, why_size, "params.enabled (a boolean) is required");
		return -EINVAL;
	}
	snprintf(host, sizeof(host), "%s", d->cfg.trace_host);
	if (json_object_get_boolean(x) && json_object_object_get_ex(call->params, "target", &x) &&
	    (!json_object_is_type(x, json_type_string) ||
	     config_parse_hostport(json_object_get_string(x), host, sizeof(host), &port) < 0)) {
		snprintf(why, why_size, "params.target is not ADDRESS[:PORT]");
		return -EINVAL;
	}
	json_object_object_get_ex(call->params, "enabled", &x);
	r = mcimd_trace_set(d, json_object_get_boolean(x), host, port, why, why_size);
	if (r < 0)
		return r;
	o = json_object_new_object();
	json_object_object_add(o, "enabled", json_object_new_boolean(d->trace != NULL));
	json_object_object_add(o, "target",
			       d->trace ? json_object_new_string(d->trace_target) : NULL);
	*ret = o;
	return 0;
}

static int h_log_set(void *user, const struct control_call *call,
		     struct json_object **ret, char *why, size_t why_size)
{
	struct json_object *x, *o;
	enum log_level l;

	(void)user;
	if (!json_object_object_get_ex(call->params, "level", &x) ||
	    config_log_level_from_name(json_object_get_string(x), &l) < 0) {
		snprintf(why, why_size,
			 "params.level must be error, warning, notice, info or debug");
		return -EINVAL;
	}
	log_set_level(l);
	log_notice("log level %s (uid %u)", config_log_level_name(l),
		   (unsigned)call->peer->uid);
	o = json_object_new_object();
	json_object_object_add(o, "level", json_object_new_string(config_log_level_name(l)));
	*ret = o;
	return 0;
}

/* provision.register, provision.validate: answered when the flow ends. */
static void provision_done(void *user, int r, struct json_object *result, const char *why,
			   struct json_object *data)
{
	control_reply(user, r, result, why, data);
}

static int provision(struct mcimd *d, const struct control_call *call,
		     enum mcimd_prov_flow flow, char *why, size_t why_size)
{
	struct control_reply *rep;
	int r;

	if (json_object_object_length(call->params)) {
		snprintf(why, why_size, "%s takes no params", control_method_name(call->method));
		return -EINVAL;
	}
	r = control_later(call, &rep);
	if (r == 0)
		r = mcimd_provision_start(d, flow, provision_done, rep, why, why_size);
	return r < 0 ? r : CONTROL_LATER;
}

static int h_provision_register(void *user, const struct control_call *call,
				struct json_object **ret, char *why, size_t why_size)
{
	(void)ret;
	return provision(user, call, MCIMD_PROV_REGISTER, why, why_size);
}

static int h_provision_validate(void *user, const struct control_call *call,
				struct json_object **ret, char *why, size_t why_size)
{
	(void)ret;
	return provision(user, call, MCIMD_PROV_VALIDATE, why, why_size);
}

static int h_provision_run(void *user, const struct control_call *call,
			   struct json_object **ret, char *why, size_t why_size)
{
	(void)ret;
	return provision(user, call, MCIMD_PROV_FULL, why, why_size);
}

/* switch.status, switch.start, switch.abort (docs/change-format.md 5, switch.c). */
static int switch_call(void *user, const struct control_call *call, struct json_object **ret,
		       char *why, size_t why_size,
		       int (*fn)(struct mcimd *, char *, size_t))
{
	struct mcimd *d = user;
	int r;

	if (json_object_object_length(call->params)) {
		snprintf(why, why_size, "%s takes no params", control_method_name(call->method));
		return -EINVAL;
	}
	r = fn ? fn(d, why, why_size) : 0;
	if (r == 0)
		*ret = mcimd_switch_json(d);
	return r;
}

static int h_switch_status(void *user, const struct control_call *call,
			   struct json_object **ret, char *why, size_t why_size)
{
	return switch_call(user, call, ret, why, why_size, NULL);
}

static int h_switch_start(void *user, const struct control_call *call,
			  struct json_object **ret, char *why, size_t why_size)
{
	return switch_call(user, call, ret, why, why_size, mcimd_switch_start);
}

static int h_switch_abort(void *user, const struct control_call *call,
			  struct json_object **ret, char *why, size_t why_size)
{
	return switch_call(user, call, ret, why, why_size, mcimd_switch_abort);
}

const control_handler mcimd_handlers[CONTROL_METHOD_COUNT] = {
	[CONTROL_STATUS] = h_status,
	[CONTROL_PROFILE_LIST] = h_profile_list,
	[CONTROL_PROFILE_SHOW] = h_profile_show,
	[CONTROL_PROFILE_ENABLE] = h_profile_enable,
	[CONTROL_PROFILE_DISABLE] = h_profile_disable,
	[CONTROL_PROFILE_DELETE] = h_profile_delete,
	[CONTROL_TRACE_SET] = h_trace_set,
	[CONTROL_LOG_SET] = h_log_set,
	[CONTROL_SLOT_LIST] = h_slot_list,
	[CONTROL_PROFILE_INSTALL] = h_profile_install,
	[CONTROL_TAMPER] = h_tamper,
	[CONTROL_ATTEST] = h_attest,
	[CONTROL_APDU] = h_apdu,
	[CONTROL_PROVISION_REGISTER] = h_provision_register,
	[CONTROL_PROVISION_VALIDATE] = h_provision_validate,
	[CONTROL_PROFILE_INSTALL_PACKAGE] = h_profile_install_package,
	[CONTROL_PROVISION_REQUEST] = h_provision_request,
	[CONTROL_PROVISION_RUN] = h_provision_run,
	[CONTROL_PROFILE_UPDATE_FILES] = h_profile_update_files,
	[CONTROL_SWITCH_STATUS] = h_switch_status,
	[CONTROL_SWITCH_START] = h_switch_start,
	[CONTROL_SWITCH_ABORT] = h_switch_abort,
};
