/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TRE keys behind the AKA key interfaces (daemon/aka/aka.h). */
#ifndef MCIM_TRE_AKA_H
#define MCIM_TRE_AKA_H

#include "daemon/aka/aka.h"
#include "tre.h"

/*
 * Fills ret for k: an AES key gives ret->cipher (E_K in the TPM), a sealed
 * object ret->secret (K unsealed per computation).  k must outlive ret.
 */
int tre_aka_key(struct tre_key *k, struct aka_key *ret);

#endif
