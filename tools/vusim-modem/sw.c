// SPDX-License-Identifier: LGPL-2.1-or-later
/* Status words in words: ETSI TS 102 221 10.2.1, ISO/IEC 7816-4 5.6. */
#include <stdio.h>

#include "macro.h"

#include "modem.h"

static const struct {
	uint16_t sw;
	const char *text;
} fixed[] = {
	{ 0x9000, "normal ending of the command" },
	{ 0x6200, "warning: no information given, state unchanged" },
	{ 0x6281, "warning: part of the returned data may be corrupted" },
	{ 0x6282, "warning: end of file or record reached before reading Le bytes" },
	{ 0x6283, "warning: selected file invalidated" },
	{ 0x6285, "warning: selected file in termination state" },
	{ 0x62f1, "warning: more data available" },
	{ 0x62f2, "warning: more data available and proactive command pending" },
	{ 0x62f3, "warning: response data available" },
	{ 0x63f1, "warning: more data expected" },
	{ 0x63f2, "warning: more data expected and proactive command pending" },
	{ 0x6400, "execution error: no information given, state unchanged" },
	{ 0x6500, "execution error: no information given, memory changed" },
	{ 0x6581, "execution error: memory problem" },
	{ 0x6700, "wrong length" },
	{ 0x6800, "function in CLA not supported" },
	{ 0x6881, "logical channel not supported" },
	{ 0x6882, "secure messaging not supported" },
	{ 0x6900, "command not allowed: no information given" },
	{ 0x6981, "command incompatible with file structure" },
	{ 0x6982, "security status not satisfied" },
	{ 0x6983, "authentication/PIN method blocked" },
	{ 0x6984, "referenced data invalidated" },
	{ 0x6985, "conditions of use not satisfied" },
	{ 0x6986, "command not allowed (no EF selected)" },
	{ 0x6989, "command not allowed: secure channel security not satisfied" },
	{ 0x6a80, "incorrect parameters in the data field" },
	{ 0x6a81, "function not supported" },
	{ 0x6a82, "file or application not found" },
	{ 0x6a83, "record not found" },
	{ 0x6a84, "not enough memory space" },
	{ 0x6a86, "incorrect parameters P1 to P2" },
	{ 0x6a87, "Lc inconsistent with P1 to P2" },
	{ 0x6a88, "referenced data not found" },
	{ 0x6b00, "wrong parameters P1-P2" },
	{ 0x6d00, "instruction code not supported or invalid" },
	{ 0x6e00, "class not supported" },
	{ 0x6f00, "technical problem, no precise diagnosis" },
	{ 0x9862, "authentication error, application specific" },
	{ 0x9863, "security session or association expired" },
	{ 0x9864, "minimum UICC suspension time is too long" },
};

const char *sw_describe(uint8_t sw1, uint8_t sw2, char *buf, size_t size)
{
	uint16_t sw = (uint16_t)(sw1 << 8 | sw2);

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (fixed[i].sw == sw)
			return fixed[i].text;
	switch (sw1) {
	case 0x91:
		snprintf(buf, size, "normal ending, proactive command of %u bytes pending", sw2);
		return buf;
	case 0x61:
		snprintf(buf, size, "%u response bytes available (GET RESPONSE)", sw2);
		return buf;
	case 0x6c:
		snprintf(buf, size, "wrong Le: the card has %u bytes (resend with Le)", sw2);
		return buf;
	case 0x63:
		if ((sw2 & 0xf0) == 0xc0) {
			snprintf(buf, size, "verification failed, %u retries left", sw2 & 0x0f);
			return buf;
		}
		break;
	default:
		break;
	}
	snprintf(buf, size, "unknown status word");
	return buf;
}

bool sw_ok(uint8_t sw1, uint8_t sw2)
{
	return (sw1 == 0x90 && sw2 == 0x00) || sw1 == 0x91;
}
