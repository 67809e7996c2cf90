// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * e2e-modem: the modem side of the end-to-end test, the demo and the mcimd
 * benchmark.  It talks to a vusim.ko slot (/dev/vusimN) the way a modem's
 * SIM driver does: one command APDU written, one response read, 61xx
 * answered with GET RESPONSE and 6Cxx with the command again (T=0,
 * TS 102 221 7.3.1.1.4).  Its output is made for scripts: "key=value"
 * lines, one per result.
 *
 *   e2e-modem [-d DEV] startup
 *	the read sequence of a modem starting up (TS 102 221 14.1, TS 31.102
 *	5.1.1): STATUS; SELECT EF.ICCID + READ BINARY; SELECT EF.DIR + READ
 *	RECORD (the USIM's AID); SELECT ADF.USIM by that AID; EF.IMSI, EF.AD
 *	and EF.UST with SELECT + READ BINARY.
 *   e2e-modem [-d DEV] auth RAND AUTN
 *	selects ADF.USIM and sends AUTHENTICATE in 3G context
 *	(TS 31.102 7.1.2.1, P2 '81'); prints result=ok with res, ck, ik, kc,
 *	result=sync-failure with auts, result=mac-failure, or result=sw.
 *   e2e-modem [-d DEV] bench --k K --opc OPC [--sqn N] [--auth N]
 *			[--read N] [--warmup N]
 *	times AUTHENTICATE with fresh vectors (network side: daemon/aka,
 *	SQN increasing by one SEQ step, 32 with 5 IND bits) and SELECT +
 *	READ BINARY of EF.IMSI; prints "bench mcimd.* VALUE us" lines.
 *
 * Exit status: 0 the card answered (whatever the result of an
 * authentication); 1 a call on the device failed ("error=ENAME" line);
 * 2 usage; 3 the card answered an unexpected status word in the read
 * sequence or the benchmark, or a benchmark answer was wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <linux/vusim.h>

#include "daemon/aka/aka.h"
#include "hex.h"
#include "macro.h"
#include "vusim-nl.h"

enum { EXIT_OK, EXIT_ERRNO, EXIT_USAGE, EXIT_CARD };

static bool quiet;	/* bench: no step= lines */

#define RSP_MAX 258		/* short APDUs only: 256 data bytes + SW */
#define AUTH_MAX 100000
#define READ_MAX 100000

struct card {
	int fd;
	uint8_t rsp[RSP_MAX];
	size_t len;		/* data bytes in rsp, without SW */
	unsigned sw;
};

static const char *errno_name(int e)
{
	switch (e) {
	case ENOMEDIUM: return "ENOMEDIUM";
	case ENOTCONN: return "ENOTCONN";
	case ENOLINK: return "ENOLINK";
	case ENODEV: return "ENODEV";
	case ENOENT: return "ENOENT";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EIO: return "EIO";
	case EBUSY: return "EBUSY";
	case EACCES: return "EACCES";
	default: return "EOTHER";
	}
}

static int device_error(const char *what, int e)
{
	printf("error=%s\n", errno_name(e));
	fprintf(stderr, "e2e-modem: %s: %s\n", what, strerror(e));
	return EXIT_ERRNO;
}

/*
 * One command with the T=0 follow-ups (TS 102 221 7.3.1.1.4): 61xx gets a
 * GET RESPONSE, 6Cxx the command again with P3 = xx.  Leaves the final
 * data and SW in c.  Returns 0 or a negative errno of the device.
 */
static int xfer(struct card *c, const uint8_t *apdu, size_t len)
{
	uint8_t cmd[5 + 255];
	uint8_t raw[RSP_MAX];

	if (len > sizeof(cmd))
		return -EMSGSIZE;
	memcpy(cmd, apdu, len);
	for (int round = 0; round < 8; round++) {
		ssize_t n = vusim_modem_transmit(c->fd, cmd, len, raw, sizeof(raw));

		if (n < 0)
			return (int)n;
		if (n < 2)
			return -EBADMSG;
		c->sw = (unsigned)raw[n - 2] << 8 | raw[n - 1];
		c->len = (size_t)n - 2;
		memcpy(c->rsp, raw, c->len);
		if ((c->sw >> 8) == 0x61) {
			const uint8_t gr[5] = { cmd[0] & 0x03, 0xc0, 0, 0, (uint8_t)c->sw };

			memcpy(cmd, gr, sizeof(gr));
			len = sizeof(gr);
		} else if ((c->sw >> 8) == 0x6c && len == 5) {
			cmd[4] = (uint8_t)c->sw;
		} else {
			return 0;
		}
	}
	return -EPROTO;
}

static int xfer_hex(struct card *c, const char *hex)
{
	uint8_t apdu[5 + 255];
	int n = hex_decode(hex, apdu, sizeof(apdu));

	return n < 4 ? -EINVAL : xfer(c, apdu, (size_t)n);
}

static void print_hex(const char *key, const uint8_t *p, size_t n)
{
	char buf[2 * RSP_MAX + 1];

	hex_encode(p, MIN(n, (size_t)RSP_MAX), buf);
	printf("%s=%s\n", key, buf);
}

/* A TLV's value inside an FCP template (TS 102 221 11.1.1.3), or NULL. */
static const uint8_t *fcp_find(const uint8_t *p, size_t n, uint8_t tag,
			       size_t *ret_len)
{
	size_t i = 2;

	if (n < 2 || p[0] != 0x62 || p[1] > n - 2)
		return NULL;
	while (i + 2 <= 2u + p[1]) {
		size_t l = p[i + 1];

		if (i + 2 + l > 2u + p[1])
			return NULL;
		if (p[i] == tag) {
			*ret_len = l;
			return p + i + 2;
		}
		i += 2 + l;
	}
	return NULL;
}

/* BCD digits with swapped nibbles (TS 102 221 13.2, TS 31.102 4.2.2). */
static void bcd_digits(const uint8_t *p, size_t n, bool skip_first, char *out)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t d[2] = { p[i] & 0x0f, p[i] >> 4 };

		for (int k = 0; k < 2; k++) {
			if ((skip_first && i == 0 && k == 0) || d[k] > 9)
				continue;
			out[j++] = (char)('0' + d[k]);
		}
	}
	out[j] = 0;
}

/* A step of the read sequence: SW 9000 expected, else a message. */
static int expect_ok(struct card *c, int r, const char *step)
{
	if (r < 0)
		return device_error(step, -r);
	if (!quiet)
		printf("step=%s sw=%04x\n", step, c->sw);
	if (c->sw != 0x9000) {
		fprintf(stderr, "e2e-modem: %s: SW %04x\n", step, c->sw);
		return EXIT_CARD;
	}
	return EXIT_OK;
}

/* SELECT by FID with FCP (P2 '04') + READ BINARY of the file's size. */
static int read_transparent(struct card *c, const char *fid, const char *step,
			    uint8_t *out, size_t *ret_len)
{
	char apdu[32];
	const uint8_t *v;
	size_t vl, size;
	int r;

	snprintf(apdu, sizeof(apdu), "00a4000402%s", fid);
	r = expect_ok(c, xfer_hex(c, apdu), step);
	if (r)
		return r;
	v = fcp_find(c->rsp, c->len, 0x80, &vl);	/* file size, 11.1.1.4.1 */
	if (!v || vl != 2) {
		fprintf(stderr, "e2e-modem: %s: FCP without file size\n", step);
		return EXIT_CARD;
	}
	size = MIN((size_t)(v[0] << 8 | v[1]), (size_t)255);
	snprintf(apdu, sizeof(apdu), "00b00000%02zx", size);
	r = expect_ok(c, xfer_hex(c, apdu), "READ-BINARY");
	if (r)
		return r;
	memcpy(out, c->rsp, c->len);
	*ret_len = c->len;
	return EXIT_OK;
}

/*
 * The USIM's AID from EF.DIR record 1 (TS 102 221 13.1: '61' template,
 * '4F' AID), then SELECT ADF.USIM by it (TS 102 221 11.1.1, P1 '04').
 */
static int select_usim(struct card *c, bool verbose)
{
	uint8_t aid[16], apdu[5 + 16];
	size_t aid_len = 0, rec_len = 0, vl;
	const uint8_t *v;
	int r;

	/* From the MF: EF.DIR is its child (TS 102 221 8.4.1). */
	r = expect_ok(c, xfer_hex(c, "00a40004023f00"), "SELECT-MF");
	if (r)
		return r;
	r = expect_ok(c, xfer_hex(c, "00a40004022f00"), "SELECT-EF.DIR");
	if (r)
		return r;
	v = fcp_find(c->rsp, c->len, 0x82, &vl);	/* record length, 11.1.1.4.3 */
	if (v && vl >= 4)
		rec_len = (size_t)(v[2] << 8 | v[3]);
	if (!rec_len || rec_len > 255) {
		fprintf(stderr, "e2e-modem: EF.DIR: no record length in its FCP\n");
		return EXIT_CARD;
	}
	apdu[0] = 0x00, apdu[1] = 0xb2, apdu[2] = 1, apdu[3] = 0x04;
	apdu[4] = (uint8_t)rec_len;
	r = expect_ok(c, xfer(c, apdu, 5), "READ-RECORD");
	if (r)
		return r;
	if (c->len >= 4 && c->rsp[0] == 0x61 && c->rsp[2] == 0x4f &&
	    c->rsp[3] <= sizeof(aid) && 4u + c->rsp[3] <= c->len) {
		aid_len = c->rsp[3];
		memcpy(aid, c->rsp + 4, aid_len);
	}
	if (!aid_len) {
		fprintf(stderr, "e2e-modem: EF.DIR record 1 holds no AID\n");
		return EXIT_CARD;
	}
	if (verbose)
		print_hex("aid", aid, aid_len);
	apdu[0] = 0x00, apdu[1] = 0xa4, apdu[2] = 0x04, apdu[3] = 0x04;
	apdu[4] = (uint8_t)aid_len;
	memcpy(apdu + 5, aid, aid_len);
	return expect_ok(c, xfer(c, apdu, 5 + aid_len), "SELECT-ADF.USIM");
}

static int cmd_startup(struct card *c)
{
	uint8_t buf[256];
	char digits[2 * sizeof(buf) + 1];
	size_t n;
	int r;

	/* STATUS, P2 '00': the FCP of the current DF (TS 102 221 11.1.2). */
	r = expect_ok(c, xfer_hex(c, "80f2000000"), "STATUS");
	if (r)
		return r;
	r = read_transparent(c, "2fe2", "SELECT-EF.ICCID", buf, &n);
	if (r)
		return r;
	bcd_digits(buf, n, false, digits);
	printf("iccid=%s\n", digits);
	r = select_usim(c, true);
	if (r)
		return r;
	r = read_transparent(c, "6f07", "SELECT-EF.IMSI", buf, &n);
	if (r)
		return r;
	if (n < 2 || buf[0] > n - 1 || buf[0] > 8) {
		fprintf(stderr, "e2e-modem: EF.IMSI is malformed\n");
		return EXIT_CARD;
	}
	bcd_digits(buf + 1, buf[0], true, digits);	/* TS 31.102 4.2.2 */
	printf("imsi=%s\n", digits);
	r = read_transparent(c, "6fad", "SELECT-EF.AD", buf, &n);
	if (r)
		return r;
	print_hex("ad", buf, n);
	if (n >= 4)				/* TS 31.102 4.2.18 */
		printf("mnc_len=%u\n", buf[3] & 0x0f);
	r = read_transparent(c, "6f38", "SELECT-EF.UST", buf, &n);
	if (r)
		return r;
	print_hex("ust", buf, n);
	return EXIT_OK;
}

static void auth_apdu(const uint8_t rand[16], const uint8_t *autn, size_t autn_len,
		      uint8_t *apdu, size_t *ret_len)
{
	/* TS 31.102 7.1.2: P2 '81' 3G context; data: L RAND L AUTN. */
	apdu[0] = 0x00, apdu[1] = 0x88, apdu[2] = 0x00, apdu[3] = 0x81;
	apdu[4] = (uint8_t)(2 + 16 + autn_len);
	apdu[5] = 16;
	memcpy(apdu + 6, rand, 16);
	apdu[22] = (uint8_t)autn_len;
	memcpy(apdu + 23, autn, autn_len);
	*ret_len = 23 + autn_len;
}

/* Parses a 3G AUTHENTICATE answer (TS 31.102 7.1.2.1); prints it when
 * verbose.  Returns 'o' (ok, out filled), 's' (sync failure), 'm', 'x'. */
struct auth_out {
	uint8_t res[16], ck[16], ik[16], kc[8], auts[14];
	size_t res_len, kc_len;
};

static int auth_parse(const struct card *c, struct auth_out *o, bool verbose)
{
	const uint8_t *p = c->rsp;
	size_t n = c->len, i;

	if (c->sw == 0x9862) {			/* MAC failure, TS 31.102 7.3 */
		if (verbose)
			printf("result=mac-failure\n");
		return 'm';
	}
	if (c->sw == 0x9000 && n == 16 && p[0] == 0xdc && p[1] == 14) {
		memcpy(o->auts, p + 2, 14);
		if (verbose) {
			printf("result=sync-failure\n");
			print_hex("auts", o->auts, 14);
		}
		return 's';
	}
	if (c->sw == 0x9000 && n >= 2 && p[0] == 0xdb) {
		i = 1;
		o->res_len = p[i];
		if (o->res_len < 4 || o->res_len > 16 || i + 1 + o->res_len + 34 > n)
			goto bad;
		memcpy(o->res, p + i + 1, o->res_len);
		i += 1 + o->res_len;
		if (p[i] != 16 || p[i + 17] != 16)
			goto bad;
		memcpy(o->ck, p + i + 1, 16);
		memcpy(o->ik, p + i + 18, 16);
		i += 34;
		o->kc_len = 0;
		if (i + 9 <= n && p[i] == 8) {	/* Kc with service 27 */
			memcpy(o->kc, p + i + 1, 8);
			o->kc_len = 8;
		}
		if (verbose) {
			printf("result=ok\n");
			print_hex("res", o->res, o->res_len);
			print_hex("ck", o->ck, 16);
			print_hex("ik", o->ik, 16);
			if (o->kc_len)
				print_hex("kc", o->kc, 8);
		}
		return 'o';
	}
bad:
	if (verbose)
		printf("result=sw\nsw=%04x\n", c->sw);
	return 'x';
}

static int cmd_auth(struct card *c, const char *rand_hex, const char *autn_hex)
{
	uint8_t rand[16], autn[16], apdu[64];
	struct auth_out o;
	size_t len;
	int r;

	if (hex_decode(rand_hex, rand, sizeof(rand)) != 16 ||
	    hex_decode(autn_hex, autn, sizeof(autn)) != 16) {
		fprintf(stderr, "e2e-modem: auth: RAND and AUTN are 16 bytes of hex\n");
		return EXIT_USAGE;
	}
	r = select_usim(c, false);
	if (r)
		return r;
	auth_apdu(rand, autn, 16, apdu, &len);
	r = xfer(c, apdu, len);
	if (r < 0)
		return device_error("AUTHENTICATE", -r);
	auth_parse(c, &o, true);
	wipe(&o, sizeof(o));
	return EXIT_OK;
}

/* ---- benchmark ---------------------------------------------------- */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	return v[rank ? rank - 1 : 0];
}

static void sqn_bytes(uint64_t sqn, uint8_t out[AKA_SQN_LEN])
{
	for (int i = AKA_SQN_LEN - 1; i >= 0; i--, sqn >>= 8)
		out[i] = (uint8_t)sqn;
}

static uint64_t sqn_value(const uint8_t in[AKA_SQN_LEN])
{
	uint64_t v = 0;

	for (int i = 0; i < AKA_SQN_LEN; i++)
		v = v << 8 | in[i];
	return v;
}

struct bench {
	struct aka_algo_config cfg;
	struct aka_key key;
	uint64_t sqn;
	unsigned resyncs;
};

/* One timed AUTHENTICATE with a fresh vector; *ret_us < 0: not counted
 * (a resynchronisation).  Returns an exit code. */
static int bench_auth_one(struct card *c, struct bench *b, double *ret_us)
{
	struct aka_vector v;
	struct auth_out o;
	uint8_t rand[AKA_RAND_LEN], sqn[AKA_SQN_LEN], apdu[64], sqn_ms[AKA_SQN_LEN];
	static const uint8_t amf[AKA_AMF_LEN] = { 0x80, 0x00 };	/* separation bit */
	size_t len;
	double t0;
	int r, kind;

	*ret_us = -1;
	if (RAND_bytes(rand, sizeof(rand)) != 1)
		return EXIT_ERRNO;
	sqn_bytes(b->sqn, sqn);
	r = aka_network_generate(&b->cfg, &b->key, rand, sqn, amf, &v);
	if (r < 0) {
		fprintf(stderr, "e2e-modem: vector generation: %s\n", strerror(-r));
		return EXIT_ERRNO;
	}
	auth_apdu(rand, v.autn, v.autn_len, apdu, &len);
	t0 = now_us();
	r = xfer(c, apdu, len);
	*ret_us = now_us() - t0;
	if (r < 0)
		return device_error("AUTHENTICATE", -r);
	kind = auth_parse(c, &o, false);
	if (kind == 's' &&
	    aka_network_resync(&b->cfg, &b->key, rand, o.auts, 14, sqn_ms) == 0) {
		/* TS 33.102 6.3.5: continue above the card's SQN_MS */
		b->sqn = (sqn_value(sqn_ms) | 31) + 1;
		b->resyncs++;
		*ret_us = -1;
		return EXIT_OK;
	}
	if (kind != 'o' || o.res_len != v.xres_len ||
	    memcmp(o.res, v.xres, v.xres_len) || memcmp(o.ck, v.ck, 16) ||
	    memcmp(o.ik, v.ik, 16)) {
		fprintf(stderr, "e2e-modem: bench: AUTHENTICATE with SQN %llu: wrong answer (SW %04x)\n",
			(unsigned long long)b->sqn, c->sw);
		return EXIT_CARD;
	}
	wipe(&o, sizeof(o));
	wipe(&v, sizeof(v));
	b->sqn += 32;		/* next SEQ, IND 0 (TS 33.102 C.1.2) */
	return EXIT_OK;
}

static int bench_read_one(struct card *c, double *ret_us)
{
	/* SELECT EF.IMSI without FCP (P2 '0C') + READ BINARY (TS 102 221 11.1.1, 11.1.3) */
	static const uint8_t sel[] = { 0x00, 0xa4, 0x00, 0x0c, 0x02, 0x6f, 0x07 };
	static const uint8_t rd[] = { 0x00, 0xb0, 0x00, 0x00, 0x09 };
	double t0 = now_us();
	int r = xfer(c, sel, sizeof(sel));

	if (r == 0 && c->sw == 0x9000)
		r = xfer(c, rd, sizeof(rd));
	*ret_us = now_us() - t0;
	if (r < 0)
		return device_error("SELECT + READ BINARY", -r);
	if (c->sw != 0x9000 || c->len != 9) {
		fprintf(stderr, "e2e-modem: bench: SELECT + READ BINARY: SW %04x, %zu bytes\n",
			c->sw, c->len);
		return EXIT_CARD;
	}
	return EXIT_OK;
}

/* A whole decimal (or 0x hex) number, or false. */
static bool parse_u64(const char *s, unsigned long long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 0);
	return !errno && end != s && !*end && *s != '-';
}

static int cmd_bench(struct card *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "k", required_argument, NULL, 'k' },
		{ "opc", required_argument, NULL, 'o' },
		{ "sqn", required_argument, NULL, 's' },
		{ "auth", required_argument, NULL, 'a' },
		{ "read", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{}
	};
	uint8_t k[16] = { 0 };
	unsigned long long n_auth = 500, n_read = 1000, warmup = 20, n_sqn = 32;
	_cleanup_free_ double *t = NULL;
	struct bench b = { .sqn = 32 };
	bool have_k = false, have_opc = false, bad = false;
	size_t got;
	int ch, r = EXIT_OK;

	quiet = true;
	b.cfg.algo = AKA_ALGO_MILENAGE;
	aka_milenage_params_default(&b.cfg.milenage);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			have_k = hex_decode(optarg, k, sizeof(k)) == 16;
			break;
		case 'o':
			have_opc = hex_decode(optarg, b.cfg.milenage.opc, 16) == 16;
			break;
		case 's':
			bad |= !parse_u64(optarg, &n_sqn) || n_sqn >> 48;
			b.sqn = n_sqn;
			break;
		case 'a':
			bad |= !parse_u64(optarg, &n_auth);
			break;
		case 'r':
			bad |= !parse_u64(optarg, &n_read);
			break;
		case 'w':
			bad |= !parse_u64(optarg, &warmup);
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (bad || !have_k || !have_opc || n_auth < 1 || n_auth > AUTH_MAX ||
	    n_read < 1 || n_read > READ_MAX || warmup > 1000) {
		fprintf(stderr, "e2e-modem: bench needs --k and --opc (16 bytes hex); "
			"--auth 1..%d, --read 1..%d, --warmup 0..1000, --sqn below 2^48\n",
			AUTH_MAX, READ_MAX);
		return EXIT_USAGE;
	}
	r = aka_soft_cipher_new(k, &b.key.cipher);
	wipe(k, sizeof(k));
	if (r < 0)
		return EXIT_ERRNO;
	t = calloc(MAX(n_auth, n_read), sizeof(*t));
	if (!t) {
		r = EXIT_ERRNO;
		goto out;
	}
	r = select_usim(c, false);
	if (r)
		goto out;

	got = 0;
	for (unsigned long long i = 0; got < n_auth && !r; i++) {
		double us;

		if (i > n_auth + warmup + 16) {	/* resynchronising for ever */
			fprintf(stderr, "e2e-modem: bench: too many resynchronisations\n");
			r = EXIT_CARD;
			break;
		}
		r = bench_auth_one(c, &b, &us);
		if (!r && us >= 0 && i >= warmup)
			t[got++] = us;
	}
	if (r)
		goto out;
	qsort(t, got, sizeof(*t), cmp_double);
	printf("bench mcimd.auth_rtt_p50_us %.0f us\n", pct(t, got, 50));
	printf("bench mcimd.auth_rtt_p99_us %.0f us\n", pct(t, got, 99));
	printf("# AUTHENTICATE + GET RESPONSE: %zu timed (after %llu warm-up), min %.0f, "
	       "p90 %.0f, max %.0f us; %u resynchronisation(s); next SQN %llu\n",
	       got, warmup, t[0], pct(t, got, 90), t[got - 1], b.resyncs,
	       (unsigned long long)b.sqn);

	got = 0;
	for (unsigned long long i = 0; i < n_read + warmup && !r; i++) {
		double us;

		r = bench_read_one(c, &us);
		if (!r && i >= warmup)
			t[got++] = us;
	}
	if (r)
		goto out;
	qsort(t, got, sizeof(*t), cmp_double);
	printf("bench mcimd.read_rtt_p50_us %.0f us\n", pct(t, got, 50));
	printf("# SELECT EF.IMSI + READ BINARY: %zu timed, min %.0f, p99 %.0f, max %.0f us\n",
	       got, t[0], pct(t, got, 99), t[got - 1]);
out:
	aka_soft_cipher_free(&b.key.cipher);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: e2e-modem [-d DEVICE] COMMAND [ARGS...]\n\n"
		"The modem side of mcim's end-to-end test, demo and benchmark.\n\n"
		"Commands:\n"
		"  startup          the start-up read sequence; prints iccid, aid,\n"
		"                   imsi, ad, mnc_len, ust\n"
		"  auth RAND AUTN   AUTHENTICATE (3G context); prints result=ok and\n"
		"                   res, ck, ik, kc, or result=sync-failure and auts,\n"
		"                   or result=mac-failure, or result=sw and sw\n"
		"  bench --k K --opc OPC [--sqn N] [--auth N] [--read N] [--warmup N]\n"
		"                   time AUTHENTICATE (fresh vectors, rising SQN) and\n"
		"                   SELECT + READ BINARY; prints bench lines\n\n"
		"Options:\n"
		"  -d, --device PATH  the slot's device (default /dev/vusim0)\n\n"
		"Exit status: 0 the card answered; 1 a device call failed (error=ENAME);\n"
		"2 usage; 3 unexpected status word or wrong answer.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *dev = "/dev/vusim0";
	_cleanup_free_ struct card *c = calloc(1, sizeof(*c));
	int ch, r;

	if (!c)
		return EXIT_ERRNO;
	while ((ch = getopt_long(argc, argv, "+d:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dev = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	c->fd = open(dev, O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return device_error(dev, errno);
	argc -= optind;
	argv += optind;
	if (!strcmp(argv[0], "startup") && argc == 1)
		r = cmd_startup(c);
	else if (!strcmp(argv[0], "auth") && argc == 3)
		r = cmd_auth(c, argv[1], argv[2]);
	else if (!strcmp(argv[0], "bench"))
		r = cmd_bench(c, argc, argv);
	else {
		usage(stderr);
		r = EXIT_USAGE;
	}
	close(c->fd);
	wipe(c, sizeof(*c));
	return r;
}
