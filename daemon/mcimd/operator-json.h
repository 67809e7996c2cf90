/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device's parsers of the operator's answers (docs/operator-protocol.md,
 * version 1): registration (DRF), the start of a validation and its result
 * (PVA), and the error object every failure carries.  Pure functions over
 * the response body: no I/O, so that tests/fuzz/fuzz-operator-json.c calls
 * them directly.
 *
 * Every body is untrusted: at most OP_BODY_MAX bytes, strict JSON
 * (json-c's strict mode, UTF-8 checked, nothing but white space after the
 * object), nested at most OP_JSON_DEPTH deep, unknown members refused,
 * every member's type and length checked, binary members standard base64
 * with padding (RFC 4648 4) and TPM structures unmarshalled to the last
 * byte.  A refusal writes one line into why naming the member.
 */
#ifndef MCIM_MCIMD_OPERATOR_JSON_H
#define MCIM_MCIMD_OPERATOR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#define OP_BODY_MAX (64u << 10) /* every answer of the protocol */
#define OP_JSON_DEPTH 8
#define OP_NAME_MAX 128         /* ids, names, check names */
#define OP_URL_MAX 512
#define OP_MESSAGE_MAX 512      /* error messages, failure reasons */
#define OP_CHECKS_MAX 32        /* checks or failures kept */
#define OP_TICKET_MAX 8192      /* the JWS compact ticket */
#define OP_NONCE_MIN 16
#define OP_NONCE_MAX 64         /* TPM2B_DATA: the size of a digest */

enum op_ek { OP_EK_RSA, OP_EK_ECC };
const char *op_ek_name(enum op_ek ek);

enum op_mode { OP_MODE_REMOTE, OP_MODE_AUTONOMOUS, OP_MODE_SEMI_AUTONOMOUS };
const char *op_mode_name(enum op_mode m);

/* One entry of "checks" ({check, result}) or "failures" ({check, reason}). */
struct op_check {
	char check[OP_NAME_MAX + 1];
	char text[OP_MESSAGE_MAX + 1];
};

/* {"error": {"code", "message", "failures"}, "checks"} (protocol "Errors";
 * "checks", every check that ran with its result, comes with a refusal). */
struct op_error {
	char code[OP_NAME_MAX + 1];
	char message[OP_MESSAGE_MAX + 1];
	struct op_check failures[OP_CHECKS_MAX];
	size_t n_failures; /* kept; n_failures_total may be larger */
	size_t n_failures_total;
	struct op_check checks[OP_CHECKS_MAX];
	size_t n_checks;
};

/*
 * The switch order a registration may carry (docs/change-format.md 4):
 * the SHO to go to, its PVA and DPF, the subscriber's consent and the
 * current SHO's release (DER, verified by the device's checks 9b when the
 * package arrives, not here).
 */
#define OP_TOKEN_MAX (16u << 10) /* PACKAGE_TOKEN_MAX */
struct op_switch {
	char sho_id[OP_NAME_MAX + 1];
	char sho_name[OP_NAME_MAX + 1];
	char pva_url[OP_URL_MAX + 1];
	char dpf_url[OP_URL_MAX + 1];
	uint8_t consent[OP_TOKEN_MAX];
	size_t consent_len;        /* >= 1 */
	uint8_t release[OP_TOKEN_MAX];
	size_t release_len;        /* 0: null (no contract lock to lift) */
};

/* 1. POST /v1/register, answer 200. */
struct op_registration {
	char device_id[65]; /* lowercase hex SHA-256 */
	char model[OP_NAME_MAX + 1];      /* "" when absent */
	char subscriber[OP_NAME_MAX + 1]; /* "" when absent */
	char sho_id[OP_NAME_MAX + 1];
	char sho_name[OP_NAME_MAX + 1];
	char pva_url[OP_URL_MAX + 1];
	char dpf_url[OP_URL_MAX + 1];
	enum op_ek ek;
	bool has_switch;    /* optional member "switch" */
	struct op_switch sw;
};

/* 2.1 POST /v1/validations, answer 201. */
struct op_session {
	char session[OP_NAME_MAX + 1]; /* [A-Za-z0-9._~-]: safe in a path */
	uint8_t nonce[OP_NONCE_MAX];
	size_t nonce_len;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET secret;
	enum op_ek ek;
	TPML_PCR_SELECTION sel; /* in the order given */
	enum op_mode mode;
	int64_t expires;
};

/* 2.2 POST /v1/validations/{session}/evidence, answer 200. */
struct op_result {
	char ticket[OP_TICKET_MAX + 1];
	int64_t expires;
	struct op_check checks[OP_CHECKS_MAX];
	size_t n_checks;
};

/* Each returns 0, or -EBADMSG with why set (the answer is not the protocol's). */
int op_parse_error(const char *body, size_t len, struct op_error *ret, char *why,
		   size_t why_size);
int op_parse_registration(const char *body, size_t len, struct op_registration *ret,
			  char *why, size_t why_size);
/* A switch order alone (as mcimd keeps it): the registration's "switch". */
int op_parse_switch(const char *body, size_t len, struct op_switch *ret, char *why,
		    size_t why_size);
int op_parse_session(const char *body, size_t len, struct op_session *ret, char *why,
		     size_t why_size);
int op_parse_result(const char *body, size_t len, struct op_result *ret, char *why,
		    size_t why_size);

/* The DPF's answer to a download (docs/package-format.md 3). */
struct op_package {
	uint8_t *der;      /* the package (malloc'ed; free()), at most PACKAGE_MAX bytes */
	size_t der_len;
	int64_t sequence;  /* >= 1 */
	char iccid[21];    /* 18-20 digits */
};
int op_parse_package(const char *body, size_t len, struct op_package *ret, char *why,
		     size_t why_size);

/* The bank name of the protocol ("sha256", ...) of a TPM hash algorithm. */
const char *op_bank_name(TPMI_ALG_HASH alg);

#endif
