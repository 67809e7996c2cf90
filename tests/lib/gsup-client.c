/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gsup-client: the network side of a test asks an HLR (osmo-hlr) for
 * authentication vectors over GSUP, as an MSC or SGSN would, and prints
 * them as JSON (or, with --text, one line per vector).
 *
 *   gsup-client [--addr A] [--port P] [--name N] [--timeout S] [--text]
 *               sai IMSI [--num N] [--auts HEX --rand HEX]
 *
 * GSUP (Osmocom's GPRS Subscriber Update Protocol, the MAP operations of
 * 3GPP TS 29.002 as TLVs) travels over IPA: each frame is a u16 big-endian
 * length, a protocol byte, then the payload.  Protocol 0xFE (CCM) carries the
 * identity exchange and PING/PONG; 0xEE (OSMO) with extension byte 0x05
 * carries GSUP.  The GSUP codec is libosmogsm's (osmo_gsup_encode/decode);
 * the framing is done here, every read and write bounded by one deadline
 * (--timeout) through poll().
 *
 * SendAuthInfo with --auts/--rand is the resynchronisation of TS 33.102
 * 6.3.5: the HLR checks AUTS against RAND and K, takes SQN_MS from it and
 * answers fresh vectors above it.
 *
 * Exit: 0 vectors printed; 1 bad arguments; 2 the HLR answered an error
 * (its GMM cause is printed); 3 no answer (connection, timeout, framing).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <osmocom/core/msgb.h>
#include <osmocom/gsm/gsm23003.h>
#include <osmocom/gsm/gsup.h>
#include <osmocom/gsm/ipa.h>
#include <osmocom/gsm/protocol/ipaccess.h>

#include "hex.h"
/* libosmocore's utils.h has its own ARRAY_SIZE; take ours. */
#undef ARRAY_SIZE
#include "macro.h"

#define EXIT_USAGE 1
#define EXIT_GSUP_ERROR 2
#define EXIT_NO_ANSWER 3

/* Frames we read before giving up on an answer (PINGs, ID_ACKs, ...). */
#define MAX_FRAMES 64

struct opts {
	const char *addr;
	int port;
	const char *name;
	int timeout_s;
	const char *imsi;
	int num;
	uint8_t auts[14];
	uint8_t rand[16];
	bool resync;
	bool text;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes (-ETIMEDOUT). */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)MIN(left, 1000));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			return 0;
	}
}

static int read_full(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r;
		int ret = wait_fd(fd, POLLIN, deadline);

		if (ret < 0)
			return ret;
		r = read(fd, buf + got, len - got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ECONNRESET;
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r;
		int ret = wait_fd(fd, POLLOUT, deadline);

		if (ret < 0)
			return ret;
		r = send(fd, buf + done, len - done, MSG_NOSIGNAL);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -errno;
		done += (size_t)r;
	}
	return 0;
}

/*
 * One IPA frame: the u16 length bounds the payload (buf holds 65535 bytes).
 * Returns the payload length and the protocol in ret_proto.
 */
static int read_frame(int fd, uint8_t *buf, uint8_t *ret_proto, int64_t deadline)
{
	uint8_t h[3];
	size_t len;
	int ret;

	ret = read_full(fd, h, sizeof(h), deadline);
	if (ret < 0)
		return ret;
	len = (size_t)h[0] << 8 | h[1];
	ret = read_full(fd, buf, len, deadline);
	if (ret < 0)
		return ret;
	*ret_proto = h[2];
	return (int)len;
}

static int send_frame(int fd, uint8_t proto, const uint8_t *p, size_t len, int64_t deadline)
{
	uint8_t f[3 + 256];

	if (len > sizeof(f) - 3)
		return -EMSGSIZE;
	f[0] = (uint8_t)(len >> 8);
	f[1] = (uint8_t)len;
	f[2] = proto;
	memcpy(f + 3, p, len);
	return write_full(fd, f, 3 + len, deadline);
}

/*
 * CCM ID_RESP to an ID_GET (pairs of 0x01, tag): every tag asked is
 * answered as (u16 length, tag, NUL-terminated string).  osmo-hlr names a
 * client by its serial number tag (and keeps an IND slot per name), so the
 * serial number and the unit name carry our name; the rest are empty.
 */
static int send_id_resp(int fd, const uint8_t *get, size_t len, const char *name, int64_t deadline)
{
	uint8_t r[256];
	size_t n = 0, nl = strlen(name);

	r[n++] = IPAC_MSGT_ID_RESP;
	for (size_t i = 1; i + 1 < len; i += 2) {
		uint8_t tag = get[i + 1];
		bool named = tag == IPAC_IDTAG_SERNR || tag == IPAC_IDTAG_UNITNAME;
		size_t vl = named ? nl : 0;

		if (get[i] != 0x01)
			continue;
		if (n + 4 + vl > sizeof(r))
			return -EMSGSIZE;
		r[n++] = (uint8_t)((vl + 2) >> 8);
		r[n++] = (uint8_t)(vl + 2);
		r[n++] = tag;
		memcpy(r + n, name, vl);
		n += vl;
		r[n++] = 0;
	}
	return send_frame(fd, IPAC_PROTO_IPACCESS, r, n, deadline);
}

static int send_sai(int fd, const struct opts *o, int64_t deadline)
{
	struct osmo_gsup_message m = {
		.message_type = OSMO_GSUP_MSGT_SEND_AUTH_INFO_REQUEST,
		.num_auth_vectors = (size_t)o->num,
	};
	struct msgb *msg;
	int ret;

	strncpy(m.imsi, o->imsi, sizeof(m.imsi) - 1);
	if (o->resync) {
		m.auts = o->auts;
		m.rand = o->rand;
	}
	msg = msgb_alloc_headroom(512, 8, "gsup-client");
	if (!msg)
		return -ENOMEM;
	ret = osmo_gsup_encode(msg, &m);
	if (ret == 0) {
		ipa_prepend_header_ext(msg, IPAC_PROTO_EXT_GSUP);
		/* send_frame adds the IPA header itself. */
		ret = send_frame(fd, IPAC_PROTO_OSMO, msgb_data(msg), msgb_length(msg), deadline);
	} else {
		ret = -EINVAL;
	}
	msgb_free(msg);
	return ret;
}

/* The members of a vector, in the order both outputs print them. */
struct member {
	const char *name;
	const uint8_t *p;
	size_t len;
};

static void vector_members(const struct osmo_auth_vector *v, struct member ret_m[static 7])
{
	const struct member m[7] = {
		{ "rand", v->rand, sizeof(v->rand) },
		{ "autn", v->autn, sizeof(v->autn) },
		{ "xres", v->res, MIN(v->res_len, sizeof(v->res)) },
		{ "ck", v->ck, sizeof(v->ck) },
		{ "ik", v->ik, sizeof(v->ik) },
		{ "kc", v->kc, sizeof(v->kc) },
		{ "sres", v->sres, sizeof(v->sres) },
	};

	memcpy(ret_m, m, sizeof(m));
}

/*
 * JSON: {"imsi": ..., "vectors": [{"rand": hex, ...}]}; --text: one line
 * per vector, the members' hex separated by spaces.
 */
static void print_vectors(const struct osmo_gsup_message *m, bool text)
{
	if (!text)
		printf("{\"imsi\": \"%s\", \"vectors\": [", m->imsi);
	for (size_t i = 0; i < m->num_auth_vectors; i++) {
		struct member f[7];

		vector_members(&m->auth_vectors[i], f);
		if (!text)
			printf("%s{", i ? ", " : "");
		for (size_t j = 0; j < ARRAY_SIZE(f); j++) {
			char h[2 * 16 + 1];

			hex_encode(f[j].p, f[j].len, h);
			if (text)
				printf("%s%s", j ? " " : "", h);
			else
				printf("%s\"%s\": \"%s\"", j ? ", " : "", f[j].name, h);
		}
		printf(text ? "\n" : "}");
	}
	if (!text)
		printf("]}\n");
}

static int connect_to(const struct opts *o, int64_t deadline)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
	int fd, ret, err = 0;
	socklen_t el = sizeof(err);

	if (inet_pton(AF_INET, o->addr, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		ret = -errno;
		goto err_close;
	}
	ret = wait_fd(fd, POLLOUT, deadline);
	if (ret < 0)
		goto err_close;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
		ret = err ? -err : -errno;
		goto err_close;
	}
	return fd;
err_close:
	close(fd);
	return ret;
}

/* Runs the exchange; returns an exit status. */
static int run_sai(const struct opts *o)
{
	int64_t deadline = now_ms() + (int64_t)o->timeout_s * 1000;
	_cleanup_free_ uint8_t *buf = malloc(65536);
	_cleanup_close_ int fd = -1;
	bool sent = false;
	int ret;

	if (!buf)
		return EXIT_NO_ANSWER;
	fd = connect_to(o, deadline);
	if (fd < 0) {
		fprintf(stderr, "gsup-client: cannot connect to %s:%d: %s\n", o->addr, o->port, strerror(-fd));
		return EXIT_NO_ANSWER;
	}
	for (int i = 0; i < MAX_FRAMES; i++) {
		struct osmo_gsup_message m;
		uint8_t proto;
		int len = read_frame(fd, buf, &proto, deadline);

		if (len < 0) {
			fprintf(stderr, "gsup-client: no answer from %s:%d: %s\n", o->addr, o->port,
				len == -ETIMEDOUT ? "timed out" : strerror(-len));
			return EXIT_NO_ANSWER;
		}
		if (proto == IPAC_PROTO_IPACCESS && len >= 1) {
			ret = 0;
			if (buf[0] == IPAC_MSGT_PING)
				ret = send_frame(fd, IPAC_PROTO_IPACCESS, (const uint8_t[]){ IPAC_MSGT_PONG }, 1,
						 deadline);
			else if (buf[0] == IPAC_MSGT_ID_GET) {
				/* osmo-hlr sends no ID_ACK: the request follows at once. */
				ret = send_id_resp(fd, buf, (size_t)len, o->name, deadline);
				if (ret == 0 && !sent) {
					ret = send_sai(fd, o, deadline);
					sent = true;
				}
			}
			if (ret < 0) {
				fprintf(stderr, "gsup-client: send: %s\n", strerror(-ret));
				return EXIT_NO_ANSWER;
			}
			continue;
		}
		if (proto != IPAC_PROTO_OSMO || len < 1 || buf[0] != IPAC_PROTO_EXT_GSUP)
			continue;
		memset(&m, 0, sizeof(m));
		ret = osmo_gsup_decode(buf + 1, (size_t)len - 1, &m);
		if (ret < 0) {
			fprintf(stderr, "gsup-client: undecodable GSUP message (%d)\n", ret);
			return EXIT_NO_ANSWER;
		}
		if (strcmp(m.imsi, o->imsi) != 0)
			continue;
		if (m.message_type == OSMO_GSUP_MSGT_SEND_AUTH_INFO_ERROR) {
			fprintf(stderr, "gsup-client: SendAuthInfo error for %s: cause %d (%s)\n", m.imsi,
				m.cause, get_value_string(gsm48_gmm_cause_names, m.cause));
			return EXIT_GSUP_ERROR;
		}
		if (m.message_type == OSMO_GSUP_MSGT_SEND_AUTH_INFO_RESULT) {
			if (m.num_auth_vectors == 0) {
				fprintf(stderr, "gsup-client: SendAuthInfo result without vectors\n");
				return EXIT_NO_ANSWER;
			}
			print_vectors(&m, o->text);
			return fflush(stdout) == 0 ? 0 : EXIT_NO_ANSWER;
		}
	}
	fprintf(stderr, "gsup-client: no SendAuthInfo answer in %d frames\n", MAX_FRAMES);
	return EXIT_NO_ANSWER;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gsup-client [--addr A] [--port P] [--name N] [--timeout S] [--text]\n"
		"                   sai IMSI [--num N] [--auts HEX --rand HEX]\n"
		"Asks an HLR for authentication vectors over GSUP (SendAuthInfo) and prints\n"
		"them as JSON: {\"imsi\", \"vectors\": [{rand, autn, xres, ck, ik, kc, sres}]}.\n"
		"  --addr A     HLR address (default 127.0.0.1)\n"
		"  --port P     GSUP port (default 4222)\n"
		"  --name N     our IPA name; osmo-hlr keeps one SQN IND slot per name\n"
		"               (default mcim-test)\n"
		"  --timeout S  give up after S seconds (default 5)\n"
		"  --text       one line per vector instead: RAND AUTN XRES CK IK Kc SRES\n"
		"  --num N      vectors to ask for, 1-%d (default 1)\n"
		"  --auts HEX   resynchronisation: the USIM's AUTS (14 bytes) and\n"
		"  --rand HEX   the RAND it answered (16 bytes)\n"
		"Exit: 0 vectors printed, 1 bad arguments, 2 the HLR answered an error,\n"
		"3 no answer (connection refused, timeout, bad framing).\n",
		OSMO_GSUP_MAX_NUM_AUTH_INFO);
}

static int parse_int(const char *s, int lo, int hi, int *ret_v)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*ret_v = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_ADDR = 256, O_PORT, O_NAME, O_TIMEOUT, O_NUM, O_AUTS, O_RAND, O_TEXT };
	static const struct option lo[] = {
		{ "addr", required_argument, NULL, O_ADDR },
		{ "port", required_argument, NULL, O_PORT },
		{ "name", required_argument, NULL, O_NAME },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "num", required_argument, NULL, O_NUM },
		{ "auts", required_argument, NULL, O_AUTS },
		{ "rand", required_argument, NULL, O_RAND },
		{ "text", no_argument, NULL, O_TEXT },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct opts o = { .addr = "127.0.0.1", .port = 4222, .name = "mcim-test", .timeout_s = 5, .num = 1 };
	bool have_auts = false, have_rand = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_ADDR: {
			struct in_addr a;

			if (inet_pton(AF_INET, optarg, &a) != 1) {
				fprintf(stderr, "gsup-client: --addr: '%s' is not an IPv4 address\n", optarg);
				return EXIT_USAGE;
			}
			o.addr = optarg;
			break;
		}
		case O_PORT:
			if (parse_int(optarg, 1, 65535, &o.port) < 0)
				goto bad_int;
			break;
		case O_NAME:
			if (!*optarg || strlen(optarg) > 64) {
				fprintf(stderr, "gsup-client: --name must be 1-64 characters\n");
				return EXIT_USAGE;
			}
			o.name = optarg;
			break;
		case O_TIMEOUT:
			if (parse_int(optarg, 1, 3600, &o.timeout_s) < 0)
				goto bad_int;
			break;
		case O_NUM:
			if (parse_int(optarg, 1, OSMO_GSUP_MAX_NUM_AUTH_INFO, &o.num) < 0)
				goto bad_int;
			break;
		case O_AUTS:
			if (hex_decode(optarg, o.auts, sizeof(o.auts)) != sizeof(o.auts)) {
				fprintf(stderr, "gsup-client: --auts must be 14 bytes of hex\n");
				return EXIT_USAGE;
			}
			have_auts = true;
			break;
		case O_RAND:
			if (hex_decode(optarg, o.rand, sizeof(o.rand)) != sizeof(o.rand)) {
				fprintf(stderr, "gsup-client: --rand must be 16 bytes of hex\n");
				return EXIT_USAGE;
			}
			have_rand = true;
			break;
		case O_TEXT:
			o.text = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "sai") != 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	o.imsi = argv[optind + 1];
	if (!osmo_imsi_str_valid(o.imsi)) {
		fprintf(stderr, "gsup-client: '%s' is not an IMSI (5-15 digits)\n", o.imsi);
		return EXIT_USAGE;
	}
	if (have_auts != have_rand) {
		fprintf(stderr, "gsup-client: --auts and --rand go together\n");
		return EXIT_USAGE;
	}
	o.resync = have_auts;
	return run_sai(&o);
bad_int:
	fprintf(stderr, "gsup-client: bad number '%s' for --%s\n", optarg, lo[c - O_ADDR].name);
	return EXIT_USAGE;
}
