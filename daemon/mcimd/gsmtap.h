/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * APDU tracing as GSMTAP (Osmocom's pseudo-header, libosmocore
 * include/osmocom/core/gsmtap.h; IANA UDP port 4729): each command/response
 * pair becomes one UDP datagram, GSMTAP version 2, type SIM (4), sub-type
 * APDU (0), payload = the command as a T=0 TPDU (header, P3, data) followed
 * by the response data and SW1 SW2, which is what Wireshark's gsm_sim
 * dissector decodes:  tshark -d udp.port==4729,gsmtap.
 *
 * What is hidden before a packet leaves (see gsmtap_mask()):
 *  - the data of VERIFY, CHANGE, DISABLE, ENABLE and UNBLOCK PIN
 *    (TS 102 221 11.1.9-11.1.13): every byte replaced by FF;
 *  - with GSMTAP_MASK_KEYS (mcimd always sets it), every value in the
 *    answer of AUTHENTICATE (TS 31.102 7.1.2.1), also when it comes by GET
 *    RESPONSE: RES, CK, IK and Kc of the 3G context ('DB' L V ...), SRES
 *    and Kc of the GSM context (L V L V), the values of the other contexts'
 *    'DB' answers; a sync failure's AUTS stays (it is sent in clear);
 *  - with GSMTAP_MASK_CMD_DATA / GSMTAP_MASK_RSP_DATA (per exchange, from
 *    gsmtap_key_data()): the command data / response data, for the keys
 *    the terminal writes to and reads from EF.Keys, EF.KeysPS, EF.Kc,
 *    EF.KcGPRS and the NAS security context EFs (gsmtap_key_ef()).
 * The lengths and tags stay, so that dissectors still parse the packet.
 *
 * Sending never blocks and never fails the caller's APDU: a full socket
 * buffer or nobody listening (ECONNREFUSED on loopback) only counts a drop.
 */
#ifndef MCIM_MCIMD_GSMTAP_H
#define MCIM_MCIMD_GSMTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/usim/usim.h"

#define GSMTAP_PORT 4729
#define GSMTAP_HDR_LEN 16      /* struct gsmtap_hdr, 4 words */
#define GSMTAP_VERSION 2
#define GSMTAP_TYPE_SIM 4
#define GSMTAP_SIM_APDU 0
#define GSMTAP_SIM_ATR 1
/* Largest datagram we build (payload is cut beyond it). */
#define GSMTAP_PACKET_MAX 4096

#define GSMTAP_MASK_KEYS 0x1u     /* hide the values of AUTHENTICATE answers */
#define GSMTAP_MASK_CMD_DATA 0x2u /* hide this command's data */
#define GSMTAP_MASK_RSP_DATA 0x4u /* hide this response's data */

struct gsmtap;

/*
 * Opens a UDP socket connected to host:port (numeric IPv4 or IPv6).  A
 * non-loopback host is refused with -EPERM unless allow_remote.
 */
int gsmtap_open(const char *host, uint16_t port, bool allow_remote,
		unsigned flags, struct gsmtap **ret);
void gsmtap_close(struct gsmtap *g);

/* Sends one exchange on slot (GSMTAP timeslot field).  0 or -errno for
 * bad arguments; network trouble only counts in gsmtap_drops(). */
int gsmtap_send_apdu(struct gsmtap *g, unsigned slot, const uint8_t *cmd,
		     size_t cmd_len, const uint8_t *rsp, size_t rsp_len);
int gsmtap_send_atr(struct gsmtap *g, unsigned slot, const uint8_t *atr,
		    size_t atr_len);
/* The same with per-exchange flags (GSMTAP_MASK_CMD_DATA, _RSP_DATA). */
int gsmtap_send_apdu_masked(struct gsmtap *g, unsigned slot, const uint8_t *cmd,
			    size_t cmd_len, const uint8_t *rsp, size_t rsp_len,
			    unsigned mask);
uint64_t gsmtap_sent(const struct gsmtap *g);

/*
 * EFs whose contents are keys the terminal stores on the card, by parent
 * (7FFF for the USIM ADF) and FID: EF.Keys 6F08 and EF.KeysPS 6F09 (CK,
 * IK; TS 31.102 4.2.4-5) and EF.EPSNSC 6FE4 (K_ASME, 4.2.92) in the ADF;
 * EF.Kc 4F20 and EF.KcGPRS 4F52 in DF.GSM-ACCESS 5F3B (4.4.3.1-2) and
 * their DF.GSM 7F20 namesakes 6F20, 6F52 (TS 51.011 10.3.2, 10.3.21);
 * EF.5GS3GPPNSC 4F03, EF.5GSN3GPPNSC 4F04 (K_AMF) and EF.5GAUTHKEYS 4F05
 * (K_AUSF, K_SEAF) in DF.5GS 5FC0 (4.4.11).
 */
bool gsmtap_key_ef(uint16_t parent, uint16_t fid);

/*
 * The per-exchange mask flags for one processed command on a profile's file
 * tree (files after the command), with the change records it produced:
 * UPDATE BINARY or RECORD whose change record names a key EF, or that
 * changed nothing (its target is unknown, its data may be a key):
 * GSMTAP_MASK_CMD_DATA; READ BINARY whose answer equals a key EF's bytes at
 * the offset read, READ RECORD whose answer equals one of a key EF's
 * records: GSMTAP_MASK_RSP_DATA.
 */
unsigned gsmtap_key_data(const struct usim_file *files, size_t n_files,
			 const uint8_t *cmd, size_t cmd_len, const uint8_t *rsp,
			 size_t rsp_len, const struct usim_change *ch, size_t n_ch);
uint64_t gsmtap_drops(const struct gsmtap *g);

/*
 * Builds the datagram (header + payload) into out (max bytes) without
 * sending it: the masking and TPDU shaping above.  Returns its length or
 * -EINVAL / -ENOBUFS.
 */
int gsmtap_build(unsigned slot, uint8_t sub_type, const uint8_t *cmd,
		 size_t cmd_len, const uint8_t *rsp, size_t rsp_len,
		 unsigned flags, uint8_t *out, size_t max);

#endif
