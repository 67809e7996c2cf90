/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mcimd's control socket: the protocol layer (docs/control-api.md).
 *
 * Transport: a Unix SOCK_SEQPACKET socket (default /run/mcimd/control,
 * mode 0660, group mcimd).  One request per message, one response per
 * request, in order; the kernel keeps message boundaries, so there is no
 * framing and a request is never split.
 *
 * Request:   {"version": 1, "id": 7, "method": "profile.enable",
 *             "params": {"iccid": "8900..."}}
 * Response:  {"version": 1, "id": 7, "result": {...}}
 *        or  {"version": 1, "id": 7, "error": {"code": 6,
 *             "name": "not-found", "message": "no profile 8900..."}}
 *
 * Who may do what: any peer that can connect (root and group mcimd, by the
 * socket's mode) may call the read-only methods and enable/disable; the
 * methods marked admin below need uid 0 or membership (primary or
 * supplementary, SO_PEERCRED / SO_PEERGROUPS) in the admin group.
 *
 * This layer parses, checks limits and permissions and dispatches to the
 * handlers the daemon gives; it knows nothing of profiles or slots.
 */
#ifndef MCIM_MCIMD_CONTROL_H
#define MCIM_MCIMD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "daemon/mcimd/loop.h"

#define CONTROL_VERSION 1
#define CONTROL_REQUEST_MAX (128u << 10) /* bytes of one request */
#define CONTROL_RESPONSE_MAX (192u << 10)
#define CONTROL_JSON_DEPTH 6             /* json_tokener depth limit */
#define CONTROL_ID_MAX 64                /* string ids, bytes */
#define CONTROL_WHY_SIZE 256

/* The methods; the order is the table in control.c. */
enum control_method {
	CONTROL_STATUS,
	CONTROL_SLOT_LIST,
	CONTROL_PROFILE_LIST,
	CONTROL_PROFILE_SHOW,
	CONTROL_PROFILE_INSTALL,
	CONTROL_PROFILE_ENABLE,
	CONTROL_PROFILE_DISABLE,
	CONTROL_PROFILE_DELETE,
	CONTROL_TAMPER,
	CONTROL_ATTEST,
	CONTROL_APDU,
	CONTROL_TRACE_SET,
	CONTROL_LOG_SET,
	CONTROL_PROVISION_REGISTER,
	CONTROL_PROVISION_VALIDATE,
	CONTROL_PROFILE_INSTALL_PACKAGE,
	CONTROL_PROVISION_REQUEST,
	CONTROL_PROVISION_RUN,
	CONTROL_PROFILE_UPDATE_FILES,
	CONTROL_SWITCH_STATUS,
	CONTROL_SWITCH_START,
	CONTROL_SWITCH_ABORT,
	CONTROL_METHOD_COUNT,
};

/* Name ("profile.enable") and whether it is admin-only. */
const char *control_method_name(enum control_method m);
bool control_method_admin(enum control_method m);
int control_method_from_name(const char *name, enum control_method *ret);

/* Error codes of the "error" object (docs/control-api.md). */
enum control_error {
	CONTROL_E_PARSE = 1,         /* not JSON, or nested too deep */
	CONTROL_E_INVALID_REQUEST = 2, /* not a request object, bad version */
	CONTROL_E_UNKNOWN_METHOD = 3,
	CONTROL_E_INVALID_PARAMS = 4,  /* EINVAL */
	CONTROL_E_PERMISSION = 5,      /* EPERM, EACCES, admin-only */
	CONTROL_E_NOT_FOUND = 6,       /* ENOENT */
	CONTROL_E_CONFLICT = 7,        /* EEXIST, EALREADY, EBUSY */
	CONTROL_E_UNSUPPORTED = 8,     /* EOPNOTSUPP, no handler */
	CONTROL_E_FAILED = 9,          /* any other errno */
	CONTROL_E_TOO_LARGE = 10,      /* request over CONTROL_REQUEST_MAX */
	CONTROL_E_UNAVAILABLE = 11,    /* ENODEV, EAGAIN: no TPM, no slot */
	CONTROL_E_STALE = 12,          /* ESTALE: store rollback detected */
};
const char *control_error_name(enum control_error e);
enum control_error control_error_from_errno(int negative_errno);

struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool admin;
};

struct control_reply;
struct control_later_ctx;

struct control_call {
	enum control_method method;
	struct json_object *params; /* always an object (empty if absent) */
	const struct control_peer *peer;
	/* Private to control.c: where a later answer goes (control_later). */
	struct control_later_ctx *later;
};

/*
 * A method handler.  Returns 0 and sets *ret_result (an object, or NULL
 * for an empty one; the server takes the reference), or a negative errno
 * and writes a one-line reason into why (why_size bytes) that the client
 * sees as the error message.  Handlers run on the loop thread and must not
 * block for long.
 */
typedef int (*control_handler)(void *user, const struct control_call *call,
			       struct json_object **ret_result, char *why,
			       size_t why_size);

/*
 * Answering later (a method that waits for the network): the handler calls
 * control_later(), keeps *ret and returns CONTROL_LATER; the answer is
 * sent by control_reply() from the loop when the work is done.  Until
 * then that client's next requests wait in the socket (answers stay in
 * order).  control_reply() must not run before the handler returned.
 * -EOPNOTSUPP outside the socket path (control_process()).
 */
#define CONTROL_LATER 1
int control_later(const struct control_call *call, struct control_reply **ret);
/*
 * Sends the answer and frees rep: r == 0 with result (an object, taken;
 * NULL: empty), or a negative errno with why and data (an object, taken,
 * may be NULL) as the error's "data" member.  A client that left is
 * simply not answered.
 */
void control_reply(struct control_reply *rep, int r, struct json_object *result,
		   const char *why, struct json_object *data);

struct control_config {
	const char *path;       /* socket path; an old socket there is replaced */
	mode_t mode;            /* 0660 */
	gid_t group;            /* socket group, (gid_t)-1 = keep */
	gid_t admin_group;      /* (gid_t)-1 = root only */
	unsigned max_clients;   /* further connections are closed at once; the
				 * last one is kept for root (uid 0) */
	unsigned max_per_uid;   /* connections of one non-root uid; 0 = any */
	unsigned idle_ms;       /* a client silent this long is dropped at the
				 * next connection and by control_server_drop_idle();
				 * 0 = never */
	size_t request_max;     /* 0 = CONTROL_REQUEST_MAX */
};

struct control_server;

/*
 * Creates the socket, binds, sets mode and group, listens and adds itself
 * to loop.  handlers[m] may be NULL (the method answers "unsupported").
 * The array is borrowed and must outlive the server.
 */
int control_server_new(const struct control_config *cfg, struct loop *loop,
		       const control_handler handlers[CONTROL_METHOD_COUNT],
		       void *user, struct control_server **ret);
/* Closes every client and the socket and unlinks the path. */
void control_server_free(struct control_server *s);

unsigned control_server_clients(const struct control_server *s);
/* Drops the clients idle for idle_ms or longer; returns how many. */
unsigned control_server_drop_idle(struct control_server *s);

/*
 * Serves one request from text (len bytes) for peer and returns the
 * response text (malloc'ed, NUL-terminated).  The socket path calls this;
 * it is public for tests and fuzzing.
 */
int control_process(const control_handler handlers[CONTROL_METHOD_COUNT],
		    void *user, const struct control_peer *peer,
		    const char *text, size_t len, size_t request_max,
		    char **ret_response);

#endif
