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
 * The pieces: the TRE and its uses (tpm.c: local policy, the store's
 * sealer, the anti-rollback NV counter, local key import, attestation),
 * the card and the vusim slots (slot.c), profile installs and life cycle
 * with the card following (provision.c), the control methods (handlers.c).
 * Without a TPM the daemon still serves the descriptive control methods;
 * no card, install or attestation then (status: tpm.connected false).
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
#include "daemon/tre/tre.h"

struct vusim_nl;
struct mcimd_card;
struct mcimd_prov;
struct http;
struct http_xfer;
struct mcimd_switch;

/* A vusim.ko slot mcimd is the backend of. */
struct mcimd_slot {
	uint32_t index; /* /dev/vusim<index> */
	bool card;      /* the card is inserted */
};

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
	/* TPM (tpm.c) */
	struct tre *tre;          /* NULL: no TPM */
	char tre_why[256];        /* why not */
	struct tre_policy local_policy; /* of locally installed objects */
	TPM2B_DIGEST local_auth;  /* their authPolicy */
	struct {                  /* operator profiles' approved policies */
		TPM2B_DIGEST auth; /* PolicyAuthorize(key, ref): the objects' */
		struct tre_policy policy;
	} op_policies[STORE_MAX_PROFILES];
	size_t n_op_policies;
	bool have_policy;
	bool platform_ok;         /* the PCRs match local_policy */
	bool store_frozen;        /* store not verifiable (state key sealed) */
	double nv_tokens, nv_tokens_at; /* mcimd_nv_budget() */
	bool have_ak;
	bool tampered;            /* a tamper event since start: no card */
	bool tamper_recorded;     /* the store holds one from before this start */
	/* slots and card (slot.c) */
	struct vusim_nl *nl;      /* NULL: no slot served */
	struct loop_source nl_src;
	struct mcimd_slot slots[CONFIG_MAX_SLOTS];
	unsigned n_slots;
	struct mcimd_card *card;  /* the enabled profile's card, or NULL */
	struct mcimd_card *next_card; /* after a pending REFRESH, or NULL */
	struct loop_source switch_timer; /* REFRESH not acted upon in time */
	/* the operator client (provision-client.c) */
	struct http *http;        /* made at the first request */
	struct mcimd_prov *prov;  /* the flow under way, or NULL */
	struct http_xfer *tamper_xfer; /* a tamper report on its way, or NULL */
	struct mcimd_switch *sw;  /* the change of subscription (switch.c), NULL: no TPM */
	time_t started;
	bool trim_pending;        /* mcimd_release_heap() queued */
	bool stop;
	int exit_code;
};

/*
 * After a request that built and dropped a lot (an install, a switch, a
 * delete): once the loop's batch is done, give the freed heap back to the
 * kernel (malloc_trim) instead of keeping its high-water mark.
 */
void mcimd_release_heap(struct mcimd *d);

/* The handler table of the control methods (handlers.c). */
extern const control_handler mcimd_handlers[CONTROL_METHOD_COUNT];

/*
 * A tamper event (the tamper input): mcimd_tamper_event() without revoke.
 */
void mcimd_tamper(const char *reason, void *user_data);
/*
 * tre_tamper() extends the tamper PCR (and with revoke increments the
 * epoch), the card is removed, the event is logged and audited ("tamper")
 * and a report queued for the operator (audit "tamper-report").
 */
int mcimd_tamper_event(struct mcimd *d, const char *reason, bool revoke);

/* ---- tpm.c ---- */
/* Opens the TRE, checks the store against the NV counter, local policy. */
int mcimd_tpm_open(struct mcimd *d);
void mcimd_tpm_close(struct mcimd *d);
/* The store's sealer (ctx d; usable once mcimd_tpm_open() succeeded). */
const struct store_sealer *mcimd_sealer(struct mcimd *d);
/* After a commit that may have bumped the generation: the NV counter
 * follows (store_anchor_sync()); nothing may be answered before it is 0. */
int mcimd_rollback_sync(struct mcimd *d);
/* One profile change's NV write from the budget; -EBUSY (why) when spent. */
int mcimd_nv_budget(struct mcimd *d, char *why, size_t why_size);
/* At a clean stop: the store is marked as the exact last state. */
void mcimd_anchor_close(struct mcimd *d);
/* Makes a tamper event outlive restarts and reboots (docs/security.md). */
int mcimd_tamper_persist(struct mcimd *d);
/* Wraps clear K to the SRK (lib/tpm2-dup.h), imports it: a tre_blob. */
int mcimd_tpm_import(struct mcimd *d, bool sealed, const uint8_t *k, size_t len,
		     uint8_t *blob, size_t max, size_t *ret_len);
/*
 * Approved policies, marshalled "MCLP" 1 0 0 0 | TPM2B_PUBLIC | TPM2B_NONCE
 * | TPML_PCR_SELECTION | TPM2B_DIGEST pcr | TPM2B_DIGEST approved |
 * TPMT_SIGNATURE: the device blob "local-policy" and the profile blob
 * "policy" of an operator profile.
 */
int mcimd_policy_marshal(const struct tre_policy *p, uint8_t *buf, size_t max, size_t *ret);
int mcimd_policy_unmarshal(const uint8_t *buf, size_t len, struct tre_policy *p);
/*
 * Registers an operator profile's approved policy (after its install; at
 * start for every stored one): objects whose authPolicy is
 * PolicyAuthorize(p->op_key, p->policy_ref) are used with it.
 */
int mcimd_policy_register(struct mcimd *d, const struct tre_policy *p);
/* The operator's approved policy of profile id (its blob "policy"); -ENOENT for a local profile. */
int mcimd_profile_policy(struct mcimd *d, int64_t id, struct tre_policy *ret);
/* Loads a key blob with its approved policy set (chosen by its authPolicy:
 * the local policy or a registered operator policy; -EKEYREJECTED: none). */
int mcimd_tpm_key(struct mcimd *d, const uint8_t *blob, size_t len, struct tre_key **ret);
/* Loads the AK from the store, or creates and stores it (tre_ak_create). */
int mcimd_ak_ready(struct mcimd *d);
int mcimd_attest(struct mcimd *d, const uint8_t *nonce, size_t nonce_len,
		 struct json_object **ret, char *why, size_t why_size);

/* ---- slot.c ---- */
int mcimd_slots_open(struct mcimd *d);
void mcimd_slots_close(struct mcimd *d);
struct json_object *mcimd_slots_json(struct mcimd *d);
/* Loads the enabled profile's card and inserts it (none: 0, slot empty). */
int mcimd_card_start(struct mcimd *d);
/* Removes the card from its slot, frees the engine, flushes K. */
void mcimd_card_stop(struct mcimd *d, const char *why);
int mcimd_card_restart(struct mcimd *d, const char *why);
/*
 * After the store enabled another profile: a proactive REFRESH (UICC
 * reset) when the terminal supports it (TERMINAL PROFILE byte 3 b8, TS
 * 102 223 5.2), the new card taking over at the terminal's next reset (or
 * after MCIMD_REFRESH_TIMEOUT_S: removal); else removal and insertion.
 */
#define MCIMD_REFRESH_TIMEOUT_S 15
int mcimd_card_switch(struct mcimd *d);
const char *mcimd_card_iccid(const struct mcimd *d);
/* The profile id of the card served (-1: none, or a switch is pending). */
int64_t mcimd_card_profile(const struct mcimd *d);
/* Whether the card, or the one a pending switch brings, is profile id's. */
bool mcimd_card_uses(const struct mcimd *d, int64_t id);
/* Why profile id's card is not served (NULL: it is, or a switch brings it). */
const char *mcimd_card_absent_why(const struct mcimd *d, int64_t id);
/* One command APDU; the change records are durable when it returns 0. */
int mcimd_card_process(struct mcimd *d, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
		       size_t rsp_size, size_t *rsp_len);

/* ---- provision.c ---- */
struct mcimd_install {
	const char *text;   /* the profile description (docs/profile-format.md) */
	size_t len;
	enum store_class cls;
	const char *nickname, *operator_name;
	int64_t expires;    /* provisioning: Unix time, 0 never */
	bool enable;
};
int mcimd_profile_install(struct mcimd *d, const struct mcimd_install *in,
			  struct store_profile_info *ret, char *why, size_t why_size);
enum mcimd_lifecycle { MCIMD_ENABLE, MCIMD_DISABLE, MCIMD_DELETE };
/*
 * The provisioning profile's rules (docs/store.md "Provisioning"): deletes
 * those whose expiry passed; enables the newest one when no operational
 * profile exists and none is enabled.  Enabling one (install with enable,
 * profile.enable) is refused (-EPERM) once an operational profile worked.
 */
void mcimd_bootstrap(struct mcimd *d);
int mcimd_profile_lifecycle(struct mcimd *d, int64_t id, enum mcimd_lifecycle op,
			    char *why, size_t why_size);
/*
 * Deletes an operator profile for good (docs/change-format.md 7): the card
 * leaves, its keys are revoked in the TPM when no other live profile has a
 * storage parent of a bound <= its own (*ret_how "tpm"), else in the store
 * only ("store only"), then its rows and blobs go.  profile.delete, and the
 * end of a switch.
 */
int mcimd_profile_revoke(struct mcimd *d, int64_t id, const char **ret_how, char *why,
			 size_t why_size);

/* ---- package.c: the operator's package (docs/package-format.md) ---- */
/*
 * The download request (section 3): a fresh nonce, kept pending (replacing
 * any earlier one), the AK and SRK public areas, the stored ticket, the K
 * form ("aes" when the TPM runs AES and the algorithm is MILENAGE, tuak
 * false).  *ret: the request object.
 */
struct op_switch;
/* sw (may be NULL): the request's member "switch" (docs/change-format.md 4):
 * iccid, the order's consent and release. */
int mcimd_package_request(struct mcimd *d, bool tuak, const char *sw_iccid,
			  const struct op_switch *sw, struct json_object **ret, char *why,
			  size_t why_size);
/*
 * Verifies der (section 1's eleven checks in order; why: "package refused,
 * check N (name): ..."), imports the objects and installs the profile in
 * one store transaction (the nonce consumed, the sequence recorded), with
 * the flags' additions.  ret_info (may be NULL): {sequence, device, key_form}.
 */
#define MCIMD_PKG_ENABLE 0x1u  /* enable the profile in the same transaction */
#define MCIMD_PKG_RECEIPT 0x2u /* the receipt is still to send: device blob
				* "receipt-pending" {iccid, sequence} with it */
#define MCIMD_BLOB_RECEIPT_PENDING "receipt-pending"
int mcimd_package_install(struct mcimd *d, const uint8_t *der, size_t len, unsigned flags,
			  struct store_profile_info *ret, struct json_object **ret_info,
			  char *why, size_t why_size);

/* ---- revoke.c: one storage parent per operator profile (docs/change-format.md 7) ---- */
#define MCIMD_BLOB_PARENT "parent"                 /* profile blob: its storage parent */
#define MCIMD_BLOB_PENDING_PARENT "pending-parent" /* device blob: the next download's */
/* At start: every stored profile's parent made known to the TRE. */
int mcimd_parents_load(struct mcimd *d);
/*
 * A fresh parent, bound max(R, live bounds) + 1, made known to the TRE;
 * buf: its record ("MCPP" 1 0 0 0 | bound | tre_blob), the profile blob
 * "parent" and device blob "pending-parent".
 */
int mcimd_parent_new(struct mcimd *d, struct tre_parent **ret, uint8_t *buf, size_t max,
		     size_t *ret_len, char *why, size_t why_size);
/* Whether name is an installed profile's parent (a replayed package's). */
bool mcimd_parent_installed(struct mcimd *d, const TPM2B_NAME *name);
/* In the install's transaction: the pending parent becomes profile id's. */
int mcimd_parent_adopt(struct mcimd *d, int64_t id);
/* The pending parent (made and kept when none is and create is set). */
int mcimd_parent_pending(struct mcimd *d, bool create, struct tre_parent **ret,
			 char *why, size_t why_size);
/*
 * Before profile id is deleted: R moved past its bound when no other live
 * profile has a bound <= its bound (*ret_how "tpm"), else nothing in the
 * TPM ("store only"); audited "revoked".
 */
int mcimd_profile_revoke_tpm(struct mcimd *d, int64_t id, const char **ret_how, char *why,
			     size_t why_size);

/* ---- provision-client.c: the operator's DRF and PVA (docs/operator-protocol.md) ---- */
/* Device blobs of the operator client: the DRF's answer, the PVA's ticket. */
#define MCIMD_BLOB_REGISTRATION "provision.registration"
#define MCIMD_BLOB_TICKET "provision.ticket"
/* The DRF's switch order (docs/change-format.md 4), pending until acted on. */
#define MCIMD_BLOB_SWITCH_ORDER "provision.switch"
/* The pending switch order for status: {sho, pva, dpf, consent_bytes,
 * release_bytes}, or NULL when there is none. */
struct json_object *mcimd_switch_order_json(struct mcimd *d);
struct op_registration;
/* The stored registration; -ENOENT (why: not registered), -EBADMSG. */
int mcimd_registration(struct mcimd *d, struct op_registration *ret, char *why,
		       size_t why_size);
enum mcimd_prov_flow {
	MCIMD_PROV_REGISTER, /* POST /v1/register with the EK certificate */
	MCIMD_PROV_VALIDATE, /* platform validation, the ticket kept */
	MCIMD_PROV_AUTO,     /* at start: as FULL, registering only when not registered */
	MCIMD_PROV_FULL,     /* register when not registered yet, validate, download the
			      * package, install, receipt, enable, release the
			      * provisioning profile (docs/package-format.md) */
	MCIMD_PROV_DOWNLOAD, /* download the package and install it: no receipt, no
			      * enable (a switch's, switch.c) */
};
/*
 * A switch's target (switch.c): the flows validate and download at the new
 * SHO's PVA and DPF instead of the registration's, and the download request
 * carries the member "switch" (iccid, the order's consent and release).
 */
struct mcimd_prov_target {
	const char *pva_url, *dpf_url;
	const char *iccid;          /* the subscription let go */
	const struct op_switch *sw; /* the order: consent, release */
};
/*
 * The end of a flow: r == 0 and result (taken), or a negative errno, why
 * and data (taken: {"kind", "step", "steps", ...}, docs/control-api.md).
 * Never called from inside mcimd_provision_start(), except for
 * MCIMD_PROV_AUTO (started outside the loop's batches).
 */
typedef void (*mcimd_prov_done)(void *user, int r, struct json_object *result,
				const char *why, struct json_object *data);
/* One flow at a time (-EBUSY).  An error now: why set, done never called. */
int mcimd_provision_start(struct mcimd *d, enum mcimd_prov_flow flow, mcimd_prov_done done,
			  void *user, char *why, size_t why_size);
/* The same for a switch's flow (MCIMD_PROV_VALIDATE or _DOWNLOAD) at target
 * (copied: it need not outlive the call). */
int mcimd_provision_switch(struct mcimd *d, enum mcimd_prov_flow flow,
			   const struct mcimd_prov_target *target, mcimd_prov_done done,
			   void *user, char *why, size_t why_size);
/*
 * An AK-attested report (docs/package-format.md 4): TPM2_Quote over the
 * key PCRs of profile (0: the TRE's) with qualifyingData = SHA-256(report
 * JSON); *ret the message body.
 */
struct package_report;
int mcimd_report_attested(struct mcimd *d, const struct package_report *rep, int64_t profile,
			  struct json_object **ret, char *why, size_t why_size);
/* The flow under way for `status`: {flow, step, steps}, or NULL: none. */
struct json_object *mcimd_provision_json(struct mcimd *d);
/* At start: [provisioning] auto = yes and no operational profile: the
 * whole provisioning (MCIMD_PROV_AUTO). */
void mcimd_provision_auto(struct mcimd *d);
/*
 * Tamper reports (docs/package-format.md 4): queue keeps the newest event
 * (device blob "tamper-report") until send, called every minute and after
 * an event, has delivered it to {dpf_url}/v1/dpf/tamper, attested by the
 * AK's quote (registered devices only; audit "tamper-report" "sent").
 */
int mcimd_tamper_report_queue(struct mcimd *d, const char *reason);
void mcimd_tamper_report_send(struct mcimd *d);
/* Shutdown: the flow under way ends with -ECANCELED; the HTTP client goes. */
void mcimd_provision_close(struct mcimd *d);

/* ---- files.c: updates of a profile's files (docs/change-format.md 6) ---- */
#define MCIMD_UPDATE_FILES_MAX USIM_REFRESH_MAX_FILES
#define MCIMD_UPDATE_BYTES_MAX (16u << 10) /* all files of one update */
struct mcimd_file_update {
	const char *path;   /* FIDs in hex from the MF: "3F007FFF6F60" (7FFF: ADF.USIM) */
	const uint8_t *data; /* the whole new body (a record EF: every record) */
	size_t len;
};
/* How the served card learnt of an update (mcimd_card_files_changed()). */
enum mcimd_card_news {
	MCIMD_CARD_NONE,    /* the profile's card is not served */
	MCIMD_CARD_REFRESH, /* a REFRESH naming the files is queued */
	MCIMD_CARD_RESET,   /* removed and inserted (no REFRESH in the terminal) */
};
const char *mcimd_card_news_name(enum mcimd_card_news n);
/*
 * New contents for files of profile id: each file on the allow-list of
 * files.c, in the profile, of its exact size; at most
 * MCIMD_UPDATE_FILES_MAX files and MCIMD_UPDATE_BYTES_MAX bytes.  One
 * store transaction holds the contents, the audit record ("files-update")
 * and what also(d, user) writes (may be NULL; a negative errno rolls all
 * back).  Then the card: REFRESH in mode (USIM_REFRESH_FCN or
 * USIM_REFRESH_INIT_FCN) or a reset.  Refusals name the file (why) and
 * change nothing: -EINVAL (path, size, mode, twice), -EPERM (not on the
 * list; after a tamper event), -ENOENT (no such profile or EF), -E2BIG.
 */
int mcimd_profile_update_files(struct mcimd *d, int64_t id, const struct mcimd_file_update *in,
			       size_t n, enum usim_refresh_mode mode,
			       int (*also)(struct mcimd *d, void *user), void *user,
			       enum mcimd_card_news *ret_news, char *why, size_t why_size);
/*
 * slot.c: after the store took new contents of files of profile id, the
 * card that serves it (if any) takes them: with a terminal that supports
 * REFRESH (TERMINAL PROFILE byte 3 b8) a REFRESH in mode naming them, and
 * a reset if no successful TERMINAL RESPONSE comes within
 * MCIMD_REFRESH_TIMEOUT_S; otherwise at once a removal and insertion.
 */
enum mcimd_card_news mcimd_card_files_changed(struct mcimd *d, int64_t id,
					      const struct usim_file_update *u, size_t n,
					      enum usim_refresh_mode mode);
/* ---- switch.c: the change of subscription (docs/change-format.md 5) ---- */
/* At start (after the card): the machine, resumed where it was. */
int mcimd_switch_open(struct mcimd *d);
void mcimd_switch_close(struct mcimd *d);
/* Every tick: owed reports sent again; [provisioning] auto starts a pending order. */
void mcimd_switch_tick(struct mcimd *d);
/* After the provisioning client's flow ended: the switch goes on (deferred). */
void mcimd_switch_kick(struct mcimd *d);
/* switch.start: the pending switch order taken (state ordered). */
int mcimd_switch_start(struct mcimd *d, char *why, size_t why_size);
/* switch.abort: fallback from ordered, validated, installed or trial. */
int mcimd_switch_abort(struct mcimd *d, char *why, size_t why_size);
/* The card of profile accepted an AUTHENTICATE (MAC and SQN verified, RES
 * returned): B's proof while in trial. */
void mcimd_switch_proof(struct mcimd *d, int64_t profile);
/* switch.status: {state, from, to, sho, since, deadline, reason, failure, owed}. */
struct json_object *mcimd_switch_json(struct mcimd *d);

/* Opens or closes the GSMTAP trace for host:port (handlers.c). */
int mcimd_trace_set(struct mcimd *d, bool on, const char *host, uint16_t port,
		    char *why, size_t why_size);

#endif
