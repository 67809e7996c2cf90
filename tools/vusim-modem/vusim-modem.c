// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vusim-modem: the modem side of a vusim.ko slot at the command line.
 *
 * Opens /dev/vusimN and runs one subcommand (a file each: cmd-*.c) from the
 * table below: status, ATR, APDUs, resets, power, waiting for card events.
 * See --help and README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hex.h"
#include "macro.h"

#include "modem.h"

static const struct command commands[] = {
	{ "status", cmd_status, "", "the slot's state: card, power, backend, ATR" },
	{ "atr", cmd_atr, "", "the card's answer to reset, decoded" },
	{ "apdu", cmd_apdu, "[--raw] [HEX...]",
	  "send command APDUs (arguments, or lines on stdin)" },
	{ "script", cmd_script, "[--raw] [FILE|-]",
	  "APDUs with expected status words; stops at the first mismatch" },
	{ "reset", cmd_reset, "[warm|cold]", "reset the card and show the new ATR" },
	{ "power", cmd_power, "off|on", "deactivate or activate the card" },
	{ "wait", cmd_wait, "[--for EVENT] [--timeout MS]",
	  "wait for a card event (removed, inserted, powered, change)" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vusim-modem [-d DEVICE | -s SLOT] COMMAND [ARGS...]\n"
		"\n"
		"Talks to a vusim.ko card slot the way a modem does: through its\n"
		"character device, one command APDU at a time.\n"
		"\n"
		"Options:\n"
		"  -d, --device PATH   the slot's device (default /dev/vusim0)\n"
		"  -s, --slot N        the same as --device /dev/vusimN\n"
		"  -j, --json          print one JSON document (status, atr, apdu,\n"
		"                      script, reset, power); errors still go to stderr\n"
		"  -h, --help          show this help\n"
		"  -V, --version       show the version\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-6s %-30s %s\n", commands[i].name, commands[i].args,
			commands[i].help);
	fprintf(out,
		"\n"
		"APDUs are hex (spaces and ':' allowed), e.g. 00a40004022fe2.  Without\n"
		"--raw, a 61xx answer is followed by GET RESPONSE and a 6Cxx answer by\n"
		"the command again with Le = xx, as a T=0 terminal does (TS 102 221 7.3).\n"
		"\n"
		"Exit status: 0 success; 1 a call on the device failed (the message\n"
		"names the errno and what it means); 2 usage error; 3 the card answered\n"
		"an error status word; 4 wait: the awaited event did not come in time;\n"
		"5 script: an answer was not the expected one (the message, or the JSON,\n"
		"names the script line).\n"
		"\n"
		"A script line is: APDU [SW [DATA]]  # comment\n"
		"SW is four hex digits, x for any digit (61xx); DATA the response data\n"
		"expected, in hex.  Without SW the line's answer is not checked.\n");
}

int modem_json_print(const struct modem *m, struct json_object *o)
{
	if (!o)
		return modem_fail(m, "JSON output for", ENOMEM);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return EXIT_OK;
}

struct json_object *json_hex(const uint8_t *p, size_t n)
{
	_cleanup_free_ char *s = malloc(2 * n + 1);

	if (!s)
		return NULL;
	hex_encode(p, n, s);
	return json_object_new_string(s);
}

void hex_spaced(const uint8_t *p, size_t n, char *buf)
{
	static const char digits[] = "0123456789abcdef";
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (i)
			buf[j++] = ' ';
		buf[j++] = digits[p[i] >> 4];
		buf[j++] = digits[p[i] & 0x0f];
	}
	buf[j] = 0;
}

/* What an errno means on /dev/vusimN (docs/vusim-abi.md). */
static const char *errno_meaning(int err)
{
	switch (err) {
	case ENOMEDIUM: return "there is no card in the slot";
	case ENOTCONN: return "the card is powered off";
	case ENOLINK: return "the slot has no backend";
	case ETIMEDOUT: return "the backend did not answer within the slot's timeout";
	case EIO: return "the backend could not serve the request";
	case EBUSY: return "another command or request is outstanding on the slot";
	case ENODEV: return "the slot was deleted";
	case EAGAIN: case ENOBUFS: return "the backend's queue is full: try again";
	case EMSGSIZE: return "the APDU is longer than the driver accepts";
	case EINVAL: return "the APDU is shorter than 4 bytes (CLA INS P1 P2)";
	case ENOENT: return "no such slot: is vusim.ko loaded and the slot added?";
	case EACCES: return "permission denied: the device belongs to group vusim";
	default: return "";
	}
}

int modem_fail(const struct modem *m, const char *what, int err)
{
	const char *name = strerrorname_np(err);
	const char *meaning = errno_meaning(err);

	fprintf(stderr, "vusim-modem: %s %s: %s (%s)%s%s\n", what, m->path,
		strerror(err), name ? name : "?", *meaning ? ": " : "", meaning);
	return EXIT_ERRNO;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "slot", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct modem m = { .path = "/dev/vusim0", .fd = -1 };
	char path[64];
	char *end;
	long slot;
	int c, ret;

	/* "+": options stop at the command; the command parses the rest. */
	while ((c = getopt_long(argc, argv, "+d:s:jhV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			m.path = optarg;
			break;
		case 's':
			errno = 0;
			slot = strtol(optarg, &end, 10);
			if (errno || *end || slot < 0 || slot > 255) {
				fprintf(stderr, "vusim-modem: --slot: not a slot number: %s\n",
					optarg);
				return EXIT_USAGE;
			}
			snprintf(path, sizeof(path), "/dev/vusim%ld", slot);
			m.path = path;
			break;
		case 'j':
			m.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("vusim-modem %s\n", MCIM_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vusim-modem: no command (see --help)\n");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i].name))
			continue;
		m.fd = open(m.path, O_RDWR | O_CLOEXEC);
		if (m.fd < 0)
			return modem_fail(&m, "open", errno);
		/* The subcommand sees its name as argv[0]. */
		argv += optind;
		argc -= optind;
		optind = 0;
		ret = commands[i].run(&m, argc, argv);
		close(m.fd);
		return ret;
	}
	fprintf(stderr, "vusim-modem: unknown command %s (see --help)\n", argv[optind]);
	return EXIT_USAGE;
}
