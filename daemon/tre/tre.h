/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TRE: mcimd's Trusted Environment on a TPM 2.0 (tpm2-tss ESAPI).
 *
 * What it holds: the subscription secrets (K, and TUAK's K) as TPM objects
 * that were imported from operator-made duplication blobs and are bound by
 * policy to the platform state (PolicyPCR, checked by the TPM at every use)
 * and to an anti-rollback epoch (a TPM NV counter, checked at load time
 * through the SRK's policy).  New platform reference values are approved by
 * the operator with a signed policy (PolicyAuthorize).  The TRE also gives
 * the device's identity (EK, AK, SRK certified by the AK) and attestation
 * (quotes).  docs/tre.md is the design; docs/security.md the trust model.
 *
 * Two key modes (chosen by probing the TPM, tre_mode()):
 *   TRE_MODE_AES_ECB / TRE_MODE_AES_CFB: K is an AES-128 key object with the
 *     sign (encrypt) attribute only; E_K runs in the TPM (TPM2_EncryptDecrypt2)
 *     and K never reaches host memory.
 *   TRE_MODE_SEALED: K is sealed in a keyed-hash data object and unsealed
 *     into mlock'ed memory only for one computation, then wiped.
 *
 * Threading: a struct tre and its keys are used from one thread (mcimd's
 * event loop).  Every call blocks on the TPM.
 *
 * Errors: functions return 0 or a negative errno; tre_errmsg() then says
 * what failed in words and tre_last_rc() gives the TSS2/TPM response code.
 *   -ENODEV       no TPM behind the TCTI
 *   -EBUSY        the TPM is in dictionary-attack lockout
 *   -ENOSPC       the TPM is out of object or session memory
 *   -EKEYREJECTED the platform state (PCRs) does not match the approved
 *                 policy: a tamper event or an unapproved change
 *   -EKEYREVOKED  the key's epoch is not the TPM's epoch counter any more,
 *                 or its storage parent was revoked (tre_revoke_upto)
 *   -EBADMSG      a blob failed the TPM's integrity check (tampered, or made
 *                 for another TPM)
 *   -EOPNOTSUPP   the TPM lacks what the operation needs
 *   -EPERM        a key used before an approved policy was set
 *   -EEXIST       the epoch NV index is taken by something else
 *   -EIO          any other TPM or TSS failure
 */
#ifndef MCIM_TRE_H
#define MCIM_TRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "macro.h"

struct tre;
struct tre_key;

/* Default NV index of the epoch counter (owner range, TCG handle registry). */
#define TRE_EPOCH_NV_INDEX 0x01800a00u
/* Default NV index of the revocation counter R (storage parents, docs/tre.md 4). */
#define TRE_REVOKE_NV_INDEX 0x01800a02u
/* Default application PCR that tamper events extend (PC Client: 23). */
#define TRE_APP_PCR 23u
/* Default PCR set (sha256 bank) every MCIM object is bound to. */
#define TRE_DEFAULT_PCRS ((1u << 0) | (1u << 2) | (1u << 4) | (1u << 7) | (1u << TRE_APP_PCR))

/* NV indices of the EK certificates (TCG EK Credential Profile, low range). */
#define TRE_EK_CERT_NV_RSA 0x01c00002u
#define TRE_EK_CERT_NV_ECC 0x01c0000au
#define TRE_EK_CERT_MAX 4096u

struct tre_config {
	/*
	 * TCTI: "tabrmd[:conf]", "device:/dev/tpmrm0" (or a bare path),
	 * "swtpm:host=H,port=P", "mssim:..."; NULL or "auto": tabrmd when it
	 * answers, else /dev/tpmrm0.
	 */
	const char *tcti;
	uint32_t pcr_mask;    /* sha256 PCRs bound by policy (bit n = PCR n) */
	unsigned app_pcr;     /* tamper PCR, must be in pcr_mask */
	uint32_t epoch_index; /* NV counter index */
	uint32_t revoke_index; /* the revocation counter R of the storage parents */
	/*
	 * authValue of the TRE's NV counters (the epoch and tre-counter.h's),
	 * set when they are defined and needed to read or increment them: with
	 * a secret only the daemon holds, a process that merely has TPM access
	 * can neither revoke the keys nor move mcimd's counters
	 * (docs/security.md).  Empty: no authorization (tests).
	 */
	TPM2B_AUTH nv_auth;
	bool no_probe_ecb;    /* tests: act as if the TPM offered only CFB */
	bool no_fast_path;    /* use ESAPI for every use too (slower, docs/tre.md) */
};

void tre_config_init(struct tre_config *cfg);

int tre_open(const struct tre_config *cfg, struct tre **ret);
/* Why the last tre_open() failed (single-threaded use). */
const char *tre_open_error(void);
void tre_close(struct tre *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tre *, tre_close)
#define _cleanup_tre_ _cleanup_(tre_closep)

const char *tre_errmsg(const struct tre *t);
uint32_t tre_last_rc(const struct tre *t);
/* The TPM's response code without handle/parameter/session numbers. */
uint32_t tre_rc_base(uint32_t rc);

/* ---- Counting TCTI: every command sent to the TPM, by command code. ---- */
struct tre_stats {
	uint64_t commands;
	uint64_t by_cc[0x100]; /* index: command code - TPM2_CC_FIRST */
	uint64_t ns_by_cc[0x100]; /* time from transmit to the response, summed */
};
const struct tre_stats *tre_stats(const struct tre *t);
uint64_t tre_stats_cc(const struct tre_stats *s, TPM2_CC cc);
/* Mean time of one command with code cc in ns (0 if none was sent). */
uint64_t tre_stats_cc_ns(const struct tre_stats *s, TPM2_CC cc);
void tre_stats_reset(struct tre *t);
/* The command's name in TPM 2.0 Part 2 6.5.2 without "TPM2_CC_" (NULL if not one the TRE sends). */
const char *tre_cc_name(TPM2_CC cc);

/* ---- Capabilities ---- */
enum tre_mode {
	TRE_MODE_SEALED = 0, /* no usable AES: K sealed, unsealed per use */
	TRE_MODE_AES_ECB,    /* EncryptDecrypt2 with ECB */
	TRE_MODE_AES_CFB,    /* EncryptDecrypt2 with CFB only, masked (docs/tre.md 3) */
};
enum tre_mode tre_mode(const struct tre *t);
const char *tre_mode_name(enum tre_mode m);

/* ---- Epoch (anti-rollback, revocation) ---- */
int tre_epoch(struct tre *t, uint64_t *ret);
/* Revokes every blob of the current epoch for good; flushes loaded keys. */
int tre_epoch_increment(struct tre *t, uint64_t *ret_new);

/* ---- Storage key (SRK of the current epoch) ---- */
int tre_srk_public(struct tre *t, TPM2B_PUBLIC *ret);
/*
 * Pins the name of the current epoch's SRK (the one the AK certified at
 * provisioning, kept by the store): from now on an SRK with another name is
 * refused (-EBADMSG) before the session salt is encrypted to it.  NULL
 * unpins.  An epoch increment clears the pin.
 */
int tre_srk_pin(struct tre *t, const TPM2B_NAME *name);

/* ---- Operator-approved platform policy ---- */
struct tre_policy {
	TPM2B_PUBLIC op_key;       /* operator's verification key (public) */
	TPM2B_NONCE policy_ref;    /* policyRef the key's authPolicy names */
	TPML_PCR_SELECTION pcrs;   /* PCRs of the approved PolicyPCR */
	TPM2B_DIGEST pcr_digest;   /* their reference composite digest */
	TPM2B_DIGEST approved;     /* PolicyPCR(pcrs, pcr_digest) policy digest */
	TPMT_SIGNATURE signature;  /* operator's over H(approved || policy_ref) */
};

void tre_pcr_selection(const struct tre *t, TPML_PCR_SELECTION *ret);
/* Current PCR composite digest and PolicyPCR digest (trial session). */
int tre_policy_pcr_now(struct tre *t, const TPML_PCR_SELECTION *pcrs,
		       TPM2B_DIGEST *ret_pcr_digest, TPM2B_DIGEST *ret_policy);
/* authPolicy of an MCIM object: PolicyAuthorize(op_key, policy_ref). */
int tre_policy_authorize_digest(struct tre *t, const TPM2B_PUBLIC *op_key,
				const TPM2B_NONCE *policy_ref, TPM2B_DIGEST *ret);

/* ---- Key blobs: what the store keeps ---- */
struct tre_blob {
	uint64_t epoch; /* epoch of the SRK it is wrapped to (or its parent is) */
	TPM2B_NAME parent; /* Name of its storage parent (tre_parent_*); size 0: the SRK */
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
};
#define TRE_BLOB_MAX (16 + sizeof(TPM2B_NAME) + sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE))
int tre_blob_marshal(const struct tre_blob *b, uint8_t *buf, size_t max, size_t *ret_len);
int tre_blob_unmarshal(const uint8_t *buf, size_t len, struct tre_blob *ret);

enum tre_kind {
	TRE_KIND_AES,    /* AES-128 symcipher, sign (encrypt) only */
	TRE_KIND_SEALED, /* keyed-hash data object holding up to 128 bytes */
};
/*
 * Public template of an MCIM object (TRE_KIND_*), bound to auth_policy:
 * userWithAuth clear (policy only), noDA, fixedTPM/fixedParent clear (it is
 * imported), unique left empty.  AES keys carry mode NULL so that one
 * template serves ECB and CFB-only TPMs; the operator side builds the same.
 */
int tre_template(enum tre_kind kind, const TPM2B_DIGEST *auth_policy, TPM2B_PUBLIC *ret);

/*
 * Creates an MCIM object with a known secret inside the TPM (TPM2_Create
 * with the sensitive sent over an encrypted session) under the current SRK.
 * For tests and for secrets that arrive by another protected path.
 */
int tre_create_known(struct tre *t, const TPM2B_PUBLIC *tmpl, const uint8_t *secret,
		     size_t len, struct tre_blob *ret);

/*
 * TPM2_Import of a duplication blob wrapped to the current SRK (TPM 2.0
 * Part 1, 23.3 "Duplication").  enc_key/sym: the inner wrapper, NULL for
 * none.  ret: the private blob the store keeps.
 */
int tre_import(struct tre *t, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *dup,
	       const TPM2B_ENCRYPTED_SECRET *seed, const TPM2B_DATA *enc_key,
	       const TPMT_SYM_DEF_OBJECT *sym, struct tre_blob *ret);

/*
 * ---- Storage parents: one per operator subscription (docs/tre.md 4,
 * docs/change-format.md 7) ----
 *
 * A storage parent P is an ECC P-256 restricted decrypt key under the SRK
 * (fixedTPM, fixedParent, sensitiveDataOrigin, noDA, userWithAuth clear,
 * AES-128-CFB) whose authPolicy is PolicyNV(R, bound, offset 0,
 * TPM_EO_UNSIGNED_LE) on the revocation counter R (cfg.revoke_index, the
 * epoch counter's attributes and authValue): P, and so every object under
 * it, loads only while R <= bound.  tre_revoke_upto(b) moves R past b for
 * good, revoking every parent whose bound is <= b at once.
 */
struct tre_parent;
/* R, the revocation counter (defined on first use like tre-counter.h's). */
int tre_revocation(struct tre *t, uint64_t *ret);
/* P's authPolicy for a bound, computed (TPM 2.0 Part 3 23.9). */
int tre_parent_policy(struct tre *t, uint64_t bound, TPM2B_DIGEST *ret);
void tre_parent_template(const TPM2B_DIGEST *policy, TPM2B_PUBLIC *ret);
/* TPM2_Create of a fresh parent under the SRK; ret: its blob. */
int tre_parent_create(struct tre *t, uint64_t bound, struct tre_blob *ret);
/*
 * Makes a parent known to t (no TPM command: it loads at its first use):
 * objects whose blob names it load under it.  -EINVAL when the blob is not
 * a parent of that bound (its authPolicy differs).  Adding the same parent
 * twice gives the same one.  Parents are freed with t.
 */
int tre_parent_add(struct tre *t, const struct tre_blob *b, uint64_t bound,
		   struct tre_parent **ret);
/* Loads it now (PolicyNV, Load): -EKEYREVOKED once R > its bound. */
int tre_parent_load(struct tre_parent *p);
/* Forgets it (flushed; its loaded objects too). */
void tre_parent_remove(struct tre_parent *p);
uint64_t tre_parent_bound(const struct tre_parent *p);
const TPM2B_PUBLIC *tre_parent_public(const struct tre_parent *p);
const TPM2B_NAME *tre_parent_name(const struct tre_parent *p);
/* TPM2_Certify of the parent by the AK (as tre_certify_srk). */
int tre_certify_parent(struct tre_parent *p, const uint8_t *nonce, size_t nonce_len,
		       TPM2B_ATTEST *ret_attest, TPMT_SIGNATURE *ret_sig);
/* tre_import and tre_create_known under a parent (NULL: the SRK). */
int tre_import_to(struct tre_parent *p, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *dup,
		  const TPM2B_ENCRYPTED_SECRET *seed, struct tre_blob *ret);
int tre_create_known_to(struct tre_parent *p, const TPM2B_PUBLIC *tmpl, const uint8_t *secret,
			size_t len, struct tre_blob *ret);
/*
 * Revokes every parent whose bound is <= bound: NV_Increment of R until
 * R > bound (nothing when it is already), loaded objects under revoked
 * parents flushed.  *ret_r (may be NULL): R after.
 */
int tre_revoke_upto(struct tre *t, uint64_t bound, uint64_t *ret_r);

/* ---- Loaded keys ---- */
/* A blob naming a parent loads under it (tre_parent_add first: -ENOKEY). */
int tre_key_load(struct tre *t, const struct tre_blob *b, struct tre_key **ret);
void tre_key_free(struct tre_key *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tre_key *, tre_key_free)
#define _cleanup_tre_key_ _cleanup_(tre_key_freep)
enum tre_kind tre_key_kind(const struct tre_key *k);

/*
 * Sets (or replaces) the operator-approved policy of a key: the TPM checks
 * the operator's signature once (TPM2_VerifySignature) and the ticket is
 * cached for every later use.
 */
int tre_key_set_policy(struct tre_key *k, const struct tre_policy *p);

/*
 * E_K over n independent 16-byte blocks (AES-ECB semantics) in the TPM:
 * PolicyPCR, PolicyAuthorize, EncryptDecrypt2 on one reused salted session
 * with parameter encryption: 3 commands per call in ECB mode (per block in
 * CFB mode).  in and out may be the same.
 */
int tre_key_encrypt(struct tre_key *k, const uint8_t *in, uint8_t *out, size_t nblocks);

/*
 * Sealed mode: unseals the secret into an mlock'ed buffer, calls
 * use(secret, len, user_data), wipes the buffer (and the TSS's copies)
 * before returning use's result.
 */
typedef int (*tre_secret_fn)(const uint8_t *secret, size_t len, void *user_data);
int tre_key_with_secret(struct tre_key *k, tre_secret_fn use, void *user_data);

/*
 * Has the TPM check an approved policy's signature (TPM2_LoadExternal of
 * the operator key, TPM2_VerifySignature over H(approved || policy_ref),
 * Part 3 23.16) without a key: the package verifier's check before any
 * import.  -EKEYREJECTED when the signature does not verify.
 */
int tre_policy_verify(struct tre *t, const struct tre_policy *p);

/* ---- Platform state ---- */
/* Extends PCR pcr (sha256 bank) with SHA-256(data): a measurement. */
int tre_pcr_extend(struct tre *t, unsigned pcr, const void *data, size_t len);
/* TPM_PT_LOCKOUT_COUNTER: authorization failures the DA logic counted. */
int tre_lockout_counter(struct tre *t, uint32_t *ret);

/* ---- Tamper response ---- */
typedef void (*tre_tamper_fn)(const char *reason, void *user_data);
void tre_set_tamper_handler(struct tre *t, tre_tamper_fn fn, void *user_data);
#define TRE_TAMPER_REVOKE 0x1u /* also increment the epoch: survives reboots */
/*
 * Records a tamper event: extends the application PCR with
 * SHA-256("mcim-tamper:" reason), so the next use of every key fails at the
 * TPM, and reports the event to the handler.
 */
int tre_tamper(struct tre *t, const char *reason, unsigned flags);

/* ---- Identity ---- */
/* EKs from the TCG default templates (EK Credential Profile 2.x, L-1 RSA 2048
 * and L-2 ECC P-256, lib/tpm2-cred.h). */
enum tre_ek_type { TRE_EK_RSA, TRE_EK_ECC };
int tre_ek_public(struct tre *t, enum tre_ek_type type, TPM2B_PUBLIC *ret);
/* EK certificate (DER) from NV; -ENOENT when the index is absent. */
int tre_ek_cert(struct tre *t, enum tre_ek_type type, uint8_t **ret_der, size_t *ret_len);

/*
 * AK: restricted ECC P-256 ECDSA-SHA256 signing key under the EK
 * (fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, noDA).
 * tre_ak_create creates it and makes it the AK of t; ret (may be NULL)
 * gets its blob (epoch 0) for tre_ak_load; tre_ak_persist makes it
 * persistent, tre_ak_use_persistent picks up a persistent one.
 */
int tre_ak_create(struct tre *t, enum tre_ek_type parent, struct tre_blob *ret);
int tre_ak_load(struct tre *t, enum tre_ek_type parent, const struct tre_blob *b);
int tre_ak_persist(struct tre *t, TPM2_HANDLE handle);
int tre_ak_use_persistent(struct tre *t, TPM2_HANDLE handle);
int tre_ak_public(struct tre *t, TPM2B_PUBLIC *ret, TPM2B_NAME *ret_name);

/* TPM2_ActivateCredential of a MakeCredential challenge for our AK and EK. */
int tre_activate_credential(struct tre *t, enum tre_ek_type ek, const TPM2B_ID_OBJECT *cred,
			    const TPM2B_ENCRYPTED_SECRET *secret, TPM2B_DIGEST *ret);

/* TPM2_Certify of the current SRK by the AK. */
int tre_certify_srk(struct tre *t, const uint8_t *nonce, size_t nonce_len,
		    TPM2B_ATTEST *ret_attest, TPMT_SIGNATURE *ret_sig);

#define TRE_EVENTLOG_MAX (4u << 20)
struct tre_quote {
	TPM2B_ATTEST attest;      /* marshalled TPMS_ATTEST */
	TPMT_SIGNATURE signature; /* AK's */
	TPML_PCR_SELECTION sel;   /* what was quoted */
	uint32_t npcrs;
	TPM2B_DIGEST pcrs[64];    /* values in selection order */
	uint8_t *bios_log;        /* binary_bios_measurements, or NULL */
	size_t bios_log_len;
	uint8_t *ima_log;         /* IMA binary_runtime_measurements, or NULL */
	size_t ima_log_len;
};
int tre_quote(struct tre *t, const TPML_PCR_SELECTION *sel, const uint8_t *nonce,
	      size_t nonce_len, struct tre_quote *ret);
void tre_quote_clear(struct tre_quote *q);
/*
 * Writes dir/quote.msg (TPMS_ATTEST), quote.sig (TPMT_SIGNATURE),
 * quote.pcrs (tpm2-tools pcrs format), ak.pub (TPM2B_PUBLIC) and the event
 * logs present: the files tpm2_checkquote reads.
 */
int tre_quote_export(struct tre *t, const struct tre_quote *q, const char *dir);

/* PCR values of a selection, in selection order (PCR_Read, 8 per call). */
int tre_pcr_read(struct tre *t, const TPML_PCR_SELECTION *sel, TPM2B_DIGEST *vals,
		 uint32_t max, uint32_t *ret_n);
/*
 * Reads an event log (a securityfs file reports size 0: read to EOF), at
 * most TRE_EVENTLOG_MAX bytes.  An absent or unreadable file (ENOENT,
 * EACCES) or a NULL path gives *ret NULL and 0.
 */
int tre_event_log_read(const char *path, uint8_t **ret, size_t *ret_len);

/* Event log paths (overridable for tests). */
extern const char *tre_bios_log_path;
extern const char *tre_ima_log_path;

#endif
