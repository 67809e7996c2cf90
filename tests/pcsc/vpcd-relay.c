// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vpcd-relay: the benchmark's other side of vsmartcard's vpcd (Debian
 * vsmartcard-vpcd, pcscd's reader driver libifdvpcd.so): a minimal "virtual
 * ICC" that serves the same USIM engine as vusim-backend
 * (tools/vusim-backend/usim-card.c) over vpcd's socket protocol.
 *
 *   vpcd-relay --profile PROFILE.json --port PORT
 *
 * Connects to vpcd on 127.0.0.1:PORT (reader.conf DEVICENAME
 * "/dev/null:PORT": vpcd listens; Debian's build cannot be the client side,
 * its select() gets fd -1 and aborts), retrying for up to 10 s while pcscd
 * starts, and serves the connection until vpcd closes it.
 * The protocol (vsmartcard's vpcd.c): every message is a 2-byte big-endian
 * length and that many bytes.  A 1-byte message is a control: 0 power off,
 * 1 power on, 2 reset (no answer), 4 "send the ATR" (answer: the ATR).
 * Anything longer is a command APDU, answered with the response APDU.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "daemon/usim/usim.h"
#include "tools/vusim-backend/card.h"

#define MSG_MAX 0xffff		/* the length field's range */
#define ATR_BUF 33		/* TS + 32 characters, ISO/IEC 7816-3 8.2.1 */

static int read_all(int fd, void *p, size_t n)
{
	static const int one = 1;

	for (size_t got = 0; got < n;) {
		ssize_t r;

		/* vpcd sends the length and the message in two writes, and
		 * Nagle holds the second until the first is acknowledged:
		 * acknowledge at once (TCP_QUICKACK does not stick). */
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		r = read(fd, (uint8_t *)p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		got += (size_t)r;
	}
	return 0;
}

static int send_msg(int fd, const uint8_t *p, size_t n)
{
	uint8_t buf[2 + MSG_MAX];

	buf[0] = (uint8_t)(n >> 8);
	buf[1] = (uint8_t)n;
	memcpy(buf + 2, p, n);
	for (size_t sent = 0; sent < n + 2;) {
		ssize_t r = send(fd, buf + sent, n + 2 - sent, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		sent += (size_t)r;
	}
	return 0;
}

/* Serves one vpcd connection until it closes; 0 or -errno. */
static int serve(int fd, struct card *card, uint8_t *atr, size_t *atr_len)
{
	static uint8_t msg[MSG_MAX], rsp[MSG_MAX];

	for (;;) {
		uint8_t hdr[2];
		size_t n, rsp_len, changes;
		int r = read_all(fd, hdr, 2);

		if (r < 0)
			return r == -ECONNRESET ? 0 : r;
		n = (size_t)hdr[0] << 8 | hdr[1];
		r = read_all(fd, msg, n);
		if (r < 0)
			return r;
		if (n == 1) {
			switch (msg[0]) {
			case 0:
				card->ops->power_off(card);
				break;
			case 1:
			case 2:
				r = card->ops->reset(card, msg[0] == 2, atr, ATR_BUF, atr_len);
				break;
			case 4:
				r = send_msg(fd, atr, *atr_len);
				break;
			default:
				fprintf(stderr, "vpcd-relay: unknown control %u\n", msg[0]);
				return -EPROTO;
			}
			if (r < 0)
				return r;
			continue;
		}
		if (n < 4)
			return -EPROTO;
		r = card->ops->apdu(card, msg, n, rsp, sizeof(rsp), &rsp_len, &changes);
		if (r < 0)
			return r;
		wipe(msg, n);
		r = send_msg(fd, rsp, rsp_len);
		if (r < 0)
			return r;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "port", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *profile = NULL;
	unsigned long port = 0;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct card *card = NULL;
	uint8_t atr[ATR_BUF];
	size_t atr_len;
	char why[256];
	int one = 1, ch, r;
	_cleanup_close_ int fd = -1;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			profile = optarg;
			break;
		case 'P':
			port = strtoul(optarg, NULL, 10);
			break;
		case 'h':
			printf("Usage: vpcd-relay --profile PROFILE.json --port PORT\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!profile || port < 1 || port > 65535) {
		fprintf(stderr, "vpcd-relay: needs --profile FILE and --port 1..65535\n");
		return 2;
	}
	/* the transport mcimd serves /dev/vusimN with by default (docs/transport.md) */
	r = usim_card_new(profile, USIM_TRANSPORT_APDU, &card, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "vpcd-relay: %s: %s\n", profile, why);
		return 3;
	}
	r = card->ops->reset(card, false, atr, sizeof(atr), &atr_len);
	if (r < 0)
		goto out;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int tries = 0;; tries++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			r = -errno;
			goto out;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		r = -errno;
		close(fd);
		fd = -1;
		if (tries >= 100)
			goto out;
		usleep(100 * 1000);
	}
	printf("vpcd-relay: connected to vpcd on 127.0.0.1:%lu\n", port);
	fflush(stdout);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r = serve(fd, card, atr, &atr_len);
out:
	if (r < 0)
		fprintf(stderr, "vpcd-relay: %s\n", strerror(-r));
	card_free(card);
	return r < 0 ? 1 : 0;
}
