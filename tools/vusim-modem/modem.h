/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vusim-modem: declarations shared by its files (one file per subcommand). */
#ifndef MCIM_VUSIM_MODEM_H
#define MCIM_VUSIM_MODEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw.h"

/* Exit codes, documented in --help and tools/vusim-modem/README.md. */
enum {
	EXIT_OK = 0,
	EXIT_ERRNO = 1,		/* a call on the device failed (message says why) */
	EXIT_USAGE = 2,
	EXIT_CARD_ERROR = 3,	/* the card answered an error status word */
	EXIT_TIMEOUT = 4,	/* wait: the awaited state did not come */
	EXIT_MISMATCH = 5,	/* script: an answer was not the expected one */
};

/* The device every subcommand works on (-d / -s). */
struct modem {
	const char *path;
	int fd;
	bool json;		/* --json: one JSON document on stdout */
};

struct json_object;

/* A subcommand: argv[0] is its name; returns an exit code. */
struct command {
	const char *name;
	int (*run)(struct modem *m, int argc, char **argv);
	const char *args;
	const char *help;
};

int cmd_status(struct modem *m, int argc, char **argv);
int cmd_atr(struct modem *m, int argc, char **argv);
int cmd_apdu(struct modem *m, int argc, char **argv);
int cmd_script(struct modem *m, int argc, char **argv);
int cmd_reset(struct modem *m, int argc, char **argv);
int cmd_power(struct modem *m, int argc, char **argv);
int cmd_wait(struct modem *m, int argc, char **argv);

/* Prints "vusim-modem: WHAT PATH: strerror (ENAME): what it means" to stderr;
 * returns EXIT_ERRNO.  err is a positive errno. */
int modem_fail(const struct modem *m, const char *what, int err);

/* Prints o (pretty) on stdout and frees it; NULL: out of memory (EXIT_ERRNO). */
int modem_json_print(const struct modem *m, struct json_object *o);

struct vusim_atr;
/* Prints {"atr": HEX, "length": N} (--json); an exit code. */
int atr_json(const struct modem *m, const struct vusim_atr *atr);

/* A JSON string of bytes in hex ("3b9a96..."), or NULL. */
struct json_object *json_hex(const uint8_t *p, size_t n);

/* Bytes as "3b 9a 96 ..." into buf (3 * n bytes). */
void hex_spaced(const uint8_t *p, size_t n, char *buf);

/* True for the normal endings 9000 and 91xx (TS 102 221 10.2.1.1). */
static inline bool sw_ok(uint8_t sw1, uint8_t sw2)
{
	return (sw1 == 0x90 && sw2 == 0x00) || sw1 == 0x91;
}

/* Prints an ATR and its decoding (ISO/IEC 7816-3 8.2), each line indented. */
void atr_print(const uint8_t *atr, size_t len, const char *indent);

#endif
