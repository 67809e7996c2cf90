/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one-line reason that goes with a refused input. */
#ifndef MCIM_WHY_H
#define MCIM_WHY_H

#include <stddef.h>

#include "macro.h"

/* Formats a reason into why (when why is not NULL), then returns err. */
int why_fail(char *why, size_t why_size, int err, const char *fmt, ...) _printf_(4, 5);

#endif
