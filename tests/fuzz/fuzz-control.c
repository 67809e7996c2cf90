// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target of the control protocol's request parser and checks
 * (control_process() in daemon/mcimd/control.c).  The first byte picks
 * admin or not; the rest is the request.  Every answer must be a JSON
 * object with either "result" or "error".
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mcimd/control.h"

static int echo(void *user, const struct control_call *call,
		struct json_object **ret, char *why, size_t why_size)
{
	(void)user;
	(void)why;
	(void)why_size;
	*ret = json_object_new_object();
	json_object_object_add(*ret, "params", json_object_get(call->params));
	return 0;
}

static int refuse(void *user, const struct control_call *call,
		  struct json_object **ret, char *why, size_t why_size)
{
	(void)user;
	(void)call;
	(void)ret;
	why[why_size - 1] = 0;
	return -ENOENT;
}

static const control_handler handlers[CONTROL_METHOD_COUNT] = {
	[CONTROL_STATUS] = echo,
	[CONTROL_PROFILE_SHOW] = refuse,
	[CONTROL_APDU] = echo,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_peer peer = { .uid = 1000, .gid = 1000 };
	struct json_object *o, *x;
	char *rsp = NULL;

	if (size < 1)
		return 0;
	peer.admin = data[0] & 1;
	if (control_process(handlers, NULL, &peer, (const char *)data + 1, size - 1,
			    4096, &rsp) < 0)
		abort();
	o = json_tokener_parse(rsp);
	if (!o || (json_object_object_get_ex(o, "result", &x) ==
		   json_object_object_get_ex(o, "error", &x)))
		abort();
	json_object_put(o);
	free(rsp);
	return 0;
}
