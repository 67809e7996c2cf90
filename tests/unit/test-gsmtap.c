// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of daemon/mcimd/gsmtap.c: the GSMTAP v2 header (checked
 * against libosmocore's struct gsmtap_hdr layout), PIN and key masking,
 * case 4 shaping, loopback-only targets, and real datagrams sent to a
 * local UDP socket, written to a pcap file and decoded by tshark
 * (skipped when tshark is not installed).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/mcimd/gsmtap.h"
#include "hex.h"
#include "macro.h"

static size_t hx(const char *h, uint8_t *out, size_t max)
{
	int n = hex_decode(h, out, max);

	assert_true(n >= 0);
	return (size_t)n;
}

static int build(const char *cmd, const char *rsp, unsigned flags, uint8_t *out,
		 size_t max)
{
	uint8_t c[300], r[300];
	size_t cl = hx(cmd, c, sizeof(c)), rl = hx(rsp, r, sizeof(r));

	return gsmtap_build(3, GSMTAP_SIM_APDU, c, cl, r, rl, flags, out, max);
}

static void test_header(void **state)
{
	uint8_t out[64];
	int n = build("00b000000a", "98001010000000000081" "9000", 0, out, sizeof(out));
	(void)state;

	/* struct gsmtap_hdr: version, hdr_len (words), type, timeslot, arfcn(2),
	 * signal_dbm, snr_db, frame_number(4), sub_type, antenna_nr,
	 * sub_slot, res: 16 bytes. */
	assert_int_equal(n, 16 + 5 + 12);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 4);
	assert_int_equal(out[2], 4);
	assert_int_equal(out[3], 3);
	for (int i = 4; i < 12; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(out[12], GSMTAP_SIM_APDU);
	assert_memory_equal(out + 16, "\x00\xb0\x00\x00\x0a\x98", 6);
	assert_memory_equal(out + n - 2, "\x90\x00", 2);
}

static void test_pin_masking(void **state)
{
	static const struct {
		const char *cmd, *want;
	} cases[] = {
		{ "0020000108 31323334ffffffff", "0020000108 ffffffffffffffff" }, /* VERIFY */
		{ "0024000110 31323334ffffffff 35353535ffffffff",
		  "0024000110 ffffffffffffffff ffffffffffffffff" },             /* CHANGE */
		{ "0026000108 31323334ffffffff", "0026000108 ffffffffffffffff" }, /* DISABLE */
		{ "0028000108 31323334ffffffff", "0028000108 ffffffffffffffff" }, /* ENABLE */
		{ "002c000110 3132333435363738 39393939ffffffff",
		  "002c000110 ffffffffffffffff ffffffffffffffff" },             /* UNBLOCK */
		{ "0020000100", "0020000100" },                      /* status query */
		{ "a020000108 31323334ffffffff", "a020000108 ffffffffffffffff" }, /* GSM class */
		{ "00d6000004 31323334", "00d6000004 31323334" },    /* not a PIN */
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t out[128], want[64];
		size_t wl = hx(cases[i].want, want, sizeof(want));
		int n = build(cases[i].cmd, "63c2", 0, out, sizeof(out));

		assert_int_equal(n, (int)(16 + wl + 2));
		assert_memory_equal(out + 16, want, wl);
		assert_memory_equal(out + 16 + wl, "\x63\xc2", 2);
	}
}

static void test_auth_keys(void **state)
{
	static const char cmd[] = "0088008122 10 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
				  " 10 a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 00";
	static const char rsp[] = "db 08 3333333333333333"
				  " 10 44444444444444444444444444444444"
				  " 10 55555555555555555555555555555555 08 6666666666666666 9000";
	uint8_t out[256], r[128];
	size_t rl = hx(rsp, r, sizeof(r));
	int n;
	(void)state;

	/* Case 4 short APDU: Le is dropped (T=0 TPDU shape). */
	n = build(cmd, rsp, GSMTAP_MASK_KEYS, out, sizeof(out));
	assert_int_equal(n, 16 + 5 + 34 + (int)rl);
	assert_int_equal(out[16 + 5 + 34], 0xdb);
	/* RES stays, CK/IK/Kc become FF, the TLV lengths stay. */
	assert_memory_equal(out + 16 + 39 + 2, "\x33\x33\x33\x33\x33\x33\x33\x33", 8);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(out[16 + 39 + 11 + i], 0xff);
		assert_int_equal(out[16 + 39 + 28 + i], 0xff);
	}
	assert_int_equal(out[16 + 39 + 10], 0x10);
	for (int i = 0; i < 8; i++)
		assert_int_equal(out[16 + 39 + 45 + i], 0xff);
	assert_memory_equal(out + n - 2, "\x90\x00", 2);
	/* Without the flag the keys go out as they are. */
	n = build(cmd, rsp, 0, out, sizeof(out));
	assert_int_equal(out[16 + 39 + 11], 0x44);
	/* A malformed DB answer is left alone, not overrun. */
	n = build("00c0000004", "db 30 3333 9000", GSMTAP_MASK_KEYS, out, sizeof(out));
	assert_int_equal(n, 16 + 5 + 6);
	assert_memory_equal(out + 16 + 5, "\xdb\x30\x33\x33\x90\x00", 6);
}

static void test_limits(void **state)
{
	uint8_t cmd[300] = { 0x00, 0xd6, 0, 0, 0xff }, out[64];
	struct gsmtap *g = NULL;
	(void)state;

	assert_int_equal(gsmtap_build(0, 0, cmd, sizeof(cmd), NULL, 0, 0, out, sizeof(out)),
			 (int)sizeof(out));
	assert_int_equal(gsmtap_build(0, 0, cmd, 5, NULL, 0, 0, out, 8), -EINVAL);
	assert_int_equal(gsmtap_open("192.0.2.1", 4729, false, 0, &g), -EPERM);
	assert_int_equal(gsmtap_open("localhost", 4729, false, 0, &g), -EINVAL);
	assert_int_equal(gsmtap_open("::1", 4729, false, 0, &g), 0);
	gsmtap_close(g);
}

/* ---- real datagrams, a pcap file and tshark ---- */

static void pcap_record(FILE *f, const uint8_t *p, size_t n, uint16_t sport)
{
	uint8_t ip[28] = { 0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0,
			   127, 0, 0, 1, 127, 0, 0, 1 };
	uint32_t sum = 0, h[4] = { 1, 0, (uint32_t)(28 + n), (uint32_t)(28 + n) };

	ip[2] = (uint8_t)((28 + n) >> 8);
	ip[3] = (uint8_t)(28 + n);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	ip[20] = (uint8_t)(sport >> 8);
	ip[21] = (uint8_t)sport;
	ip[22] = GSMTAP_PORT >> 8;
	ip[23] = GSMTAP_PORT & 0xff;
	ip[24] = (uint8_t)((8 + n) >> 8);
	ip[25] = (uint8_t)(8 + n);
	assert_int_equal(fwrite(h, 4, 4, f), 4);
	assert_int_equal(fwrite(ip, 1, 28, f), 28);
	assert_int_equal(fwrite(p, 1, n, f), n);
}

static void test_tshark(void **state)
{
	static const struct {
		const char *cmd, *rsp;
	} x[] = {
		{ "00a4000c022fe2", "9000" },
		{ "00b000000a", "98001010000000000081" "9000" },
		{ "0020000108 31323334ffffffff", "9000" },
		{ "0088008122 10 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
		  " 10 a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 00",
		  "db 08 3333333333333333 10 44444444444444444444444444444444"
		  " 10 55555555555555555555555555555555 08 6666666666666666 9000" },
	};
	static const char *const want[] = { "SELECT", "READ BINARY", "VERIFY",
					    "AUTHENTICATE" };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char pcap[] = "/tmp/test-gsmtap.XXXXXX", cmdline[256], line[512];
	struct gsmtap *g = NULL;
	uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 101 /* RAW */ };
	int rx, fd, lines = 0;
	FILE *f, *p;
	(void)state;

	/* A receiver on a free loopback port stands in for Wireshark. */
	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(rx >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(rx, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(rx, (struct sockaddr *)&sa, &sl), 0);
	assert_int_equal(gsmtap_open("127.0.0.1", ntohs(sa.sin_port), false,
				     GSMTAP_MASK_KEYS, &g), 0);
	fd = mkstemp(pcap);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(gh, 4, 6, f), 6);
	for (size_t i = 0; i < ARRAY_SIZE(x); i++) {
		uint8_t c[300], r[300], buf[GSMTAP_PACKET_MAX];
		size_t cl = hx(x[i].cmd, c, sizeof(c)), rl = hx(x[i].rsp, r, sizeof(r));
		ssize_t n;

		assert_int_equal(gsmtap_send_apdu(g, 0, c, cl, r, rl), 0);
		n = recv(rx, buf, sizeof(buf), 0);
		assert_true(n > GSMTAP_HDR_LEN);
		/* No PIN in what went over the socket. */
		assert_null(memmem(buf, (size_t)n, "1234", 4));
		pcap_record(f, buf, (size_t)n, 40000);
	}
	assert_int_equal(gsmtap_sent(g), ARRAY_SIZE(x));
	assert_int_equal(gsmtap_drops(g), 0);
	fclose(f);
	gsmtap_close(g);
	close(rx);

	if (system("command -v tshark >/dev/null 2>&1") != 0) {
		unlink(pcap);
		skip();
	}
	snprintf(cmdline, sizeof(cmdline),
		 "tshark -r %s -d udp.port==4729,gsmtap 2>/dev/null", pcap);
	p = popen(cmdline, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		assert_true((size_t)lines < ARRAY_SIZE(want));
		if (!strstr(line, "GSM SIM") || !strstr(line, want[lines]))
			fail_msg("tshark line %d: %s", lines + 1, line);
		lines++;
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(lines, ARRAY_SIZE(want));
	/* -V: the READ BINARY payload and status word are decoded. */
	snprintf(cmdline, sizeof(cmdline),
		 "tshark -r %s -d udp.port==4729,gsmtap -V 2>/dev/null | "
		 "grep -c -e 'APDU Payload: 98001010000000000081' "
		 "-e 'Status Word: 9000'", pcap);
	p = popen(cmdline, "r");
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	assert_int_equal(atoi(line), 5); /* 1 payload + 4 status words */
	unlink(pcap);
}

/* With nobody listening, each datagram's ICMP port unreachable must not
 * cost the next one: every APDU is handed to the kernel. */
static void test_no_listener(void **state)
{
	static const uint8_t cmd[] = { 0x00, 0xb0, 0x00, 0x00, 0x02 };
	static const uint8_t rsp[] = { 0x12, 0x34, 0x90, 0x00 };
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	struct gsmtap *g = NULL;
	int fd;

	(void)state;
	/* A port that was free a moment ago: bind, note it, close. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);

	assert_int_equal(gsmtap_open("127.0.0.1", ntohs(a.sin_port), false, 0, &g), 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(gsmtap_send_apdu(g, 0, cmd, sizeof(cmd), rsp, sizeof(rsp)), 0);
		usleep(1000); /* let the ICMP error arrive */
	}
	assert_int_equal(gsmtap_sent(g), 20);
	assert_int_equal(gsmtap_drops(g), 0);
	gsmtap_close(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),    cmocka_unit_test(test_pin_masking),
		cmocka_unit_test(test_auth_keys), cmocka_unit_test(test_limits),
		cmocka_unit_test(test_tshark),
		cmocka_unit_test(test_no_listener),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
