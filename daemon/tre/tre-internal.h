/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TRE internals shared by the daemon/tre sources; not part of the API. */
#ifndef MCIM_TRE_INTERNAL_H
#define MCIM_TRE_INTERNAL_H

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>

#include "tre.h"

/* Counting TCTI (tcti.c): forwards to the real one and counts commands. */
struct tre_tcti;
int tre_tcti_open(const char *conf, struct tre_tcti **ret, char *err, size_t errlen);
void tre_tcti_close(struct tre_tcti *c);
TSS2_TCTI_CONTEXT *tre_tcti_context(struct tre_tcti *c);
struct tre_stats *tre_tcti_stats(struct tre_tcti *c);

struct tre_key {
	struct tre *tre;
	struct tre_blob blob;
	enum tre_kind kind;
	ESYS_TR handle;     /* ESYS_TR_NONE when not loaded */
	uint64_t gen;       /* tre->gen when loaded */
	bool has_policy;
	struct tre_policy policy;
	TPM2B_NAME op_name; /* Name of policy.op_key */
	TPMT_TK_VERIFIED ticket;
	struct tre_key *next; /* tre's list of keys */
};

struct tre_parent {
	struct tre *tre;
	struct tre_blob blob;   /* under the SRK */
	uint64_t bound;         /* usable while R <= bound */
	TPM2B_NAME name;
	ESYS_TR handle;         /* ESYS_TR_NONE when not loaded */
	uint64_t gen;           /* tre->gen when loaded */
	struct tre_parent *next; /* tre's list of parents */
};

struct tre {
	struct tre_config cfg;
	char tcti_conf[256];
	struct tre_tcti *tcti;
	ESYS_CONTEXT *esys;
	uint64_t gen;        /* bumped when every transient handle died */
	bool need_restart;   /* the TPM answered TPM_RC_INITIALIZE */
	enum tre_mode mode;
	TPML_PCR_SELECTION pcrs;

	ESYS_TR epoch_nv;
	uint64_t epoch;
	TPM2B_DIGEST srk_policy; /* PolicyNV(epoch == current) */
	ESYS_TR srk;             /* SRK of the current epoch, or NONE */
	TPM2B_NAME srk_pin;      /* its expected name, size 0: not pinned */
	ESYS_TR session;         /* the reused salted policy session, or NONE */
	struct tre_fast *fast;   /* the per-use hot path (fast.c), or NULL */

	ESYS_TR ak;              /* loaded or persistent AK, or NONE */
	bool ak_persistent;
	TPM2_HANDLE ak_handle;
	bool have_ak_blob;
	enum tre_ek_type ak_parent;
	struct tre_blob ak_blob;

	uint8_t *secbuf;         /* one mlock'ed page for sealed mode */
	size_t secbuf_len;

	tre_tamper_fn tamper_fn;
	void *tamper_ud;

	struct tre_key *keys;
	struct tre_parent *parents;
	ESYS_TR revoke_nv;       /* the revocation counter R, or NONE (parent.c) */
	uint32_t last_rc;
	char err[512];
};

/* Records rc and a message; returns the negative errno rc maps to. */
int tre_fail(struct tre *t, TSS2_RC rc, const char *fmt, ...) _printf_(3, 4);
int tre_failerr(struct tre *t, int err, const char *fmt, ...) _printf_(3, 4);

/* Salted, encrypting policy session (started on demand, then reused). */
int tre_session(struct tre *t, ESYS_TR *ret);
/* Resets a policy session after a failure half-way through a policy. */
void tre_session_restart(struct tre *t);
/* SRK of `epoch` (the current one unless told), loaded on demand. */
int tre_srk_get(struct tre *t, uint64_t epoch, ESYS_TR *ret);
void tre_srk_template(uint64_t epoch, const TPM2B_DIGEST *policy, TPM2B_PUBLIC *ret);
/* Runs PolicyNV(epoch == e) in the session: authorizes the SRK of epoch e. */
int tre_srk_policy(struct tre *t, ESYS_TR session, uint64_t e);
/* Flushes what can be reloaded (SRK unless keep_srk, AK, else the keys). */
void tre_make_room(struct tre *t, bool keep_srk);
/* Retries expr while the TPM is out of object memory, making room. */
#define TRE_ROOMY(t, keep_srk, expr)                                           \
	({                                                                     \
		int _rr = (expr);                                              \
		for (int _i = 0; _rr == -ENOSPC && _i < 3; _i++) {             \
			tre_make_room(t, keep_srk);                            \
			_rr = (expr);                                          \
		}                                                              \
		_rr;                                                           \
	})
void tre_flush(struct tre *t, ESYS_TR *h);
/* Recovers from a TPM restart: TPM2_Startup, fresh ESYS context. */
int tre_recover(struct tre *t);
int tre_key_ensure_loaded(struct tre_key *k);
/* The ESAPI session with the SRK's PolicyNV(epoch == e) run in it (key.c). */
int tre_srk_session(struct tre *t, uint64_t e, ESYS_TR *ret_s);
/* Parents (parent.c): the registered one of that Name, or NULL. */
struct tre_parent *tre_parent_find(struct tre *t, const TPM2B_NAME *name);
/* Loads p if needed; *ret_s: the session with P's PolicyNV run in it. */
int tre_parent_session(struct tre_parent *p, ESYS_TR *ret_s);
int tre_parent_ensure_loaded(struct tre_parent *p);
/* counter.c: an mcim NV counter's ESYS_TR, defined and written when absent. */
int tre_nv_counter_open(struct tre *t, uint32_t index, ESYS_TR *ret);
/* The Name such a counter has once written (TPM 2.0 Part 1 37.2.3). */
int tre_nv_counter_name(uint32_t index, TPM2B_NAME *ret);

/* The per-use hot path over SAPI (fast.c). */
struct tre_fast;
int tre_fast_open(struct tre *t);
void tre_fast_close(struct tre *t);
void tre_fast_forget(struct tre *t);
int tre_fast_ready(struct tre *t);
int tre_fast_ed2(struct tre_key *k, const uint8_t *in, size_t len, TPMI_ALG_CIPHER_MODE mode,
		 const TPM2B_IV *iv, uint8_t *out);
int tre_fast_unseal(struct tre_key *k, uint8_t *buf, size_t max, size_t *ret_len);

/* Sets sessions attributes for parameter encryption. */
#define TRE_SESS_ATTRS (TPMA_SESSION_CONTINUESESSION | TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT)

/*
 * Runs an operation once more after recovering from a TPM restart
 * (TPM_RC_INITIALIZE): the operation must be idempotent up to the failure.
 */
#define TRE_RETRY(t, expr)                                                     \
	({                                                                     \
		int _r = (expr);                                               \
		if (_r < 0 && (t)->need_restart && tre_recover(t) == 0)        \
			_r = (expr);                                           \
		_r;                                                            \
	})

static inline void esys_freep(void *p)
{
	Esys_Free(*(void **)p);
}
#define _cleanup_esys_ _cleanup_(esys_freep)

/* Gives an NV index's ESYS_TR the counters' authValue (cfg.nv_auth). */
void tre_nv_auth(struct tre *t, ESYS_TR nv);

#endif
