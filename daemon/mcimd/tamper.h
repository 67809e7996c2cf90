/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tamper input: an evdev device ([tamper] input, e.g. a gpio-keys
 * switch on the enclosure) watched on the event loop.  A key press or
 * switch closing (EV_KEY or EV_SW with value 1) of the configured code, or
 * any code when the code is -1, is a tamper event.  The device going away
 * (read error, hang-up) is reported as a tamper event as well: a cut wire
 * must not look like a quiet enclosure.  After that the input is closed.
 */
#ifndef MCIM_MCIMD_TAMPER_H
#define MCIM_MCIMD_TAMPER_H

#include "daemon/mcimd/loop.h"

typedef void (*tamper_fn)(const char *reason, void *user_data);

struct tamper_input;

int tamper_input_open(struct loop *loop, const char *path, int code, tamper_fn fn,
		      void *user_data, struct tamper_input **ret);
void tamper_input_free(struct tamper_input *t);
/* Events seen and events that counted as tamper. */
unsigned long tamper_input_events(const struct tamper_input *t);

#endif
