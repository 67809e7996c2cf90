/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mcim-operator's command line: one file per command group (cmd-*.c), a
 * dispatch table in mcim-operator.c, like wireguard-tools' wg.c.
 *
 * Exit codes (docs/man/mcim-operator.8):
 *   0 success; 1 the operation failed or its input was refused;
 *   2 usage error; 3 the configuration, store or PKI could not be opened.
 */
#ifndef MCIM_OPERATOR_H
#define MCIM_OPERATOR_H

#include <stdbool.h>

#include "tools/mcim-operator/config.h"
#include "tools/mcim-operator/store.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };

struct cli {
	const char *config_path; /* NULL: the default */
	struct op_config cfg;
	bool json;
};

int cmd_serve(struct cli *c, int argc, char **argv);
int cmd_pki(struct cli *c, int argc, char **argv);
int cmd_device(struct cli *c, int argc, char **argv);
int cmd_model(struct cli *c, int argc, char **argv);
int cmd_sho(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_db(struct cli *c, int argc, char **argv);
int cmd_subscription(struct cli *c, int argc, char **argv);
int cmd_export(struct cli *c, int argc, char **argv);
int cmd_package(struct cli *c, int argc, char **argv);
/* cmd-change.c: docs/change-format.md 4 */
int cmd_subscriber(struct cli *c, int argc, char **argv);
int cmd_consent(struct cli *c, int argc, char **argv);
int cmd_release(struct cli *c, int argc, char **argv);
int cmd_subscription_lock(struct cli *c, int argc, char **argv);
int cmd_device_switch(struct cli *c, int argc, char **argv);

/* Opens the configured store; prints why and returns EXIT_SETUP on failure. */
int cli_store(struct cli *c, struct store **ret);
/* Prints a JSON value (consumed) on stdout, pretty when on a terminal. */
struct json_object;
void cli_print_json(struct json_object *o);
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
