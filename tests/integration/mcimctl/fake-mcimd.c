// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A stand-in for mcimd that serves the control protocol
 * (daemon/mcimd/control.c) with canned answers, for mcimctl's tests:
 *   fake-mcimd SOCKET
 * Profile installs are checked for real with the profile loader and
 * answered with the ICCID read from the profile's EF.ICCID.  Runs until
 * SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "daemon/mcimd/control.h"
#include "daemon/store/store.h"
#include "daemon/usim/profile-json.h"
#include "macro.h"

#define ICCID_A "89001010000000000018"
#define ICCID_B "89001010000000000026"

static char enabled[STORE_ICCID_MAX + 1] = ICCID_A;
static volatile sig_atomic_t stop;

static struct json_object *profile(const char *iccid, const char *state)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "iccid", json_object_new_string(iccid));
	json_object_object_add(o, "imsi", json_object_new_string(
					  strcmp(iccid, ICCID_A) ? "001010000000002" : "001010123456789"));
	json_object_object_add(o, "class", json_object_new_string(
					  strcmp(iccid, ICCID_A) ? "provisioning" : "operational"));
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "nickname", json_object_new_string(
					  strcmp(iccid, ICCID_A) ? "bootstrap" : "test"));
	json_object_object_add(o, "operator", json_object_new_string("mcim test"));
	return o;
}

static const char *state_of(const char *iccid)
{
	return strcmp(iccid, enabled) ? "disabled" : "enabled";
}

static int get_iccid(const struct control_call *call, const char **ret, char *why,
		     size_t why_size)
{
	struct json_object *x;

	if (!json_object_object_get_ex(call->params, "iccid", &x) ||
	    !json_object_is_type(x, json_type_string)) {
		snprintf(why, why_size, "params.iccid (a string) is required");
		return -EINVAL;
	}
	*ret = json_object_get_string(x);
	if (strcmp(*ret, ICCID_A) && strcmp(*ret, ICCID_B)) {
		snprintf(why, why_size, "no profile %s", *ret);
		return -ENOENT;
	}
	return 0;
}

static int h_status(void *u, const struct control_call *call, struct json_object **ret,
		    char *why, size_t why_size)
{
	struct json_object *o = json_object_new_object(), *tpm = json_object_new_object();

	(void)u, (void)call, (void)why, (void)why_size;
	json_object_object_add(o, "version", json_object_new_string("0.1.0"));
	json_object_object_add(o, "slots", json_object_new_int(1));
	json_object_object_add(o, "enabled_profile", json_object_new_string(enabled));
	json_object_object_add(tpm, "mode", json_object_new_string("aes-ecb"));
	json_object_object_add(o, "tpm", tpm);
	json_object_object_add(o, "store_generation", json_object_new_int(7));
	*ret = o;
	return 0;
}

static int h_slots(void *u, const struct control_call *call, struct json_object **ret,
		   char *why, size_t why_size)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array(),
			   *s = json_object_new_object();

	(void)u, (void)call, (void)why, (void)why_size;
	json_object_object_add(s, "index", json_object_new_int(0));
	json_object_object_add(s, "device", json_object_new_string("/dev/vusim0"));
	json_object_object_add(s, "card", json_object_new_string("present"));
	json_object_object_add(s, "iccid", json_object_new_string(enabled));
	json_object_array_add(a, s);
	json_object_object_add(o, "slots", a);
	*ret = o;
	return 0;
}

static int h_list(void *u, const struct control_call *call, struct json_object **ret,
		  char *why, size_t why_size)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	(void)u, (void)call, (void)why, (void)why_size;
	json_object_array_add(a, profile(ICCID_A, state_of(ICCID_A)));
	json_object_array_add(a, profile(ICCID_B, state_of(ICCID_B)));
	json_object_object_add(o, "profiles", a);
	*ret = o;
	return 0;
}

static int h_show(void *u, const struct control_call *call, struct json_object **ret,
		  char *why, size_t why_size)
{
	const char *iccid;
	int r = get_iccid(call, &iccid, why, why_size);

	(void)u;
	if (r < 0)
		return r;
	*ret = profile(iccid, state_of(iccid));
	json_object_object_add(*ret, "files", json_object_new_int(42));
	return 0;
}

static int h_enable(void *u, const struct control_call *call, struct json_object **ret,
		    char *why, size_t why_size)
{
	const char *iccid;
	int r = get_iccid(call, &iccid, why, why_size);

	(void)u, (void)ret;
	if (r < 0)
		return r;
	snprintf(enabled, sizeof(enabled), "%s", iccid);
	return 0;
}

static int h_disable(void *u, const struct control_call *call, struct json_object **ret,
		     char *why, size_t why_size)
{
	const char *iccid;
	int r = get_iccid(call, &iccid, why, why_size);

	(void)u, (void)ret;
	if (r < 0)
		return r;
	if (strcmp(iccid, enabled)) {
		snprintf(why, why_size, "profile %s is not enabled", iccid);
		return -EALREADY;
	}
	enabled[0] = 0;
	return 0;
}

static int h_delete(void *u, const struct control_call *call, struct json_object **ret,
		    char *why, size_t why_size)
{
	const char *iccid;

	(void)u, (void)ret;
	return get_iccid(call, &iccid, why, why_size);
}

static int h_install(void *u, const struct control_call *call, struct json_object **ret,
		     char *why, size_t why_size)
{
	struct json_object *x;
	struct usim_profile *p = NULL;
	struct aka_plain_secret k;
	char iccid[STORE_ICCID_MAX + 1], imsi[STORE_IMSI_MAX + 1];
	int r;

	(void)u;
	if (!json_object_object_get_ex(call->params, "profile", &x) ||
	    !json_object_is_type(x, json_type_string)) {
		snprintf(why, why_size, "params.profile (the description text) is required");
		return -EINVAL;
	}
	r = profile_json_load_buf(json_object_get_string(x),
				  (size_t)json_object_get_string_len(x), &p, &k, why, why_size);
	wipe(&k, sizeof(k));
	if (r < 0)
		return r;
	r = store_profile_identity(p, iccid, imsi);
	usim_profile_free(p);
	if (r < 0) {
		snprintf(why, why_size, "the profile has no readable EF.ICCID/EF.IMSI");
		return r;
	}
	*ret = json_object_new_object();
	json_object_object_add(*ret, "iccid", json_object_new_string(iccid));
	json_object_object_add(*ret, "imsi", json_object_new_string(imsi));
	return 0;
}

static int h_tamper(void *u, const struct control_call *call, struct json_object **ret,
		    char *why, size_t why_size)
{
	struct json_object *x;

	(void)u, (void)why, (void)why_size;
	*ret = json_object_new_object();
	json_object_object_add(*ret, "pcr", json_object_new_int(23));
	if (json_object_object_get_ex(call->params, "revoke", &x))
		json_object_object_add(*ret, "revoked", json_object_get(x));
	return 0;
}

static int h_attest(void *u, const struct control_call *call, struct json_object **ret,
		    char *why, size_t why_size)
{
	struct json_object *x;

	(void)u;
	if (!json_object_object_get_ex(call->params, "nonce", &x)) {
		snprintf(why, why_size, "params.nonce is required");
		return -EINVAL;
	}
	*ret = json_object_new_object();
	json_object_object_add(*ret, "nonce", json_object_get(x));
	json_object_object_add(*ret, "quote", json_object_new_string("ff544347801800"));
	return 0;
}

static int h_apdu(void *u, const struct control_call *call, struct json_object **ret,
		  char *why, size_t why_size)
{
	struct json_object *x;

	(void)u;
	if (!json_object_object_get_ex(call->params, "command", &x)) {
		snprintf(why, why_size, "params.command is required");
		return -EINVAL;
	}
	*ret = json_object_new_object();
	json_object_object_add(*ret, "response", json_object_new_string(
		!strncmp(json_object_get_string(x), "00a4", 4) ? "9000" : "6d00"));
	return 0;
}

static int h_trace(void *u, const struct control_call *call, struct json_object **ret,
		   char *why, size_t why_size)
{
	struct json_object *x;

	(void)u;
	*ret = json_object_new_object();
	if (json_object_object_get_ex(call->params, "target", &x) &&
	    strncmp(json_object_get_string(x), "127.", 4)) {
		snprintf(why, why_size, "%s is not a loopback address",
			 json_object_get_string(x));
		return -EPERM;
	}
	json_object_object_add(*ret, "target",
			       json_object_new_string(x ? json_object_get_string(x)
							: "127.0.0.1:4729"));
	return 0;
}

static int h_log(void *u, const struct control_call *call, struct json_object **ret,
		 char *why, size_t why_size)
{
	(void)u, (void)call, (void)why, (void)why_size;
	*ret = NULL;
	return 0;
}

static const control_handler handlers[CONTROL_METHOD_COUNT] = {
	[CONTROL_STATUS] = h_status,           [CONTROL_SLOT_LIST] = h_slots,
	[CONTROL_PROFILE_LIST] = h_list,       [CONTROL_PROFILE_SHOW] = h_show,
	[CONTROL_PROFILE_INSTALL] = h_install, [CONTROL_PROFILE_ENABLE] = h_enable,
	[CONTROL_PROFILE_DISABLE] = h_disable, [CONTROL_PROFILE_DELETE] = h_delete,
	[CONTROL_TAMPER] = h_tamper,           [CONTROL_ATTEST] = h_attest,
	[CONTROL_APDU] = h_apdu,               [CONTROL_TRACE_SET] = h_trace,
	[CONTROL_LOG_SET] = h_log,
};

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct control_config cfg = { .mode = 0666, .group = (gid_t)-1,
				      .admin_group = (gid_t)-1, .max_clients = 8 };
	struct control_server *srv = NULL;
	struct loop *loop = NULL;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: fake-mcimd SOCKET\n");
		return 2;
	}
	cfg.path = argv[1];
	signal(SIGTERM, on_term);
	if (loop_new(&loop) < 0)
		return 1;
	r = control_server_new(&cfg, loop, handlers, NULL, &srv);
	if (r < 0) {
		fprintf(stderr, "fake-mcimd: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	while (!stop)
		loop_run_once(loop, 200);
	control_server_free(srv);
	loop_free(loop);
	return 0;
}
