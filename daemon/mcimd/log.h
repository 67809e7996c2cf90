/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mcimd's log: one line per message on stderr.  Under systemd (stderr is
 * the journal: $JOURNAL_STREAM) each line starts with the syslog priority
 * as "<N>", which journald turns into the entry's priority; otherwise with
 * "mcimd: LEVEL: ".  Never log a secret (PINs, keys, APDU data).
 */
#ifndef MCIM_MCIMD_LOG_H
#define MCIM_MCIMD_LOG_H

#include "daemon/mcimd/config.h"
#include "macro.h"

void log_set_level(enum log_level l);
enum log_level log_get_level(void);
_printf_(2, 3) void log_msg(enum log_level l, const char *fmt, ...);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
