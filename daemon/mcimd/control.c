// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The control socket server: accepts clients on a SOCK_SEQPACKET Unix
 * socket, reads one request per message, checks it (size, JSON depth,
 * version, id, method, params, permission) and dispatches it to the
 * daemon's handler.  docs/control-api.md is the protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/mcimd/control.h"
#include "macro.h"

#define PEER_GROUPS_MAX 256

static const struct {
	const char *name;
	bool admin;
} methods[CONTROL_METHOD_COUNT] = {
	[CONTROL_STATUS] = { "status", false },
	[CONTROL_SLOT_LIST] = { "slot.list", false },
	[CONTROL_PROFILE_LIST] = { "profile.list", false },
	[CONTROL_PROFILE_SHOW] = { "profile.show", false },
	[CONTROL_PROFILE_INSTALL] = { "profile.install", true },
	/* A state change removes the card and writes the TPM's NV. */
	[CONTROL_PROFILE_ENABLE] = { "profile.enable", true },
	[CONTROL_PROFILE_DISABLE] = { "profile.disable", true },
	[CONTROL_PROFILE_DELETE] = { "profile.delete", true },
	[CONTROL_TAMPER] = { "tamper", true },
	[CONTROL_ATTEST] = { "attest", false },
	[CONTROL_APDU] = { "apdu", true },
	/* Traces show card traffic and the log level what the daemon says:
	 * both change what others see, so they are admin-only too. */
	[CONTROL_TRACE_SET] = { "trace.set", true },
	[CONTROL_LOG_SET] = { "log.set", true },
	/* Talk to the operator with the device's identity. */
	[CONTROL_PROVISION_REGISTER] = { "provision.register", true },
	[CONTROL_PROVISION_VALIDATE] = { "provision.validate", true },
	/* The operator's package: a lifecycle change; a nonce replaced. */
	[CONTROL_PROFILE_INSTALL_PACKAGE] = { "profile.install_package", true },
	[CONTROL_PROVISION_REQUEST] = { "provision.request", true },
	[CONTROL_PROVISION_RUN] = { "provision.run", true },
	/* New EF contents, the modem told (docs/change-format.md 6). */
	[CONTROL_PROFILE_UPDATE_FILES] = { "profile.update_files", true },
	[CONTROL_SWITCH_STATUS] = { "switch.status", false },
	[CONTROL_SWITCH_START] = { "switch.start", true },
	[CONTROL_SWITCH_ABORT] = { "switch.abort", true },
};

const char *control_method_name(enum control_method m)
{
	return (unsigned)m < CONTROL_METHOD_COUNT ? methods[m].name : NULL;
}

bool control_method_admin(enum control_method m)
{
	return (unsigned)m < CONTROL_METHOD_COUNT && methods[m].admin;
}

int control_method_from_name(const char *name, enum control_method *ret)
{
	for (unsigned i = 0; name && i < CONTROL_METHOD_COUNT; i++)
		if (!strcmp(name, methods[i].name)) {
			*ret = (enum control_method)i;
			return 0;
		}
	return -ENOENT;
}

static const char *const error_names[] = {
	[CONTROL_E_PARSE] = "parse-error",
	[CONTROL_E_INVALID_REQUEST] = "invalid-request",
	[CONTROL_E_UNKNOWN_METHOD] = "unknown-method",
	[CONTROL_E_INVALID_PARAMS] = "invalid-params",
	[CONTROL_E_PERMISSION] = "permission-denied",
	[CONTROL_E_NOT_FOUND] = "not-found",
	[CONTROL_E_CONFLICT] = "conflict",
	[CONTROL_E_UNSUPPORTED] = "unsupported",
	[CONTROL_E_FAILED] = "failed",
	[CONTROL_E_TOO_LARGE] = "too-large",
	[CONTROL_E_UNAVAILABLE] = "unavailable",
	[CONTROL_E_STALE] = "stale-store",
};

const char *control_error_name(enum control_error e)
{
	if ((size_t)e < ARRAY_SIZE(error_names) && error_names[e])
		return error_names[e];
	return "failed";
}

enum control_error control_error_from_errno(int r)
{
	switch (-r) {
	case EINVAL:
	case ERANGE:
	case EBADMSG:
		return CONTROL_E_INVALID_PARAMS;
	case EPERM:
	case EACCES:
		return CONTROL_E_PERMISSION;
	case ENOENT:
		return CONTROL_E_NOT_FOUND;
	case EEXIST:
	case EALREADY:
	case EBUSY:
		return CONTROL_E_CONFLICT;
	case EOPNOTSUPP:
	case ENOSYS:
		return CONTROL_E_UNSUPPORTED;
	case E2BIG:
	case EFBIG:
	case EMSGSIZE:
		return CONTROL_E_TOO_LARGE;
	case ENODEV:
	case EAGAIN:
	case ENOKEY:
		return CONTROL_E_UNAVAILABLE;
	case ESTALE:
		return CONTROL_E_STALE;
	default:
		return CONTROL_E_FAILED;
	}
}

/* ---- one request ---- */

static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static int respond_data(struct json_object *id, struct json_object *result,
			enum control_error err, const char *msg, struct json_object *data,
			char **ret)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	const char *text;

	if (!o) {
		json_object_put(result);
		return -ENOMEM;
	}
	json_object_object_add(o, "version", json_object_new_int(CONTROL_VERSION));
	json_object_object_add(o, "id", id ? json_object_get(id) : NULL);
	if (err) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "code", json_object_new_int(err));
		json_object_object_add(e, "name",
				       json_object_new_string(control_error_name(err)));
		json_object_object_add(e, "message", json_object_new_string(msg ? msg : ""));
		if (data)
			json_object_object_add(e, "data", data);
		json_object_object_add(o, "error", e);
		json_object_put(result);
	} else {
		json_object_put(data);
		json_object_object_add(o, "result", result ? result : json_object_new_object());
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;
	*ret = strdup(text);
	return *ret ? 0 : -ENOMEM;
}

static int respond(struct json_object *id, struct json_object *result,
		   enum control_error err, const char *msg, char **ret)
{
	return respond_data(id, result, err, msg, NULL, ret);
}

static bool id_ok(struct json_object *id)
{
	switch (json_object_get_type(id)) {
	case json_type_null:
	case json_type_int:
		return true;
	case json_type_string:
		return json_object_get_string_len(id) <= CONTROL_ID_MAX;
	default:
		return false;
	}
}

struct client;

struct control_reply {
	struct client *client; /* NULL once the client left */
	struct json_object *id;
};

struct control_later_ctx {
	struct json_object *id;
	struct control_reply *rep;
};

static int process(const control_handler handlers[CONTROL_METHOD_COUNT], void *user,
		   const struct control_peer *peer, const char *text, size_t len,
		   size_t request_max, struct control_reply **later, char **ret_response);

int control_process(const control_handler handlers[CONTROL_METHOD_COUNT],
		    void *user, const struct control_peer *peer,
		    const char *text, size_t len, size_t request_max,
		    char **ret_response)
{
	return process(handlers, user, peer, text, len, request_max, NULL, ret_response);
}

int control_later(const struct control_call *call, struct control_reply **ret)
{
	struct control_later_ctx *x = call->later;

	if (!x)
		return -EOPNOTSUPP;
	if (!x->rep) {
		x->rep = calloc(1, sizeof(*x->rep));
		if (!x->rep)
			return -ENOMEM;
		x->rep->id = x->id ? json_object_get(x->id) : NULL;
	}
	*ret = x->rep;
	return 0;
}

/* *ret_response NULL and *later kept: the handler answers later. */
static int process(const control_handler handlers[CONTROL_METHOD_COUNT], void *user,
		   const struct control_peer *peer, const char *text, size_t len,
		   size_t request_max, struct control_reply **later, char **ret_response)
{
	_cleanup_json_ struct json_object *req = NULL, *empty = NULL;
	struct json_object *id = NULL, *version, *method, *params = NULL, *result = NULL;
	struct json_tokener *tok;
	enum control_method m;
	enum json_tokener_error jerr;
	struct control_later_ctx ctx = { 0 };
	char why[CONTROL_WHY_SIZE] = "";
	int r;

	if (!handlers || !peer || (!text && len) || !ret_response)
		return -EINVAL;
	if (!request_max)
		request_max = CONTROL_REQUEST_MAX;
	if (len > request_max) {
		snprintf(why, sizeof(why), "request longer than %zu bytes", request_max);
		return respond(NULL, NULL, CONTROL_E_TOO_LARGE, why, ret_response);
	}
	tok = json_tokener_new_ex(CONTROL_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	req = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	/* Only white space may follow the object. */
	if (req && jerr == json_tokener_success) {
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (!strchr(" \t\r\n", text[i])) {
				jerr = json_tokener_error_parse_unexpected;
				break;
			}
	} else if (!req && jerr == json_tokener_continue) {
		jerr = json_tokener_error_parse_eof;
	}
	if (jerr != json_tokener_success) {
		snprintf(why, sizeof(why), "not JSON: %s", json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		return respond(NULL, NULL, CONTROL_E_PARSE, why, ret_response);
	}
	json_tokener_free(tok);
	if (!json_object_is_type(req, json_type_object))
		return respond(NULL, NULL, CONTROL_E_INVALID_REQUEST,
			       "a request is a JSON object", ret_response);
	if (json_object_object_get_ex(req, "id", &id) && !id_ok(id))
		return respond(NULL, NULL, CONTROL_E_INVALID_REQUEST,
			       "id must be an integer, a string of at most 64 bytes or null",
			       ret_response);
	json_object_object_foreach(req, key, val) {
		(void)val;
		if (strcmp(key, "version") && strcmp(key, "id") && strcmp(key, "method") &&
		    strcmp(key, "params")) {
			snprintf(why, sizeof(why), "unknown member \"%.32s\"", key);
			return respond(id, NULL, CONTROL_E_INVALID_REQUEST, why, ret_response);
		}
	}
	if (!json_object_object_get_ex(req, "version", &version) ||
	    !json_object_is_type(version, json_type_int) ||
	    json_object_get_int64(version) != CONTROL_VERSION) {
		snprintf(why, sizeof(why), "version must be %d", CONTROL_VERSION);
		return respond(id, NULL, CONTROL_E_INVALID_REQUEST, why, ret_response);
	}
	if (!json_object_object_get_ex(req, "method", &method) ||
	    !json_object_is_type(method, json_type_string))
		return respond(id, NULL, CONTROL_E_INVALID_REQUEST,
			       "method must be a string", ret_response);
	if (control_method_from_name(json_object_get_string(method), &m) < 0) {
		snprintf(why, sizeof(why), "no method \"%.64s\"",
			 json_object_get_string(method));
		return respond(id, NULL, CONTROL_E_UNKNOWN_METHOD, why, ret_response);
	}
	if (json_object_object_get_ex(req, "params", &params) &&
	    !json_object_is_type(params, json_type_object))
		return respond(id, NULL, CONTROL_E_INVALID_REQUEST,
			       "params must be an object", ret_response);
	if (!params) {
		empty = json_object_new_object();
		if (!empty)
			return -ENOMEM;
		params = empty;
	}
	if (methods[m].admin && !peer->admin) {
		snprintf(why, sizeof(why), "%s is for root and the admin group",
			 methods[m].name);
		return respond(id, NULL, CONTROL_E_PERMISSION, why, ret_response);
	}
	if (!handlers[m]) {
		snprintf(why, sizeof(why), "%s is not available in this build",
			 methods[m].name);
		return respond(id, NULL, CONTROL_E_UNSUPPORTED, why, ret_response);
	}
	ctx.id = id;
	r = handlers[m](user, &(struct control_call){ m, params, peer, later ? &ctx : NULL },
			&result, why, sizeof(why));
	if (r == CONTROL_LATER && ctx.rep) {
		*later = ctx.rep;
		*ret_response = NULL;
		return 0;
	}
	if (ctx.rep) { /* control_later() and then an answer now */
		json_object_put(ctx.rep->id);
		free(ctx.rep);
	}
	if (r == CONTROL_LATER)
		r = -EPROTO;
	if (r < 0) {
		if (!why[0])
			snprintf(why, sizeof(why), "%s", strerror(-r));
		return respond(id, result, control_error_from_errno(r), why, ret_response);
	}
	if (result && !json_object_is_type(result, json_type_object)) {
		json_object_put(result);
		return respond(id, NULL, CONTROL_E_FAILED, "handler returned a non-object",
			       ret_response);
	}
	return respond(id, result, 0, NULL, ret_response);
}

/* ---- the socket ---- */

struct client {
	struct loop_source src; /* first: dispatch gets this pointer */
	struct control_server *server;
	struct control_peer peer;
	uint64_t last_ms; /* accepted or last request, CLOCK_MONOTONIC */
	struct client *next;
	struct control_reply *pending; /* an answer to come (control_later) */
};

struct control_server {
	struct loop_source src;
	struct loop *loop;
	const control_handler *handlers;
	void *user;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	gid_t admin_group;
	unsigned max_clients;
	unsigned max_per_uid;
	unsigned idle_ms;
	size_t request_max;
	struct client *clients;
	unsigned n_clients;
	char *buf; /* request_max + 1 */
};

unsigned control_server_clients(const struct control_server *s)
{
	return s ? s->n_clients : 0;
}

static void client_free(void *data)
{
	struct client *c = data;

	close(c->src.fd);
	free(c);
}

static void client_drop(struct client *c)
{
	struct control_server *s = c->server;

	if (c->pending)
		c->pending->client = NULL;

	for (struct client **p = &s->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	s->n_clients--;
	loop_del(s->loop, &c->src);
	/* The loop may still hold c in this batch: free it afterwards. */
	if (loop_defer(s->loop, client_free, c) < 0)
		client_free(c); /* loop_del() already dropped its events */
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

unsigned control_server_drop_idle(struct control_server *s)
{
	uint64_t now = now_ms();
	unsigned n = 0;

	if (!s || !s->idle_ms)
		return 0;
	for (struct client *c = s->clients, *next; c; c = next) {
		next = c->next;
		if (now - c->last_ms >= s->idle_ms) {
			client_drop(c);
			n++;
		}
	}
	return n;
}

/*
 * Admission (docs/security.md): one connection is always kept free for
 * root, and no other uid holds more than max_per_uid; idle clients are
 * dropped first.
 */
static bool admit(struct control_server *s, uid_t uid)
{
	unsigned same = 0;

	control_server_drop_idle(s);
	if (uid == 0)
		return s->n_clients < s->max_clients;
	if (s->n_clients + (s->max_clients > 1) >= s->max_clients)
		return false;
	for (struct client *c = s->clients; c; c = c->next)
		same += c->peer.uid == uid;
	return !s->max_per_uid || same < s->max_per_uid;
}

static void client_dispatch(struct loop_source *src, uint32_t events)
{
	struct client *c = (struct client *)src;
	struct control_server *s = c->server;
	_cleanup_free_ char *rsp = NULL;
	struct iovec iov = { s->buf, s->request_max + 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	int r;

	if (!(events & EPOLLIN)) {
		client_drop(c);
		return;
	}
	n = recvmsg(src->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* 0: the peer closed (SEQPACKET has no empty messages
		       * from our client library) */
		client_drop(c);
		return;
	}
	if (msg.msg_flags & MSG_TRUNC)
		n = (ssize_t)s->request_max + 1; /* control_process says too large */
	c->last_ms = now_ms();
	r = process(s->handlers, s->user, &c->peer, s->buf, (size_t)n, s->request_max,
		    &c->pending, &rsp);
	/* A request may carry secrets (K of a local install, PINs of an apdu). */
	explicit_bzero(s->buf, (size_t)n);
	if (r < 0) {
		client_drop(c);
		return;
	}
	if (!rsp) { /* answered later: read nothing more until then */
		c->pending->client = c;
		loop_mod(s->loop, &c->src, 0);
		return;
	}
	/* A client that does not read its answers is dropped, not waited for. */
	if (send(src->fd, rsp, strlen(rsp), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		client_drop(c);
}

static bool peer_is_admin(int fd, const struct ucred *cred, gid_t admin)
{
	gid_t groups[PEER_GROUPS_MAX];
	socklen_t len = sizeof(groups);

	if (cred->uid == 0)
		return true;
	if (admin == (gid_t)-1)
		return false;
	if (cred->gid == admin)
		return true;
	/* Supplementary groups of the peer at connect() time (Linux 4.13). */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == admin)
			return true;
	return false;
}

static void server_dispatch(struct loop_source *src, uint32_t events)
{
	struct control_server *s = (struct control_server *)src;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *c;
	int fd;

	(void)events;
	fd = accept4(src->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || !admit(s, cred.uid)) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->src.fd = fd;
	c->src.dispatch = client_dispatch;
	c->server = s;
	c->last_ms = now_ms();
	c->peer = (struct control_peer){
		.pid = cred.pid, .uid = cred.uid, .gid = cred.gid,
		.admin = peer_is_admin(fd, &cred, s->admin_group),
	};
	if (loop_add(s->loop, &c->src, EPOLLIN) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = s->clients;
	s->clients = c;
	s->n_clients++;
}

int control_server_new(const struct control_config *cfg, struct loop *loop,
		       const control_handler handlers[CONTROL_METHOD_COUNT],
		       void *user, struct control_server **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control_server *s;
	int fd, r, sndbuf = CONTROL_RESPONSE_MAX * 2;

	if (!cfg || !cfg->path || !loop || !handlers || !ret ||
	    strlen(cfg->path) >= sizeof(sa.sun_path) || cfg->path[0] != '/')
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->handlers = handlers;
	s->user = user;
	s->admin_group = cfg->admin_group;
	s->max_per_uid = cfg->max_per_uid;
	s->idle_ms = cfg->idle_ms;
	s->max_clients = cfg->max_clients ? cfg->max_clients : 16;
	s->request_max = cfg->request_max ? cfg->request_max : CONTROL_REQUEST_MAX;
	snprintf(s->path, sizeof(s->path), "%s", cfg->path);
	s->buf = malloc(s->request_max + 1);
	s->src.fd = -1;
	if (!s->buf) {
		free(s);
		return -ENOMEM;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		goto err_free;
	}
	s->src.fd = fd;
	s->src.dispatch = server_dispatch;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	memcpy(sa.sun_path, cfg->path, strlen(cfg->path));
	/* A stale socket of an earlier run: replace it (only a socket). */
	{
		struct stat st;

		if (lstat(cfg->path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(cfg->path);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto err_close;
	}
	/* Mode and group on the path itself: connect() needs write access. */
	if (chmod(cfg->path, cfg->mode ? cfg->mode : 0660) < 0 ||
	    (cfg->group != (gid_t)-1 && chown(cfg->path, (uid_t)-1, cfg->group) < 0) ||
	    listen(fd, 16) < 0) {
		r = -errno;
		goto err_unlink;
	}
	r = loop_add(loop, &s->src, EPOLLIN);
	if (r < 0)
		goto err_unlink;
	*ret = s;
	return 0;

err_unlink:
	unlink(cfg->path);
err_close:
	close(fd);
err_free:
	free(s->buf);
	free(s);
	return r;
}

void control_server_free(struct control_server *s)
{
	if (!s)
		return;
	while (s->clients) {
		struct client *c = s->clients;

		s->clients = c->next;
		if (c->pending)
			c->pending->client = NULL;
		loop_del(s->loop, &c->src);
		client_free(c);
	}
	loop_del(s->loop, &s->src);
	close(s->src.fd);
	unlink(s->path);
	free(s->buf);
	free(s);
}

void control_reply(struct control_reply *rep, int r, struct json_object *result,
		   const char *why, struct json_object *data)
{
	struct client *c;
	_cleanup_free_ char *rsp = NULL;

	if (!rep)
		return;
	c = rep->client;
	if (r < 0)
		r = respond_data(rep->id, result, control_error_from_errno(r),
				 why && *why ? why : strerror(-r), data, &rsp);
	else
		r = respond_data(rep->id, result, 0, NULL, data, &rsp);
	json_object_put(rep->id);
	free(rep);
	if (!c)
		return;
	c->pending = NULL;
	if (r < 0 || send(c->src.fd, rsp, strlen(rsp), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ||
	    loop_mod(c->server->loop, &c->src, EPOLLIN) < 0)
		client_drop(c);
}
