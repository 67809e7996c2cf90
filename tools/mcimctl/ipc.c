// SPDX-License-Identifier: LGPL-2.1-or-later
/* The control socket client: one SOCK_SEQPACKET message each way. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/mcimd/control.h"
#include "macro.h"
#include "tools/mcimctl/mcimctl.h"

static int connect_socket(const struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, bufsz = CONTROL_RESPONSE_MAX * 2;

	if (strlen(c->socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", c->prog, c->socket);
		return -EXIT_USAGE;
	}
	memcpy(sa.sun_path, c->socket, strlen(c->socket));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %m\n", c->prog);
		return -EXIT_CONNECT;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		fprintf(stderr, "%s: cannot connect to mcimd at %s: %s\n", c->prog,
			c->socket, strerror(e));
		close(fd);
		return e == EACCES || e == EPERM ? -EXIT_DENIED : -EXIT_CONNECT;
	}
	return fd;
}

static int exit_for(int code)
{
	switch (code) {
	case CONTROL_E_PERMISSION:
		return EXIT_DENIED;
	case CONTROL_E_NOT_FOUND:
		return EXIT_NOTFOUND;
	default:
		return EXIT_FAILED;
	}
}

int ctl_call(const struct ctl *c, const char *method, struct json_object *params,
	     struct json_object **ret_result)
{
	return ctl_call_err(c, method, params, ret_result, NULL, NULL, NULL);
}

/* Waits for fd's answer up to c->timeout_ms, calling tick every TICK_MS. */
#define TICK_MS 250
static int wait_answer(const struct ctl *c, int fd, void (*tick)(void *arg), void *arg)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec t0, t;
	long left = c->timeout_ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int r = poll(&pfd, 1, tick ? (int)MIN(left, (long)TICK_MS) : (int)left);

		if (r != 0)
			return r;
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = c->timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 +
					(t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return 0;
		tick(arg);
	}
}

int ctl_call_err(const struct ctl *c, const char *method, struct json_object *params,
		 struct json_object **ret_result, struct json_object **ret_error,
		 void (*tick)(void *arg), void *arg)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct json_object *req, *rsp, *x, *err;
	const char *text;
	ssize_t n;
	int r;

	req = json_object_new_object();
	json_object_object_add(req, "version", json_object_new_int(CONTROL_VERSION));
	json_object_object_add(req, "id", json_object_new_int(getpid()));
	json_object_object_add(req, "method", json_object_new_string(method));
	if (params)
		json_object_object_add(req, "params", params);
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (strlen(text) > CONTROL_REQUEST_MAX) {
		fprintf(stderr, "%s: request too large (%zu bytes, at most %u)\n", c->prog,
			strlen(text), CONTROL_REQUEST_MAX);
		json_object_put(req);
		return EXIT_USAGE;
	}
	fd = connect_socket(c);
	if (fd < 0) {
		json_object_put(req);
		return -fd;
	}
	n = send(fd, text, strlen(text), MSG_NOSIGNAL);
	json_object_put(req);
	if (n < 0) {
		fprintf(stderr, "%s: send: %m\n", c->prog);
		return EXIT_PROTOCOL;
	}
	r = wait_answer(c, fd, tick, arg);
	if (r <= 0) {
		fprintf(stderr, "%s: no answer from mcimd in %d ms\n", c->prog, c->timeout_ms);
		return EXIT_PROTOCOL;
	}
	buf = malloc(CONTROL_RESPONSE_MAX + 1);
	if (!buf)
		return EXIT_FAILED;
	n = recv(fd, buf, CONTROL_RESPONSE_MAX, 0);
	if (n <= 0) {
		fprintf(stderr, "%s: mcimd closed the connection\n", c->prog);
		return EXIT_PROTOCOL;
	}
	buf[n] = 0;
	rsp = json_tokener_parse(buf);
	if (!rsp || !json_object_is_type(rsp, json_type_object)) {
		fprintf(stderr, "%s: answer is not JSON\n", c->prog);
		json_object_put(rsp);
		return EXIT_PROTOCOL;
	}
	if (json_object_object_get_ex(rsp, "error", &err)) {
		int code = json_object_object_get_ex(err, "code", &x) ? json_object_get_int(x) : 0;

		if (ret_error && json_object_is_type(err, json_type_object)) {
			*ret_error = json_object_get(err);
			json_object_put(rsp);
			return exit_for(code);
		}
		if (c->json)
			printf("%s\n", json_object_to_json_string_ext(
					       err, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
		fprintf(stderr, "%s: %s: %s\n", c->prog, method,
			json_object_object_get_ex(err, "message", &x) ? json_object_get_string(x)
								      : "failed");
		json_object_put(rsp);
		return exit_for(code);
	}
	if (!json_object_object_get_ex(rsp, "result", &x) ||
	    !json_object_is_type(x, json_type_object)) {
		fprintf(stderr, "%s: answer has no result\n", c->prog);
		json_object_put(rsp);
		return EXIT_PROTOCOL;
	}
	*ret_result = json_object_get(x);
	json_object_put(rsp);
	return EXIT_OK;
}
