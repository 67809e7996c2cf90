// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pcsc-bench: round trips through pcscd (libpcsclite's SCardTransmit) to
 * two readers in the same run, taking turns in blocks of BLOCK: ours
 * (ifd-vusim -> /dev/vusimN -> vusim.ko -> netlink -> vusim-backend) and
 * vsmartcard's vpcd (libifdvpcd -> TCP on loopback -> vpcd-relay), both
 * serving the same USIM engine on the same profile (tests/pcsc/README.md).
 *
 *   pcsc-bench --k K --opc OPC [--iterations N] NAME=READER NAME=READER
 *
 * Per reader: SELECT EF.IMSI (P2 '0C', no FCP) + READ BINARY, and
 * AUTHENTICATE (3G context, fresh MILENAGE vectors with rising SQN from
 * daemon/aka) + GET RESPONSE, each timed from the first SCardTransmit to
 * the last answer.  Prints `bench pcsc.NAME.* VALUE us` lines (p50, p99).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <PCSC/winscard.h>

#include "daemon/aka/aka.h"
#include "hex.h"
#include "macro.h"

#define BLOCK 50
#define ITER_MAX 100000

struct reader {
	const char *name;	/* the bench line's name */
	const char *reader;	/* pcscd's reader name (prefix) */
	SCARDHANDLE card;
	DWORD proto;
	uint64_t sqn;
	double *read_us, *auth_us;
	size_t n_read, n_auth;
};

static struct aka_algo_config cfg;
static struct aka_key key;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	return v[rank ? rank - 1 : 0];
}

/* One APDU; returns SW1SW2 or -1, the response in rsp. */
static int xfer(struct reader *r, const uint8_t *cmd, size_t len, uint8_t *rsp, DWORD *rsp_len)
{
	const SCARD_IO_REQUEST *pci = r->proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
	LONG rv;

	*rsp_len = 258;
	rv = SCardTransmit(r->card, pci, cmd, (DWORD)len, NULL, rsp, rsp_len);
	if (rv != SCARD_S_SUCCESS || *rsp_len < 2) {
		fprintf(stderr, "pcsc-bench: %s: SCardTransmit: %s\n", r->name, pcsc_stringify_error(rv));
		return -1;
	}
	return rsp[*rsp_len - 2] << 8 | rsp[*rsp_len - 1];
}

/* T=0: 61xx means GET RESPONSE (TS 102 221 7.3.1.1.4). */
static int xfer_get(struct reader *r, const uint8_t *cmd, size_t len, uint8_t *rsp, DWORD *rsp_len)
{
	int sw = xfer(r, cmd, len, rsp, rsp_len);

	if (sw >= 0 && (sw >> 8) == 0x61) {
		uint8_t get[] = { 0x00, 0xc0, 0x00, 0x00, (uint8_t)sw };

		sw = xfer(r, get, sizeof(get), rsp, rsp_len);
	}
	return sw;
}

static int select_usim(struct reader *r)
{
	static const uint8_t sel[] = { 0x00, 0xa4, 0x04, 0x04, 0x10, 0xa0, 0x00, 0x00, 0x00,
				       0x87, 0x10, 0x02, 0xff, 0xff, 0xff, 0xff, 0x89,
				       0x00, 0x00, 0x01, 0x00 };
	uint8_t rsp[258];
	DWORD n;

	return xfer_get(r, sel, sizeof(sel), rsp, &n) == 0x9000 ? 0 : -1;
}

static int read_one(struct reader *r, double *ret_us)
{
	/* SELECT EF.IMSI without FCP + READ BINARY (TS 102 221 11.1.1, 11.1.3) */
	static const uint8_t sel[] = { 0x00, 0xa4, 0x00, 0x0c, 0x02, 0x6f, 0x07 };
	static const uint8_t rd[] = { 0x00, 0xb0, 0x00, 0x00, 0x09 };
	uint8_t rsp[258];
	DWORD n;
	double t0 = now_us();
	int sw = xfer(r, sel, sizeof(sel), rsp, &n);

	if (sw == 0x9000)
		sw = xfer(r, rd, sizeof(rd), rsp, &n);
	*ret_us = now_us() - t0;
	if (sw != 0x9000 || n != 11) {
		fprintf(stderr, "pcsc-bench: %s: SELECT + READ BINARY: SW %04x\n", r->name, sw);
		return -1;
	}
	return 0;
}

static int auth_one(struct reader *r, double *ret_us)
{
	static const uint8_t amf[AKA_AMF_LEN] = { 0x80, 0x00 };
	uint8_t rand[AKA_RAND_LEN], sqn[AKA_SQN_LEN], apdu[64], rsp[258];
	struct aka_vector v;
	uint64_t s = r->sqn;
	size_t len = 0;
	DWORD n;
	double t0;
	int sw;

	if (RAND_bytes(rand, sizeof(rand)) != 1)
		return -1;
	for (int i = AKA_SQN_LEN - 1; i >= 0; i--, s >>= 8)
		sqn[i] = (uint8_t)s;
	if (aka_network_generate(&cfg, &key, rand, sqn, amf, &v) < 0)
		return -1;
	/* AUTHENTICATE, 3G context (TS 31.102 7.1.2): LV RAND, LV AUTN */
	memcpy(apdu, "\x00\x88\x00\x81", 4);
	apdu[4] = (uint8_t)(2 + AKA_RAND_LEN + v.autn_len);
	len = 5;
	apdu[len++] = AKA_RAND_LEN;
	memcpy(apdu + len, rand, AKA_RAND_LEN);
	len += AKA_RAND_LEN;
	apdu[len++] = (uint8_t)v.autn_len;
	memcpy(apdu + len, v.autn, v.autn_len);
	len += v.autn_len;
	t0 = now_us();
	sw = xfer_get(r, apdu, len, rsp, &n);
	*ret_us = now_us() - t0;
	/* 'DB' L RES ...: RES must be the vector's XRES */
	if (sw != 0x9000 || n < 3 || rsp[0] != 0xdb || rsp[1] != v.xres_len ||
	    memcmp(rsp + 2, v.xres, v.xres_len)) {
		fprintf(stderr, "pcsc-bench: %s: AUTHENTICATE SQN %llu: SW %04x, wrong answer\n",
			r->name, (unsigned long long)r->sqn, sw);
		return -1;
	}
	wipe(&v, sizeof(v));
	r->sqn += 32;		/* next SEQ, IND 0 (TS 33.102 C.1.2) */
	return 0;
}

static int open_reader(SCARDCONTEXT ctx, const char *list, struct reader *r)
{
	for (const char *p = list; *p; p += strlen(p) + 1) {
		if (strncmp(p, r->reader, strlen(r->reader)))
			continue;
		LONG rv = SCardConnect(ctx, p, SCARD_SHARE_SHARED,
				       SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &r->card, &r->proto);
		if (rv != SCARD_S_SUCCESS) {
			fprintf(stderr, "pcsc-bench: %s: SCardConnect: %s\n", p,
				pcsc_stringify_error(rv));
			return -1;
		}
		return select_usim(r);
	}
	fprintf(stderr, "pcsc-bench: no reader named %s...\n", r->reader);
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "k", required_argument, NULL, 'k' },
		{ "opc", required_argument, NULL, 'o' },
		{ "iterations", required_argument, NULL, 'n' },
		{}
	};
	struct reader rd[2] = { { 0 } };
	uint8_t k[16];
	bool have_k = false, have_opc = false;
	unsigned long n_iter = 1000;
	SCARDCONTEXT ctx;
	_cleanup_free_ char *list = NULL;
	DWORD list_len = SCARD_AUTOALLOCATE;
	int ch;

	cfg.algo = AKA_ALGO_MILENAGE;
	aka_milenage_params_default(&cfg.milenage);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			have_k = hex_decode(optarg, k, sizeof(k)) == 16;
			break;
		case 'o':
			have_opc = hex_decode(optarg, cfg.milenage.opc, 16) == 16;
			break;
		case 'n':
			n_iter = strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (!have_k || !have_opc || n_iter < BLOCK || n_iter > ITER_MAX || argc - optind != 2) {
		fprintf(stderr, "Usage: pcsc-bench --k K --opc OPC [--iterations %d..%d] "
			"NAME=READER NAME=READER\n", BLOCK, ITER_MAX);
		return 2;
	}
	if (aka_soft_cipher_new(k, &key.cipher) < 0)
		return 1;
	wipe(k, sizeof(k));
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS ||
	    SCardListReaders(ctx, NULL, (LPSTR)&list, &list_len) != SCARD_S_SUCCESS) {
		fprintf(stderr, "pcsc-bench: pcscd does not answer\n");
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		char *eq = strchr(argv[optind + i], '=');

		if (!eq)
			return 2;
		*eq = 0;
		rd[i].name = argv[optind + i];
		rd[i].reader = eq + 1;
		rd[i].sqn = 32;
		rd[i].read_us = calloc(n_iter, sizeof(double));
		rd[i].auth_us = calloc(n_iter, sizeof(double));
		if (!rd[i].read_us || !rd[i].auth_us || open_reader(ctx, list, &rd[i]) < 0)
			return 1;
	}
	/* warm-up, then blocks of BLOCK, taking turns */
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 20; j++) {
			double us;

			if (read_one(&rd[i], &us) < 0 || auth_one(&rd[i], &us) < 0)
				return 1;
		}
	while (rd[1].n_read < n_iter) {
		for (int i = 0; i < 2; i++) {
			struct reader *r = &rd[i];

			for (int j = 0; j < BLOCK && r->n_read < n_iter; j++)
				if (read_one(r, &r->read_us[r->n_read++]) < 0)
					return 1;
			for (int j = 0; j < BLOCK && r->n_auth < n_iter; j++)
				if (auth_one(r, &r->auth_us[r->n_auth++]) < 0)
					return 1;
		}
	}
	printf("# %lu round trips each, after 20 warm-up ones, in blocks of %d taking turns\n",
	       n_iter, BLOCK);
	printf("# %-10s %14s %14s %14s %14s\n", "reader", "read p50 us", "read p99 us",
	       "auth p50 us", "auth p99 us");
	for (int i = 0; i < 2; i++) {
		struct reader *r = &rd[i];

		qsort(r->read_us, r->n_read, sizeof(double), cmp_double);
		qsort(r->auth_us, r->n_auth, sizeof(double), cmp_double);
		printf("# %-10s %14.0f %14.0f %14.0f %14.0f\n", r->name, pct(r->read_us, r->n_read, 50),
		       pct(r->read_us, r->n_read, 99), pct(r->auth_us, r->n_auth, 50),
		       pct(r->auth_us, r->n_auth, 99));
	}
	for (int i = 0; i < 2; i++) {
		struct reader *r = &rd[i];

		printf("bench pcsc.%s.read_rtt_p50_us %.0f us\n", r->name, pct(r->read_us, r->n_read, 50));
		printf("bench pcsc.%s.read_rtt_p99_us %.0f us\n", r->name, pct(r->read_us, r->n_read, 99));
		printf("bench pcsc.%s.auth_rtt_p50_us %.0f us\n", r->name, pct(r->auth_us, r->n_auth, 50));
		printf("bench pcsc.%s.auth_rtt_p99_us %.0f us\n", r->name, pct(r->auth_us, r->n_auth, 99));
	}
	printf("bench pcsc.read_p50_ratio_%s_over_%s %.2f ratio\n", rd[0].name, rd[1].name,
	       pct(rd[0].read_us, rd[0].n_read, 50) / pct(rd[1].read_us, rd[1].n_read, 50));
	printf("bench pcsc.auth_p50_ratio_%s_over_%s %.2f ratio\n", rd[0].name, rd[1].name,
	       pct(rd[0].auth_us, rd[0].n_auth, 50) / pct(rd[1].auth_us, rd[1].n_auth, 50));
	for (int i = 0; i < 2; i++) {
		SCardDisconnect(rd[i].card, SCARD_LEAVE_CARD);
		free(rd[i].read_us);
		free(rd[i].auth_us);
	}
	SCardFreeMemory(ctx, list);
	list = NULL;
	SCardReleaseContext(ctx);
	aka_soft_cipher_free(&key.cipher);
	return 0;
}
