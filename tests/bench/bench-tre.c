/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TRE benchmark on the TPM behind $MCIM_TEST_TCTI (tests/bench/bench-tre.sh
 * runs it under tests/lib/with-swtpm).  Prints, one per line,
 *	bench <name> <value> <unit>
 * tre.tpm_cmds_per_auth and tre.tpm_ek_calls_per_auth are counted at the
 * TCTI for one MILENAGE authentication in mode a (policy commands
 * included); times are medians.  Per-command mean latencies go to stderr
 * (they feed the discrete TPM estimate in docs/tre.md).
 */
#include <time.h>

#include "daemon/aka/aka.h"
#include "daemon/tre/tre-aka.h"
#include "tests/integration/tre/tre-test.h"

#define AUTHS 300
#define REPS 30

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
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

static void die(struct tre *t, const char *what)
{
	fprintf(stderr, "bench-tre: %s: %s\n", what, t ? tre_errmsg(t) : "");
	exit(1);
}

struct ctx {
	struct aka_algo_config cfg;
	struct aka_sqn_config sc;
	struct aka_sqn_state st;
	struct aka_key key;
};

static int authenticate(struct ctx *c)
{
	struct aka_auth_result r;
	uint8_t rand[16], autn[16];
	int e;

	/* Random AUTN: f1..f5 all run, then the MAC check fails; the same
	 * three E_K calls as a successful authentication. */
	tt_random(rand, 16);
	tt_random(autn, 16);
	e = aka_usim_authenticate(&c->cfg, &c->key, &c->sc, &c->st, rand, autn, 16, 0, &r);
	if (e == 0 && r.status != AKA_STATUS_MAC_FAILURE)
		e = -EPROTO;
	aka_auth_result_wipe(&r);
	return e;
}

static int noop(const uint8_t *s _unused_, size_t len _unused_, void *ud _unused_)
{
	return 0;
}

int main(void)
{
	static const TPM2_CC show[] = {
		TPM2_CC_EncryptDecrypt2, TPM2_CC_PolicyPCR, TPM2_CC_PolicyAuthorize,
		TPM2_CC_PolicyNV, TPM2_CC_Load, TPM2_CC_Import, TPM2_CC_Unseal,
		TPM2_CC_Quote, TPM2_CC_NV_Increment, TPM2_CC_CreatePrimary,
	};
	_cleanup_tre_ struct tre *t = NULL;
	struct tre_key *ka = NULL, *kb = NULL;
	double times[AUTHS];
	uint64_t cmds, ed2, tpm_ns0, tpm_ns1;
	double cpu0, cpu1;
	struct tt_operator op;
	struct tre_policy pol;
	struct tre_blob b;
	struct ctx c = { .cfg.algo = AKA_ALGO_MILENAGE };
	uint8_t k[16], nonce[32];
	TPML_PCR_SELECTION sel;
	struct tre_quote q;

	t = tt_open(NULL);
	tt_operator_init(&op);
	tt_random(k, 16);
	if (tt_approve_now(t, &op, &pol) < 0 || tt_key(t, &op, &pol, TRE_KIND_AES, k, 16, &ka) < 0 ||
	    tt_key(t, &op, &pol, TRE_KIND_SEALED, k, 16, &kb) < 0)
		die(t, "provisioning");
	aka_milenage_params_default(&c.cfg.milenage);
	tt_random(c.cfg.milenage.opc, 16);
	aka_sqn_config_default(&c.sc);
	tre_aka_key(ka, &c.key);

	/* Warm-up, then one authentication counted. */
	if (authenticate(&c) < 0)
		die(t, "authentication");
	tre_stats_reset(t);
	if (authenticate(&c) < 0)
		die(t, "authentication");
	cmds = tre_stats(t)->commands;
	ed2 = tre_stats_cc(tre_stats(t), TPM2_CC_EncryptDecrypt2);
	printf("bench tre.tpm_cmds_per_auth %llu commands\n", (unsigned long long)cmds);
	printf("bench tre.tpm_ek_calls_per_auth %llu calls\n", (unsigned long long)ed2);

	cpu0 = cpu_us();
	tpm_ns0 = 0;
	for (size_t i = 0; i < ARRAY_SIZE(tre_stats(t)->ns_by_cc); i++)
		tpm_ns0 += tre_stats(t)->ns_by_cc[i];
	for (int i = 0; i < AUTHS; i++) {
		double t0 = now_us();

		if (authenticate(&c) < 0)
			die(t, "authentication");
		times[i] = now_us() - t0;
	}
	cpu1 = cpu_us();
	tpm_ns1 = 0;
	for (size_t i = 0; i < ARRAY_SIZE(tre_stats(t)->ns_by_cc); i++)
		tpm_ns1 += tre_stats(t)->ns_by_cc[i];
	printf("bench tre.auth_us %.0f us\n", median(times, AUTHS));
	fprintf(stderr, "# per authentication: %.0f us in the TPM round trips, %.0f us of host CPU\n",
		(double)(tpm_ns1 - tpm_ns0) / 1000 / AUTHS, (cpu1 - cpu0) / AUTHS);

	for (int i = 0; i < REPS; i++) {
		TPM2B_ENCRYPTED_SECRET seed;
		TPM2B_PRIVATE dup;
		TPM2B_PUBLIC srk, pub;
		double t0;

		if (tre_srk_public(t, &srk) < 0 ||
		    tt_wrap(&srk, &op, TRE_KIND_AES, k, 16, &pub, &dup, &seed) < 0)
			die(t, "wrap");
		t0 = now_us();
		if (tre_import(t, &pub, &dup, &seed, NULL, NULL, &b) < 0)
			die(t, "import");
		times[i] = now_us() - t0;
	}
	printf("bench tre.import_ms %.2f ms\n", median(times, REPS) / 1000);

	for (int i = 0; i < REPS; i++) {
		struct tre_key *kl;
		double t0;

		t0 = now_us();
		if (tre_key_load(t, &b, &kl) < 0)
			die(t, "load");
		times[i] = now_us() - t0;
		tre_key_free(kl);
	}
	printf("bench tre.load_ms %.2f ms\n", median(times, REPS) / 1000);

	for (int i = 0; i < AUTHS; i++) {
		double t0 = now_us();

		if (tre_key_with_secret(kb, noop, NULL) < 0)
			die(t, "unseal");
		times[i] = now_us() - t0;
	}
	printf("bench tre.unseal_us %.0f us\n", median(times, AUTHS));

	if (tre_ak_create(t, TRE_EK_ECC, NULL) < 0)
		die(t, "AK");
	tre_pcr_selection(t, &sel);
	for (int i = 0; i < REPS; i++) {
		double t0;

		tt_random(nonce, sizeof(nonce));
		t0 = now_us();
		if (tre_quote(t, &sel, nonce, sizeof(nonce), &q) < 0)
			die(t, "quote");
		times[i] = now_us() - t0;
		tre_quote_clear(&q);
	}
	printf("bench tre.quote_ms %.2f ms\n", median(times, REPS) / 1000);

	/* The NV_Increment command itself, timed at the TCTI (the API call
	 * also re-reads the counter and recomputes the SRK policy). */
	for (int i = 0; i < REPS; i++)
		if (tre_epoch_increment(t, NULL) < 0)
			die(t, "epoch increment");
	printf("bench tre.nv_increment_us %.0f us\n",
	       (double)tre_stats_cc_ns(tre_stats(t), TPM2_CC_NV_Increment) / 1000);

	/* Per-command latencies of this whole run, for docs/tre.md. */
	fflush(stdout);
	for (size_t i = 0; i < ARRAY_SIZE(show); i++)
		fprintf(stderr, "# %-16s %8.1f us\n", tre_cc_name(show[i]),
			(double)tre_stats_cc_ns(tre_stats(t), show[i]) / 1000);
	tre_key_free(ka);
	tre_key_free(kb);
	tt_operator_free(&op);
	return 0;
}
