/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The validation ticket (docs/operator-protocol.md section 5): a JWS compact
 * serialization (RFC 7515 7.1) with ES256 (RFC 7518 3.4), header
 *   {"alg":"ES256","typ":"mcim-ticket+jwt","kid":"<hex SHA-256 of the signer certificate>"}
 * and the claims of struct ticket.  The PVA signs it with its ticket key
 * (pki.h: ticket.pem/ticket.key); the DPF verifies it with that certificate.
 *
 * Parsing is strict: at most TICKET_MAX_SIZE bytes, canonical base64url
 * without padding, exactly the header members above, exactly the claims
 * below with their types, lowercase hex.  ticket_verify() returns 0, -errno
 * or -TICKET_E_*, one per reason, with why naming the problem.  Single use
 * (the `jti`) is the DPF's store's business, not this module's.
 */
#ifndef MCIM_TICKET_H
#define MCIM_TICKET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#include "pki.h"

enum {
	TICKET_E_FORMAT = 1200,	/* not a JWS compact serialization of our header and JSON */
	TICKET_E_ALG,		/* alg is not ES256 (e.g. "none", "HS256") */
	TICKET_E_SIGNATURE,	/* signature does not verify, or kid names another certificate */
	TICKET_E_EXPIRED,	/* now >= exp */
	TICKET_E_CLAIMS,	/* a claim is missing, extra, of the wrong type or out of range */
};

/* Message for -errno or -TICKET_E_*. */
const char *ticket_strerror(int err);

#define TICKET_MAX_SIZE 4096
#define TICKET_ISSUER "pva"
#define TICKET_TYPE "mcim-ticket+jwt"
/* longest jti and model, without the NUL */
#define TICKET_JTI_MAX 64
#define TICKET_MODEL_MAX 64

enum ticket_mode {
	TICKET_MODE_REMOTE = 1,
	TICKET_MODE_AUTONOMOUS,
	TICKET_MODE_SEMI_AUTONOMOUS,
};

/* "remote", "autonomous", "semi-autonomous" (section 4); NULL for another value. */
const char *ticket_mode_name(enum ticket_mode mode);

struct ticket {
	char jti[TICKET_JTI_MAX + 1];	/* ticket id: 1-64 of [A-Za-z0-9_-] */
	char sub[65];			/* device_id: 64 lowercase hex digits */
	TPM2B_NAME ak_name;
	TPM2B_NAME srk_name;
	TPM2B_DIGEST pcr_digest;
	/* "kpd": SHA-256 of the quoted sha256-bank values of the model's key
	 * PCRs in index order (the PolicyPCR digest the DPF approves) */
	TPM2B_DIGEST kpd;
	char model[TICKET_MODEL_MAX + 1];	/* 1-64 printable ASCII characters */
	uint32_t policy_version;
	enum ticket_mode mode;
	int64_t iat;			/* Unix time, issued at */
	int64_t exp;			/* Unix time, expiry (> iat) */
};

/* A fresh jti: 128 random bits as 32 lowercase hex digits. */
int ticket_new_jti(char ret[TICKET_JTI_MAX + 1]);

/*
 * Signs t with s (an EC NIST P-256 key) into a new NUL-terminated token the
 * caller frees.  -EINVAL when a claim is out of range (the same rules as
 * ticket_verify()), -ENOTSUP for another key type.
 */
int ticket_sign(const struct pki_signer *s, const struct ticket *t, char **ret_token);

/*
 * Verifies token with signer_cert's key at time now and returns its claims
 * in ret (may be NULL; filled only on success).
 */
int ticket_verify(X509 *signer_cert, const char *token, time_t now,
		  struct ticket *ret, char *why, size_t why_size);

#endif
