/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The USIM card engine: a pure library (no I/O) that implements the card
 * side of ETSI TS 102 221 (UICC) and 3GPP TS 31.102 (USIM).
 *
 * Two halves:
 *
 *  1. The profile model (struct usim_profile): the file tree, PINs, the
 *     authentication algorithm with its parameters and the SQN state.  The
 *     profile loader (profile-json.c), the store and the unit tests build it
 *     with usim_profile_new() / usim_profile_add_file() / usim_profile_add_pin()
 *     and may then read and write the public fields directly (e.g. to restore
 *     EF contents and PIN counters from the store).  Service tables are plain
 *     EF contents (EF.UST 6F38).
 *
 *  2. The engine (struct usim_engine): created over a profile and a key
 *     operations handle; usim_engine_process() takes one command APDU and
 *     produces one response APDU plus a list of change records describing
 *     every persistent change (EF bytes, file life cycle, PIN counters and
 *     state, SQN state) that the command made to the profile.  The caller commits them before
 *     the response leaves.  usim_engine_reset() gives the ATR;
 *     usim_engine_refresh() queues a proactive REFRESH (TS 102 223 6.4.7).
 *
 * Threading: none.  An engine and its profile belong to one thread.
 * Ownership: the engine borrows the profile (it mutates it in place); the
 * profile must outlive the engine.  Change records point into the profile.
 *
 * Error convention: functions return 0 or a negative errno.  Card-level
 * errors are never errnos: usim_engine_process() always answers with a
 * status word (TS 102 221 10.2) and returns 0, unless the caller broke the
 * API contract (NULL pointers, response buffer below USIM_RSP_MIN).
 */
#ifndef MCIM_USIM_H
#define MCIM_USIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/aka/aka.h"

/* ---- Limits (untrusted profiles and APDUs cannot exceed them) ---------- */

#define USIM_MAX_FILES 1024          /* nodes in one profile, MF included */
#define USIM_MAX_DEPTH 6             /* MF / DF / DF / DF / DF / EF */
#define USIM_MAX_EF_SIZE 0xffffu     /* FCP file size is 2 bytes (11.1.1.4.1) */
#define USIM_MAX_PROFILE_DATA (4u << 20) /* sum of all EF sizes */
#define USIM_MAX_REC_LEN 255         /* TS 102 221 11.1.1.4.3 */
#define USIM_MAX_RECORDS 254         /* records 1..254 addressable */
#define USIM_AID_MAX 16              /* TS 101 220 4: RID(5) + PIX(<=11) */
#define USIM_AID_MIN 5               /* partial AID: at least the RID */
#define USIM_MAX_PINS 16
#define USIM_PIN_LEN 8               /* PIN/PUK field, padded with 0xff */
#define USIM_ATR_MAX 33              /* ISO/IEC 7816-3 8.2.1 */
#define USIM_MAX_CHANNELS 20         /* basic channel 0 + 19 logical ones */
#define USIM_MAX_CHANGES 16          /* change records per APDU */
#define USIM_CMD_MAX (7 + 65535 + 3) /* longest extended command APDU */
#define USIM_RSP_MIN 258             /* 256 data bytes + SW1 SW2 */

/* ---- Profile model ------------------------------------------------------ */

enum usim_file_kind {
	USIM_FILE_MF,
	USIM_FILE_DF,
	USIM_FILE_ADF,       /* application DF: has an AID, parent is the MF */
	USIM_FILE_EF_TRANSPARENT,
	USIM_FILE_EF_LINEAR, /* linear fixed */
	USIM_FILE_EF_CYCLIC,
};

/* Life cycle status integer, TS 102 221 11.1.1.4.9 (Table 11.6). */
enum {
	USIM_LCS_CREATION = 0x02,
	USIM_LCS_INITIALISATION = 0x03,
	USIM_LCS_OPERATIONAL_ACTIVATED = 0x05,
	USIM_LCS_OPERATIONAL_DEACTIVATED = 0x04,
	USIM_LCS_TERMINATED = 0x0c,
};

/*
 * Well-known FIDs.  An ADF has no FID of its own on the card: its node
 * records 7FFF (usim_file_spec.fid must be 0 or 7FFF); it is selected by
 * AID, and 7FFF always means "this channel's current ADF".
 */
enum {
	USIM_FID_MF = 0x3f00,
	USIM_FID_ADF_ALIAS = 0x7fff,
	USIM_FID_DIR = 0x2f00,
	USIM_FID_ICCID = 0x2fe2,
	USIM_FID_ARR_MF = 0x2f06,
	USIM_FID_TELECOM = 0x7f10,
	USIM_FID_5GS = 0x5fc0,
};

/*
 * One node of the file tree.  files[0] of a profile is the MF; every other
 * node names its parent by index.  For record EFs, data holds the records in
 * order (record 1 first; for a cyclic EF record 1 is the most recently
 * written one, TS 102 221 8.2.3), size = rec_len * rec_count.
 */
struct usim_file {
	enum usim_file_kind kind;
	uint16_t fid;
	int parent;             /* index of the parent DF; -1 for the MF */
	uint8_t sfi;            /* short file identifier 1..30, 0 = none */
	uint8_t lcs;            /* USIM_LCS_* */
	bool shareable;         /* FCP file descriptor b7 (11.1.1.4.3) */
	uint16_t arr_fid;       /* EF.ARR holding the security attributes, */
	uint8_t arr_record;     /*   and its record; arr_fid 0 = always allowed */
	uint8_t aid[USIM_AID_MAX]; /* ADF only */
	uint8_t aid_len;
	uint16_t rec_len;       /* record EFs */
	uint16_t rec_count;
	uint32_t size;          /* EF body size in bytes */
	uint8_t *data;          /* EF body, size bytes, owned by the profile */
};

/*
 * Key references, TS 102 221 9.5.1 (Table 9.3): application PINs 01..08,
 * universal PIN 11, second-level (local) PINs 81..88, ADM 0A..0E and 8A..8E.
 */
enum {
	USIM_KEYREF_PIN1 = 0x01,
	USIM_KEYREF_UPIN = 0x11,
	USIM_KEYREF_PIN2 = 0x81,
	USIM_KEYREF_ADM1 = 0x0a,
};

/*
 * A PIN and its unblock key.  value/puk are the 8-byte fields of VERIFY PIN
 * and UNBLOCK PIN (digits as ASCII, padded with 0xff; ADM keys may be any
 * 8 bytes).  tries_left 0 = blocked; puk_tries_left 0 = blocked for ever.
 * The persistent part is exactly this struct (a USIM_CHANGE_PIN record says
 * which one changed); verification status lives in the engine and ends at
 * reset.
 */
struct usim_pin {
	uint8_t key_ref;
	bool enabled;           /* verification required (ENABLE/DISABLE PIN) */
	bool use_upin;          /* PIN1 replaced by the universal PIN (9.5.1) */
	bool has_puk;
	bool can_disable;       /* DISABLE PIN allowed (false for ADM, PIN2) */
	uint8_t value[USIM_PIN_LEN];
	uint8_t puk[USIM_PIN_LEN];
	uint8_t max_tries;      /* 1..15 (63CX), usually 3 */
	uint8_t tries_left;
	uint8_t puk_max_tries;  /* 1..15, usually 10 */
	uint8_t puk_tries_left;
};

struct usim_profile {
	struct usim_file *files;   /* files[0] = MF */
	size_t n_files;
	size_t cap_files;
	size_t data_total;         /* sum of EF sizes, <= USIM_MAX_PROFILE_DATA */

	struct usim_pin pins[USIM_MAX_PINS];
	size_t n_pins;

	/* Answer to reset; atr_len 0 = the engine's default T=0 ATR. */
	uint8_t atr[USIM_ATR_MAX];
	size_t atr_len;

	/*
	 * Authentication (daemon/aka/aka.h): algorithm choice and parameters
	 * (MILENAGE OPc and r/c constants, TUAK TOPc, lengths, iterations), the
	 * SQN settings (IND length, delta, L) and the SQN array SEQ_MS(IND).
	 * K itself is not here: the engine reaches it through the struct
	 * aka_key given to usim_engine_new().  usim_profile_new() sets sqn_cfg
	 * to aka_sqn_config_default() and MILENAGE's default r/c constants.
	 */
	struct aka_algo_config aka;
	struct aka_sqn_config sqn_cfg;
	struct aka_sqn_state sqn;
};

/*
 * What usim_profile_add_file() needs to create one node.  data may be
 * shorter than the file (the rest is filled with 0xff) but not longer.
 * size is used for transparent EFs; rec_len and rec_count for record EFs;
 * aid for ADFs.  sfi, arr_* and lcs as in struct usim_file (lcs 0 means
 * USIM_LCS_OPERATIONAL_ACTIVATED).
 */
struct usim_file_spec {
	enum usim_file_kind kind;
	uint16_t fid;
	uint8_t sfi;
	uint8_t lcs;
	bool shareable;
	uint16_t arr_fid;
	uint8_t arr_record;
	const uint8_t *aid;
	size_t aid_len;
	uint32_t size;
	uint16_t rec_len;
	uint16_t rec_count;
	const uint8_t *data;
	size_t data_len;
};

/*
 * Creates an empty profile holding only the MF (index 0, no ARR reference,
 * lcs operational), no PINs, MILENAGE with the default constants and a zero
 * OPc, default SQN settings and an all-zero SQN array.
 */
int usim_profile_new(struct usim_profile **ret);
void usim_profile_free(struct usim_profile *p);

/*
 * Adds a node under the DF or ADF at index parent and returns its index.
 * Checks, with these errors:
 *   -EINVAL   bad kind for the parent (ADF not under the MF, MF twice, child
 *             of an EF), reserved FID (3F00, 3FFF, FFFF; 7FFF except for an
 *             ADF), SFI > 30, record length 0 or > 255, record count 0 or
 *             > 254, data longer than the file, AID length out of 5..16,
 *             tree deeper than USIM_MAX_DEPTH
 *   -EEXIST   FID, SFI or (ADF) AID already used by a sibling
 *   -E2BIG    too many files or too much data (USIM_MAX_*)
 *   -ENOMEM
 */
int usim_profile_add_file(struct usim_profile *p, int parent,
			  const struct usim_file_spec *spec, int *ret_index);

/*
 * Adds a PIN (a copy of *pin).  -EINVAL for a key reference outside Table 9.3
 * or tries_left > max_tries, -EEXIST for a key reference used twice, -E2BIG
 * for more than USIM_MAX_PINS.
 */
int usim_profile_add_pin(struct usim_profile *p, const struct usim_pin *pin);

/* Index of the child of parent with this FID, or -ENOENT. */
int usim_profile_find_child(const struct usim_profile *p, int parent,
			    uint16_t fid);

/* Index of the node at an absolute path of FIDs (3F00 first), or -ENOENT. */
int usim_profile_find_path(const struct usim_profile *p, const uint16_t *path,
			   size_t n);

/*
 * The absolute path of a node as FIDs from 3F00.  An ADF appears as 7FFF,
 * so a file below an ADF is named uniquely by the ADF's AID
 * (usim_profile_adf_of()) together with this path.  Returns the number of
 * FIDs or -ENOBUFS when max is too small.
 */
int usim_profile_path(const struct usim_profile *p, int index, uint16_t *path,
		      size_t max);

/* The path of usim_profile_path() as text for messages, "3F00/7FFF/6F07",
 * cut to fit size (at least 1); returns buf. */
const char *usim_profile_path_text(const struct usim_profile *p, int index,
				   char *buf, size_t size);

/* The ADF a node belongs to (the node itself for an ADF), or -ENOENT for
 * the MF and files outside every application. */
int usim_profile_adf_of(const struct usim_profile *p, int index);

/* The first ADF whose AID begins with aid (full or partial AID), or
 * -ENOENT. */
int usim_profile_find_adf(const struct usim_profile *p, const uint8_t *aid,
			  size_t aid_len);

/* Like usim_profile_find_path(), with 7FFF as the second FID standing for
 * the ADF at index adf (usim_profile_find_path() does not resolve 7FFF). */
int usim_profile_find_app_path(const struct usim_profile *p, int adf,
			       const uint16_t *path, size_t n);

/* Pointer to the PIN with this key reference, or NULL. */
struct usim_pin *usim_profile_pin(struct usim_profile *p, uint8_t key_ref);

/*
 * Whole-profile consistency checks that single additions cannot do: an MF
 * EF.DIR (2F00) whose records name every ADF's AID, ARR references that
 * resolve (TS 102 221 9.2.7 search rule) and PIN key references used in
 * EF.ARR that exist.  Returns 0, or -EINVAL with a one-line reason copied to
 * why (may be NULL).
 */
int usim_profile_validate(const struct usim_profile *p, char *why,
			  size_t why_size);

/* ---- Engine ------------------------------------------------------------- */

struct usim_engine;

/*
 * Creates an engine over profile (borrowed, mutated in place) using key for
 * the subscription key operations (borrowed as well: the E_K cipher and/or
 * the secret access of daemon/aka/aka.h).  The new engine is in the state
 * right after a cold reset.  -EINVAL when the profile's algorithm or SQN
 * settings do not validate.
 */
int usim_engine_new(struct usim_profile *profile, const struct aka_key *key,
		    struct usim_engine **ret);
void usim_engine_free(struct usim_engine *e);

enum usim_reset_kind {
	USIM_RESET_COLD,
	USIM_RESET_WARM,
};

/*
 * Resets the card (TS 102 221 6.2, 6.3): closes logical channels, selects the
 * MF on the basic channel, clears PIN verification status and any pending
 * GET RESPONSE data.  A pending proactive REFRESH (UICC reset mode) counts as
 * done.  A SUSPEND UICC in force survives a cold reset until RESUME or the
 * next command.  Writes the ATR into atr (atr_size >= USIM_ATR_MAX).
 */
int usim_engine_reset(struct usim_engine *e, enum usim_reset_kind kind,
		      uint8_t *atr, size_t atr_size, size_t *ret_atr_len);

enum usim_change_kind {
	/*
	 * EF bytes [offset, offset + len) of files[index] changed; the new bytes
	 * are profile->files[index].data + offset.  record is the record number
	 * (1-based) for record EFs or 0.  A cyclic EF update rewrites the
	 * whole body (offset 0, len size).
	 */
	USIM_CHANGE_EF,
	/* profile->pins[index] changed (counter, enabled, value, use_upin). */
	USIM_CHANGE_PIN,
	/* profile->files[index].lcs changed (DEACTIVATE / ACTIVATE FILE). */
	USIM_CHANGE_FILE_STATE,
	/*
	 * AUTHENTICATE accepted a fresh SQN: profile->sqn.seq_ms[index]
	 * (index = IND) changed.  The engine has already applied it in memory
	 * (aka_sqn_commit); if the daemon cannot persist it, it must not send
	 * the response and should rebuild the engine from its store.
	 */
	USIM_CHANGE_SQN,
	/*
	 * Not persistent, for the daemon's information: the terminal fetched
	 * (record = 0) or answered (record = 1, offset = general result,
	 * TS 102 223 8.12) the proactive command queued by usim_engine_refresh().
	 */
	USIM_CHANGE_PROACTIVE,
};

struct usim_change {
	enum usim_change_kind kind;
	uint32_t index;
	uint32_t offset;
	uint32_t len;
	uint32_t record;
};

/*
 * Processes one command APDU (cmd, cmd_len bytes: a T=0 TPDU or a whole
 * short or extended APDU) and writes the response APDU (data + SW1 SW2) to
 * rsp.  rsp_size >= USIM_RSP_MIN; response data never exceeds rsp_size - 2
 * (give 65538 bytes to serve extended-length reads in full).  T=0 rules:
 * see README.md.  *ret_changes / *ret_n_changes (may be NULL) get the
 * change records of this command; they stay valid until the next call on
 * e.  Returns 0 (malformed APDUs get a status word too), or -EINVAL for
 * NULL pointers or a short rsp buffer.
 */
int usim_engine_process(struct usim_engine *e, const uint8_t *cmd,
			size_t cmd_len, uint8_t *rsp, size_t rsp_size,
			size_t *ret_rsp_len,
			const struct usim_change **ret_changes,
			size_t *ret_n_changes);

/*
 * REFRESH command qualifiers, TS 102 223 8.6.
 */
enum usim_refresh_mode {
	USIM_REFRESH_INIT_FULL_FCN = 0,   /* NAA init + full file change */
	USIM_REFRESH_FCN = 1,             /* file change notification */
	USIM_REFRESH_INIT_FCN = 2,        /* NAA init + file change */
	USIM_REFRESH_INIT = 3,            /* NAA initialization */
	USIM_REFRESH_UICC_RESET = 4,      /* profile switch */
	USIM_REFRESH_APP_RESET = 5,       /* NAA application reset */
	USIM_REFRESH_SESSION_RESET = 6,   /* NAA session reset */
};

/*
 * Queues a proactive REFRESH with this qualifier (profile switch: UICC
 * reset).  Once the terminal has sent TERMINAL PROFILE (it says it is
 * proactive-capable), every status word 9000 becomes 91xx until the
 * terminal FETCHes the command; it stays pending while the terminal sends
 * other commands, and across resets until fetched.
 * Returns -EBUSY while another proactive command is pending, -EINVAL for an
 * unknown mode.  The file-change modes report the whole current ADF.
 */
int usim_engine_refresh(struct usim_engine *e, enum usim_refresh_mode mode);

/* New contents of one EF for usim_engine_update_files(). */
#define USIM_REFRESH_MAX_FILES 16
struct usim_file_update {
	int index;            /* profile->files[] index of an EF */
	const uint8_t *data;  /* the whole body, size bytes (records in order) */
	size_t len;
};

/*
 * An update of the card's files over the air (docs/change-format.md 6):
 * the EFs take the new contents and a REFRESH (mode USIM_REFRESH_FCN or
 * USIM_REFRESH_INIT_FCN) is queued whose file list (TS 102 223 8.18) names
 * exactly these files by their full paths from the MF, with the AID
 * (8.60) of their ADF: 3F00 7FFF 6F60 and the USIM's AID for EF.PLMNwAcT.
 * Pending and answered like usim_engine_refresh().  All checked before
 * anything changes: -EINVAL for another mode, n out of 1..
 * USIM_REFRESH_MAX_FILES, an index that is not an EF, a length that is not
 * the file's size, a file given twice, files of two applications; -EBUSY
 * while a proactive command is pending.  No change records: the caller
 * has stored the contents before.
 */
int usim_engine_update_files(struct usim_engine *e, enum usim_refresh_mode mode,
			     const struct usim_file_update *u, size_t n);

/* True while a proactive command waits for FETCH or TERMINAL RESPONSE. */
bool usim_engine_proactive_pending(const struct usim_engine *e);

/*
 * The TERMINAL PROFILE of this card session (TS 102 223 5.2), or NULL
 * before the terminal sent one.  E.g. byte 3 b8 set: the terminal supports
 * REFRESH; if it does not, a profile switch needs a card removal instead.
 */
const uint8_t *usim_engine_terminal_profile(const struct usim_engine *e,
					    size_t *ret_len);

/*
 * How the terminal hands commands to the card (per slot; see README.md and
 * docs/transport.md):
 *
 *  USIM_TRANSPORT_T0: T=0 TPDUs (TS 102 221 7.3.1, ISO/IEC 7816-3 12.2).
 *    Command data without Le is a case 3 TPDU, which is how T=0 carries
 *    case 4: the response data is announced with '61XX' and fetched with
 *    GET RESPONSE.  A case 2 command whose P3 is not the length the card
 *    has is answered '6CXX' (READ RECORD with another length, READ BINARY
 *    past the end of the file, FETCH).  The engine's default.
 *  USIM_TRANSPORT_APDU: whole APDUs as a modem that is not T=0 hands them
 *    over (ISO/IEC 7816-3 12.1, ISO/IEC 7816-4 5.1; TS 102 221 7.3.2): a
 *    command without Le gets its response data at once as if Le were '00'
 *    (short) or '0000' (extended); a Le that does not fit is answered with
 *    the data, cut to Le or shorter with '6282' (ISO/IEC 7816-4 5.6,
 *    TS 102 221 10.2.1.2), never '6CXX'.
 */
enum usim_transport {
	USIM_TRANSPORT_T0 = 0,
	USIM_TRANSPORT_APDU = 1,
};

/* Sets the transport mode; -EINVAL for an unknown mode.  Takes effect from
 * the next command. */
int usim_engine_set_transport(struct usim_engine *e, enum usim_transport t);

/* "t0" / "apdu" to the mode; -EINVAL for anything else. */
int usim_transport_from_string(const char *s, enum usim_transport *ret);
const char *usim_transport_to_string(enum usim_transport t);

/* The default ATR (T=0, TS 102 221 6.4) used when profile->atr_len is 0. */
extern const uint8_t usim_default_atr[];
extern const size_t usim_default_atr_len;

#endif
