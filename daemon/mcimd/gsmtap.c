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

/*
 * Hides CK, IK and Kc in an AUTHENTICATE 3G-context success response,
 * TS 31.102 7.1.2.1: 'DB' L(RES) RES L(CK) CK L(IK) IK [L(Kc) Kc].
 */
static void mask_auth_keys(uint8_t *d, size_t len)
{
	size_t i = 1;

	if (len < 2 || d[0] != 0xdb)
		return;
	if (i >= len || d[i] > len - i - 1)
		return;
	i += 1 + d[i]; /* RES stays */
	for (int k = 0; k < 3 && i < len; k++) {
		size_t l = d[i];

		if (l > len - i - 1)
			return;
		memset(d + i + 1, 0xff, l);
		i += 1 + l;
	}
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
	if (sub_type == GSMTAP_SIM_APDU && pin_ins(ins) && n > data_at)
		memset(out + data_at, 0xff, n - data_at);
	if (rsp_len > max - n)
		rsp_len = max - n;
	if (rsp_len)
		memcpy(out + n, rsp, rsp_len);
	/* AUTHENTICATE (INS 88), TS 31.102 7.1.2: the response data. */
	if ((flags & GSMTAP_MASK_KEYS) && ins == 0x88 && rsp_len > 2)
		mask_auth_keys(out + n, rsp_len - 2);
	/* GET RESPONSE (INS C0) may carry an AUTHENTICATE answer too (T=0). */
	if ((flags & GSMTAP_MASK_KEYS) && ins == 0xc0 && rsp_len > 2)
		mask_auth_keys(out + n, rsp_len - 2);
	n += rsp_len;
	return (int)n;
}

static int send_packet(struct gsmtap *g, unsigned slot, uint8_t sub,
		       const uint8_t *cmd, size_t cmd_len, const uint8_t *rsp,
		       size_t rsp_len)
{
	uint8_t pkt[GSMTAP_PACKET_MAX];
	int n;

	if (!g)
		return -EINVAL;
	n = gsmtap_build(slot, sub, cmd, cmd_len, rsp, rsp_len, g->flags, pkt,
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

int gsmtap_send_apdu(struct gsmtap *g, unsigned slot, const uint8_t *cmd,
		     size_t cmd_len, const uint8_t *rsp, size_t rsp_len)
{
	if (cmd_len < 4)
		return -EINVAL;
	return send_packet(g, slot, GSMTAP_SIM_APDU, cmd, cmd_len, rsp, rsp_len);
}

int gsmtap_send_atr(struct gsmtap *g, unsigned slot, const uint8_t *atr,
		    size_t atr_len)
{
	return send_packet(g, slot, GSMTAP_SIM_ATR, atr, atr_len, NULL, 0);
}
