// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of daemon/mcimd/control.c over a real SOCK_SEQPACKET Unix
 * socket and the epoll loop of loop.c, with fake handlers: request
 * checks and error codes, id echo, limits (size, depth, clients),
 * permissions from SO_PEERCRED (a child that drops to nobody), socket
 * mode, and the errno mapping.
 */
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/mcimd/control.h"
#include "macro.h"

struct fake {
	unsigned calls;
	enum control_method last;
	bool last_admin;
	struct control_reply *later; /* h_later's */
	int later_r;
};

static int h_status(void *user, const struct control_call *call,
		    struct json_object **ret, char *why, size_t why_size)
{
	struct fake *f = user;
	struct json_object *o = json_object_new_object();

	(void)why;
	(void)why_size;
	f->calls++;
	f->last = call->method;
	f->last_admin = call->peer->admin;
	json_object_object_add(o, "version", json_object_new_string("test"));
	json_object_object_add(o, "params", json_object_get(call->params));
	*ret = o;
	return 0;
}

static int h_enable(void *user, const struct control_call *call,
		    struct json_object **ret, char *why, size_t why_size)
{
	struct json_object *iccid;

	(void)user;
	(void)ret;
	if (!json_object_object_get_ex(call->params, "iccid", &iccid)) {
		snprintf(why, why_size, "params.iccid is required");
		return -EINVAL;
	}
	if (!strcmp(json_object_get_string(iccid), "1"))
		return -EALREADY; /* no message: strerror */
	snprintf(why, why_size, "no profile %s", json_object_get_string(iccid));
	return -ENOENT;
}

static int h_tamper(void *user, const struct control_call *call,
		    struct json_object **ret, char *why, size_t why_size)
{
	(void)why;
	(void)why_size;
	(void)ret;
	return h_status(user, call, ret, why, why_size);
}

static int h_bad(void *user, const struct control_call *call,
		 struct json_object **ret, char *why, size_t why_size)
{
	(void)user;
	(void)call;
	(void)why;
	(void)why_size;
	*ret = json_object_new_int(3); /* not an object: a handler bug */
	return 0;
}

/* Answers later (control_later), like provision.validate. */
static int h_later(void *user, const struct control_call *call,
		   struct json_object **ret, char *why, size_t why_size)
{
	struct fake *f = user;

	(void)ret;
	f->later_r = control_later(call, &f->later);
	if (f->later_r < 0) {
		snprintf(why, why_size, "cannot answer later here");
		return f->later_r;
	}
	return CONTROL_LATER;
}

static const control_handler handlers[CONTROL_METHOD_COUNT] = {
	[CONTROL_STATUS] = h_status,
	[CONTROL_PROVISION_VALIDATE] = h_later,
	[CONTROL_PROFILE_ENABLE] = h_enable,
	[CONTROL_TAMPER] = h_tamper,
	[CONTROL_LOG_SET] = h_bad,
};

struct t {
	char dir[64];
	char path[96];
	struct loop *loop;
	struct control_server *srv;
	struct fake fake;
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct control_config cfg = { .mode = 0660, .group = (gid_t)-1,
				      .admin_group = (gid_t)-1, .max_clients = 3,
				      .request_max = 4096 };

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/test-control.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/control", t->dir);
	cfg.path = t->path;
	assert_int_equal(loop_new(&t->loop), 0);
	assert_int_equal(control_server_new(&cfg, t->loop, handlers, &t->fake, &t->srv), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	control_server_free(t->srv);
	loop_free(t->loop);
	assert_int_equal(access(t->path, F_OK), -1); /* unlinked */
	rmdir(t->dir);
	free(t);
	return 0;
}

static int client(struct t *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(sa.sun_path, t->path, strlen(t->path));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* Let the server accept. */
	assert_true(loop_run_once(t->loop, 1000) >= 1);
	return fd;
}

/* Sends text, runs the loop, returns the parsed response. */
static struct json_object *call(struct t *t, int fd, const char *text, size_t len)
{
	char buf[8192];
	ssize_t n;

	assert_int_equal(send(fd, text, len, 0), (ssize_t)len);
	assert_true(loop_run_once(t->loop, 1000) >= 1);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = 0;
	return json_tokener_parse(buf);
}

static int err_code(struct json_object *rsp)
{
	struct json_object *e, *c;

	if (!json_object_object_get_ex(rsp, "error", &e))
		return 0;
	assert_true(json_object_object_get_ex(e, "code", &c));
	return json_object_get_int(c);
}

static const char *err_msg(struct json_object *rsp)
{
	struct json_object *e, *m;

	assert_true(json_object_object_get_ex(rsp, "error", &e));
	assert_true(json_object_object_get_ex(e, "message", &m));
	return json_object_get_string(m);
}

static void test_status_and_id(void **state)
{
	struct t *t = *state;
	int fd = client(t);
	struct json_object *r, *x, *res;
	static const char req[] = "{\"version\":1,\"id\":42,\"method\":\"status\"}";
	static const char req2[] =
		"{\"version\":1,\"id\":\"abc\",\"method\":\"status\",\"params\":{\"a\":[1,2]}}\n";
	struct stat st;

	assert_int_equal(stat(t->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);

	r = call(t, fd, req, strlen(req));
	assert_int_equal(err_code(r), 0);
	assert_true(json_object_object_get_ex(r, "id", &x));
	assert_int_equal(json_object_get_int(x), 42);
	assert_true(json_object_object_get_ex(r, "version", &x));
	assert_int_equal(json_object_get_int(x), 1);
	assert_true(json_object_object_get_ex(r, "result", &res));
	assert_true(json_object_object_get_ex(res, "version", &x));
	assert_string_equal(json_object_get_string(x), "test");
	assert_int_equal(t->fake.calls, 1);
	assert_true(t->fake.last_admin); /* the test runs as root */
	json_object_put(r);

	r = call(t, fd, req2, strlen(req2));
	assert_int_equal(err_code(r), 0);
	assert_true(json_object_object_get_ex(r, "id", &x));
	assert_string_equal(json_object_get_string(x), "abc");
	assert_true(json_object_object_get_ex(r, "result", &res));
	assert_true(json_object_object_get_ex(res, "params", &x));
	assert_string_equal(json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN),
			    "{\"a\":[1,2]}");
	json_object_put(r);
	close(fd);
	/* The server notices the hang-up. */
	assert_int_equal(control_server_clients(t->srv), 1);
	loop_run_once(t->loop, 1000);
	assert_int_equal(control_server_clients(t->srv), 0);
}

static void test_errors(void **state)
{
	static const struct {
		const char *req;
		int code;
		const char *msg; /* substring */
	} cases[] = {
		{ "{\"version\":1,\"method\":\"status\"", CONTROL_E_PARSE, "not JSON" },
		{ "nope", CONTROL_E_PARSE, "not JSON" },
		{ "{\"version\":1,\"method\":\"status\"} x", CONTROL_E_PARSE, "not JSON" },
		{ "[1]", CONTROL_E_INVALID_REQUEST, "JSON object" },
		{ "{\"method\":\"status\"}", CONTROL_E_INVALID_REQUEST, "version must be 1" },
		{ "{\"version\":2,\"method\":\"status\"}", CONTROL_E_INVALID_REQUEST, "version" },
		{ "{\"version\":\"1\",\"method\":\"status\"}", CONTROL_E_INVALID_REQUEST,
		  "version" },
		{ "{\"version\":1}", CONTROL_E_INVALID_REQUEST, "method must be a string" },
		{ "{\"version\":1,\"method\":\"status\",\"extra\":1}",
		  CONTROL_E_INVALID_REQUEST, "unknown member \"extra\"" },
		{ "{\"version\":1,\"id\":{},\"method\":\"status\"}", CONTROL_E_INVALID_REQUEST,
		  "id must be" },
		{ "{\"version\":1,\"method\":\"status\",\"params\":[]}",
		  CONTROL_E_INVALID_REQUEST, "params must be an object" },
		{ "{\"version\":1,\"method\":\"reboot\"}", CONTROL_E_UNKNOWN_METHOD,
		  "no method \"reboot\"" },
		{ "{\"version\":1,\"method\":\"profile.enable\"}", CONTROL_E_INVALID_PARAMS,
		  "params.iccid is required" },
		{ "{\"version\":1,\"method\":\"profile.enable\",\"params\":{\"iccid\":\"9\"}}",
		  CONTROL_E_NOT_FOUND, "no profile 9" },
		{ "{\"version\":1,\"method\":\"profile.enable\",\"params\":{\"iccid\":\"1\"}}",
		  CONTROL_E_CONFLICT, "already in progress" },
		{ "{\"version\":1,\"method\":\"slot.list\"}", CONTROL_E_UNSUPPORTED,
		  "not available" },
		{ "{\"version\":1,\"method\":\"log.set\"}", CONTROL_E_FAILED, "non-object" },
		/* Depth: 6 levels are allowed, 7 are not. */
		{ "{\"version\":1,\"method\":\"status\",\"params\":{\"a\":{\"b\":{\"c\":{\"d\":[]}}}}}",
		  0, NULL },
		{ "{\"version\":1,\"method\":\"status\",\"params\":{\"a\":{\"b\":{\"c\":{\"d\":[[]]}}}}}",
		  CONTROL_E_PARSE, "not JSON" },
		{ "{\"version\":1,\"method\":\"status\",\"params\":{\"s\":\"\xff\"}}",
		  CONTROL_E_PARSE, "not JSON" },
	};
	struct t *t = *state;
	int fd = client(t);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct json_object *r = call(t, fd, cases[i].req, strlen(cases[i].req));

		assert_non_null(r);
		if (err_code(r) != cases[i].code)
			fail_msg("case %zu: code %d, want %d", i, err_code(r), cases[i].code);
		if (cases[i].msg && !strstr(err_msg(r), cases[i].msg))
			fail_msg("case %zu: message '%s'", i, err_msg(r));
		json_object_put(r);
	}
	close(fd);
}

static void test_too_large(void **state)
{
	struct t *t = *state;
	int fd = client(t);
	char *big = malloc(8000);
	struct json_object *r;

	assert_non_null(big);
	memset(big, ' ', 8000);
	memcpy(big, "{\"version\":1,\"method\":\"status\"}", 31);
	r = call(t, fd, big, 8000);
	assert_int_equal(err_code(r), CONTROL_E_TOO_LARGE);
	json_object_put(r);
	/* The connection still works afterwards. */
	r = call(t, fd, big, 31);
	assert_int_equal(err_code(r), 0);
	json_object_put(r);
	free(big);
	close(fd);
}

static void test_max_clients(void **state)
{
	struct t *t = *state;
	int fds[4];
	char c;

	for (int i = 0; i < 4; i++)
		fds[i] = client(t);
	assert_int_equal(control_server_clients(t->srv), 3);
	/* The fourth was closed at once. */
	assert_int_equal(recv(fds[3], &c, 1, 0), 0);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
}

static void test_not_admin(void **state)
{
	struct t *t = *state;
	static const char req[] = "{\"version\":1,\"id\":1,\"method\":\"tamper\"}";
	static const char req2[] = "{\"version\":1,\"id\":2,\"method\":\"status\"}";
	int sv[2];
	pid_t pid;
	int status;

	if (geteuid() != 0)
		skip();
	/* nobody must be able to reach the socket for this test. */
	assert_int_equal(chmod(t->dir, 0755), 0);
	assert_int_equal(chmod(t->path, 0666), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char buf[1024];
		int fd;
		ssize_t n;

		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		memcpy(sa.sun_path, t->path, strlen(t->path));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(11);
		for (int i = 0; i < 2; i++) {
			const char *q = i ? req2 : req;

			if (send(fd, q, strlen(q), 0) < 0)
				_exit(12);
			n = recv(fd, buf, sizeof(buf) - 1, 0);
			if (n <= 0)
				_exit(13);
			buf[n] = '\n';
			if (write(sv[1], buf, (size_t)n + 1) != n + 1)
				_exit(14);
		}
		_exit(0);
	}
	close(sv[1]);
	/* Serve until the child is done. */
	for (int i = 0; i < 50 && waitpid(pid, &status, WNOHANG) == 0; i++)
		loop_run_once(t->loop, 100);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	{
		char buf[2048] = "";
		ssize_t n = read(sv[0], buf, sizeof(buf) - 1);
		struct json_object *r;
		char *nl;

		assert_true(n > 0);
		nl = strchr(buf, '\n');
		assert_non_null(nl);
		*nl = 0;
		r = json_tokener_parse(buf);
		assert_int_equal(err_code(r), CONTROL_E_PERMISSION);
		assert_non_null(strstr(err_msg(r), "tamper is for root and the admin group"));
		json_object_put(r);
		r = json_tokener_parse(nl + 1);
		assert_int_equal(err_code(r), 0);
		json_object_put(r);
	}
	assert_false(t->fake.last_admin);
	close(sv[0]);
}

static void test_errno_map(void **state)
{
	static const struct {
		int err;
		enum control_error code;
	} cases[] = {
		{ -EINVAL, CONTROL_E_INVALID_PARAMS }, { -EPERM, CONTROL_E_PERMISSION },
		{ -EACCES, CONTROL_E_PERMISSION },     { -ENOENT, CONTROL_E_NOT_FOUND },
		{ -EEXIST, CONTROL_E_CONFLICT },       { -EBUSY, CONTROL_E_CONFLICT },
		{ -EOPNOTSUPP, CONTROL_E_UNSUPPORTED }, { -ENODEV, CONTROL_E_UNAVAILABLE },
		{ -ESTALE, CONTROL_E_STALE },          { -EIO, CONTROL_E_FAILED },
		{ -EFBIG, CONTROL_E_TOO_LARGE },
	};
	enum control_method m;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(control_error_from_errno(cases[i].err), cases[i].code);
	for (unsigned i = 0; i < CONTROL_METHOD_COUNT; i++) {
		assert_int_equal(control_method_from_name(control_method_name(i), &m), 0);
		assert_int_equal(m, i);
	}
	assert_true(control_method_admin(CONTROL_APDU));
	assert_true(control_method_admin(CONTROL_PROFILE_INSTALL));
	assert_true(control_method_admin(CONTROL_PROFILE_DELETE));
	assert_true(control_method_admin(CONTROL_TAMPER));
	assert_true(control_method_admin(CONTROL_PROFILE_ENABLE));
	assert_true(control_method_admin(CONTROL_PROFILE_DISABLE));
	assert_true(control_method_admin(CONTROL_PROFILE_UPDATE_FILES));
	assert_false(control_method_admin(CONTROL_STATUS));
	assert_string_equal(control_error_name(CONTROL_E_NOT_FOUND), "not-found");
}

/* control_later / control_reply: the answer comes when the work ends; the
 * client's next request waits, other clients are served meanwhile. */
static void test_later(void **state)
{
	static const char later[] = "{\"version\":1,\"id\":9,\"method\":\"provision.validate\"}";
	static const char status[] = "{\"version\":1,\"id\":10,\"method\":\"status\"}";
	struct t *t = *state;
	struct json_object *rsp, *data = json_object_new_object(), *e, *x;
	struct control_peer root = { .uid = 0, .admin = true };
	char buf[8192], *text = NULL;
	int a = client(t), b = client(t), gone = client(t);
	ssize_t n;

	assert_int_equal(send(a, later, strlen(later), 0), (ssize_t)strlen(later));
	assert_true(loop_run_once(t->loop, 1000) >= 1);
	assert_non_null(t->fake.later);
	assert_int_equal(recv(a, buf, sizeof(buf), MSG_DONTWAIT), -1); /* no answer yet */
	/* a's next request waits; b is served. */
	assert_int_equal(send(a, status, strlen(status), 0), (ssize_t)strlen(status));
	rsp = call(t, b, status, strlen(status));
	assert_int_equal(err_code(rsp), 0);
	json_object_put(rsp);
	assert_int_equal(t->fake.calls, 1);
	json_object_object_add(data, "kind", json_object_new_string("refused"));
	control_reply(t->fake.later, -EPROTO, NULL, "the operator refused", data);
	t->fake.later = NULL;
	n = recv(a, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = 0;
	rsp = json_tokener_parse(buf);
	assert_int_equal(err_code(rsp), CONTROL_E_FAILED);
	assert_string_equal(err_msg(rsp), "the operator refused");
	assert_true(json_object_object_get_ex(rsp, "id", &x));
	assert_int_equal(json_object_get_int(x), 9);
	assert_true(json_object_object_get_ex(rsp, "error", &e));
	assert_true(json_object_object_get_ex(e, "data", &x));
	assert_string_equal(json_object_get_string(json_object_object_get(x, "kind")), "refused");
	json_object_put(rsp);
	/* Now a's waiting status request is read and answered. */
	assert_true(loop_run_once(t->loop, 1000) >= 1);
	n = recv(a, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	assert_int_equal(t->fake.calls, 2);
	/* A client that left before its answer: nothing is sent, nothing breaks. */
	assert_int_equal(send(gone, later, strlen(later), 0), (ssize_t)strlen(later));
	assert_true(loop_run_once(t->loop, 1000) >= 1);
	assert_non_null(t->fake.later);
	close(gone);
	assert_true(loop_run_once(t->loop, 1000) >= 1); /* the hangup */
	control_reply(t->fake.later, 0, json_object_new_object(), NULL, NULL);
	t->fake.later = NULL;
	/* Outside the socket path a handler cannot answer later. */
	assert_int_equal(control_process(handlers, &t->fake, &root, later, strlen(later), 0,
					 &text), 0);
	assert_int_equal(t->fake.later_r, -EOPNOTSUPP);
	rsp = json_tokener_parse(text);
	assert_int_equal(err_code(rsp), CONTROL_E_UNSUPPORTED);
	json_object_put(rsp);
	free(text);
	close(a);
	close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_and_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_admin, setup, teardown),
		cmocka_unit_test(test_errno_map),
		cmocka_unit_test_setup_teardown(test_later, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
