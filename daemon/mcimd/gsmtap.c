// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * GSMTAP v2 encoder and UDP sender for APDU traces; gsmtap.h says what a
 * packet holds and what is masked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/mcimd/gsmtap.h"
#include "macro.h"

struct gsmtap {
	int fd;
	unsigned flags;
	uint64_t sent, drops;
};

static bool loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int gsmtap_open(const char *host, uint16_t port, bool allow_remote,
		unsigned flags, struct gsmtap **ret)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	struct gsmtap *g;

	if (!host || !ret || !port)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		sl = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		sl = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	if (!allow_remote && !loopback(&ss))
		return -EPERM;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->flags = flags;
	g->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (g->fd < 0 || connect(g->fd, (struct sockaddr *)&ss, sl) < 0) {
		int r = -errno;

		if (g->fd >= 0)
			close(g->fd);
		free(g);
		return r;
	}
	*ret = g;
	return 0;
}

void gsmtap_close(struct gsmtap *g)
{
	if (!g)
		return;
	close(g->fd);
	free(g);
}

uint64_t gsmtap_sent(const struct gsmtap *g)
{
	return g ? g->sent : 0;
}

uint64_t gsmtap_drops(const struct gsmtap *g)
{
	return g ? g->drops : 0;
}

/* INS codes whose command data is a PIN or PUK, TS 102 221 10.1.2. */
static bool pin_ins(uint8_t ins)
{
	switch (ins) {
	case 0x20: /* VERIFY PIN, 11.1.9 */
	case 0x24: /* CHANGE PIN, 11.1.10 */
	case 0x26: /* DISABLE PIN, 11.1.11 */
	case 0x28: /* ENABLE PIN, 11.1.12 */
	case 0x2c: /* UNBLOCK PIN, 11.1.13 */
		return true;
	}
	return false;
}

/* Masks the values of a run of L V fields from d[i]; stops at a bad one. */
static void mask_lvs(uint8_t *d, size_t len, size_t i)
{
	while (i < len) {
		size_t l = d[i];

		if (l > len - i - 1)
			return;
		memset(d + i + 1, 0xff, l);
		i += 1 + l;
	}
}

/*
 * Hides the values of an AUTHENTICATE answer, TS 31.102 7.1.2.1: 3G and the
 * other contexts' success 'DB' L(RES) RES L(CK) CK L(IK) IK [L(Kc) Kc];
 * GSM context L(SRES)=4 SRES L(Kc)=8 Kc (gsm: from INS 88 with P2 b3..b1
 * 000; by GET RESPONSE only this exact shape).  'DC' AUTS stays.
 */
static void mask_auth_keys(uint8_t *d, size_t len, bool gsm)
{
	if (len >= 2 && d[0] == 0xdb)
		mask_lvs(d, len, 1);
	else if (len == 14 && d[0] == 4 && d[5] == 8)
		mask_lvs(d, len, 0);
	else if (gsm && len >= 2 && d[0] != 0xdc)
		mask_lvs(d, len, 0);
}

bool gsmtap_key_ef(uint16_t parent, uint16_t fid)
{
	switch (parent) {
	case 0x7fff: /* ADF.USIM, TS 31.102 4.2 */
		return fid == 0x6f08 || /* EF.Keys: CK, IK (CS) */
		       fid == 0x6f09 || /* EF.KeysPS: CK, IK (PS) */
		       fid == 0x6fe4;   /* EF.EPSNSC: K_ASME, 4.2.92 */
	case 0x5f3b: /* DF.GSM-ACCESS, 4.4.3 */
		return fid == 0x4f20 || fid == 0x4f52; /* EF.Kc, EF.KcGPRS */
	case 0x7f20: /* DF.GSM, TS 51.011 10.3 */
		return fid == 0x6f20 || fid == 0x6f52; /* EF.Kc, EF.KcGPRS */
	case 0x5fc0: /* DF.5GS, 4.4.11 */
		return fid == 0x4f03 || /* EF.5GS3GPPNSC: K_AMF */
		       fid == 0x4f04 || /* EF.5GSN3GPPNSC: K_AMF */
		       fid == 0x4f05;   /* EF.5GAUTHKEYS: K_AUSF, K_SEAF */
	}
	return false;
}

static bool key_file(const struct usim_file *files, size_t n, size_t i)
{
	uint16_t parent;

	if (i >= n || files[i].parent < 0 || (size_t)files[i].parent >= n)
		return false;
	parent = files[files[i].parent].kind == USIM_FILE_ADF ? 0x7fff
							       : files[files[i].parent].fid;
	return gsmtap_key_ef(parent, files[i].fid);
}

/* Is d (len bytes) what a key EF holds at off (binary) or in a record? */
static bool key_bytes(const struct usim_file *files, size_t n, bool record, size_t off,
		      const uint8_t *d, size_t len)
{
	for (size_t k = 0; k < n; k++) {
		const struct usim_file *f = &files[k];

		if (!f->data || !key_file(files, n, k))
			continue;
		if (!record && off + len <= f->size && !memcmp(f->data + off, d, len))
			return true;
		for (size_t r = 0; record && f->rec_len == len && r < f->rec_count; r++)
			if (!memcmp(f->data + r * f->rec_len, d, len))
				return true;
	}
	return false;
}

unsigned gsmtap_key_data(const struct usim_file *files, size_t n_files,
			 const uint8_t *cmd, size_t cmd_len, const uint8_t *rsp,
			 size_t rsp_len, const struct usim_change *ch, size_t n_ch)
{
	unsigned m = 0;
	bool changed = false;
	size_t off;

	if (!cmd || cmd_len < 4)
		return 0;
	/* UPDATE BINARY / RECORD, TS 102 221 11.1.4, 11.1.6 */
	if (cmd[1] == 0xd6 || cmd[1] == 0xdc) {
		for (size_t i = 0; i < n_ch; i++) {
			if (ch[i].kind != USIM_CHANGE_EF)
				continue;
			changed = true;
			if (key_file(files, n_files, ch[i].index))
				m |= GSMTAP_MASK_CMD_DATA;
		}
		if (!changed)
			m |= GSMTAP_MASK_CMD_DATA;
	}
	/* READ BINARY / RECORD, 11.1.3, 11.1.5; P1 b8 of READ BINARY: SFI
	 * in P1, offset in P2. */
	if ((cmd[1] == 0xb0 || cmd[1] == 0xb2) && rsp && rsp_len > 2) {
		off = cmd[2] & 0x80 ? cmd[3] : (size_t)cmd[2] << 8 | cmd[3];
		if (key_bytes(files, n_files, cmd[1] == 0xb2, off, rsp, rsp_len - 2))
			m |= GSMTAP_MASK_RSP_DATA;
	}
	return m;
}

int gsmtap_build(unsigned slot, uint8_t sub_type, const uint8_t *cmd,
		 size_t cmd_len, const uint8_t *rsp, size_t rsp_len,
		 unsigned flags, uint8_t *out, size_t max)
{
	size_t n = GSMTAP_HDR_LEN, data_at, keep;
	uint8_t ins = 0;

	if ((!cmd && cmd_len) || (!rsp && rsp_len) || !out || max < GSMTAP_HDR_LEN)
		return -EINVAL;
	memset(out, 0, GSMTAP_HDR_LEN);
	out[0] = GSMTAP_VERSION;
	out[1] = GSMTAP_HDR_LEN / 4;
	out[2] = GSMTAP_TYPE_SIM;
	out[3] = (uint8_t)slot;  /* timeslot: our slot number */
	out[12] = sub_type;
	keep = cmd_len;
	if (sub_type == GSMTAP_SIM_APDU && cmd_len >= 5) {
		ins = cmd[1];
		/*
		 * A whole case 4 short APDU (TS 102 221 10.1: header, Lc, data,
		 * Le) goes out as its T=0 TPDU without Le, as on the wire
		 * (TS 102 221 7.3.1.1.4), so dissectors read the response
		 * after the data.
		 */
		if (cmd[4] && cmd_len == 5u + cmd[4] + 1)
			keep = cmd_len - 1;
	}
	if (keep > max - n)
		keep = max - n;
	memcpy(out + n, cmd, keep);
	data_at = n + 5;
	n += keep;
	if (sub_type == GSMTAP_SIM_APDU && (pin_ins(ins) || (flags & GSMTAP_MASK_CMD_DATA)) &&
	    n > data_at)
		memset(out + data_at, 0xff, n - data_at);
	if (rsp_len > max - n)
		rsp_len = max - n;
	if (rsp_len)
		memcpy(out + n, rsp, rsp_len);
	/* AUTHENTICATE (INS 88), TS 31.102 7.1.2: the response data; GET
	 * RESPONSE (INS C0) may carry an AUTHENTICATE answer too (T=0). */
	if ((flags & GSMTAP_MASK_KEYS) && (ins == 0x88 || ins == 0xc0) && rsp_len > 2)
		mask_auth_keys(out + n, rsp_len - 2, ins == 0x88 && (cmd[3] & 7) == 0);
	if (sub_type == GSMTAP_SIM_APDU && (flags & GSMTAP_MASK_RSP_DATA) && rsp_len > 2)
		memset(out + n, 0xff, rsp_len - 2);
	n += rsp_len;
	return (int)n;
}

static int send_packet(struct gsmtap *g, unsigned slot, uint8_t sub,
		       const uint8_t *cmd, size_t cmd_len, const uint8_t *rsp,
		       size_t rsp_len, unsigned mask)
{
	uint8_t pkt[GSMTAP_PACKET_MAX];
	int n;

	if (!g)
		return -EINVAL;
	n = gsmtap_build(slot, sub, cmd, cmd_len, rsp, rsp_len, g->flags | mask, pkt,
			 sizeof(pkt));
	if (n < 0)
		return n;
	/*
	 * With nobody listening, the ICMP port unreachable of one datagram
	 * makes the next send() on this connected socket fail once with
	 * ECONNREFUSED (the error is consumed): send that datagram again.
	 */
	if (send(g->fd, pkt, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n ||
	    (errno == ECONNREFUSED &&
	     send(g->fd, pkt, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n))
		g->sent++;
	else
		g->drops++;
	explicit_bzero(pkt, sizeof(pkt));
	return 0;
}

int gsmtap_send_apdu_masked(struct gsmtap *g, unsigned slot, const uint8_t *cmd,
			    size_t cmd_len, const uint8_t *rsp, size_t rsp_len,
			    unsigned mask)
{
	if (cmd_len < 4)
		return -EINVAL;
	return send_packet(g, slot, GSMTAP_SIM_APDU, cmd, cmd_len, rsp, rsp_len,
			   mask & (GSMTAP_MASK_CMD_DATA | GSMTAP_MASK_RSP_DATA));
}

int gsmtap_send_apdu(struct gsmtap *g, unsigned slot, const uint8_t *cmd,
		     size_t cmd_len, const uint8_t *rsp, size_t rsp_len)
{
	return gsmtap_send_apdu_masked(g, slot, cmd, cmd_len, rsp, rsp_len, 0);
}

int gsmtap_send_atr(struct gsmtap *g, unsigned slot, const uint8_t *atr,
		    size_t atr_len)
{
	return send_packet(g, slot, GSMTAP_SIM_ATR, atr, atr_len, NULL, 0, 0);
}
