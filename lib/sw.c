// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Status words in words, for tools and logs: ETSI TS 102 221 10.2.1
 * (Tables 10.7-10.16), 3GPP TS 31.102 7.3.  Where the two specifications
 * give one status word different meanings for different commands, both
 * are named.
 */
#include <stdio.h>

#include "macro.h"
#include "sw.h"

static const struct {
	uint16_t sw;
	const char *what;
} fixed[] = {
	{ 0x9000, "normal ending" },
	{ 0x6200, "warning: no information given, non-volatile memory unchanged" },
	{ 0x6281, "warning: part of returned data may be corrupted" },
	{ 0x6282, "warning: end of file/record reached before reading Le bytes" },
	{ 0x6283, "warning: selected file invalidated" },
	{ 0x6285, "warning: selected file in termination state" },
	{ 0x62f1, "warning: more data available" },
	{ 0x62f2, "warning: more data available and proactive command pending" },
	{ 0x62f3, "warning: response data available" },
	{ 0x63f1, "warning: more data expected" },
	{ 0x63f2, "warning: more data expected and proactive command pending" },
	{ 0x6400, "execution error: no information given, memory unchanged" },
	{ 0x6500, "execution error: no information given, memory changed" },
	{ 0x6581, "execution error: memory problem" },
	{ 0x6700, "wrong length" },
	{ 0x6800, "functions in CLA not supported" },
	{ 0x6881, "logical channel not supported" },
	{ 0x6882, "secure messaging not supported" },
	{ 0x6884, "command chaining not supported" },
	{ 0x6900, "command not allowed: no information given" },
	{ 0x6981, "command incompatible with file structure" },
	{ 0x6982, "security status not satisfied" },
	{ 0x6983, "authentication/PIN method blocked" },
	{ 0x6984, "referenced data invalidated" },
	{ 0x6985, "conditions of use not satisfied" },
	{ 0x6986, "command not allowed (no EF selected)" },
	{ 0x6989, "command not allowed: secure channel, security not satisfied" },
	{ 0x6a80, "incorrect parameters in the data field" },
	{ 0x6a81, "function not supported" },
	{ 0x6a82, "file not found" },
	{ 0x6a83, "record not found" },
	{ 0x6a84, "not enough memory space" },
	{ 0x6a86, "incorrect parameters P1 to P2" },
	{ 0x6a87, "Lc inconsistent with P1 to P2" },
	{ 0x6a88, "referenced data not found" },
	{ 0x6b00, "wrong parameter(s) P1-P2" },
	{ 0x6d00, "instruction code not supported or invalid" },
	{ 0x6e00, "class not supported" },
	{ 0x6f00, "technical problem, no precise diagnosis" },
	{ 0x9300, "toolkit busy" },
	{ 0x9850, "INCREASE cannot be performed, max value reached" },
	{ 0x9862, "authentication error, incorrect MAC (TS 31.102; TS 102 221: application specific)" },
	{ 0x9863, "security session or association expired" },
	{ 0x9864, "authentication error, security context not supported (AUTHENTICATE; SUSPEND UICC: minimum suspension time too long)" },
	{ 0x9865, "key freshness failure" },
	{ 0x9866, "authentication error, no memory space available" },
	{ 0x9867, "authentication error, no memory space available in EF.MUK" },
};

const char *sw_describe(uint16_t sw, char *buf, size_t size)
{
	unsigned xx = sw & 0xff;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (fixed[i].sw == sw) {
			snprintf(buf, size, "%s", fixed[i].what);
			return buf;
		}
	switch (sw >> 8) {
	case 0x61:
		snprintf(buf, size, "%u response bytes available (GET RESPONSE)",
			 xx ? xx : 256);
		return buf;
	case 0x6c:
		snprintf(buf, size, "wrong Le, %u bytes available", xx ? xx : 256);
		return buf;
	case 0x91:
		snprintf(buf, size, "normal ending, proactive command of %u bytes pending",
			 xx ? xx : 256);
		return buf;
	case 0x92:
		snprintf(buf, size, "normal ending, extra information on a data transfer session");
		return buf;
	case 0x63:
		if ((xx & 0xf0) == 0xc0) {
			snprintf(buf, size, "verification failed, %u retries left",
				 xx & 0x0f);
			return buf;
		}
		break;
	default:
		break;
	}
	snprintf(buf, size, "unknown status word");
	return buf;
}
