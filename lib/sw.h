/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Status words (SW1 SW2) described in words, for tools and logs. */
#ifndef MCIM_SW_H
#define MCIM_SW_H

#include <stddef.h>
#include <stdint.h>

/*
 * Describes sw (SW1 << 8 | SW2) per ETSI TS 102 221 10.2.1 and 3GPP TS
 * 31.102 7.3 into buf ("file not found", "3 response bytes available (GET
 * RESPONSE)", ...); returns buf.  Unknown words give "unknown status word".
 */
const char *sw_describe(uint16_t sw, char *buf, size_t size);

#endif
