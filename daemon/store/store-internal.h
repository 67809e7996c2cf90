/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of daemon/store/ shared between its files. */
#ifndef MCIM_STORE_INTERNAL_H
#define MCIM_STORE_INTERNAL_H

#include <stddef.h>

#include "daemon/store/store.h"

/* schema.c: migration N (1-based) is store_migrations[N - 1]. */
extern const char *const store_migrations[];
extern const size_t store_n_migrations;

#endif
