// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vusim-modem apdu [--raw] [HEX...]: sends command APDUs (the arguments, or
 * one per line on stdin) through write()/read() on the slot's device and
 * prints each response with its status word in words.  Like a T=0 terminal
 * (TS 102 221 7.3.1.1.4), it answers 61xx with GET RESPONSE and 6Cxx with
 * the command again with P3 = xx, unless --raw.  A few responses are
 * decoded further: FCP templates (TS 102 221 11.1.1), EF.ICCID (13.2) and
 * EF.IMSI (TS 31.102 4.2.2).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/vusim.h>

#include "hex.h"
#include "macro.h"

#include "modem.h"

#define LINE_MAX_BYTES (2 * VUSIM_APDU_MAX + 4096)	/* hex, spaces, comment */
#define CHAIN_MAX 64	/* GET RESPONSE rounds for one command */

struct session {
	struct modem *m;
	bool raw;
	uint16_t selected;	/* FID of the last file selected, 0: none */
	int ret;		/* worst exit code so far */
	uint8_t rsp[VUSIM_APDU_MAX];
};

/* Instruction names, TS 102 221 10.1.2 (Table 10.5). */
static const char *ins_name(uint8_t ins)
{
	static const struct {
		uint8_t ins;
		const char *name;
	} t[] = {
		{ 0xa4, "SELECT" }, { 0xf2, "STATUS" }, { 0xb0, "READ BINARY" },
		{ 0xd6, "UPDATE BINARY" }, { 0xb2, "READ RECORD" },
		{ 0xdc, "UPDATE RECORD" }, { 0xa2, "SEARCH RECORD" },
		{ 0x32, "INCREASE" }, { 0xcb, "RETRIEVE DATA" }, { 0xdb, "SET DATA" },
		{ 0x20, "VERIFY PIN" }, { 0x24, "CHANGE PIN" }, { 0x26, "DISABLE PIN" },
		{ 0x28, "ENABLE PIN" }, { 0x2c, "UNBLOCK PIN" },
		{ 0x04, "DEACTIVATE FILE" }, { 0x44, "ACTIVATE FILE" },
		{ 0x88, "AUTHENTICATE" }, { 0x89, "AUTHENTICATE" },
		{ 0x84, "GET CHALLENGE" }, { 0xaa, "TERMINAL CAPABILITY" },
		{ 0x10, "TERMINAL PROFILE" }, { 0xc2, "ENVELOPE" }, { 0x12, "FETCH" },
		{ 0x14, "TERMINAL RESPONSE" }, { 0x70, "MANAGE CHANNEL" },
		{ 0x73, "MANAGE SECURE CHANNEL" }, { 0x75, "TRANSACT DATA" },
		{ 0x76, "SUSPEND UICC" }, { 0xc0, "GET RESPONSE" },
		{ 0xca, "GET DATA" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (t[i].ins == ins)
			return t[i].name;
	return "unknown instruction";
}

/* Prints data as hex, 32 bytes a line, the first prefixed with "<". */
static void print_data(const uint8_t *p, size_t n)
{
	char buf[3 * 32 + 1];

	for (size_t off = 0; off < n; off += 32) {
		hex_spaced(p + off, MIN(n - off, (size_t)32), buf);
		printf("%s %s\n", off ? " " : "<", buf);
	}
}

/* BCD digits with swapped nibbles (TS 102 221 13.2, TS 31.102 4.2.2). */
static void bcd_swapped(const uint8_t *p, size_t n, bool skip_first, char *out)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t d[2] = { p[i] & 0x0f, p[i] >> 4 };

		for (int k = 0; k < 2; k++) {
			if (skip_first && i == 0 && k == 0)
				continue;
			if (d[k] <= 9)
				out[j++] = (char)('0' + d[k]);
			else if (d[k] != 0x0f)
				out[j++] = '?';
		}
	}
	out[j] = 0;
}

/* The file descriptor byte, TS 102 221 11.1.1.4.3 (Table 11.5). */
static const char *file_kind(uint8_t fd)
{
	if ((fd & 0x3f) == 0x38)
		return "DF or ADF";
	switch (fd & 0x07) {
	case 1: return "transparent EF";
	case 2: return "linear fixed EF";
	case 6: return "cyclic EF";
	default: return "EF of unknown structure";
	}
}

/* Appends ", text" (or "text" first) to a summary line. */
_printf_(3, 4) static void add(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 3 >= size)
		return;
	if (used) {
		strcpy(buf + used, ", ");
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

/* A one-line summary of an FCP template (TS 102 221 11.1.1.3). */
static void print_fcp(const uint8_t *p, size_t n)
{
	static const uint8_t usim_aid[] = { 0xa0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02 };
	size_t len = p[1], i = 2;
	char out[512] = "";

	if (n < 2 || len > n - 2 || len >= 0x80)
		return;
	while (i + 2 <= 2 + len) {
		uint8_t tag = p[i], l = p[i + 1];
		const uint8_t *v = p + i + 2;
		char hex[3 * 16 + 1];

		if (i + 2 + l > 2 + len)
			break;
		switch (tag) {
		case 0x82:
			if (l >= 1)
				add(out, sizeof(out), "%s%s", file_kind(v[0]),
				    v[0] & 0x40 ? " (shareable)" : "");
			if (l >= 5)
				add(out, sizeof(out), "records of %u bytes x %u",
				    v[2] << 8 | v[3], v[4]);
			break;
		case 0x83:
			if (l == 2)
				add(out, sizeof(out), "file %02X%02X", v[0], v[1]);
			break;
		case 0x84:
			hex_spaced(v, MIN((size_t)l, (size_t)16), hex);
			/* TS 101 220 Annex E: RID A000000087, application 1002 */
			add(out, sizeof(out), "AID %s%s", hex,
			    l >= sizeof(usim_aid) && !memcmp(v, usim_aid, sizeof(usim_aid)) ?
			    " (3GPP USIM)" : "");
			break;
		case 0x80:
			if (l == 2)
				add(out, sizeof(out), "size %u bytes", v[0] << 8 | v[1]);
			break;
		case 0x88:
			if (l == 1)
				add(out, sizeof(out), "SFI %02X", v[0] >> 3);
			break;
		case 0x8a:
			/* TS 102 221 11.1.1.4.9 (Table 11.6) */
			if (l == 1)
				add(out, sizeof(out), "life cycle %02X (%s)", v[0],
				    (v[0] & 0xfd) == 0x05 ? "operational, activated" :
				    (v[0] & 0xfd) == 0x04 ? "operational, deactivated" :
				    "not operational");
			break;
		default:
			break;
		}
		i += 2 + l;
	}
	printf("  FCP (TS 102 221 11.1.1): %s\n", out);
}

/* Further decoding of a successful response's data. */
static void decode(struct session *s, const uint8_t *cmd, const uint8_t *data,
		   size_t n)
{
	char digits[64];

	if (n >= 2 && data[0] == 0x62) {
		print_fcp(data, n);
	} else if (cmd[1] == 0xb0 && !(cmd[2] & 0x80) && cmd[2] == 0 && cmd[3] == 0) {
		if (s->selected == 0x2fe2 && n <= 10) {
			bcd_swapped(data, n, false, digits);
			printf("  EF.ICCID: ICCID %s (TS 102 221 13.2)\n", digits);
		} else if (s->selected == 0x6f07 && n >= 2 && data[0] + 1u <= n &&
			   data[0] <= 8) {
			bcd_swapped(data + 1, data[0], true, digits);
			printf("  EF.IMSI: IMSI %s (TS 31.102 4.2.2)\n", digits);
		}
	}
}

/* Remembers the file a successful SELECT chose (TS 102 221 11.1.1). */
static void track_select(struct session *s, const uint8_t *cmd, size_t len)
{
	if (cmd[1] != 0xa4 || len < 7 || cmd[4] + 5u > len)
		return;
	if (cmd[2] == 0x00 && cmd[4] == 2)		/* by FID */
		s->selected = (uint16_t)(cmd[5] << 8 | cmd[6]);
	else if ((cmd[2] == 0x08 || cmd[2] == 0x09) && cmd[4] >= 2 && !(cmd[4] & 1))
		s->selected = (uint16_t)(cmd[3 + cmd[4]] << 8 | cmd[4 + cmd[4]]);
	else
		s->selected = 0;			/* by AID, parent, ... */
}

/* One command and what follows from its answer (GET RESPONSE, Le retry). */
static int transmit(struct session *s, const uint8_t *first, size_t first_len)
{
	uint8_t cmd[VUSIM_APDU_MAX];
	size_t len = first_len;
	const char *note = "";

	memcpy(cmd, first, first_len);
	for (int round = 0; round < CHAIN_MAX; round++) {
		char hex[3 * 32 + 1], swtext[96];
		uint8_t sw1, sw2;
		ssize_t n;

		hex_spaced(cmd, MIN(len, (size_t)32), hex);
		printf("> %s%s  (%s%s)\n", hex, len > 32 ? " ..." : "",
		       ins_name(cmd[1]), note);
		fflush(stdout);
		if (write(s->m->fd, cmd, len) < 0)
			return modem_fail(s->m, "write to", errno);
		do
			n = read(s->m->fd, s->rsp, sizeof(s->rsp));
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return modem_fail(s->m, "read from", errno);
		if (n < 2)
			return modem_fail(s->m, "read from", EBADMSG);
		sw1 = s->rsp[n - 2];
		sw2 = s->rsp[n - 1];
		print_data(s->rsp, (size_t)n - 2);
		printf("  SW %02x %02x: %s\n", sw1, sw2,
		       sw_describe((uint16_t)(sw1 << 8 | sw2), swtext, sizeof(swtext)));
		if (round == 0 && (sw_ok(sw1, sw2) || sw1 == 0x61))
			track_select(s, cmd, len);
		if (sw_ok(sw1, sw2)) {
			decode(s, cmd, s->rsp, (size_t)n - 2);
			return EXIT_OK;
		}
		if (s->raw || (sw1 != 0x61 && !(sw1 == 0x6c && len == 5)))
			return EXIT_CARD_ERROR;
		if (sw1 == 0x61) {
			/* GET RESPONSE on the command's logical channel (10.1.1). */
			uint8_t cla = cmd[0] & 0x40 ? 0x40 | (cmd[0] & 0x0f) : cmd[0] & 0x03;
			const uint8_t gr[5] = { cla, 0xc0, 0x00, 0x00, sw2 };

			memcpy(cmd, gr, sizeof(gr));
			len = sizeof(gr);
			note = ", sent by vusim-modem after 61xx";
		} else {
			cmd[4] = sw2;	/* case 2: P3 = the length the card has */
			note = ", resent with Le from 6Cxx";
		}
	}
	fprintf(stderr, "vusim-modem: the card keeps asking for GET RESPONSE: giving up\n");
	return EXIT_CARD_ERROR;
}

static int one(struct session *s, const char *text, const char *where)
{
	uint8_t apdu[VUSIM_APDU_MAX];
	int n = hex_decode(text, apdu, sizeof(apdu)), r;

	if (n < 0 || n < VUSIM_APDU_CMD_MIN) {
		fprintf(stderr, "vusim-modem: %s: not a command APDU in hex (%s): %s\n",
			where, n == -EMSGSIZE ? "too long" : n < 0 ? "bad hex" :
			"shorter than CLA INS P1 P2", text);
		s->ret = EXIT_USAGE;
		return EXIT_USAGE;
	}
	r = transmit(s, apdu, (size_t)n);
	if (r > s->ret)
		s->ret = r;
	return r;
}

static int from_stdin(struct session *s)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned int lineno = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		char where[32], *p = line, *hash;

		lineno++;
		if ((size_t)n > LINE_MAX_BYTES) {
			fprintf(stderr, "vusim-modem: stdin line %u: too long\n", lineno);
			return EXIT_USAGE;
		}
		hash = strchr(p, '#');
		if (hash)
			*hash = 0;
		p[strcspn(p, "\r\n")] = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		snprintf(where, sizeof(where), "stdin line %u", lineno);
		if (one(s, p, where) == EXIT_ERRNO || s->ret == EXIT_USAGE)
			return s->ret;
	}
	return s->ret;
}

int cmd_apdu(struct modem *m, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{}
	};
	_cleanup_free_ struct session *s = calloc(1, sizeof(*s));
	int c;

	if (!s)
		return modem_fail(m, "apdu on", ENOMEM);
	s->m = m;
	while ((c = getopt_long(argc, argv, "r", opts, NULL)) != -1) {
		if (c != 'r')
			return EXIT_USAGE;
		s->raw = true;
	}
	if (optind >= argc || (optind + 1 == argc && !strcmp(argv[optind], "-")))
		return from_stdin(s);
	for (int i = optind; i < argc; i++) {
		char where[32];

		snprintf(where, sizeof(where), "argument %d", i - optind + 1);
		if (one(s, argv[i], where) == EXIT_ERRNO || s->ret == EXIT_USAGE)
			break;
	}
	return s->ret;
}
