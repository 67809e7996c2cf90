// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Command APDU parsing and T=0 response handling.
 *
 * The engine sees what the modem side writes: either a T=0 command TPDU
 * (CLA INS P1 P2 P3 [data]) or a whole short or extended APDU as IoT
 * modems hand over (ISO/IEC 7816-3 12.1.2, e.g. 00a40804 000002 2fe2 0168).
 * Both parse the same way; what differs is whether an Le field came with
 * command data:
 *  - command data without Le (a case 3 TPDU, which is how T=0 carries a
 *    case 4 command, TS 102 221 7.3.1.1.4): on the t0 transport response
 *    data is announced with '61XX' and fetched with GET RESPONSE (12.1.1);
 *    on the apdu transport the engine takes it as Le = '00' (engine.c);
 *  - Le present: the data comes back at once, up to Le bytes; data beyond
 *    Le is announced with '61XX'.
 * '6CXX' is used only on the t0 transport, where P3 fixes the length and
 * the card has another (READ RECORD, READ BINARY past the end, FETCH, GET
 * RESPONSE), never for Le = '00', which asks for everything available
 * (TS 102 221 Annex C).  See docs/transport.md.
 */
#include <string.h>

#include "daemon/usim/internal.h"
#include "macro.h"

uint16_t apdu_decode_cla(uint8_t cla, unsigned *ret_channel,
			 bool *ret_proprietary)
{
	/* TS 102 221 10.1.1 Table 10.3: '0X'/'8X' first interindustry
	 * (channels 0-3 in b2-b1, b4-b3 secure messaging, b5 chaining),
	 * '4X'/'6X'/'CX'/'EX' further interindustry (channels 4-19 in b4-b1,
	 * b5 chaining; b6 secure messaging indication, ignored: we do not
	 * use SM and accept '6X' as the further channels' class).  'AX' is
	 * GSM (TS 51.011), not supported by a UICC-only card. */
	if ((cla & 0x40) == 0) {
		if (cla & 0x20)
			return SW_CLA_NOT_SUPPORTED;
		if (cla & 0x10)
			return SW_CHAINING_NOT_SUPPORTED;
		if (cla & 0x0c)
			return SW_SM_NOT_SUPPORTED;
		*ret_channel = cla & 0x03;
	} else {
		if (cla & 0x10)
			return SW_CHAINING_NOT_SUPPORTED;
		*ret_channel = 4 + (cla & 0x0f);
	}
	*ret_proprietary = cla & 0x80;
	return 0;
}

uint16_t apdu_parse(const uint8_t *b, size_t n, struct apdu *a)
{
	uint16_t sw;

	memset(a, 0, sizeof(*a));
	if (n < 4 || n > USIM_CMD_MAX)
		return SW_WRONG_LENGTH;
	a->cla = b[0];
	a->ins = b[1];
	a->p1 = b[2];
	a->p2 = b[3];
	if (a->cla == 0xff)
		return SW_CLA_NOT_SUPPORTED; /* PPS, not a command */
	sw = apdu_decode_cla(a->cla, &a->channel, &a->proprietary);
	if (sw)
		return sw;
	if (n == 4)
		return 0; /* case 1 */
	if (n == 5) {
		/* case 2S (or a T=0 case 1 TPDU with P3 = 00) */
		a->has_le = true;
		a->ne = b[4] ? b[4] : 256;
		a->le_wildcard = b[4] == 0;
		return 0;
	}
	if (b[4] != 0) {
		size_t lc = b[4];

		a->lc = lc;
		a->data = b + 5;
		if (n == 5 + lc)
			return 0; /* case 3S */
		if (n == 6 + lc) { /* case 4S */
			a->has_le = true;
			a->ne = b[5 + lc] ? b[5 + lc] : 256;
			a->le_wildcard = b[5 + lc] == 0;
			return 0;
		}
		return SW_WRONG_LENGTH;
	}
	/* Extended length: '00' then two bytes. */
	if (n < 7)
		return SW_WRONG_LENGTH;
	a->extended = true;
	if (n == 7) { /* case 2E */
		size_t le = (size_t)b[5] << 8 | b[6];

		a->has_le = true;
		a->ne = le ? le : 65536;
		a->le_wildcard = le == 0;
		return 0;
	}
	a->lc = (size_t)b[5] << 8 | b[6];
	if (a->lc == 0)
		return SW_WRONG_LENGTH;
	a->data = b + 7;
	if (n == 7 + a->lc)
		return 0; /* case 3E */
	if (n == 9 + a->lc) { /* case 4E */
		size_t le = (size_t)b[7 + a->lc] << 8 | b[8 + a->lc];

		a->has_le = true;
		a->ne = le ? le : 65536;
		a->le_wildcard = le == 0;
		return 0;
	}
	return SW_WRONG_LENGTH;
}
