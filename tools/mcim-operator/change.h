/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The operators' side of a change of subscription (docs/change-format.md
 * 4): an operator's sho_id, the peer operators' roots, and the checks a
 * DPF makes of a download request's `switch` member.  lib/package does the
 * CMS and the JSON; this adds what the store knows (the subscriber's
 * registered certificate, the roots added with `sho add --root`).
 */
#ifndef MCIM_OPERATOR_CHANGE_H
#define MCIM_OPERATOR_CHANGE_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "package.h"
#include "tools/mcim-operator/store.h"

/* One PEM certificate (file path, or PEM text when from_text) and its key id (sho_id). */
int change_cert_load(const char *path_or_pem, bool from_text, X509 **ret, char ret_key_id[65],
		     char *why, size_t why_size);

/* The roots of the peer operators (sho add --root); an empty stack when none. */
int change_peer_roots(struct store *st, STACK_OF(X509) **ret, char *why, size_t why_size);

/* What change_switch_check() accepted: the ids and expiries to consume. */
struct change_switch {
	struct package_token consent, release;
	bool has_release;
};

/*
 * A download request's `switch` member at the new SHO's DPF, before its
 * transaction (which consumes the ids): the consent verifies with the
 * certificate registered for subscriber (code consent_invalid: no account,
 * a bad signature, another key, times), names device_id, the switch's ICCID
 * and own_sho_id (consent_mismatch); a release, when given, chains to a
 * peer root (release_invalid, also for times) and names the same
 * (release_mismatch).  0, or -EPERM with *ret_code and why; another -errno
 * when the store fails.
 */
int change_switch_check(struct store *st, const struct package_request *rq, const char *device_id,
			const char *subscriber, const char *own_sho_id, time_t now,
			struct change_switch *ret, const char **ret_code, char *why,
			size_t why_size);

#endif
