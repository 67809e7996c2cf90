// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Cross-check of daemon/aka against an independent MILENAGE: osmo-auc-gen
 * (Debian libosmocore-utils).  N cases (default 1000, env AKA_INTEROP_N;
 * the seed is printed, env AKA_INTEROP_SEED repeats a run), each with random
 * K, OPc, RAND, AMF and a random SQN array state of our USIM; one tool run
 * per case checks both directions:
 *  1. our USIM answers a stale AUTN with AUTS, and osmo-auc-gen -A AUTS must
 *     recover exactly our SQN_MS;
 *  2. the fresh vector osmo-auc-gen then prints (SQN after SQN_MS, random
 *     IND and AMF) must be accepted by our USIM with the same RES/CK/IK/Kc,
 *     our GSM context must give its SRES/Kc and our network side its AUTN.
 * Plus N/10 vectors for fully random SQNs (osmo-auc-gen -s, same checks as
 * 2) and 20 corrupted AUTS the tool must refuse.  Tool runs go as up to
 * AKA_INTEROP_JOBS (default 2) child processes at a time.  Prints TAP;
 * exits 77 when osmo-auc-gen is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/aka/aka.h"
#include "hex.h"
#include "macro.h"

extern char **environ;

#define TOOL "osmo-auc-gen"
#define OUT_MAX 4096
#define JOBS_MAX 8

struct job {
	char *argv[20];
	char args[19][64];
	char out[OUT_MAX];
	size_t len;
	int status;
};

struct slot {
	pid_t pid;
	int fd;
	struct job *job;
};

static uint64_t prng_state;

/* xorshift64*: reproducible from the printed seed */
static uint64_t prng(void)
{
	prng_state ^= prng_state >> 12;
	prng_state ^= prng_state << 25;
	prng_state ^= prng_state >> 27;
	return prng_state * 0x2545F4914F6CDD1DULL;
}

static void prng_bytes(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(prng() >> 56);
}

static void job_set(struct job *j, const char *const *args, size_t n)
{
	if (n >= ARRAY_SIZE(j->args))
		abort();
	for (size_t i = 0; i < n; i++) {
		snprintf(j->args[i], sizeof(j->args[i]), "%s", args[i]);
		j->argv[i] = j->args[i];
	}
	j->argv[n] = NULL;
	j->len = 0;
	j->status = -1;
}

static int spawn(struct slot *s, struct job *j)
{
	posix_spawn_file_actions_t fa;
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
					 O_WRONLY, 0);
	r = posix_spawnp(&s->pid, TOOL, &fa, NULL, j->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r) {
		close(p[0]);
		return -r;
	}
	s->fd = p[0];
	s->job = j;
	return 0;
}

/* Runs all jobs, at most njobs at a time; 0 or a negative errno. */
static int run_all(struct job *jobs, size_t n, unsigned njobs)
{
	struct slot slots[JOBS_MAX];
	struct pollfd pfd[JOBS_MAX];
	size_t next = 0, done = 0;
	int r;

	for (unsigned i = 0; i < njobs; i++)
		slots[i].job = NULL;
	while (done < n) {
		unsigned np = 0, map[JOBS_MAX];

		for (unsigned i = 0; i < njobs; i++) {
			if (!slots[i].job && next < n) {
				r = spawn(&slots[i], &jobs[next++]);
				if (r < 0)
					return r;
			}
			if (slots[i].job) {
				pfd[np] = (struct pollfd){ .fd = slots[i].fd,
							   .events = POLLIN };
				map[np++] = i;
			}
		}
		if (poll(pfd, np, 10000) <= 0)
			return -ETIMEDOUT;
		for (unsigned k = 0; k < np; k++) {
			struct slot *s = &slots[map[k]];
			struct job *j = s->job;
			ssize_t m;

			if (!pfd[k].revents)
				continue;
			m = read(s->fd, j->out + j->len, OUT_MAX - 1 - j->len);
			if (m > 0) {
				j->len += (size_t)m;
				if (j->len < OUT_MAX - 1)
					continue;
			}
			if (m < 0 && errno == EINTR)
				continue;
			/* EOF (or full buffer): reap */
			close(s->fd);
			if (waitpid(s->pid, &j->status, 0) < 0)
				return -errno;
			j->out[j->len] = '\0';
			s->job = NULL;
			done++;
		}
	}
	return 0;
}

/* The hex value of "KEY:\t..." in the tool's output. */
static int field_hex(const struct job *j, const char *key, uint8_t *out,
		     size_t len)
{
	char pat[32];
	const char *p;
	char val[128];

	snprintf(pat, sizeof(pat), "\n%s:\t", key);
	p = strstr(j->out, pat);
	if (!p || sscanf(p + strlen(pat), "%127s", val) != 1)
		return -ENOENT;
	return hex_decode(val, out, len) == (int)len ? 0 : -EINVAL;
}

static int field_u64(const struct job *j, const char *key, uint64_t *v)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s:\t", key);
	p = strstr(j->out, pat);
	if (!p || sscanf(p + strlen(pat), "%" SCNu64, v) != 1)
		return -ENOENT;
	return 0;
}

struct kase {
	uint8_t k[16], opc[16], rand[16], amf[2];
	unsigned ind2;          /* IND the tool uses after resync (-i) */
	uint64_t sqn;           /* -s cases: the SQN */
	struct aka_algo_config cfg;
	struct aka_sqn_state st; /* our USIM's SQN array */
	uint8_t sqn_ms[6];      /* the SQN_MS in our AUTS */
	char auts_hex[2 * 14 + 1];
	bool bad; /* already counted as failed */
};

static void put48(uint64_t v, uint8_t b[6])
{
	for (int i = 5; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

static uint64_t get48(const uint8_t b[6])
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | b[i];
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(size_t i, const char *what, const struct job *j)
{
	printf("# case %zu: %s\n", i, what);
	if (j)
		printf("# tool output:\n%s\n", j->out);
	return -1;
}

static bool exited_ok(const struct job *j)
{
	return WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0;
}

/* The tool's vector in j against our USIM (SQN state st), GSM context and
 * network side. */
static int check_vector(size_t i, const struct kase *c, const struct job *j,
			const struct aka_sqn_config *sc,
			const struct aka_sqn_state *st,
			const struct aka_cipher *ek)
{
	uint8_t autn[16], res[8], ck[16], ik[16], sres[4], kc[8], sqn[6];
	uint8_t my_sres[4], my_kc[8];
	struct aka_key key = { .cipher = *ek };
	struct aka_auth_result r;
	struct aka_vector v;
	uint64_t tool_sqn;

	if (!exited_ok(j))
		return fail(i, "osmo-auc-gen failed", j);
	if (field_hex(j, "AUTN", autn, 16) || field_hex(j, "RES", res, 8) ||
	    field_hex(j, "CK", ck, 16) || field_hex(j, "IK", ik, 16) ||
	    field_hex(j, "SRES", sres, 4) || field_hex(j, "Kc", kc, 8) ||
	    field_u64(j, "SQN", &tool_sqn))
		return fail(i, "cannot parse the tool's output", j);
	if (aka_usim_authenticate(&c->cfg, &key, sc, st, c->rand, autn, 16, 0,
				  &r) < 0 ||
	    r.status != AKA_STATUS_OK)
		return fail(i, "our USIM rejected the tool's AUTN", j);
	if (!r.sqn_change.accepted || r.sqn_change.ind != (tool_sqn & 31) ||
	    r.sqn_change.seq != tool_sqn >> 5)
		return fail(i, "our USIM unmasked another SQN", j);
	if (r.res_len != 8 || memcmp(r.res, res, 8) || memcmp(r.ck, ck, 16) ||
	    memcmp(r.ik, ik, 16) || memcmp(r.kc, kc, 8))
		return fail(i, "RES/CK/IK/Kc differ", j);
	aka_auth_result_wipe(&r);
	if (aka_usim_gsm(&c->cfg, &key, c->rand, my_sres, my_kc) < 0 ||
	    memcmp(my_sres, sres, 4) || memcmp(my_kc, kc, 8))
		return fail(i, "GSM context SRES/Kc differ", j);
	put48(tool_sqn, sqn);
	if (aka_network_generate(&c->cfg, &key, c->rand, sqn, c->amf, &v) < 0 ||
	    memcmp(v.autn, autn, 16))
		return fail(i, "our network side AUTN differs", j);
	return 0;
}

/* A random SQN array (highest SEQ_MS somewhere, others below it) and a
 * stale AUTN from our network side: our USIM answers with AUTS. */
static int make_auts(size_t i, struct kase *c, const struct aka_sqn_config *sc,
		     const struct aka_cipher *ek)
{
	struct aka_key key = { .cipher = *ek };
	uint64_t high = 1000 + prng() % ((1ULL << 43) - 3000);
	unsigned hi_ind = prng() & 31, j = prng() & 31;
	struct aka_auth_result r;
	struct aka_vector v;
	uint8_t sqn[6];

	memset(&c->st, 0, sizeof(c->st));
	for (unsigned k = 0; k < 32; k++)
		if (prng() & 1)
			c->st.seq_ms[k] = high - 1 - prng() % 1000;
	c->st.seq_ms[hi_ind] = high;
	/* SEQ <= SEQ_MS(j): a replay for entry j.  Entry j must hold an SQN:
	 * below an empty entry "SEQ_MS(j) - r" would wrap to the top of the
	 * SEQ range, which is fresh when high lies within delta of it. */
	if (c->st.seq_ms[j] == 0)
		c->st.seq_ms[j] = high - 1 - prng() % 1000;
	put48(((c->st.seq_ms[j] - prng() % 4) << 5) | j, sqn);
	if (aka_network_generate(&c->cfg, &key, c->rand, sqn, c->amf, &v) < 0 ||
	    aka_usim_authenticate(&c->cfg, &key, sc, &c->st, c->rand, v.autn, 16,
				  0, &r) < 0 ||
	    r.status != AKA_STATUS_SYNC_FAILURE || r.auts_len != 14)
		return fail(i, "our USIM gave no AUTS", NULL);
	aka_sqn_ms(sc, &c->st, c->sqn_ms);
	if (get48(c->sqn_ms) != (high << 5 | hi_ind))
		return fail(i, "SQN_MS is not the highest accepted SQN", NULL);
	hex_encode(r.auts, 14, c->auts_hex);
	aka_auth_result_wipe(&r);
	return 0;
}

static void tool_args(struct job *j, const struct kase *c, const char *auts)
{
	char k[33], opc[33], rand[33], amf[5], sqn[24], ind[8];
	const char *gen[] = { TOOL, "-3", "-a", "milenage", "-k", k, "-o", opc,
			      "-r", rand, "-s", sqn, "-f", amf };
	const char *res[] = { TOOL, "-3", "-a", "milenage", "-k", k, "-o", opc,
			      "-r", rand, "-f", amf, "-i", ind, "-A", auts };

	hex_encode(c->k, 16, k);
	hex_encode(c->opc, 16, opc);
	hex_encode(c->rand, 16, rand);
	hex_encode(c->amf, 2, amf);
	snprintf(sqn, sizeof(sqn), "%" PRIu64, c->sqn);
	snprintf(ind, sizeof(ind), "%u", c->ind2);
	if (auts)
		job_set(j, res, ARRAY_SIZE(res));
	else
		job_set(j, gen, ARRAY_SIZE(gen));
}

static void random_case(struct kase *c)
{
	prng_bytes(c->k, 16);
	prng_bytes(c->opc, 16);
	prng_bytes(c->rand, 16);
	prng_bytes(c->amf, 2);
	c->ind2 = prng() & 31;
	/* -s cases: SEQ in [2, 2^43 - 2) */
	c->sqn = ((2 + prng() % ((1ULL << 43) - 4)) << 5) | (prng() & 31);
	c->cfg.algo = AKA_ALGO_MILENAGE;
	aka_milenage_params_default(&c->cfg.milenage);
	memcpy(c->cfg.milenage.opc, c->opc, 16);
}

static int run_or_bail(struct job *jobs, size_t n, unsigned njobs)
{
	int r = run_all(jobs, n, njobs);

	if (r < 0)
		printf("Bail out! running " TOOL ": %s\n", strerror(-r));
	return r;
}

int main(void)
{
	const char *env_n = getenv("AKA_INTEROP_N");
	const char *env_seed = getenv("AKA_INTEROP_SEED");
	const char *env_jobs = getenv("AKA_INTEROP_JOBS");
	size_t n = env_n ? strtoul(env_n, NULL, 10) : 1000;
	unsigned njobs = env_jobs ? (unsigned)strtoul(env_jobs, NULL, 10) : 2;
	uint64_t seed = env_seed ? strtoull(env_seed, NULL, 0) :
				   ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	_cleanup_free_ struct kase *cases = NULL;
	_cleanup_free_ struct job *jobs = NULL;
	size_t n_s, n_bad = MIN(n, (size_t)20);
	size_t bad_auts = 0, bad_vec = 0, bad_s = 0, refused = 0;
	struct aka_sqn_config sc;
	struct aka_cipher ek;
	double t0, t1;

	if (n < 1 || n > 100000 || njobs < 1 || njobs > JOBS_MAX) {
		fprintf(stderr, "bad AKA_INTEROP_N or AKA_INTEROP_JOBS\n");
		return 2;
	}
	if (system("command -v " TOOL " >/dev/null 2>&1") != 0) {
		printf(TOOL " not found (Debian package libosmocore-utils)\n");
		return 77;
	}
	n_s = (n + 9) / 10;
	prng_state = seed ? seed : 1;
	cases = calloc(n, sizeof(*cases));
	jobs = calloc(n, sizeof(*jobs));
	if (!cases || !jobs)
		return 2;
	aka_sqn_config_default(&sc);
	printf("1..4\n# seed 0x%" PRIx64 ", %zu cases, %u jobs\n", seed, n,
	       njobs);
	t0 = now();

	/* 1 and 2: our AUTS -> tool resync -> tool's next vector -> our USIM */
	for (size_t i = 0; i < n; i++) {
		random_case(&cases[i]);
		if (aka_soft_cipher_new(cases[i].k, &ek) < 0)
			return 2;
		if (make_auts(i, &cases[i], &sc, &ek) < 0) {
			bad_auts++;
			cases[i].bad = true;
			strcpy(cases[i].auts_hex, "0000000000000000000000000000");
		}
		aka_soft_cipher_free(&ek);
		tool_args(&jobs[i], &cases[i], cases[i].auts_hex);
	}
	if (run_or_bail(jobs, n, njobs) < 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		const struct kase *c = &cases[i];
		uint64_t ms;

		if (c->bad)
			continue;
		if (!exited_ok(&jobs[i]) || field_u64(&jobs[i], "SQN.MS", &ms) ||
		    ms != get48(c->sqn_ms)) {
			fail(i, "osmo-auc-gen did not recover our SQN_MS", &jobs[i]);
			bad_auts++;
			continue;
		}
		if (aka_soft_cipher_new(c->k, &ek) < 0)
			return 2;
		if (check_vector(i, c, &jobs[i], &sc, &c->st, &ek) < 0)
			bad_vec++;
		aka_soft_cipher_free(&ek);
	}
	printf("%s 1 - %zu AUTS from our USIM: osmo-auc-gen recovers our SQN_MS "
	       "(%zu failed)\n", bad_auts ? "not ok" : "ok", n, bad_auts);
	printf("%s 2 - %zu osmo-auc-gen vectors after resync: our USIM accepts, "
	       "RES/CK/IK/Kc/SRES and AUTN match (%zu failed)\n",
	       bad_vec ? "not ok" : "ok", n, bad_vec);

	/* 3: vectors for random SQNs (-s), USIM state just below */
	for (size_t i = 0; i < n_s; i++)
		tool_args(&jobs[i], &cases[i], NULL);
	if (run_or_bail(jobs, n_s, njobs) < 0)
		return 1;
	for (size_t i = 0; i < n_s; i++) {
		struct kase *c = &cases[i];

		memset(&c->st, 0, sizeof(c->st));
		c->st.seq_ms[c->sqn & 31] = (c->sqn >> 5) - 1;
		if (aka_soft_cipher_new(c->k, &ek) < 0)
			return 2;
		if (check_vector(i, c, &jobs[i], &sc, &c->st, &ek) < 0)
			bad_s++;
		aka_soft_cipher_free(&ek);
	}
	printf("%s 3 - %zu osmo-auc-gen vectors for random SQNs: our USIM "
	       "accepts, RES/CK/IK/Kc/SRES and AUTN match (%zu failed)\n",
	       bad_s ? "not ok" : "ok", n_s, bad_s);

	/* 4: negative control, a corrupted MAC-S must be refused */
	for (size_t i = 0; i < n_bad; i++) {
		char *a = cases[i].auts_hex;

		a[27] = a[27] == '0' ? '1' : '0';
		tool_args(&jobs[i], &cases[i], a);
	}
	if (run_or_bail(jobs, n_bad, njobs) < 0)
		return 1;
	for (size_t i = 0; i < n_bad; i++)
		if (!exited_ok(&jobs[i]))
			refused++;
	printf("%s 4 - osmo-auc-gen refuses %zu of %zu corrupted AUTS\n",
	       refused == n_bad ? "ok" : "not ok", refused, n_bad);
	t1 = now();
	printf("# %zu osmo-auc-gen runs in %.1f s\n", n + n_s + n_bad, t1 - t0);
	return bad_auts || bad_vec || bad_s || refused != n_bad;
}
