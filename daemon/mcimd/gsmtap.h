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
 *  - with GSMTAP_MASK_KEYS (the default of gsmtap_open()), CK, IK and Kc in
 *    the response of AUTHENTICATE (TS 31.102 7.1.2.1): replaced by FF.
 *
 * Sending never blocks and never fails the caller's APDU: a full socket
 * buffer or nobody listening (ECONNREFUSED on loopback) only counts a drop.
 */
#ifndef MCIM_MCIMD_GSMTAP_H
#define MCIM_MCIMD_GSMTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GSMTAP_PORT 4729
#define GSMTAP_HDR_LEN 16      /* struct gsmtap_hdr, 4 words */
#define GSMTAP_VERSION 2
#define GSMTAP_TYPE_SIM 4
#define GSMTAP_SIM_APDU 0
#define GSMTAP_SIM_ATR 1
/* Largest datagram we build (payload is cut beyond it). */
#define GSMTAP_PACKET_MAX 4096

#define GSMTAP_MASK_KEYS 0x1u  /* also hide CK/IK/Kc of AUTHENTICATE */

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
uint64_t gsmtap_sent(const struct gsmtap *g);
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
