/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mcimd's state, shared by its main program (mcimd.c) and its control
 * method handlers (handlers.c).
 *
 * Threading model: one thread, one epoll loop (loop.h).  Signals arrive
 * through a signalfd, timers through timerfds, control clients through
 * the control server's sources; every handler runs to completion on the
 * loop thread, and the store is only touched from there.
 *
 * What is not here yet (the slot/engine/TRE integration): the vusim
 * netlink source, the USIM engines per slot, the TRE and the sealer of the
 * store; a tamper event is logged and audited but does not reach the TPM
 * yet (mcimd_tamper()); the anti-rollback check at start
 * (store_rollback_check() with the TRE's counter at [tpm]
 * generation_nv_index, then store_rollback_sync() after every commit that
 * bumped the generation).  Their control methods (slot.list,
 * profile.install, tamper, attest, apdu) answer "unsupported" until then.
 */
#ifndef MCIM_MCIMD_H
#define MCIM_MCIMD_H

#include <stdbool.h>
#include <time.h>

#include "daemon/mcimd/config.h"
#include "daemon/mcimd/control.h"
#include "daemon/mcimd/gsmtap.h"
#include "daemon/mcimd/loop.h"
#include "daemon/mcimd/tamper.h"
#include "daemon/store/store.h"

struct mcimd {
	struct mcimd_config cfg;
	const char *config_path;
	struct loop *loop;
	struct loop_source signals;
	struct loop_source tick;
	struct control_server *control;
	struct store *store;
	struct gsmtap *trace;     /* NULL when tracing is off */
	struct tamper_input *tamper; /* [tamper] input, or NULL */
	char trace_target[80];    /* "ADDRESS:PORT" of the open trace */
	time_t started;
	bool stop;
	int exit_code;
};

/* The handler table of the control methods (handlers.c). */
extern const control_handler mcimd_handlers[CONTROL_METHOD_COUNT];

/*
 * A tamper event (the tamper input, later also the control method): logs
 * it and records it in the audit log.  With the TRE: tre_tamper() extends
 * the tamper PCR and the cards are removed.
 */
void mcimd_tamper(const char *reason, void *user_data);

/* Opens or closes the GSMTAP trace for host:port (handlers.c). */
int mcimd_trace_set(struct mcimd *d, bool on, const char *host, uint16_t port,
		    char *why, size_t why_size);

#endif
