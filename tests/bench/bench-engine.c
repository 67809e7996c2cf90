// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-engine: the USIM engine's cost per command, through its APDU entry
 * point (usim_engine_process) over the default test profiles, with the key
 * loaded once (software E_K: the key schedule is done when the engine's
 * key handle is made, as in the daemon's software key path):
 *
 *   bench engine.milenage_auth_ns   one AUTHENTICATE (3G context, P2 81),
 *                                   fresh SQN each time, MILENAGE
 *   bench engine.tuak_auth_ns       the same with TUAK (TS 35.233 set 1)
 *   bench engine.select_read_ns     SELECT EF.IMSI + READ BINARY
 *   bench engine.aes128_block_ns    one single-block AES-128 encryption
 *                                   through OpenSSL EVP (the API of the
 *                                   engine's E_K), key schedule done once
 *
 * Each figure is the median over BATCHES timed batches, each timed by the
 * thread's CPU clock (CLOCK_THREAD_CPUTIME_ID): the work is single-threaded
 * computation, and on a shared machine wall time would mostly measure the
 * other tenants.  Then one line compares milenage_auth_ns with the target
 * 3 x 6 AES blocks.  Run from the repository root (the profiles are read by
 * relative path).
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/usim/profile-json.h"
#include "macro.h"

#define BATCHES 9
#define AUTH_PER_BATCH 2000
#define TUAK_PER_BATCH 500
#define READ_PER_BATCH 20000
#define AES_PER_BATCH 200000
#define AUTH_APDU_LEN (5 + 1 + 16 + 1 + 16 + 1)
#define RSP_SIZE (USIM_CMD_MAX + 2)

static const uint8_t usim_aid[] = { 0xa0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02,
				    0xff, 0xff, 0xff, 0xff, 0x89, 0x00, 0x00,
				    0x01, 0x00 };

struct card {
	struct usim_profile *p;
	struct aka_plain_secret k;
	struct aka_key key;
	struct usim_engine *e;
};

static uint8_t rsp[RSP_SIZE];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "bench-engine: %s: %s\n", what, r < 0 ? strerror(-r) : "failed");
	exit(1);
}

/* Sends one APDU; returns the status word, the data length in *ret_len. */
static uint16_t xfer(struct card *c, const uint8_t *cmd, size_t len,
		     size_t *ret_len)
{
	const struct usim_change *ch;
	size_t rsp_len = 0, n = 0;
	int r;

	r = usim_engine_process(c->e, cmd, len, rsp, sizeof(rsp), &rsp_len,
				&ch, &n);
	if (r < 0 || rsp_len < 2)
		die("usim_engine_process", r);
	if (ret_len)
		*ret_len = rsp_len - 2;
	return (uint16_t)(rsp[rsp_len - 2] << 8 | rsp[rsp_len - 1]);
}

static void card_open(struct card *c, const char *path)
{
	char why[PROFILE_JSON_WHY_SIZE];
	uint8_t select[5 + sizeof(usim_aid)] = { 0x00, 0xa4, 0x04, 0x0c,
						 sizeof(usim_aid) };
	int r;

	r = profile_json_load_file(path, &c->p, &c->k, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "bench-engine: %s (run from the repository root)\n", why);
		exit(1);
	}
	r = profile_json_key_new(c->p->aka.algo, &c->k, &c->key);
	if (r < 0)
		die("key", r);
	r = usim_engine_new(c->p, &c->key, &c->e);
	if (r < 0)
		die("usim_engine_new", r);
	memcpy(select + 5, usim_aid, sizeof(usim_aid));
	if (xfer(c, select, sizeof(select), NULL) != 0x9000)
		die("SELECT ADF.USIM", 0);
}

static void card_close(struct card *c)
{
	usim_engine_free(c->e);
	profile_json_key_free(&c->key);
	usim_profile_free(c->p);
	wipe(&c->k, sizeof(c->k));
}

/*
 * AUTHENTICATE APDUs (whole case-4 APDUs with Le 00, TS 31.102 7.1.2) for
 * fresh vectors: SQN = SEQ || IND with SEQ rising by one each time and IND
 * going round the array (TS 33.102 C.1.2), so every one is accepted.  The
 * network side makes them, outside the timed part.
 */
static uint8_t *make_auths(struct card *c, size_t n, uint8_t *ret_first_res,
			   size_t *ret_res_len)
{
	uint8_t *apdus = malloc(n * AUTH_APDU_LEN);
	unsigned ind_bits = c->p->sqn_cfg.ind_bits;
	static const uint8_t amf[2] = { 0x80, 0x00 };

	if (!apdus)
		die("malloc", -ENOMEM);
	for (size_t i = 0; i < n; i++) {
		struct aka_vector v;
		uint8_t rand[16], sqn[6];
		uint64_t s = ((uint64_t)(i + 1) << ind_bits) |
			     (i & ((1u << ind_bits) - 1));
		uint8_t *a = apdus + i * AUTH_APDU_LEN;
		int r;

		for (int j = 0; j < 16; j++)
			rand[j] = (uint8_t)(i * 31 + j * 7);
		for (int j = 0; j < 6; j++)
			sqn[j] = (uint8_t)(s >> (8 * (5 - j)));
		r = aka_network_generate(&c->p->aka, &c->key, rand, sqn, amf, &v);
		if (r < 0 || v.autn_len != 16)
			die("aka_network_generate", r);
		if (i == 0) {
			memcpy(ret_first_res, v.xres, v.xres_len);
			*ret_res_len = v.xres_len;
		}
		memcpy(a, "\x00\x88\x00\x81\x22\x10", 6);
		memcpy(a + 6, rand, 16);
		a[22] = 16;
		memcpy(a + 23, v.autn, 16);
		a[39] = 0x00;
	}
	return apdus;
}

static double bench_auth(const char *profile, size_t per_batch)
{
	struct card c = { 0 };
	double per_op[BATCHES];
	uint8_t res[AKA_RES_MAX];
	size_t res_len = 0, len;
	uint8_t *apdus;

	card_open(&c, profile);
	apdus = make_auths(&c, (size_t)BATCHES * per_batch + 1, res, &res_len);
	/* The first one, untimed, checks that the engine really answers RES
	 * ('DB' L RES ..., TS 31.102 7.1.2.1) rather than an error. */
	if (xfer(&c, apdus, AUTH_APDU_LEN, &len) != 0x9000 || len < 2 + res_len ||
	    rsp[0] != 0xdb || rsp[1] != res_len || memcmp(rsp + 2, res, res_len))
		die("AUTHENTICATE did not give the expected RES", 0);
	for (int b = 0; b < BATCHES; b++) {
		const uint8_t *a = apdus + (1 + (size_t)b * per_batch) * AUTH_APDU_LEN;
		uint64_t t0 = now_ns();

		for (size_t i = 0; i < per_batch; i++)
			if (xfer(&c, a + i * AUTH_APDU_LEN, AUTH_APDU_LEN, NULL) != 0x9000)
				die("AUTHENTICATE rejected", 0);
		per_op[b] = (double)(now_ns() - t0) / (double)per_batch;
	}
	free(apdus);
	card_close(&c);
	return median(per_op, BATCHES);
}

static double bench_select_read(void)
{
	static const uint8_t select[] = { 0x00, 0xa4, 0x00, 0x0c, 0x02, 0x6f, 0x07 };
	static const uint8_t read[] = { 0x00, 0xb0, 0x00, 0x00, 0x09 };
	struct card c = { 0 };
	double per_op[BATCHES];
	size_t len;

	card_open(&c, "daemon/usim/profiles/test-usim.json");
	if (xfer(&c, select, sizeof(select), NULL) != 0x9000 ||
	    xfer(&c, read, sizeof(read), &len) != 0x9000 || len != 9)
		die("SELECT/READ BINARY EF.IMSI", 0);
	for (int b = 0; b < BATCHES; b++) {
		uint64_t t0 = now_ns();

		for (size_t i = 0; i < READ_PER_BATCH; i++) {
			xfer(&c, select, sizeof(select), NULL);
			xfer(&c, read, sizeof(read), NULL);
		}
		per_op[b] = (double)(now_ns() - t0) / READ_PER_BATCH;
	}
	card_close(&c);
	return median(per_op, BATCHES);
}

/* One 16-octet block per EVP_EncryptUpdate, AES-128-ECB, as E_K does. */
static double bench_aes(void)
{
	static const uint8_t k[16] = { 0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
				       0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc };
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t block[16] = { 0 }, out[32];
	double per_op[BATCHES];
	int outl;

	if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
		die("EVP AES-128-ECB", 0);
	for (int b = 0; b < BATCHES; b++) {
		uint64_t t0 = now_ns();

		for (size_t i = 0; i < AES_PER_BATCH; i++) {
			if (EVP_EncryptUpdate(ctx, out, &outl, block, 16) != 1 || outl != 16)
				die("EVP_EncryptUpdate", 0);
			memcpy(block, out, 16); /* chain: no work can be skipped */
		}
		per_op[b] = (double)(now_ns() - t0) / AES_PER_BATCH;
	}
	EVP_CIPHER_CTX_free(ctx);
	return median(per_op, BATCHES);
}

int main(void)
{
	double milenage, tuak, sel, aes, target;

	aes = bench_aes();
	milenage = bench_auth("daemon/usim/profiles/test-usim.json", AUTH_PER_BATCH);
	tuak = bench_auth("daemon/usim/profiles/test-usim-tuak.json", TUAK_PER_BATCH);
	sel = bench_select_read();

	printf("bench engine.milenage_auth_ns %.0f ns\n", milenage);
	printf("bench engine.tuak_auth_ns %.0f ns\n", tuak);
	printf("bench engine.select_read_ns %.0f ns\n", sel);
	printf("bench engine.aes128_block_ns %.1f ns\n", aes);
	target = 3 * 6 * aes;
	printf("target: milenage_auth_ns %.0f ns <= 3 x 6 x aes128_block_ns = %.0f ns: %s (milenage_auth_ns / (6 x aes128_block_ns) = %.2f)\n",
	       milenage, target, milenage <= target ? "met" : "NOT met",
	       milenage / (6 * aes));
	return 0;
}
