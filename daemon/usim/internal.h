/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the files of daemon/usim/; not part of the public API. */
#ifndef MCIM_USIM_INTERNAL_H
#define MCIM_USIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/usim/usim.h"

/* Status words, TS 102 221 10.2.1 and TS 31.102 7.3. */
enum {
	SW_OK = 0x9000,
	SW_PROACTIVE = 0x9100,           /* '91XX' */
	SW_MORE_DATA = 0x6100,           /* '61XX' */
	SW_WRONG_LE = 0x6c00,            /* '6CXX' */
	SW_EOF_REACHED = 0x6282,
	SW_FILE_INVALIDATED = 0x6283,
	SW_RETRIES = 0x63c0,             /* '63CX' */
	SW_MEMORY_PROBLEM = 0x6581,
	SW_WRONG_LENGTH = 0x6700,
	SW_CHANNEL_NOT_SUPPORTED = 0x6881,
	SW_SM_NOT_SUPPORTED = 0x6882,
	SW_CHAINING_NOT_SUPPORTED = 0x6884,
	SW_INCOMPATIBLE_FILE = 0x6981,
	SW_SECURITY_NOT_SATISFIED = 0x6982,
	SW_AUTH_BLOCKED = 0x6983,
	SW_REF_DATA_INVALIDATED = 0x6984,
	SW_CONDITIONS_NOT_SATISFIED = 0x6985,
	SW_NO_EF_SELECTED = 0x6986,
	SW_WRONG_DATA = 0x6a80,
	SW_FUNC_NOT_SUPPORTED = 0x6a81,
	SW_FILE_NOT_FOUND = 0x6a82,
	SW_RECORD_NOT_FOUND = 0x6a83,
	SW_INCORRECT_P1P2 = 0x6a86,
	SW_LC_INCONSISTENT = 0x6a87,
	SW_REF_DATA_NOT_FOUND = 0x6a88,
	SW_WRONG_P1P2 = 0x6b00,          /* also: offset outside the EF */
	SW_INS_NOT_SUPPORTED = 0x6d00,
	SW_CLA_NOT_SUPPORTED = 0x6e00,
	SW_TECHNICAL_PROBLEM = 0x6f00,
	SW_MAX_VALUE_REACHED = 0x9850,
	SW_AUTH_MAC_FAILURE = 0x9862,
	SW_AUTH_CONTEXT_NOT_SUPPORTED = 0x9864,
};

/* One parsed command APDU (ISO/IEC 7816-3 12.1, TS 102 221 10.1). */
struct apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t lc;
	size_t ne;         /* Le as a byte count (00 = 256 / 0000 = 65536) */
	bool has_le;       /* an Le field was sent (case 2 or 4) */
	bool le_wildcard;  /* Le was 00 / 0000: "as much as available" */
	bool extended;
	bool proprietary;  /* CLA b8 = 1: '8X', 'CX', 'EX' */
	unsigned channel;
};

/* Whether a case 2 length mismatch is answered '6CXX' (a short Le on the
 * T=0 transport) rather than with the data (engine.c). */
bool apdu_wants_6c(const struct usim_engine *e, const struct apdu *a);

/* Parses cmd.  Returns 0 or a status word for a malformed APDU. */
uint16_t apdu_parse(const uint8_t *cmd, size_t len, struct apdu *ret);
/* Decodes the class byte (TS 102 221 10.1.1). Returns 0 or a status word. */
uint16_t apdu_decode_cla(uint8_t cla, unsigned *ret_channel,
			 bool *ret_proprietary);

struct usim_channel {
	bool open;
	int app;     /* current ADF (application), -1 none */
	int df;      /* current DF (MF, DF or ADF) */
	int ef;      /* current EF, -1 none */
	unsigned rec; /* current record number, 0 undefined */
};

#define USIM_GETRESP_MAX 1024   /* data kept for GET RESPONSE */
#define USIM_OUT_MAX (65536 + 16)
/* A proactive command's whole BER-TLV: its length goes in '91XX'. */
#define USIM_PROACTIVE_MAX 255
#define USIM_TP_MAX 255
#define USIM_TOKEN_LEN 8

struct usim_runtime {
	struct usim_channel ch[USIM_MAX_CHANNELS];
	bool verified[USIM_MAX_PINS];
};

struct usim_engine {
	struct usim_profile *p;
	const struct aka_key *key;
	struct usim_runtime rt;
	enum usim_transport transport;

	/* Response data of the last command waiting for GET RESPONSE. */
	uint8_t gr[USIM_GETRESP_MAX];
	size_t gr_len, gr_off;
	uint16_t gr_sw;        /* final status word after the data */
	unsigned gr_channel;
	bool gr_valid;

	/* Handler output. */
	uint8_t *out;
	size_t out_len;
	size_t out_max;        /* what the handler may produce */

	/* CAT, TS 102 223. */
	uint8_t tp[USIM_TP_MAX];
	size_t tp_len;
	bool tp_seen;
	struct {
		bool queued;
		bool fetched;
		uint8_t mode;
		uint8_t details; /* offset of the command details' value */
		uint8_t cmd[USIM_PROACTIVE_MAX];
		size_t len;
	} pro;

	/* SUSPEND UICC, TS 102 221 11.1.22. */
	struct {
		bool held;           /* a suspended state is stored */
		bool resume_allowed; /* only as the first command after reset */
		uint8_t token[USIM_TOKEN_LEN];
		struct usim_runtime rt;
		uint8_t tp[USIM_TP_MAX];
		size_t tp_len;
		bool tp_seen;
	} susp;

	struct usim_change changes[USIM_MAX_CHANGES];
	size_t n_changes;
};

/* Change records (engine.c). */
void note_ef(struct usim_engine *e, int file, unsigned record, uint32_t off,
	     uint32_t len);
void note_pin(struct usim_engine *e, int pin);
void note_file_state(struct usim_engine *e, int file);
void note_sqn(struct usim_engine *e, unsigned ind);
void note_proactive(struct usim_engine *e, unsigned what, unsigned result);

/* File system (fs.c). */
static inline bool fs_is_df(const struct usim_file *f)
{
	return f->kind == USIM_FILE_MF || f->kind == USIM_FILE_DF ||
	       f->kind == USIM_FILE_ADF;
}
static inline bool fs_is_record(const struct usim_file *f)
{
	return f->kind == USIM_FILE_EF_LINEAR || f->kind == USIM_FILE_EF_CYCLIC;
}
int fs_child(const struct usim_profile *p, int parent, uint16_t fid);
int fs_child_sfi(const struct usim_profile *p, int df, uint8_t sfi);
int fs_app_child(const struct usim_profile *p, int app, uint16_t fid);
/* EF.ARR record of a node (TS 102 221 9.2.7); NULL if none. */
const uint8_t *fs_arr_record(const struct usim_profile *p, int idx,
			     size_t *ret_len);
/* FCP template of a node (TS 102 221 11.1.1.3). Returns its length. */
size_t fs_fcp(const struct usim_profile *p, int idx, uint8_t *out,
	      size_t max);
/* Whether service n of EF.UST (6F38) of app is available. */
bool fs_service(const struct usim_profile *p, int app, unsigned n);

/* PINs and access conditions (pin.c). */
int pin_index(const struct usim_profile *p, uint8_t key_ref);
bool pin_satisfied(const struct usim_engine *e, uint8_t key_ref);
/* Access for access mode bit am (ISO/IEC 7816-4 Table 17) or command ins. */
uint16_t access_check(const struct usim_engine *e, int idx, uint8_t am,
		      uint8_t ins);
/* First key reference in an EF.ARR record without a PIN, or -1. */
int arr_unknown_key_ref(const struct usim_profile *p, const uint8_t *rec,
			size_t len);
#define AM_READ 0x01
#define AM_UPDATE 0x02
#define AM_DEACTIVATE 0x08
#define AM_ACTIVATE 0x10

/* Command handlers: return the status word, data in e->out. */
typedef uint16_t (*usim_handler)(struct usim_engine *e, const struct apdu *a,
				 struct usim_channel *ch);
uint16_t cmd_select(struct usim_engine *e, const struct apdu *a,
		    struct usim_channel *ch);
uint16_t cmd_status(struct usim_engine *e, const struct apdu *a,
		    struct usim_channel *ch);
uint16_t cmd_read_binary(struct usim_engine *e, const struct apdu *a,
			 struct usim_channel *ch);
uint16_t cmd_update_binary(struct usim_engine *e, const struct apdu *a,
			   struct usim_channel *ch);
uint16_t cmd_read_record(struct usim_engine *e, const struct apdu *a,
			 struct usim_channel *ch);
uint16_t cmd_update_record(struct usim_engine *e, const struct apdu *a,
			   struct usim_channel *ch);
uint16_t cmd_search_record(struct usim_engine *e, const struct apdu *a,
			   struct usim_channel *ch);
uint16_t cmd_increase(struct usim_engine *e, const struct apdu *a,
		      struct usim_channel *ch);
uint16_t cmd_activate_file(struct usim_engine *e, const struct apdu *a,
			   struct usim_channel *ch);
uint16_t cmd_verify_pin(struct usim_engine *e, const struct apdu *a,
			struct usim_channel *ch);
uint16_t cmd_change_pin(struct usim_engine *e, const struct apdu *a,
			struct usim_channel *ch);
uint16_t cmd_disable_pin(struct usim_engine *e, const struct apdu *a,
			 struct usim_channel *ch);
uint16_t cmd_enable_pin(struct usim_engine *e, const struct apdu *a,
			struct usim_channel *ch);
uint16_t cmd_unblock_pin(struct usim_engine *e, const struct apdu *a,
			 struct usim_channel *ch);
uint16_t cmd_manage_channel(struct usim_engine *e, const struct apdu *a,
			    struct usim_channel *ch);
uint16_t cmd_suspend(struct usim_engine *e, const struct apdu *a,
		     struct usim_channel *ch);
uint16_t cmd_terminal_profile(struct usim_engine *e, const struct apdu *a,
			      struct usim_channel *ch);
uint16_t cmd_terminal_capability(struct usim_engine *e, const struct apdu *a,
				 struct usim_channel *ch);
uint16_t cmd_envelope(struct usim_engine *e, const struct apdu *a,
		      struct usim_channel *ch);
uint16_t cmd_fetch(struct usim_engine *e, const struct apdu *a,
		   struct usim_channel *ch);
uint16_t cmd_terminal_response(struct usim_engine *e, const struct apdu *a,
			       struct usim_channel *ch);
uint16_t cmd_authenticate(struct usim_engine *e, const struct apdu *a,
			  struct usim_channel *ch);
uint16_t cmd_get_identity(struct usim_engine *e, const struct apdu *a,
			  struct usim_channel *ch);

/* Channel state (channel.c). */
void channel_reset(struct usim_channel *ch);
void runtime_reset(struct usim_runtime *rt);

#endif
