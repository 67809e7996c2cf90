// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vusim-modem apdu [--raw] [HEX...]: sends command APDUs (the arguments, or
 * one per line on stdin) through write()/read() on the slot's device and
 * prints each response with its status word in words.  Like a T=0 terminal
 * (TS 102 221 7.3.1.1.4), it answers 61xx with GET RESPONSE and 6Cxx with
 * the command again with P3 = xx, unless --raw.  A few responses are
 * decoded further: FCP templates (TS 102 221 11.1.1), EF.ICCID (13.2) and
 * EF.IMSI (TS 31.102 4.2.2).
 *
 * vusim-modem script [--raw] [FILE|-]: the same, each line with the status
 * word (and optionally the data) it must answer; stops at the first line
 * whose answer differs (exit status EXIT_MISMATCH, the line named).
 *
 * With --json (both): no text, one JSON array of the exchanges at the end.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vusim.h>

#include <json-c/json.h>

#include "hex.h"
#include "macro.h"

#include "modem.h"

#define LINE_MAX_BYTES (2 * VUSIM_APDU_MAX + 4096)	/* hex, spaces, comment */
#define CHAIN_MAX 64	/* GET RESPONSE rounds for one command */

struct session {
	struct modem *m;
	bool raw;
	bool terminal;		/* apdu without --raw/--json: FETCH after 91xx, act on REFRESH */
	bool proactive;		/* acting on a fetched proactive command */
	uint16_t selected;	/* FID of the last file selected, 0: none */
	int ret;		/* worst exit code so far */
	struct json_object *out;	/* --json: the exchanges so far */
	size_t rsp_len;		/* the last answer in rsp, SW included */
	unsigned int rounds;	/* APDUs the last command took (GET RESPONSE...) */
	uint8_t rsp[VUSIM_APDU_MAX];
};

/* Text output, unless --json. */
_printf_(2, 3) static void say(const struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->m->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

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

	if (s->m->json)
		return;
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

static int transmit(struct session *s, const uint8_t *first, size_t first_len);
static int after_ok(struct session *s, const uint8_t *cmd, uint8_t sw1, uint8_t sw2);

/* The value of BER-TLV tag in [p, end) (1- or 2-byte lengths, TS 102 223
 * Annex C; comprehension bit ignored), or NULL. */
static const uint8_t *tlv_find(const uint8_t *p, const uint8_t *end, uint8_t tag, size_t *ret_len)
{
	while (end - p >= 2) {
		uint8_t t = p[0] & 0x7f;
		size_t l = p[1], h = 2;

		if (l == 0x81) {
			if (end - p < 3)
				return NULL;
			l = p[2];
			h = 3;
		} else if (l > 0x81) {
			return NULL;
		}
		if ((size_t)(end - p) < h + l)
			return NULL;
		if (t == (tag & 0x7f)) {
			*ret_len = l;
			return p + h;
		}
		p += h + l;
	}
	return NULL;
}

/* Reads one EF again, as a terminal does after a file change notification:
 * SELECT by path from the MF (TS 102 221 8.4.2; with the FCP), then READ
 * BINARY or READ RECORD for all of it; prints "refreshed PATH: HEX". */
static void reread(struct session *s, const uint8_t *path, size_t n)
{
	uint8_t cmd[5 + 16], data[4096];
	const uint8_t *d, *fcp;
	size_t got = 0, size = 0, l, rec_len = 0, recs = 0;
	char name[4 * 8 + 1] = "";

	for (size_t i = 0; i < n && i < 16; i++)
		snprintf(name + 2 * i, 3, "%02X", path[i]);
	if (n < 4 || n > 16 || path[0] != 0x3f || path[1] != 0x00) {
		printf("  refresh: %s is not a path from the MF\n", name);
		return;
	}
	memcpy(cmd, (const uint8_t[]){ 0x00, 0xa4, 0x08, 0x04, (uint8_t)(n - 2) }, 5);
	memcpy(cmd + 5, path + 2, n - 2);
	if (transmit(s, cmd, 5 + n - 2) != EXIT_OK || s->rsp_len < 4 || s->rsp[0] != 0x62) {
		printf("  refresh: %s cannot be selected\n", name);
		return;
	}
	fcp = s->rsp + 2;
	d = tlv_find(fcp, s->rsp + s->rsp_len - 2, 0x82, &l);
	if (d && l >= 5 && (d[0] & 0x07) != 1) {
		rec_len = (size_t)(d[2] << 8 | d[3]);
		recs = d[4];
		size = rec_len * recs;
	} else if ((d = tlv_find(fcp, s->rsp + s->rsp_len - 2, 0x80, &l)) && l == 2) {
		size = (size_t)(d[0] << 8 | d[1]);
	}
	if (size == 0 || size > sizeof(data) || (recs && rec_len > 255)) {
		printf("  refresh: %s: no size in its FCP\n", name);
		return;
	}
	while (got < size) {
		size_t want = recs ? rec_len : MIN(size - got, (size_t)255);
		const uint8_t rd[5] = { 0x00, recs ? 0xb2 : 0xb0,
					recs ? (uint8_t)(got / rec_len + 1) : (uint8_t)(got >> 8),
					recs ? 0x04 : (uint8_t)got, (uint8_t)want };

		if (transmit(s, rd, sizeof(rd)) != EXIT_OK || s->rsp_len - 2 != want) {
			printf("  refresh: %s: reading it failed\n", name);
			return;
		}
		memcpy(data + got, s->rsp, want);
		got += want;
	}
	{
		_cleanup_free_ char *hex = malloc(2 * size + 1);

		if (hex) {
			hex_encode(data, size, hex);
			printf("refreshed %s: %s\n", name, hex);
		}
	}
}

/*
 * A fetched proactive command (TS 102 223 6.6).  REFRESH (6.6.13): with a
 * file list (8.18) every listed EF is read again (after selecting the AID,
 * 8.60, when given), then TERMINAL RESPONSE "performed" (6.8, 8.12); UICC
 * reset mode: a cold reset, as the terminal answers that one; the other
 * modes: TERMINAL RESPONSE.  Anything else is shown, not answered.
 */
static void proactive(struct session *s, const uint8_t *c, size_t len)
{
	static const char *const modes[] = {
		"NAA initialisation and full file change notification",
		"file change notification", "NAA initialisation and file change notification",
		"NAA initialisation", "UICC reset", "NAA application reset", "NAA session reset",
	};
	const uint8_t *end = c + len, *det, *list, *aid;
	size_t l, ll = 0, al = 0, h = len > 1 && c[1] == 0x81 ? 3 : 2;

	if (len < 2 || c[0] != 0xd0 || h > len ||
	    !(det = tlv_find(c + h, end, 0x01, &l)) || l != 3) {
		printf("proactive command: not a BER-TLV 'D0' with command details\n");
		return;
	}
	if (det[1] != 0x01) {
		printf("proactive command type %02X: not acted upon by vusim-modem\n", det[1]);
		return;
	}
	list = tlv_find(c + h, end, 0x12, &ll);
	aid = tlv_find(c + h, end, 0x2f, &al);
	printf("REFRESH: %s (qualifier %02X)%s\n", det[2] < ARRAY_SIZE(modes) ? modes[det[2]] :
	       "unknown mode", det[2], list ? ", file list:" : "");
	s->proactive = true;
	if (det[2] == 4) {
		struct vusim_atr atr;

		printf("REFRESH: cold reset of the card\n");
		if (ioctl(s->m->fd, VUSIM_IOC_COLD_RESET, &atr) < 0)
			printf("REFRESH: the reset failed: %s\n", strerror(errno));
		s->proactive = false;
		return;
	}
	if (aid && al >= 1 && al <= 16) {
		uint8_t sel[5 + 16] = { 0x00, 0xa4, 0x04, 0x0c, (uint8_t)al };

		memcpy(sel + 5, aid, al);
		transmit(s, sel, 5 + al);
	}
	/* The number of files, then full paths from 3F00 without delimiters,
	 * each ending at an EF (a FID not 3Fxx, 7Fxx, 5Fxx). */
	for (size_t i = 1, start = 1; list && i + 2 <= ll; i += 2) {
		if (list[i] == 0x3f)
			start = i;
		else if (list[i] != 0x7f && list[i] != 0x5f)
			reread(s, list + start, i + 2 - start);
	}
	{
		const uint8_t tr[] = { 0x80, 0x14, 0x00, 0x00, 0x0c, 0x81, 0x03, det[0], det[1],
				       det[2], 0x82, 0x02, 0x82, 0x81, 0x83, 0x01, 0x00 };

		transmit(s, tr, sizeof(tr));
	}
	s->proactive = false;
}

/*
 * As a proactive terminal (TS 102 221 14.6.x, TS 102 223 6.2): after '91XX'
 * it FETCHes the command; a fetched REFRESH is acted upon (proactive()).
 * Not with --raw or --json.
 */
static int after_ok(struct session *s, const uint8_t *cmd, uint8_t sw1, uint8_t sw2)
{
	if (cmd[1] == 0x12 && s->rsp_len > 2) {
		_cleanup_free_ uint8_t *c = malloc(s->rsp_len - 2);
		size_t len = s->rsp_len - 2;

		if (c) {
			memcpy(c, s->rsp, len);
			proactive(s, c, len);
		}
		return EXIT_OK;
	}
	if (sw1 == 0x91) {
		const uint8_t fetch[5] = { 0x80, 0x12, 0x00, 0x00, sw2 };

		say(s, "  (vusim-modem fetches the proactive command)\n");
		return transmit(s, fetch, sizeof(fetch));
	}
	return EXIT_OK;
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
		say(s, "> %s%s  (%s%s)\n", hex, len > 32 ? " ..." : "",
		    ins_name(cmd[1]), note);
		fflush(stdout);
		s->rounds = (unsigned int)round + 1;
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
		s->rsp_len = (size_t)n;
		if (!s->m->json) {
			print_data(s->rsp, (size_t)n - 2);
			printf("  SW %02x %02x: %s\n", sw1, sw2,
			       sw_describe((uint16_t)(sw1 << 8 | sw2), swtext, sizeof(swtext)));
		}
		if (round == 0 && (sw_ok(sw1, sw2) || sw1 == 0x61))
			track_select(s, cmd, len);
		if (sw_ok(sw1, sw2)) {
			decode(s, cmd, s->rsp, (size_t)n - 2);
			if (s->terminal && !s->proactive)
				return after_ok(s, cmd, sw1, sw2);
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

/* What a script line expects: SW with wildcard nibbles, optional data. */
struct expect {
	bool have_sw;
	uint16_t sw, sw_mask;	/* nibbles given in the mask */
	bool have_data;
	size_t data_len;
	uint8_t data[VUSIM_APDU_MAX];
};

/* "9000", "61xx", "6Cx0": 0 or -EINVAL. */
static int parse_sw(const char *t, uint16_t *ret_sw, uint16_t *ret_mask)
{
	uint16_t sw = 0, mask = 0;

	if (strlen(t) != 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		char c = t[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		sw <<= 4;
		mask <<= 4;
		if (v >= 0) {
			sw |= (uint16_t)v;
			mask |= 0xf;
		} else if (c != 'x' && c != 'X') {
			return -EINVAL;
		}
	}
	*ret_sw = sw;
	*ret_mask = mask;
	return 0;
}

static void sw_text(uint16_t sw, uint16_t mask, char out[5])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 4; i++) {
		int shift = 12 - 4 * i;

		out[i] = (mask >> shift) & 0xf ? digits[(sw >> shift) & 0xf] : 'x';
	}
	out[4] = 0;
}

/* Records one exchange in the --json array. */
static void json_add(struct session *s, const char *where, const uint8_t *cmd, size_t len,
		     bool answered, const struct expect *e, bool match)
{
	struct json_object *o = json_object_new_object();
	char swt[5];

	if (!o)
		return;
	json_object_object_add(o, "where", json_object_new_string(where));
	json_object_object_add(o, "command", json_hex(cmd, len));
	if (answered) {
		sw_text((uint16_t)(s->rsp[s->rsp_len - 2] << 8 | s->rsp[s->rsp_len - 1]),
			0xffff, swt);
		json_object_object_add(o, "data", json_hex(s->rsp, s->rsp_len - 2));
		json_object_object_add(o, "sw", json_object_new_string(swt));
		json_object_object_add(o, "apdus", json_object_new_int64(s->rounds));
	} else {
		json_object_object_add(o, "error", json_object_new_boolean(true));
	}
	if (e && e->have_sw) {
		sw_text(e->sw, e->sw_mask, swt);
		json_object_object_add(o, "expected_sw", json_object_new_string(swt));
		if (e->have_data)
			json_object_object_add(o, "expected_data", json_hex(e->data, e->data_len));
		json_object_object_add(o, "match", json_object_new_boolean(match));
	}
	json_object_array_add(s->out, o);
}

/* Does the last answer meet e? */
static bool meets(const struct session *s, const struct expect *e)
{
	uint16_t sw = (uint16_t)(s->rsp[s->rsp_len - 2] << 8 | s->rsp[s->rsp_len - 1]);

	if ((sw & e->sw_mask) != e->sw)
		return false;
	return !e->have_data || (e->data_len == s->rsp_len - 2 &&
				 !memcmp(e->data, s->rsp, e->data_len));
}

static int one(struct session *s, const char *text, const char *where,
	       const struct expect *e)
{
	uint8_t apdu[VUSIM_APDU_MAX];
	int n = hex_decode(text, apdu, sizeof(apdu)), r;
	bool match = true, answered;

	if (n < 0 || n < VUSIM_APDU_CMD_MIN) {
		fprintf(stderr, "vusim-modem: %s: not a command APDU in hex (%s): %s\n",
			where, n == -EMSGSIZE ? "too long" : n < 0 ? "bad hex" :
			"shorter than CLA INS P1 P2", text);
		s->ret = EXIT_USAGE;
		return EXIT_USAGE;
	}
	r = transmit(s, apdu, (size_t)n);
	answered = r == EXIT_OK || r == EXIT_CARD_ERROR;
	if (e && e->have_sw && answered) {
		match = meets(s, e);
		/* In a script the expectation decides, not the status word. */
		r = match ? EXIT_OK : EXIT_MISMATCH;
		if (!match) {
			char want[5], got[5];

			sw_text(e->sw, e->sw_mask, want);
			sw_text((uint16_t)(s->rsp[s->rsp_len - 2] << 8 | s->rsp[s->rsp_len - 1]),
				0xffff, got);
			fprintf(stderr, "vusim-modem: %s: mismatch: SW %s%s, expected SW %s%s\n",
				where, got, strcmp(want, got) ? "" : " but other data", want,
				e->have_data ? " with the data given" : "");
		}
	} else if (e && e->have_sw) {
		match = false;
	} else if (e && r == EXIT_CARD_ERROR) {
		r = EXIT_OK;	/* a script line without SW: not checked */
	}
	if (s->out)
		json_add(s, where, apdu, (size_t)n, answered, e, match);
	if (r > s->ret)
		s->ret = r;
	return r;
}

/* A script line "APDU [SW [DATA]]" (comment already cut); 0 or -EINVAL. */
static int parse_line(char *p, char **ret_apdu, struct expect *e)
{
	char *sw, *data, *rest;

	*ret_apdu = strtok_r(p, " \t", &rest);
	sw = strtok_r(NULL, " \t", &rest);
	data = strtok_r(NULL, "", &rest);
	e->have_sw = sw != NULL;
	e->have_data = false;
	if (sw && parse_sw(sw, &e->sw, &e->sw_mask) < 0)
		return -EINVAL;
	while (data && (*data == ' ' || *data == '\t'))
		data++;
	if (data && *data) {
		int n = hex_decode(data, e->data, sizeof(e->data));

		if (n < 0)
			return -EINVAL;
		e->have_data = true;
		e->data_len = (size_t)n;
	}
	return 0;
}

/* Lines from f: APDUs (apdu) or script lines (script). */
static int from_file(struct session *s, FILE *f, const char *name, bool script)
{
	_cleanup_free_ char *line = NULL;
	_cleanup_free_ struct expect *e = script ? malloc(sizeof(*e)) : NULL;
	size_t cap = 0;
	unsigned int lineno = 0;
	ssize_t n;

	if (script && !e)
		return modem_fail(s->m, "script on", ENOMEM);
	while ((n = getline(&line, &cap, f)) >= 0) {
		char where[300], *p = line, *hash, *apdu = p;

		lineno++;
		snprintf(where, sizeof(where), "%s line %u", name, lineno);
		if ((size_t)n > LINE_MAX_BYTES) {
			fprintf(stderr, "vusim-modem: %s: too long\n", where);
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
		if (script && parse_line(p, &apdu, e) < 0) {
			fprintf(stderr, "vusim-modem: %s: expected APDU [SW [DATA]], "
				"SW as 4 hex digits or x, DATA in hex\n", where);
			return EXIT_USAGE;
		}
		if (one(s, script ? apdu : p, where, e) == EXIT_ERRNO || s->ret == EXIT_USAGE ||
		    s->ret == EXIT_MISMATCH)
			return s->ret;
	}
	if (ferror(f))
		return modem_fail(s->m, "reading the script for", errno);
	return s->ret;
}

static struct session *session_new(struct modem *m, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{}
	};
	struct session *s = calloc(1, sizeof(*s));
	int c;

	if (!s)
		return NULL;
	s->m = m;
	while ((c = getopt_long(argc, argv, "r", opts, NULL)) != -1) {
		if (c != 'r') {
			s->ret = EXIT_USAGE;
			return s;
		}
		s->raw = true;
	}
	if (m->json) {
		s->out = json_object_new_array();
		if (!s->out)
			s->ret = EXIT_ERRNO;
	}
	return s;
}

/* Prints the --json array (also after an error: what ran so far). */
static int session_end(struct session *s)
{
	int r = s->ret;

	if (s->out) {
		struct json_object *out = s->out;

		s->out = NULL;
		if (modem_json_print(s->m, out) != EXIT_OK)
			r = EXIT_ERRNO;
	}
	free(s);
	return r;
}

int cmd_apdu(struct modem *m, int argc, char **argv)
{
	struct session *s = session_new(m, argc, argv);

	if (!s)
		return modem_fail(m, "apdu on", ENOMEM);
	s->terminal = !s->raw && !m->json;
	if (s->ret) {
		free(s);
		return EXIT_USAGE;
	}
	if (optind >= argc || (optind + 1 == argc && !strcmp(argv[optind], "-"))) {
		int r = from_file(s, stdin, "stdin", false);

		s->ret = MAX(s->ret, r);
		return session_end(s);
	}
	for (int i = optind; i < argc; i++) {
		char where[32];

		snprintf(where, sizeof(where), "argument %d", i - optind + 1);
		if (one(s, argv[i], where, NULL) == EXIT_ERRNO || s->ret == EXIT_USAGE)
			break;
	}
	return session_end(s);
}

int cmd_script(struct modem *m, int argc, char **argv)
{
	struct session *s = session_new(m, argc, argv);
	const char *name;
	FILE *f = stdin;
	int r;

	if (!s)
		return modem_fail(m, "script on", ENOMEM);
	if (s->ret || argc - optind > 1) {
		fprintf(stderr, "vusim-modem: usage: script [--raw] [FILE|-]\n");
		free(s);
		return EXIT_USAGE;
	}
	name = optind < argc ? argv[optind] : "-";
	if (strcmp(name, "-")) {
		f = fopen(name, "re");
		if (!f) {
			fprintf(stderr, "vusim-modem: script %s: %s\n", name, strerror(errno));
			free(s);
			return EXIT_USAGE;
		}
	}
	r = from_file(s, f, strcmp(name, "-") ? name : "stdin", true);
	s->ret = MAX(s->ret, r);
	if (f != stdin)
		fclose(f);
	return session_end(s);
}
