// SPDX-License-Identifier: LGPL-2.1-or-later
/* The stderr/journald logger of log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/mcimd/log.h"

static enum log_level level = LOG_LEVEL_INFO;

void log_set_level(enum log_level l)
{
	level = l;
}

enum log_level log_get_level(void)
{
	return level;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (l > level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (getenv("JOURNAL_STREAM"))
		fprintf(stderr, "<%d>%s\n", (int)l, buf);
	else
		fprintf(stderr, "mcimd: %s: %s\n", config_log_level_name(l), buf);
}
