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
	/* RES, CK, IK and Kc become FF, the tag and lengths stay. */
	assert_int_equal(out[16 + 39 + 1], 0x08);
	for (int i = 0; i < 8; i++)
		assert_int_equal(out[16 + 39 + 2 + i], 0xff);
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

/* Masked: no byte of the secret value is left in the packet. */
static void assert_absent(const uint8_t *pkt, int n, const char *secret_hex)
{
	uint8_t s[64];
	size_t sl = hx(secret_hex, s, sizeof(s));

	assert_true(n > 0);
	assert_null(memmem(pkt, (size_t)n, s, sl));
}

/* GSM context (TS 31.102 7.1.2.1, P2 '80'): SRES and Kc, also by GET
 * RESPONSE; a sync failure's AUTS stays. */
static void test_auth_gsm_context(void **state)
{
	uint8_t out[256];
	int n;
	(void)state;

	n = build("0088008011 10 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
		  "04 3c3c3c3c 08 6b6b6b6b6b6b6b6b 9000", GSMTAP_MASK_KEYS, out, sizeof(out));
	assert_absent(out, n, "6b6b6b6b6b6b6b6b");
	assert_absent(out, n, "3c3c3c3c");
	assert_memory_equal(out + n - 16, "\x04\xff\xff\xff\xff\x08", 6);
	n = build("00c000000e", "04 3c3c3c3c 08 6b6b6b6b6b6b6b6b 9000", GSMTAP_MASK_KEYS, out,
		  sizeof(out));
	assert_absent(out, n, "6b6b6b6b6b6b6b6b");
	/* Without the flag, as they are (the test finds them). */
	n = build("00c000000e", "04 3c3c3c3c 08 6b6b6b6b6b6b6b6b 9000", 0, out, sizeof(out));
	assert_non_null(memmem(out, (size_t)n, "\x6b\x6b\x6b\x6b\x6b\x6b\x6b\x6b", 8));
	/* 3G sync failure: 'DC' L AUTS stays. */
	n = build("0088008122 10 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a 10 a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
		  "dc 0e 7e7e7e7e7e7e7e7e7e7e7e7e7e7e 9000", GSMTAP_MASK_KEYS, out, sizeof(out));
	assert_non_null(memmem(out, (size_t)n, "\xdc\x0e\x7e\x7e", 4));
}

/* A file tree with the key EFs (and EF.IMSI, and an EF.IMG 4F20 in
 * DF.GRAPHICS, which are not) for gsmtap_key_data(). */
#define N_EF 12
static uint8_t ef_data[N_EF][16];
static const struct {
	uint16_t fid;
	int parent;
	enum usim_file_kind kind;
	bool key;
} tree[N_EF] = {
	{ 0x3f00, -1, USIM_FILE_MF, false },          /* 0 */
	{ 0x7fff, 0, USIM_FILE_ADF, false },          /* 1 ADF.USIM */
	{ 0x5f3b, 1, USIM_FILE_DF, false },           /* 2 DF.GSM-ACCESS */
	{ 0x7f20, 0, USIM_FILE_DF, false },           /* 3 DF.GSM */
	{ 0x5fc0, 1, USIM_FILE_DF, false },           /* 4 DF.5GS */
	{ 0x6f08, 1, USIM_FILE_EF_TRANSPARENT, true }, /* 5 EF.Keys */
	{ 0x6f09, 1, USIM_FILE_EF_TRANSPARENT, true }, /* 6 EF.KeysPS */
	{ 0x4f20, 2, USIM_FILE_EF_TRANSPARENT, true }, /* 7 EF.Kc */
	{ 0x4f52, 2, USIM_FILE_EF_TRANSPARENT, true }, /* 8 EF.KcGPRS */
	{ 0x6f20, 3, USIM_FILE_EF_TRANSPARENT, true }, /* 9 EF.Kc (GSM) */
	{ 0x4f05, 4, USIM_FILE_EF_TRANSPARENT, true }, /* 10 EF.5GAUTHKEYS */
	{ 0x6f07, 1, USIM_FILE_EF_TRANSPARENT, false }, /* 11 EF.IMSI */
};

static void key_files(struct usim_file *f)
{
	for (int i = 0; i < N_EF; i++) {
		memset(ef_data[i], 0xc0 + i, sizeof(ef_data[i]));
		f[i] = (struct usim_file){ .kind = tree[i].kind, .fid = tree[i].fid,
					   .parent = tree[i].parent };
		if (tree[i].kind == USIM_FILE_EF_TRANSPARENT) {
			f[i].size = sizeof(ef_data[i]);
			f[i].data = ef_data[i];
		}
	}
}

/* UPDATE BINARY of EF.Keys, EF.KeysPS, EF.Kc, EF.KcGPRS (both DFs): the data
 * the terminal writes is masked; EF.IMSI's is not; a failed one is. */
static void test_key_ef_update(void **state)
{
	struct usim_file f[N_EF];
	uint8_t out[128], c[64];
	(void)state;

	key_files(f);
	for (uint32_t i = 5; i < N_EF; i++) {
		struct usim_change ch = { .kind = USIM_CHANGE_EF, .index = i, .len = 16 };
		size_t cl = hx("00d6000010 7a7a7a7a7a7a7a7a 7b7b7b7b7b7b7b7b", c, sizeof(c));
		unsigned m = gsmtap_key_data(f, N_EF, c, cl, (const uint8_t *)"\x90\x00", 2, &ch, 1);
		int n = gsmtap_build(0, GSMTAP_SIM_APDU, c, cl, (const uint8_t *)"\x90\x00", 2,
				     GSMTAP_MASK_KEYS | m, out, sizeof(out));

		if (!tree[i].key) {
			assert_int_equal(m, 0);
			assert_non_null(memmem(out, (size_t)n, "\x7a\x7a\x7a\x7a", 4));
		} else {
			assert_int_equal(m, GSMTAP_MASK_CMD_DATA);
			assert_absent(out, n, "7a7a7a7a");
			assert_absent(out, n, "7b7b7b7b");
			assert_memory_equal(out + 16, "\x00\xd6\x00\x00\x10\xff", 6);
		}
	}
	/* Refused (no change record): its target unknown, masked too. */
	assert_int_equal(gsmtap_key_data(f, N_EF, c, 21, (const uint8_t *)"\x69\x82", 2, NULL, 0),
			 GSMTAP_MASK_CMD_DATA);
	/* The same FID elsewhere (EF.IMG 4F20 in DF.GRAPHICS) is no key. */
	assert_false(gsmtap_key_ef(0x5f50, 0x4f20));
	assert_true(gsmtap_key_ef(0x5f3b, 0x4f20));
}

/* READ BINARY answers with a key EF's bytes (by offset or by SFI) are
 * masked; other answers are not. */
static void test_key_ef_read(void **state)
{
	struct usim_file f[N_EF];
	uint8_t out[128], r[32];
	int n;
	(void)state;

	key_files(f);
	ef_data[5][4] = 0x11; /* EF.Keys: c5c5c5c5 11 c5... */
	memcpy(r, ef_data[5] + 4, 8);
	memcpy(r + 8, "\x90\x00", 2);
	assert_int_equal(gsmtap_key_data(f, N_EF, (const uint8_t *)"\x00\xb0\x00\x04\x08", 5,
					 r, 10, NULL, 0), GSMTAP_MASK_RSP_DATA);
	n = gsmtap_build(0, GSMTAP_SIM_APDU, (const uint8_t *)"\x00\xb0\x00\x04\x08", 5, r,
			 10, GSMTAP_MASK_RSP_DATA, out, sizeof(out));
	assert_absent(out, n, "c5c5c5c511c5");
	assert_memory_equal(out + n - 2, "\x90\x00", 2);
	/* By SFI (P1 b8 set, offset in P2). */
	assert_int_equal(gsmtap_key_data(f, N_EF, (const uint8_t *)"\x00\xb0\x88\x04\x08", 5,
					 r, 10, NULL, 0), GSMTAP_MASK_RSP_DATA);
	/* EF.Kc of DF.GSM, whole. */
	memcpy(r, ef_data[9], 16);
	memcpy(r + 16, "\x90\x00", 2);
	assert_int_equal(gsmtap_key_data(f, N_EF, (const uint8_t *)"\x00\xb0\x00\x00\x10", 5,
					 r, 18, NULL, 0), GSMTAP_MASK_RSP_DATA);
	/* EF.IMSI's bytes: not a key. */
	memcpy(r, ef_data[11], 8);
	memcpy(r + 8, "\x90\x00", 2);
	assert_int_equal(gsmtap_key_data(f, N_EF, (const uint8_t *)"\x00\xb0\x00\x00\x08", 5,
					 r, 10, NULL, 0), 0);
}

/* EF.EPSNSC (K_ASME), a record EF: READ RECORD answers and UPDATE RECORD
 * data are masked. */
static void test_key_ef_records(void **state)
{
	uint8_t recs[2][8] = { { 1, 2, 3, 4, 5, 6, 7, 8 }, { 9, 9, 9, 9, 9, 9, 9, 9 } };
	struct usim_file f[3] = {
		{ .kind = USIM_FILE_MF, .fid = 0x3f00, .parent = -1 },
		{ .kind = USIM_FILE_ADF, .fid = 0x7fff, .parent = 0 },
		{ .kind = USIM_FILE_EF_LINEAR, .fid = 0x6fe4, .parent = 1, .rec_len = 8,
		  .rec_count = 2, .size = 16, .data = &recs[0][0] },
	};
	struct usim_change ch = { .kind = USIM_CHANGE_EF, .index = 2, .record = 2 };
	uint8_t r[10];
	(void)state;

	memcpy(r, recs[1], 8);
	memcpy(r + 8, "\x90\x00", 2);
	assert_int_equal(gsmtap_key_data(f, 3, (const uint8_t *)"\x00\xb2\x02\x04\x08", 5,
					 r, 10, NULL, 0), GSMTAP_MASK_RSP_DATA);
	assert_int_equal(gsmtap_key_data(f, 3, (const uint8_t *)"\x00\xdc\x02\x04\x08", 5,
					 (const uint8_t *)"\x90\x00", 2, &ch, 1),
			 GSMTAP_MASK_CMD_DATA);
	r[0] = 0x42; /* not a record of it */
	assert_int_equal(gsmtap_key_data(f, 3, (const uint8_t *)"\x00\xb2\x02\x04\x08", 5,
					 r, 10, NULL, 0), 0);
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
		cmocka_unit_test(test_auth_gsm_context),
		cmocka_unit_test(test_key_ef_update),
		cmocka_unit_test(test_key_ef_read),
		cmocka_unit_test(test_key_ef_records),
		cmocka_unit_test(test_tshark),
		cmocka_unit_test(test_no_listener),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
