// SPDX-License-Identifier: LGPL-2.1-or-later
/* The answer to reset in words: ISO/IEC 7816-3 8.2 (and TS 102 221 6.3, 6.4). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include <linux/vusim.h>

#include "macro.h"

#include "modem.h"

/* ISO/IEC 7816-3 Table 7 (Fi) and Table 8 (Di); 0: reserved. */
static const unsigned int fi_table[16] = {
	372, 372, 558, 744, 1116, 1488, 1860, 0, 0, 512, 768, 1024, 1536, 2048, 0, 0
};
static const unsigned int di_table[16] = {
	0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0
};

static void line(const char *indent, const char *name, uint8_t v, const char *fmt, ...)
	_printf_(4, 5);

static void line(const char *indent, const char *name, uint8_t v, const char *fmt, ...)
{
	va_list ap;

	printf("%s%-4s %02x  ", indent, name, v);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void atr_print(const uint8_t *atr, size_t len, const char *indent)
{
	char hex[3 * 33 + 1];
	size_t i = 2, k;
	unsigned int y, n = 1, t = 0;
	bool need_tck = false;

	hex_spaced(atr, len, hex);
	printf("%sATR  %s (%zu bytes)\n", indent, hex, len);
	if (len < 2) {
		printf("%s     too short for an ATR\n", indent);
		return;
	}
	line(indent, "TS", atr[0], "%s", atr[0] == 0x3b ? "direct convention" :
	     atr[0] == 0x3f ? "inverse convention" : "not a valid TS");
	y = atr[1] >> 4;
	k = atr[1] & 0x0f;
	line(indent, "T0", atr[1], "%s%s%s%s%s%zu historical bytes",
	     y & 1 ? "TA1 " : "", y & 2 ? "TB1 " : "", y & 4 ? "TC1 " : "",
	     y & 8 ? "TD1 " : "", y ? "follow; " : "", k);
	while (y) {
		char name[8];

		if (y & 1) {
			if (i >= len)
				goto truncated;
			snprintf(name, sizeof(name), "TA%u", n);
			if (n == 1)
				line(indent, name, atr[i], "Fi %u, Di %u (clock rate and baud divisor)",
				     fi_table[atr[i] >> 4], di_table[atr[i] & 0x0f]);
			else if (t == 15 && n > 2)
				line(indent, name, atr[i], "T=15: clock stop %s; class%s%s%s",
				     (const char *[]){ "not supported", "in state L",
						      "in state H", "no preference" }[atr[i] >> 6],
				     atr[i] & 1 ? " A (5 V)" : "", atr[i] & 2 ? " B (3 V)" : "",
				     atr[i] & 4 ? " C (1.8 V)" : "");
			else
				line(indent, name, atr[i], "interface byte");
			i++;
		}
		if (y & 2) {
			if (i >= len)
				goto truncated;
			snprintf(name, sizeof(name), "TB%u", n);
			line(indent, name, atr[i++], "interface byte");
		}
		if (y & 4) {
			if (i >= len)
				goto truncated;
			snprintf(name, sizeof(name), "TC%u", n);
			if (n == 1)
				line(indent, name, atr[i], "extra guard time %u etu", atr[i]);
			else
				line(indent, name, atr[i], "interface byte");
			i++;
		}
		if (!(y & 8))
			break;
		if (i >= len)
			goto truncated;
		snprintf(name, sizeof(name), "TD%u", n);
		t = atr[i] & 0x0f;
		y = atr[i] >> 4;
		line(indent, name, atr[i], "protocol T=%u%s", t,
		     t == 15 ? " (global interface bytes follow)" : "");
		if (t != 0)
			need_tck = true;	/* 8.2.5: TCK unless only T=0 */
		i++;
		n++;
	}
	if (i + k > len)
		goto truncated;
	if (k) {
		char hist[3 * 15 + 1];
		char text[16];

		hex_spaced(atr + i, k, hist);
		for (size_t j = 0; j < k; j++)
			text[j] = atr[i + j] >= 0x20 && atr[i + j] < 0x7f ? atr[i + j] : '.';
		text[k] = 0;
		printf("%shist %s \"%s\" (historical bytes, ISO/IEC 7816-4 8.1.1)\n",
		       indent, hist, text);
		i += k;
	}
	if (need_tck) {
		uint8_t x = 0;

		if (i >= len)
			goto truncated;
		for (size_t j = 1; j <= i; j++)
			x ^= atr[j];
		line(indent, "TCK", atr[i], "check byte %s", x == 0 ? "correct" : "WRONG");
		i++;
	}
	if (i != len)
		printf("%s     %zu extra bytes after the ATR\n", indent, len - i);
	return;
truncated:
	printf("%s     the ATR is truncated\n", indent);
}

int atr_json(const struct modem *m, const struct vusim_atr *atr)
{
	struct json_object *o = json_object_new_object();

	if (o) {
		json_object_object_add(o, "atr", json_hex(atr->atr, atr->len));
		json_object_object_add(o, "length", json_object_new_int64(atr->len));
	}
	return modem_json_print(m, o);
}
