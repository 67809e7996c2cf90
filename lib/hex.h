/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hexadecimal text <-> bytes, for tools, tests and logs. */
#ifndef MCIM_HEX_H
#define MCIM_HEX_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes hex digits from s (upper or lower case; spaces, tabs and ':' between
 * bytes are skipped) into out, at most max bytes.  Returns the number of bytes,
 * -EINVAL for a character that is not a hex digit or an odd digit count,
 * -EMSGSIZE when the text holds more than max bytes.
 */
int hex_decode(const char *s, uint8_t *out, size_t max);

/* Writes len bytes as lowercase hex with a NUL into out (2 * len + 1 bytes). */
void hex_encode(const uint8_t *in, size_t len, char *out);

#endif
