/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared between store.c and store-schema.c only. */
#ifndef MCIM_OPERATOR_STORE_INTERNAL_H
#define MCIM_OPERATOR_STORE_INTERNAL_H

#include "tools/mcim-operator/store.h"

extern const char *const store_migrations[];
extern const unsigned store_migrations_count;

#endif
