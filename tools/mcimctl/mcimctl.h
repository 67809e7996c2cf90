/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mcimctl: the command-line client of mcimd's control socket
 * (docs/control-api.md, docs/man/mcimctl.8).  One file per subcommand,
 * dispatched from mcimctl.c; ipc.c talks to the socket; output.c prints.
 */
#ifndef MCIM_MCIMCTL_H
#define MCIM_MCIMCTL_H

#include <stdbool.h>
#include <json-c/json.h>

/* Exit codes, documented in mcimctl(8). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,   /* mcimd refused or failed the request */
	EXIT_USAGE = 2,    /* bad command line */
	EXIT_CONNECT = 3,  /* cannot connect to the control socket */
	EXIT_DENIED = 4,   /* permission denied (socket or admin-only method) */
	EXIT_NOTFOUND = 5, /* no such profile / slot */
	EXIT_PROTOCOL = 6, /* no answer in time, or an answer that is not one */
	EXIT_NOCARD = 7,   /* done, but the enabled profile's card is not served */
	/* register, validate: the operator's side (error.data.kind) */
	EXIT_REFUSED = 8,     /* the operator refused (not registered, validation failed, ...) */
	EXIT_UNREACHABLE = 9, /* the operator could not be reached or did not answer in time */
	EXIT_TLS = 10,        /* the server is not under the pinned root, or TLS failed */
	EXIT_RETRY = 11,      /* the operator is busy (429, 503): try again later */
	EXIT_BADANSWER = 12,  /* the operator's answer is not the protocol's */
	/* profile install --package, provision */
	EXIT_PKG_REFUSED = 13, /* a check of docs/package-format.md 1 refused the package */
};

struct ctl {
	const char *socket;
	bool json;       /* print the result object as JSON */
	int timeout_ms;  /* for the answer */
	bool timeout_set; /* given with --timeout */
	const char *prog;
};

/*
 * Sends method with params (taken; NULL for none) and waits for the
 * answer.  Returns EXIT_OK with *ret_result (an object; put it) or another
 * exit code after printing the reason on stderr.
 */
int ctl_call(const struct ctl *c, const char *method, struct json_object *params,
	     struct json_object **ret_result);

/* Same; with ret_error an error answer is not printed: *ret_error gets
 * the error object (put it) and the exit code of its code is returned.
 * tick (may be NULL) runs every 250 ms while the answer is awaited. */
int ctl_call_err(const struct ctl *c, const char *method, struct json_object *params,
		 struct json_object **ret_result, struct json_object **ret_error,
		 void (*tick)(void *arg), void *arg);

/* Prints result as JSON (--json) or as "key: value" lines. */
void print_result(const struct ctl *c, struct json_object *result);
/* Prints an array of objects as a table with these columns (keys). */
void print_table(struct json_object *array, const char *const *columns,
		 const char *const *headers, size_t n);
const char *json_str(struct json_object *o, const char *key);

/* A subcommand: argv[0] is its name.  Returns an exit code. */
struct subcommand {
	const char *name;
	int (*run)(const struct ctl *c, int argc, char **argv);
	const char *summary;
};

/* Parses the subcommand's own options: only --help (-h).  Returns -1 to
 * continue with optind at the first operand, or an exit code. */
int sub_options(int argc, char **argv, const char *usage);
/* Checks that min..max operands follow (optind on); prints usage if not.
 * Returns their number or -1. */
int operands(int argc, char **argv, int min, int max, const char *usage);

int cmd_status(const struct ctl *c, int argc, char **argv);
int cmd_slot(const struct ctl *c, int argc, char **argv);
int cmd_profile(const struct ctl *c, int argc, char **argv);
int cmd_factory_install(const struct ctl *c, int argc, char **argv);
int cmd_tamper(const struct ctl *c, int argc, char **argv);
int cmd_attest(const struct ctl *c, int argc, char **argv);
int cmd_apdu(const struct ctl *c, int argc, char **argv);
int cmd_trace(const struct ctl *c, int argc, char **argv);
int cmd_log(const struct ctl *c, int argc, char **argv);
int cmd_register(const struct ctl *c, int argc, char **argv);
int cmd_validate(const struct ctl *c, int argc, char **argv);
int cmd_provision(const struct ctl *c, int argc, char **argv);
int cmd_switch(const struct ctl *c, int argc, char **argv);
/* profile.c: profile.install_package of the DER package in a file. */
int install_package(const struct ctl *c, const char *path, bool enable);
/* provision.c: runs provision.register / provision.validate with progress. */
int run_provision(const struct ctl *c, const char *method, const char *doing);

#endif
